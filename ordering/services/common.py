"""Helpers of the acquisitions services: the role guard, money arithmetic, fund
changes (always under the fund's row lock, always with a FundEntry)."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db.models import F

from core.errors import ServiceError
from core.money import MAX_AMOUNT_CENTS
from staff.models import Role
from staff.permissions import actor_has_role, require_role

from ..models import Fund, FundEntry, OrderingSettings


def acquisitions_actor(actor):
    """The first lines of every acquisitions service: this library, the acquisitions role
    (the system may act too: nightly claims, demo data)."""
    organisation = actor.require_current_library()
    if not actor.is_system:
        require_role(actor, Role.ACQUISITIONS)
    return organisation


def may_overspend(actor):
    """Only the library's administration (budget holder) may take a fund below zero."""
    return actor.is_system or actor_has_role(actor, Role.LIBRARY_ADMIN)


def unit_cost(list_price_cents, discount_bp):
    """List price less discount, rounded half up to the cent (integer arithmetic)."""
    return (list_price_cents * (10000 - discount_bp) + 5000) // 10000


def vat_in(amount_cents, vat_bp):
    """The VAT contained in an amount that includes it, rounded half up."""
    return (amount_cents * vat_bp * 2 + (10000 + vat_bp)) // (2 * (10000 + vat_bp))


def percent_bp(value, code, field=None):
    """'9', '9,5', '12.25', Decimal or int percent -> basis points (0..10000); refusal `code` otherwise."""
    if value is None or value == "":
        raise ServiceError(code, field=field)
    text = str(value).replace("%", "").replace(",", ".").strip()
    # ASCII digits only: Decimal('٢٥') is 25 (issue 14, finding 11).
    if not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]+)?", text):
        raise ServiceError(code, field=field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ServiceError(code, field=field) from None
    if not number.is_finite() or number < 0 or number > 100 or number != number.quantize(Decimal("0.01")):
        raise ServiceError(code, field=field)
    return int((number * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def cents_checked(amount, code, field=None, *, allow_zero=False, **params):
    """An amount in cents given as int; refusal `code` when not a positive (or zero) amount in range."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ServiceError(code, field=field, **params)
    if amount < 0 or (amount == 0 and not allow_zero) or amount > MAX_AMOUNT_CENTS:
        raise ServiceError(code, field=field, **params)
    return amount


def settings_locked():
    """The library's acquisitions settings row, locked (made on first use)."""
    OrderingSettings.objects.get_or_create(pk=1)
    return OrderingSettings.objects.select_for_update().get(pk=1)


def funds_locked(fund_ids):
    """Lock these funds (primary-key order); {pk: fund}."""
    return {fund.pk: fund for fund in Fund.objects.select_for_update().filter(pk__in=set(fund_ids)).order_by("pk")}


_COLUMNS = {"allocate": "allocated_cents", "commit": "committed_cents", "spend": "spent_cents"}


def fund_change(fund, kind, amount_cents, *, actor, order_line=None, invoice_line=None, reason=""):
    """Change one of a (locked) fund's amounts and record it. No-op for 0."""
    if amount_cents == 0:
        return None
    column = _COLUMNS[kind]
    Fund.objects.filter(pk=fund.pk).update(**{column: F(column) + amount_cents})
    setattr(fund, column, getattr(fund, column) + amount_cents)
    return FundEntry.objects.create(fund=fund, kind=kind, amount_cents=amount_cents, order_line=order_line,
                                    invoice_line=invoice_line, reason=str(reason)[:200],
                                    staff_user=actor.user_or_none, actor_ref=actor.ref)
