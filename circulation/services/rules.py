"""The loan-rule matrix and the circulation settings (library administrators).

Every write takes the `actor` (core.actors), who must hold the library
administrator role. Refusals are core.errors.ServiceError codes (loan_rule.*,
circulation_settings.*, branch.*; circulation/errors.py), every reason of a rule
at once; nothing is saved then.
"""

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from collection.models import ItemType
from collection.services import branch_of
from core.errors import ServiceError, ServiceErrors
from core.money import MAX_AMOUNT_CENTS, euro
from members.models import MemberCategory
from staff.models import Role
from staff.permissions import require_role

from ..models import CirculationSettings, GuestAgeGroup, LoanRule
from .loans import SETTINGS_PK

RULE_NUMBERS = {
    "loan_days": (1, 365, _("De uitleentermijn")),
    "max_renewals": (0, 99, _("Het maximum aantal verlengingen")),
    "hold_shelf_days": (1, 60, _("Het aantal dagen op de reserveringsplank")),
}
RULE_OPTIONAL_NUMBERS = {
    "max_loans_total": (0, 999, _("Het maximum aantal leningen")),
    "max_loans_of_type": (0, 999, _("Het maximum van deze soort")),
    "max_holds": (0, 999, _("Het maximum aantal reserveringen")),
}
RULE_AMOUNTS = {
    "loan_fee_cents": _("Het leengeld"),
    "fine_per_day_cents": _("De boete per dag"),
    "fine_max_cents": _("De maximale boete"),
    "hold_fee_cents": _("De reserveringskosten"),
    "no_show_fee_cents": _("De kosten van een niet opgehaalde reservering"),
}
RULE_FLAGS = ("holdable", "auto_renew")


def _number(value, low, high, label, *, field=None, optional=False, amount=False):
    if value is None and optional:
        return None
    if type(value) is not int or not low <= value <= high:  # noqa: E721
        if amount:
            raise ServiceError("loan_rule.amount_out_of_range", field=field, label=label, max=euro(high), low=low,
                               high=high)
        raise ServiceError("loan_rule.number_out_of_range", field=field, label=label, low=low, high=high)
    return value


def _expected_dates_refresh_on_commit():
    """Loan periods and transfer days move the expected dates of waiting holds:
    recompute them in the background once the change is committed."""
    schema = connection.schema_name

    def enqueue():
        from ..tasks import holds_expected_refresh_library

        holds_expected_refresh_library.apply_async(headers={"_schema_name": schema})

    transaction.on_commit(enqueue, robust=True)


def loan_rule_save(*, actor, rule_id=None, for_guests=False, member_category_id=None, item_type="", branch_id=None,
                   for_libraries=False, guest_age_group="", **values):
    """Create or change one cell of the matrix (library administrators). Every
    reason a rule is refused is raised at once (ServiceErrors)."""
    organisation = actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    errors = []
    cleaned = {}
    for name, (low, high, label) in RULE_NUMBERS.items():
        try:
            cleaned[name] = _number(values.get(name), low, high, label, field=name)
        except ServiceError as error:
            errors.append(error)
    for name, (low, high, label) in RULE_OPTIONAL_NUMBERS.items():
        try:
            cleaned[name] = _number(values.get(name), low, high, label, field=name, optional=True)
        except ServiceError as error:
            errors.append(error)
    for name, label in RULE_AMOUNTS.items():
        try:
            cleaned[name] = _number(values.get(name, 0), 0, MAX_AMOUNT_CENTS, label, field=name, amount=True)
        except ServiceError as error:
            errors.append(error)
    for name in RULE_FLAGS:
        cleaned[name] = bool(values.get(name, False))
    if item_type and item_type not in ItemType.values:
        errors.append(ServiceError("loan_rule.item_type_unknown", field="item_type"))
    if for_guests and member_category_id:
        errors.append(ServiceError("loan_rule.guests_no_category", field="member_category_id"))
    guest_age_group = guest_age_group or ""
    if guest_age_group and guest_age_group not in GuestAgeGroup.values:
        errors.append(ServiceError("loan_rule.age_group_unknown", field="guest_age_group"))
    elif guest_age_group and not for_guests:
        errors.append(ServiceError("loan_rule.age_group_guests_only", field="guest_age_group"))
    if for_libraries and (for_guests or member_category_id):
        errors.append(ServiceError("loan_rule.libraries_no_category", field="member_category_id"))
    if member_category_id and not MemberCategory.objects.filter(pk=member_category_id).exists():
        errors.append(ServiceError("loan_rule.category_unknown", field="member_category_id"))
    if branch_id:
        try:
            branch_id = branch_of(organisation, branch_id).pk
        except ServiceError as error:
            errors.append(error)
    if not errors and cleaned["fine_max_cents"] and cleaned["fine_max_cents"] < cleaned["fine_per_day_cents"]:
        errors.append(ServiceError("loan_rule.fine_max_below_per_day", field="fine_max_cents"))
    if errors:
        raise ServiceErrors(errors)
    dimensions = {"for_guests": bool(for_guests), "guest_age_group": guest_age_group,
                  "for_libraries": bool(for_libraries),
                  "member_category_id": member_category_id or None,
                  "item_type": item_type or "", "branch_id": branch_id or None}
    try:
        with transaction.atomic():
            if rule_id:
                rule = LoanRule.objects.select_for_update().filter(pk=rule_id).first()
                if rule is None:
                    raise ServiceError("loan_rule.not_found")
            else:
                rule = LoanRule()
            for name, value in {**dimensions, **cleaned}.items():
                setattr(rule, name, value)
            rule.save()
            _expected_dates_refresh_on_commit()
    except IntegrityError:
        raise ServiceError("loan_rule.duplicate") from None
    return rule


def loan_rule_delete(*, actor, rule_id):
    actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    with transaction.atomic():
        deleted, _rows = LoanRule.objects.filter(pk=rule_id).delete()
        if deleted:
            _expected_dates_refresh_on_commit()
    if not deleted:
        raise ServiceError("loan_rule.not_found")


def circulation_settings_update(*, actor, floating_item_types, transfer_days, lost_found_fee_cents=None):
    """The library's circulation settings (library administrators);
    `lost_found_fee_cents` None keeps the current processing fee."""
    actor.require_current_library()
    require_role(actor, Role.LIBRARY_ADMIN)
    unknown = [value for value in floating_item_types if value not in ItemType.values]
    if unknown:
        raise ServiceError("circulation_settings.floating_type_unknown", field="floating_item_types")
    transfer_days = _number(transfer_days, 0, 30, _("Het aantal dagen transport"), field="transfer_days")
    if lost_found_fee_cents is not None:
        lost_found_fee_cents = _number(lost_found_fee_cents, 0, MAX_AMOUNT_CENTS, _("De verwerkingskosten"),
                                       field="lost_found_fee_cents", amount=True)
    with transaction.atomic():
        CirculationSettings.objects.get_or_create(pk=SETTINGS_PK)
        settings = CirculationSettings.objects.select_for_update().get(pk=SETTINGS_PK)
        settings.floating_item_types = sorted(set(floating_item_types))
        settings.transfer_days = transfer_days
        if lost_found_fee_cents is not None:
            settings.lost_found_fee_cents = lost_found_fee_cents
        settings.save()
        _expected_dates_refresh_on_commit()
    return settings
