"""Reservations (holds): place, cancel, suspend, change pickup branch, move in the
queue; fill a hold when a copy comes in (checkin, or picked off the shelf);
receive a copy at the pickup branch; expire holds left on the shelf; and keep
every waiting hold's expected availability date up to date.

Decisions:
- The queue is per title, first come first served by queue_at; a staff member
  may move a hold (logged). Item-level holds wait for their copy only.
- A suspended hold keeps its place but is skipped while suspended.
- Locks: item first (the caller, checkin/checkout), then holds in queue order.
  Two copies checked in at once for one hold: the second blocks on the hold row,
  then sees it is no longer waiting and goes to the next hold (or the shelf);
  the partial unique index "one hold per assigned copy" stands behind it.
- The hold fee is charged when the hold is placed.
- Expected dates are recomputed (circulation.expected) inside the transaction
  of every change that moves them.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from collection.models import Item, ItemStatus
from collection.services import branch_of, item_circulation_update
from members.models import LedgerEntry, Member
from members.selectors.ledger import member_may_borrow
from members.services.ledger import ledger_charge

from ..models import ACTIVE_HOLD_STATUSES, CirculationEvent, Hold, HoldStatus, Loan, Transfer
from ..rules import loan_rule_choose
from .loans import (
    ROUTE_HOLD_SHELF,
    ROUTE_HOLD_TRANSIT,
    CheckinResult,
    _branch_name,
    _in_library_schema,
    _title_text,
    title_fields,
    _transfer_start,
)

# Copies in these states can (eventually) fill a hold.
HOLDABLE_STATUSES = (
    ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF,
)


def _rule(member_category_id, item, branch_id):
    return loan_rule_choose(for_guests=False, member_category_id=member_category_id, item_type=item.item_type,
                            branch_id=branch_id).rule


def holdable_copies(*, title_id, member_category_id, item_id=None):
    """The copies of this library that may fill a hold by a member of this category."""
    items = Item.objects.filter(title_id=title_id, status__in=HOLDABLE_STATUSES, not_for_loan=False)
    if item_id is not None:
        items = items.filter(pk=item_id)
    return [item for item in items if _rule(member_category_id, item, item.owning_branch_id).holdable]


def _queue_notice(hold, kind, context):
    from notices.services import notice_queue

    notice_queue(member=hold.member, kind=kind, dedupe_key=f"{kind}:{hold.pk}", context=context,
                 branch=hold.pickup_branch_id)


def _event(hold, staff_user, detail):
    CirculationEvent.objects.create(kind=CirculationEvent.Kind.HOLD, hold=hold, staff_user=staff_user,
                                    item_id_ref=hold.item_id, detail=detail)


# --- placing and changing ----------------------------------------------------------

def hold_place(*, organisation, staff_user, member, title_id=None, item_barcode=None, pickup_branch_id,
               now=None):
    """Reserve a title (any holdable copy) or one copy (item_barcode) for a member,
    to be picked up at a branch of this library."""
    _in_library_schema(organisation)
    now = now or timezone.now()
    with transaction.atomic():
        pickup = branch_of(organisation, pickup_branch_id, label="De ophaalvestiging")
        member = Member.objects.select_related("category").select_for_update(of=("self",)).filter(pk=member.pk).first()
        if member is None or member.erased_at is not None:
            raise ValidationError("Dit lid bestaat niet (meer).")
        may, reasons = member_may_borrow(member)
        if not may:
            raise ValidationError(["Dit lid kan nu niet reserveren:"] + reasons)
        item = None
        if item_barcode:
            item = Item.objects.filter(barcode=(item_barcode or "").strip()).first()
            if item is None:
                raise ValidationError(f"Exemplaar {item_barcode} is onbekend in deze bibliotheek.")
            title_id = item.title_id
        if title_id is None:
            raise ValidationError("Kies een titel of een exemplaar om te reserveren.")
        title_text = _title_text(title_id)
        if Hold.objects.filter(member=member, title_id=title_id, status__in=ACTIVE_HOLD_STATUSES).exists():
            raise ValidationError(f"{member.full_name} heeft {title_text} al gereserveerd.")
        if Loan.objects.filter(member=member, title_id=title_id, ended_at__isnull=True).exists():
            raise ValidationError(f"{member.full_name} heeft {title_text} nu al geleend.")
        copies = holdable_copies(title_id=title_id, member_category_id=member.category_id,
                                 item_id=item.pk if item else None)
        if not copies:
            if item is not None:
                raise ValidationError(f"Exemplaar {item.barcode} kan niet worden gereserveerd "
                                      f"(status {item.get_status_display().lower()} of niet reserveerbaar).")
            raise ValidationError(f"Van {title_text} heeft deze bibliotheek geen exemplaren die gereserveerd kunnen worden.")
        hold = Hold.objects.create(member=member, title_id=title_id, item=item, pickup_branch_id=pickup.pk,
                                   placed_at=now, queue_at=now, placed_by=staff_user)
        fee = max(_rule(member.category_id, copy, pickup.pk).hold_fee_cents for copy in copies[:1])
        if fee:
            ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.RESERVATION_FEE, amount_cents=fee,
                          staff_user=staff_user, description=f"Reservering: {title_text}", reference=f"hold:{hold.pk}")
        _event(hold, staff_user, f"Geplaatst, ophalen in {pickup.name}")
        holds_expected_refresh_for_title(title_id, today=timezone.localdate(now))
        hold.refresh_from_db()
    return hold


def _lock_hold(hold_id):
    hold = Hold.objects.select_for_update().select_related("member").filter(pk=hold_id).first()
    if hold is None:
        raise ValidationError("Deze reservering bestaat niet.")
    return hold


def _release_copy(organisation, hold, *, staff_user, now):
    """A cancelled hold that had a copy: the copy is freed for the next hold or the
    shelf when it is next scanned at checkin (it stays where it is until then)."""
    hold.assigned_item = None


def hold_cancel(*, organisation, staff_user, hold_id, reason="", now=None):
    _in_library_schema(organisation)
    now = now or timezone.now()
    with transaction.atomic():
        hold = _lock_hold(hold_id)
        if not hold.is_active:
            raise ValidationError("Deze reservering is al afgesloten.")
        had_copy = hold.assigned_item_id
        hold.status = HoldStatus.CANCELLED
        hold.ended_at = now
        hold.cancel_reason = (reason or "").strip()[:200] or "Geannuleerd"
        hold.save(update_fields=["status", "ended_at", "cancel_reason"])
        _event(hold, staff_user, f"Geannuleerd: {hold.cancel_reason}"
                                 + (" (het toegewezen exemplaar moet opnieuw worden ingenomen)" if had_copy else ""))
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate(now))
    return hold


def hold_suspend(*, organisation, staff_user, hold_id, until):
    """Suspend a waiting hold until a date; it keeps its place in the queue."""
    _in_library_schema(organisation)
    today = timezone.localdate()
    if until is None or until <= today:
        raise ValidationError("Kies een datum in de toekomst om de reservering tot op te schorten.")
    if until > today + datetime.timedelta(days=365):
        raise ValidationError("Een reservering kan hoogstens een jaar worden opgeschort.")
    with transaction.atomic():
        hold = _lock_hold(hold_id)
        if hold.status != HoldStatus.WAITING:
            raise ValidationError("Alleen een wachtende reservering kan worden opgeschort.")
        hold.suspended_until = until
        hold.save(update_fields=["suspended_until"])
        _event(hold, staff_user, f"Opgeschort tot {until:%d-%m-%Y}")
        holds_expected_refresh_for_title(hold.title_id, today=today)
    return hold


def hold_resume(*, organisation, staff_user, hold_id):
    _in_library_schema(organisation)
    with transaction.atomic():
        hold = _lock_hold(hold_id)
        if hold.suspended_until is None:
            raise ValidationError("Deze reservering is niet opgeschort.")
        hold.suspended_until = None
        hold.save(update_fields=["suspended_until"])
        _event(hold, staff_user, "Weer actief")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


def hold_change_pickup(*, organisation, staff_user, hold_id, pickup_branch_id):
    """Change where a waiting hold is picked up (a hold already on its way or on a
    shelf cannot move: cancel and place it anew)."""
    _in_library_schema(organisation)
    with transaction.atomic():
        pickup = branch_of(organisation, pickup_branch_id, label="De ophaalvestiging")
        hold = _lock_hold(hold_id)
        if hold.status != HoldStatus.WAITING:
            raise ValidationError("Alleen bij een wachtende reservering kan de ophaalvestiging nog worden gewijzigd.")
        if hold.pickup_branch_id == pickup.pk:
            raise ValidationError(f"De reservering wordt al opgehaald in {pickup.name}.")
        hold.pickup_branch_id = pickup.pk
        hold.save(update_fields=["pickup_branch_id"])
        _event(hold, staff_user, f"Ophaalvestiging gewijzigd naar {pickup.name}")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


def hold_queue_move(*, organisation, staff_user, hold_id, before_hold_id, reason):
    """Staff override of first come, first served: put a waiting hold directly
    before another waiting hold of the same title. The reason is logged."""
    _in_library_schema(organisation)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Geef een reden om de volgorde van de wachtrij te veranderen.")
    with transaction.atomic():
        # Both rows in primary-key order, as every write that locks two holds does.
        locked = {hold_id: None, before_hold_id: None}
        for pk in sorted(locked, key=lambda value: int(value)):
            locked[pk] = _lock_hold(pk)
        hold, other = locked[hold_id], locked[before_hold_id]
        if hold.status != HoldStatus.WAITING or other.status != HoldStatus.WAITING:
            raise ValidationError("Alleen wachtende reserveringen kunnen in de wachtrij worden verplaatst.")
        if hold.title_id != other.title_id or hold.pk == other.pk:
            raise ValidationError("Kies een andere reservering van dezelfde titel.")
        hold.queue_at = other.queue_at - datetime.timedelta(microseconds=1)
        hold.save(update_fields=["queue_at"])
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.QUEUE, hold=hold, staff_user=staff_user,
                                        detail=f"Voor reservering {other.pk} geplaatst: {reason[:300]}")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


# --- filling -----------------------------------------------------------------------

def _waiting_for_item(item, today):
    """Waiting holds this copy could fill, in queue order (not suspended)."""
    return (
        Hold.objects.filter(status=HoldStatus.WAITING, title_id=item.title_id)
        .filter(Q(item__isnull=True) | Q(item_id=item.pk))
        .filter(Q(suspended_until__isnull=True) | Q(suspended_until__lte=today))
        .order_by("queue_at", "pk")
    )


def hold_trap(*, organisation, item, branch, staff_user, now):
    """Fill the first waiting hold this (locked, not lent) copy can fill: to this
    branch's hold shelf, or in transit to the pickup branch. None when no hold
    wants it."""
    today = timezone.localdate(now)
    for hold_id in _waiting_for_item(item, today).values_list("pk", flat=True)[:20]:
        hold = Hold.objects.select_for_update().select_related("member").get(pk=hold_id)
        if hold.status != HoldStatus.WAITING:
            continue  # filled by a concurrent checkin of another copy
        if not _rule(hold.member.category_id, item, item.owning_branch_id).holdable:
            continue
        hold.assigned_item = item
        if hold.pickup_branch_id == branch.pk:
            return _make_ready(organisation, hold, item, branch, staff_user=staff_user, now=now)
        hold.status = HoldStatus.IN_TRANSIT
        hold.save(update_fields=["status", "assigned_item"])
        _transfer_start(organisation, item, from_branch_id=branch.pk, to_branch_id=hold.pickup_branch_id,
                        reason=Transfer.Reason.HOLD, staff_user=staff_user, now=now, hold=hold)
        pickup_name = _branch_name(hold.pickup_branch_id)
        return CheckinResult(item=item, route=ROUTE_HOLD_TRANSIT, hold=hold,
                             destination_branch_id=hold.pickup_branch_id,
                             message=f"RESERVERING — TRANSPORT NAAR {pickup_name.upper()}",
                             notes=[f"Gereserveerd door pas {hold.member.card_number}; ophalen in {pickup_name}."])
    return None


def _make_ready(organisation, hold, item, branch, *, staff_user, now):
    today = timezone.localdate(now)
    rule = _rule(hold.member.category_id, item, branch.pk)
    hold.status = HoldStatus.READY
    hold.ready_at = now
    hold.shelf_until = today + datetime.timedelta(days=rule.hold_shelf_days)
    hold.expected_on = today
    hold.save(update_fields=["status", "assigned_item", "ready_at", "shelf_until", "expected_on"])
    if item.status != ItemStatus.ON_HOLD_SHELF:
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.ON_HOLD_SHELF, current_branch_id=branch.pk,
                                detail=f"Op de reserveringsplank voor pas {hold.member.card_number}")
    _queue_notice(hold, "hold_ready", {
        "titels": [{**title_fields(hold.title_id), "barcode": item.barcode, "uiterste_ophaaldatum": hold.shelf_until}],
        "uiterste_ophaaldatum": hold.shelf_until,
    })
    return CheckinResult(item=item, route=ROUTE_HOLD_SHELF, hold=hold, destination_branch_id=branch.pk,
                         message="RESERVERINGSPLANK",
                         notes=[f"Voor pas {hold.member.card_number} ({hold.member.full_name}); "
                                f"ligt klaar tot en met {hold.shelf_until:%d-%m-%Y}."])


def hold_receive(*, organisation, item, transfer, staff_user, now):
    """A copy in transit for a hold arrives at the pickup branch: onto the hold
    shelf. None when that hold was cancelled meanwhile (then route as usual)."""
    from tenants.models import Branch

    hold = Hold.objects.select_for_update().select_related("member").filter(pk=transfer.hold_id).first()
    if hold is None or hold.status != HoldStatus.IN_TRANSIT or hold.assigned_item_id != item.pk:
        return None
    branch = Branch.objects.get(pk=transfer.to_branch_id)
    return _make_ready(organisation, hold, item, branch, staff_user=staff_user, now=now)


def hold_ready_for_item(item):
    return Hold.objects.select_related("member").filter(assigned_item=item, status=HoldStatus.READY).first()


def hold_for_checkout(*, item, borrower):
    """The ready hold on this copy when it is this borrower's (else None)."""
    hold = hold_ready_for_item(item)
    if hold is None or borrower.member is None or hold.member_id != borrower.member.pk:
        return None
    return hold


def holds_fulfil_on_checkout(*, organisation, item, borrower, now):
    """The member borrowed a copy: their hold on it (ready for them, or still
    waiting on the title) is fulfilled. A copy ready for this member that is lent
    frees nobody else's place."""
    if borrower.member is None:
        return
    holds = Hold.objects.select_for_update().filter(
        member_id=borrower.member.pk, title_id=item.title_id, status__in=ACTIVE_HOLD_STATUSES
    )
    for hold in holds:
        if hold.assigned_item_id not in (None, item.pk):
            # Their copy is on its way or on a shelf, but they took another one: the
            # assigned copy goes to the next in line when it is next checked in.
            pass
        hold.status = HoldStatus.FULFILLED
        hold.ended_at = now
        hold.save(update_fields=["status", "ended_at"])


def holds_waiting_for_loan(loan):
    """Is another member waiting for this loan's title (or this very copy)?
    Renewal is refused then."""
    today = timezone.localdate()
    return (
        Hold.objects.filter(status=HoldStatus.WAITING, title_id=loan.title_id)
        .filter(Q(item__isnull=True) | Q(item_id=loan.item_id))
        .filter(Q(suspended_until__isnull=True) | Q(suspended_until__lte=today))
        .exclude(member_id=loan.member_id)
        .exists()
    )


def holds_expire(*, organisation, today=None, staff_user=None):
    """Ready holds not picked up by their last day expire; their copies are listed
    on the hold-shelf screen to be taken off and checked in (which passes them to
    the next in line). Idempotent. Returns the expired holds."""
    _in_library_schema(organisation)
    today = today or timezone.localdate()
    expired = []
    with transaction.atomic():
        for hold in Hold.objects.select_for_update().filter(status=HoldStatus.READY, shelf_until__lt=today):
            hold.status = HoldStatus.EXPIRED
            hold.ended_at = timezone.now()
            hold.save(update_fields=["status", "ended_at"])
            _event(hold, staff_user, f"Niet opgehaald vóór {hold.shelf_until:%d-%m-%Y}")
            expired.append(hold)
        for title_id in {hold.title_id for hold in expired}:
            holds_expected_refresh_for_title(title_id, today=today)
    return expired


# --- expected dates ----------------------------------------------------------------

def holds_expected_refresh_for_title(title_id, *, today):
    """Recompute and store the position and expected date of every waiting hold on
    a title (cheap no-op when nobody waits)."""
    from ..expected import expected_dates_for_title

    waiting = list(Hold.objects.filter(title_id=title_id, status=HoldStatus.WAITING).order_by("queue_at", "pk"))
    if not waiting:
        return 0
    estimates = expected_dates_for_title(title_id=title_id, holds=waiting, today=today)
    now = timezone.now()
    changed = []
    for position, hold in enumerate(waiting, start=1):
        expected = estimates.get(hold.pk)
        if hold.expected_on != expected or hold.expected_position != position:
            hold.expected_on = expected
            hold.expected_position = position
            hold.expected_computed_at = now
            changed.append(hold)
    Hold.objects.bulk_update(changed, ["expected_on", "expected_position", "expected_computed_at"])
    return len(changed)
