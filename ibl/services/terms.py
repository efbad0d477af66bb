"""A library's IBL terms (library admin): whether and what it lends through IBL,
new titles it keeps back, and the fee its members pay per request."""

from django.db import transaction

from collection.models import ItemType
from core.errors import ServiceError, ServiceErrors
from core.money import MAX_AMOUNT_CENTS, euro_parse
from staff.models import Role
from staff.permissions import require_role

from ..models import IblTerms

MAX_NEW_TITLE_MONTHS = 60


def ibl_terms_save(*, actor, lends, item_types, new_title_months, request_fee):
    """Save this library's IBL terms. `new_title_months` and `request_fee` as typed
    (months, an amount in euro such as '2,50')."""
    organisation = actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    errors = []
    item_types = list(dict.fromkeys(item_types or []))
    unknown = [value for value in item_types if value not in ItemType.values]
    if unknown:
        errors.append(ServiceError("ibl.terms_item_type_unknown", field="item_types", item_type=unknown[0]))
    try:
        months = int(str(new_title_months or "0").strip() or "0")
        if not 0 <= months <= MAX_NEW_TITLE_MONTHS:
            raise ValueError
    except ValueError:
        errors.append(ServiceError("ibl.terms_months_invalid", field="new_title_months", max=MAX_NEW_TITLE_MONTHS))
        months = 0
    fee = 0
    text = str(request_fee or "").strip()
    if text:
        try:
            fee = euro_parse(text)
        except Exception:  # noqa: BLE001 - any unreadable amount
            fee = None
        if fee is None or fee < 0 or fee > MAX_AMOUNT_CENTS:
            errors.append(ServiceError("ibl.terms_fee_invalid", field="request_fee", value=text))
    if errors:
        raise ServiceErrors(errors)
    with transaction.atomic():
        terms, _created = IblTerms.objects.select_for_update().get_or_create(organisation=organisation)
        terms.lends = bool(lends)
        terms.item_types = item_types
        terms.new_title_months = months
        terms.request_fee_cents = fee
        terms.actor_ref = actor.ref
        terms.save(update_fields=["lends", "item_types", "new_title_months", "request_fee_cents", "actor_ref",
                                  "updated_at"])
    return terms
