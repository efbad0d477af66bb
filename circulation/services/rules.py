"""The loan-rule matrix and the circulation settings (library administrators).

Errors are ValidationErrors with Dutch messages; nothing is saved then.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from collection.models import ItemType
from collection.services import branch_of
from core.money import MAX_AMOUNT_CENTS, euro
from members.models import MemberCategory

from ..models import CirculationSettings, LoanRule
from .loans import SETTINGS_PK, _in_library_schema

RULE_NUMBERS = {
    "loan_days": (1, 365, "De uitleentermijn"),
    "max_renewals": (0, 99, "Het maximum aantal verlengingen"),
    "hold_shelf_days": (1, 60, "Het aantal dagen op de reserveringsplank"),
}
RULE_OPTIONAL_NUMBERS = {
    "max_loans_total": (0, 999, "Het maximum aantal leningen"),
    "max_loans_of_type": (0, 999, "Het maximum van deze soort"),
}
RULE_AMOUNTS = {
    "loan_fee_cents": "Het leengeld",
    "fine_per_day_cents": "De boete per dag",
    "fine_max_cents": "De maximale boete",
    "hold_fee_cents": "De reserveringskosten",
}
RULE_FLAGS = ("holdable", "auto_renew")


def _number(value, low, high, label, *, optional=False):
    if value is None and optional:
        return None
    if type(value) is not int or not low <= value <= high:  # noqa: E721
        raise ValidationError(f"{label} moet een geheel getal van {low} tot en met {high} zijn.")
    return value


def _expected_dates_refresh_on_commit():
    """Loan periods and transfer days move the expected dates of waiting holds:
    recompute them in the background once the change is committed."""
    schema = connection.schema_name

    def enqueue():
        from ..tasks import holds_expected_refresh_library

        holds_expected_refresh_library.apply_async(headers={"_schema_name": schema})

    transaction.on_commit(enqueue, robust=True)


def loan_rule_save(*, organisation, staff_user, rule_id=None, for_guests=False, member_category_id=None,
                   item_type="", branch_id=None, for_libraries=False, **values):
    """Create or change one cell of the matrix."""
    _in_library_schema(organisation)
    errors = []
    cleaned = {}
    for name, (low, high, label) in RULE_NUMBERS.items():
        try:
            cleaned[name] = _number(values.get(name), low, high, label)
        except ValidationError as error:
            errors.extend(error.messages)
    for name, (low, high, label) in RULE_OPTIONAL_NUMBERS.items():
        try:
            cleaned[name] = _number(values.get(name), low, high, label, optional=True)
        except ValidationError as error:
            errors.extend(error.messages)
    for name, label in RULE_AMOUNTS.items():
        try:
            cleaned[name] = _number(values.get(name, 0), 0, MAX_AMOUNT_CENTS, label + f" (tot {euro(MAX_AMOUNT_CENTS)})")
        except ValidationError as error:
            errors.extend(error.messages)
    for name in RULE_FLAGS:
        cleaned[name] = bool(values.get(name, False))
    if item_type and item_type not in ItemType.values:
        errors.append("Kies een bestaande soort materiaal.")
    if for_guests and member_category_id:
        errors.append("Een regel voor gastleners geldt voor alle gastleners: kies geen ledencategorie.")
    if for_libraries and (for_guests or member_category_id):
        errors.append("Een regel voor bibliotheken (IBL) geldt voor alle bibliotheken: kies geen ledencategorie en "
                      "geen gastleners.")
    if member_category_id and not MemberCategory.objects.filter(pk=member_category_id).exists():
        errors.append("Kies een ledencategorie van deze bibliotheek.")
    if branch_id:
        try:
            branch_id = branch_of(organisation, branch_id).pk
        except ValidationError as error:
            errors.extend(error.messages)
    if not errors and cleaned["fine_max_cents"] and cleaned["fine_max_cents"] < cleaned["fine_per_day_cents"]:
        errors.append("De maximale boete mag niet lager zijn dan de boete per dag.")
    if errors:
        raise ValidationError(errors)
    dimensions = {"for_guests": bool(for_guests), "for_libraries": bool(for_libraries),
                  "member_category_id": member_category_id or None,
                  "item_type": item_type or "", "branch_id": branch_id or None}
    try:
        with transaction.atomic():
            if rule_id:
                rule = LoanRule.objects.select_for_update().filter(pk=rule_id).first()
                if rule is None:
                    raise ValidationError("Deze regel bestaat niet (meer).")
            else:
                rule = LoanRule()
            for name, value in {**dimensions, **cleaned}.items():
                setattr(rule, name, value)
            rule.save()
            _expected_dates_refresh_on_commit()
    except IntegrityError:
        raise ValidationError("Er is al een regel voor precies deze combinatie; pas die aan.")
    return rule


def loan_rule_delete(*, organisation, staff_user, rule_id):
    _in_library_schema(organisation)
    with transaction.atomic():
        deleted, _ = LoanRule.objects.filter(pk=rule_id).delete()
        if deleted:
            _expected_dates_refresh_on_commit()
    if not deleted:
        raise ValidationError("Deze regel bestaat niet (meer).")


def circulation_settings_update(*, organisation, staff_user, floating_item_types, transfer_days):
    _in_library_schema(organisation)
    unknown = [value for value in floating_item_types if value not in ItemType.values]
    if unknown:
        raise ValidationError("Kies bestaande soorten materiaal voor de zwevende collectie.")
    transfer_days = _number(transfer_days, 0, 30, "Het aantal dagen transport")
    with transaction.atomic():
        CirculationSettings.objects.get_or_create(pk=SETTINGS_PK)
        settings = CirculationSettings.objects.select_for_update().get(pk=SETTINGS_PK)
        settings.floating_item_types = sorted(set(floating_item_types))
        settings.transfer_days = transfer_days
        settings.save()
        _expected_dates_refresh_on_commit()
    return settings
