"""Funds (budgets) per year: create, change the allocation, roll over to the next year."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from core.errors import ServiceError, ServiceErrors

from ..models import Fund, OrderLine, OrderStatus, TargetGroup
from .common import acquisitions_actor, cents_checked, fund_change, funds_locked


def fund_save(*, actor, fund_id=None, year, code, name, allocated_cents, parent_id=None, target_group="",
              ledger_account="", is_active=True):
    """Create or change a fund. A change of the allocation is recorded as an entry;
    it cannot go below what the fund has committed and spent."""
    acquisitions_actor(actor)
    code, name = (code or "").strip().upper(), (name or "").strip()
    errors = []
    try:
        year = int(year)
        if not 2000 <= year <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(ServiceError("fund.year_invalid", field="year"))
        year = None
    if not code:
        errors.append(ServiceError("fund.code_missing", field="code"))
    if not name:
        errors.append(ServiceError("fund.name_missing", field="name"))
    try:
        cents_checked(allocated_cents, "fund.amount_invalid", "allocated", allow_zero=True, value=allocated_cents)
    except ServiceError as error:
        errors.append(error)
    if target_group and target_group not in TargetGroup.values:
        errors.append(ServiceError("fund.target_group_unknown", field="target_group", value=target_group))
    parent = None
    if parent_id not in (None, ""):
        parent = Fund.objects.filter(pk=parent_id).first()
        if parent is None:
            errors.append(ServiceError("fund.not_found", field="parent"))
        elif year is not None and parent.year != year:
            errors.append(ServiceError("fund.parent_other_year", field="parent"))
    if errors:
        raise ServiceErrors(errors)
    try:
        with transaction.atomic():
            if fund_id is None:
                fund = Fund.objects.create(year=year, code=code, name=name, parent=parent, allocated_cents=0,
                                           target_group=target_group or "", ledger_account=(ledger_account or "")
                                           .strip()[:20], is_active=bool(is_active))
            else:
                fund = funds_locked([fund_id]).get(int(fund_id))
                if fund is None:
                    raise ServiceError("fund.not_found")
                if fund.year != year:
                    raise ServiceError("fund.parent_other_year", field="year")
                ancestor = parent
                while ancestor is not None:
                    if ancestor.pk == fund.pk:
                        raise ServiceError("fund.parent_cycle", field="parent")
                    ancestor = ancestor.parent
                fund.code, fund.name, fund.parent = code, name, parent
                fund.target_group, fund.ledger_account = target_group or "", (ledger_account or "").strip()[:20]
                fund.is_active = bool(is_active)
                fund.save(update_fields=["code", "name", "parent", "target_group", "ledger_account", "is_active"])
                used = fund.committed_cents + fund.spent_cents
                if allocated_cents < used:
                    from core.money import euro

                    raise ServiceError("fund.allocation_below_use", field="allocated", fund=fund.code,
                                       used=euro(used))
            fund_change(fund, "allocate", allocated_cents - fund.allocated_cents, actor=actor,
                        reason=_("Toekenning"))
            return fund
    except IntegrityError:
        raise ServiceError("fund.code_taken", field="code", value=code, year=year) from None


def fund_year_rollover(*, actor, from_year, to_year, allocation_percent=100, carry_unspent=False,
                       move_open_orders=True):
    """Start a new budget year from the last one: every active fund of `from_year`
    gets a fund with the same code, name, target group and place in the tree in
    `to_year`, allocated `allocation_percent` % of its old allocation (plus what was
    left, with `carry_unspent`). With `move_open_orders` the commitments of lines
    still open move to the new fund (released in the old year, committed in the new).
    Refused when `to_year` already has funds. Returns the new funds."""
    acquisitions_actor(actor)
    try:
        from_year, to_year = int(from_year), int(to_year)
        if not (2000 <= from_year <= 2100 and 2000 <= to_year <= 2100) or to_year <= from_year:
            raise ValueError
    except (TypeError, ValueError):
        raise ServiceError("fund.year_invalid", field="to_year") from None
    try:
        allocation_percent = int(allocation_percent)
        if not 0 <= allocation_percent <= 1000:
            raise ValueError
    except (TypeError, ValueError):
        raise ServiceError("fund.rollover_percent_invalid", field="allocation_percent") from None
    with transaction.atomic():
        if Fund.objects.filter(year=to_year).exists():
            raise ServiceError("fund.rollover_exists", year=to_year)
        old_ids = list(Fund.objects.filter(year=from_year, is_active=True).values_list("pk", flat=True))
        if not old_ids:
            raise ServiceError("fund.rollover_empty", year=from_year)
        lines = []
        if move_open_orders:
            lines = list(OrderLine.objects.select_for_update().filter(
                fund_id__in=old_ids, order__status=OrderStatus.ORDERED).order_by("pk"))
        old = funds_locked(old_ids)
        new = {}
        # parents first: walk the tree from its roots
        pending = sorted(old.values(), key=lambda f: f.pk)
        while pending:
            progressed = []
            for fund in pending:
                if fund.parent_id is None or fund.parent_id in new or fund.parent_id not in old:
                    allocation = fund.allocated_cents * allocation_percent // 100
                    if carry_unspent:
                        allocation += max(0, fund.left_cents)
                    created = Fund.objects.create(
                        year=to_year, code=fund.code, name=fund.name, parent=new.get(fund.parent_id),
                        allocated_cents=0, target_group=fund.target_group, ledger_account=fund.ledger_account,
                        rolled_from=fund)
                    fund_change(created, "allocate", allocation, actor=actor,
                                reason=_("Overgang van %(year)s") % {"year": from_year})
                    new[fund.pk] = created
                    progressed.append(fund)
            pending = [fund for fund in pending if fund not in progressed]
        for line in lines:
            amount = line.committed_cents
            if amount <= 0:
                continue
            target = new[line.fund_id]
            fund_change(old[line.fund_id], "commit", -amount, actor=actor, order_line=line,
                        reason=_("Naar %(year)s") % {"year": to_year})
            fund_change(target, "commit", amount, actor=actor, order_line=line,
                        reason=_("Uit %(year)s") % {"year": from_year})
            line.fund_id = target.pk
            line.save(update_fields=["fund"])
        return list(new.values())
