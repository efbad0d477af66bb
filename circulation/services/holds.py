"""Reservations (holds): place, cancel, suspend, change pickup branch, move in the
queue; fill a hold when a copy comes in (checkin, or picked off the shelf);
receive a copy at the pickup branch; expire holds left on the shelf; and keep
every waiting hold's expected availability date up to date.

Decisions:
- Every write takes the `actor` (core.actors.Actor). A member actor acts only on
  their own holds (actor.not_owner); moving a hold in the queue is staff work
  (Role.DESK). The actor is recorded on the hold and its events (actor_ref).
- The queue is per title, first come first served by queue_at; a staff member
  may move a hold (logged). Item-level holds wait for their copy only.
- A suspended hold keeps its place but is skipped while suspended.
- Locks (core.locks): item first (the caller, checkin/checkout), then the borrower,
  then holds by primary key (every hold a change touches, taken at once), then the
  holdings row. Two copies checked in at once for one hold: the second waits for
  the title's waiting holds, then sees it is no longer waiting and goes to the
  next hold (or the shelf); the partial unique index "one hold per assigned copy"
  stands behind it.
- The hold fee is charged when the hold is placed.
- Expected dates are recomputed (circulation.expected) inside the transaction
  of every change that moves them.
- Refusals are core.errors.ServiceError codes (hold.*, circulation/errors.py).
"""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collection.models import Item, ItemStatus
from collection.services import branch_of, item_circulation_update
from core import locks
from core.actors import ActorKind
from core.errors import ServiceError, ServiceErrors
from core.locks import lock_rows
from members.models import LedgerEntry, Member
from members.services.ledger import ledger_charge
from staff.models import Role
from staff.permissions import require_role
from tenants import calendar

from ..borrowers import Borrower, block_reasons, borrower_library
from ..models import ACTIVE_HOLD_STATUSES, BorrowerKind, CirculationEvent, Hold, HoldStatus, Loan, Transfer
from ..rules import loan_rule_choose, rule_dimensions
from .loans import (
    ROUTE_HOLD_SHELF,
    ROUTE_HOLD_TRANSIT,
    CheckinResult,
    Note,
    _branch_name,
    _lock_borrower,
    _title_text,
    _transfer_start,
    title_fields,
)

PICKUP_BRANCH = _("De ophaalvestiging")
NOT_NEEDED_AFTER_MAX_DAYS = 730

# Copies in these states can (eventually) fill a hold.
HOLDABLE_STATUSES = (
    ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF,
)


def _rule(member_category_id, item, branch_id, borrower_kind=BorrowerKind.MEMBER):
    return loan_rule_choose(**rule_dimensions(borrower_kind, member_category_id), item_type=item.item_type,
                            branch_id=branch_id).rule


def _hold_rule(hold, item, branch_id):
    """The loan rule for the borrower of a hold (a member's category, or the rules for libraries)."""
    return _rule(hold.member.category_id if hold.member_id else None, item, branch_id, hold.borrower_kind)


def _held_for(hold):
    """Whom a hold is for, on a desk line: a member's card, or the library and its request."""
    if hold.member_id is None:
        return hold.borrower_label
    return f"pas {hold.member.card_number}"


def holdable_copies(*, title_id, member_category_id, item_id=None, borrower_kind=BorrowerKind.MEMBER):
    """The copies of this library that may fill a hold by a member of this category
    (or, with borrower_kind library, by a library organisation)."""
    # Another library's copy here on interlibrary loan is for its own member only.
    items = Item.objects.filter(title_id=title_id, status__in=HOLDABLE_STATUSES, not_for_loan=False,
                                ibl_owner_id__isnull=True)
    if item_id is not None:
        items = items.filter(pk=item_id)
    return [item for item in items
            if _rule(member_category_id, item, item.owning_branch_id, borrower_kind).holdable]


def hold_fee_cents(copies, *, category_id, pickup_branch_id, borrower_kind=BorrowerKind.MEMBER):
    """The fee for a hold that these holdable copies may fill (the rule of the first),
    charged when the hold is placed."""
    return max((_rule(category_id, copy, pickup_branch_id, borrower_kind).hold_fee_cents for copy in copies[:1]),
               default=0)


def hold_quote(*, member, title_id, pickup_branch_id):
    """What placing a hold would mean for this member, before they confirm it: the
    fee (cents) and how many holdable copies this library has (0: it cannot be
    reserved here). A read; hold_place checks everything again."""
    copies = holdable_copies(title_id=title_id, member_category_id=member.category_id)
    return {"fee_cents": hold_fee_cents(copies, category_id=member.category_id, pickup_branch_id=pickup_branch_id),
            "copies": len(copies)}


def _queue_notice(actor, hold, kind, context):
    from notices.services import notice_queue

    notice_queue(actor=actor, member=hold.member, kind=kind, dedupe_key=f"{kind}:{hold.pk}", context=context,
                 branch=hold.pickup_branch_id)


def _event(hold, actor, detail):
    CirculationEvent.objects.create(kind=CirculationEvent.Kind.HOLD, hold=hold, staff_user=actor.user_or_none,
                                    actor_ref=actor.ref, item_id_ref=hold.item_id, detail=detail)


def _lock_holds(queryset):
    """Lock holds (the hold rank, in primary-key order) with their members read
    along (not locked)."""
    return lock_rows(locks.HOLD, queryset.select_related("member"), of=("self",))


# --- placing and changing ----------------------------------------------------------

def hold_place(*, actor, member=None, title_id=None, item_barcode=None, pickup_branch_id, now=None, borrower=None,
               not_needed_after=None):
    """Reserve a title (any holdable copy) or one copy (item_barcode) for a member
    (a member actor: only for themselves), to be picked up at a branch of this
    library; or, with `borrower` a library organisation
    (circulation.borrowers.Borrower.library(org, reference)), for the lending side
    of interlibrary loan: the copy is put ready at `pickup_branch_id` to be sent to
    that library (no fee, no notice; the loan rules for libraries).

    `not_needed_after`: the member's last day of interest (after it the hold is not
    filled and ends by itself). A member may have at most the rule's max_holds
    active holds (hold.limit)."""
    organisation = actor.require_current_library()
    now = now or timezone.now()
    if not_needed_after is not None:
        if not_needed_after <= timezone.localdate(now):
            raise ServiceError("hold.not_needed_after_past", field="not_needed_after")
        if not_needed_after > timezone.localdate(now) + datetime.timedelta(days=NOT_NEEDED_AFTER_MAX_DAYS):
            raise ServiceError("hold.not_needed_after_too_far", field="not_needed_after")
    with transaction.atomic():
        pickup = branch_of(organisation, pickup_branch_id, label=PICKUP_BRANCH)
        if borrower is not None and borrower.is_library:
            actor.require_member(None)
            actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)  # the lending library's staff, or IBL's steps
            borrower = borrower_library(organisation=organisation, library=borrower.borrowing_library,
                                        reference=borrower.reference)
            _lock_borrower(borrower)
            member = None
        else:
            actor.require_member(member.pk)
            member = next(iter(lock_rows(
                locks.BORROWER, Member.objects.select_related("category").filter(pk=member.pk), of=("self",)
            )), None)
            if member is None or member.erased_at is not None:
                raise ServiceError("member.not_found")
            may, reasons = block_reasons(member)
            if not may:
                raise ServiceErrors([ServiceError("hold.member_may_not_reserve"), *reasons])
            borrower = Borrower(card_number=member.card_number, member=member, locked=True)
        item = None
        if item_barcode:
            item = Item.objects.filter(barcode=(item_barcode or "").strip()).first()
            if item is None:
                raise ServiceError("scan.item_unknown", field="item_barcode", barcode=item_barcode)
            title_id = item.title_id
        if title_id is None:
            raise ServiceError("hold.title_missing")
        title_text = _title_text(title_id)
        if Hold.objects.filter(**borrower.holds_filter(), title_id=title_id, status__in=ACTIVE_HOLD_STATUSES).exists():
            if borrower.is_library:
                raise ServiceError("hold.library_duplicate", name=borrower.borrowing_library.name, title=title_text)
            raise ServiceError("hold.duplicate", name=member.full_name, title=title_text)
        if member is not None and Loan.objects.filter(member=member, title_id=title_id, ended_at__isnull=True).exists():
            raise ServiceError("hold.already_on_loan", name=member.full_name, title=title_text)
        copies = holdable_copies(title_id=title_id, member_category_id=borrower.category_id,
                                 item_id=item.pk if item else None, borrower_kind=borrower.kind)
        if not copies:
            if item is not None:
                raise ServiceError("hold.item_not_holdable", barcode=item.barcode,
                                   status=item.get_status_display().lower())
            raise ServiceError("hold.no_holdable_copies", title=title_text)
        limit = _rule(borrower.category_id, copies[0], pickup.pk, borrower.kind).max_holds
        if limit is not None and not borrower.is_library and Hold.objects.filter(
                **borrower.holds_filter(), status__in=ACTIVE_HOLD_STATUSES).count() >= limit:
            raise ServiceError("hold.limit", max=limit)
        hold = Hold.objects.create(**borrower.hold_fields(), title_id=title_id, item=item, pickup_branch_id=pickup.pk,
                                   placed_at=now, queue_at=now, placed_by=actor.user_or_none, actor_ref=actor.ref,
                                   not_needed_after=not_needed_after)
        fee = hold_fee_cents(copies, category_id=borrower.category_id, pickup_branch_id=pickup.pk,
                             borrower_kind=borrower.kind)
        if fee and borrower.pays:
            ledger_charge(actor=actor, member=member, charge_type=LedgerEntry.ChargeType.RESERVATION_FEE,
                          amount_cents=fee, description=f"Reservering: {title_text}", reference=f"hold:{hold.pk}")
        _event(hold, actor, f"Geplaatst voor {borrower.label}, klaarzetten in {pickup.name}" if borrower.is_library
               else f"Geplaatst, ophalen in {pickup.name}")
        holds_expected_refresh_for_title(title_id, today=timezone.localdate(now))
        hold.refresh_from_db()
    return hold


def _lock_hold(actor, hold_id):
    """Lock one hold (the hold rank) that this actor may act on: a member only their own."""
    hold = next(iter(_lock_holds(Hold.objects.filter(pk=hold_id))), None)
    if hold is None:
        raise ServiceError("hold.not_found")
    actor.require_member(hold.member_id)
    return hold


def hold_cancel(*, actor, hold_id, reason="", now=None):
    """Cancel an active hold (a member actor: only their own). A ready hold's copy
    is free at once (_shelf_copy_free): ready for the next in line when they pick
    up where it lies, else to be taken off the hold shelf (and lendable meanwhile);
    a copy on its way is routed as usual when it arrives."""
    actor.require_current_library()
    now = now or timezone.now()
    for attempt in range(_CANCEL_ATTEMPTS):
        with transaction.atomic():
            # Its copy first (the item rank), then the hold with the title's waiting holds.
            ready = (Hold.objects.filter(pk=hold_id, status=HoldStatus.READY)
                     .values_list("assigned_item_id", "title_id"))
            item_id, title_id = next(iter(ready), (None, None))
            item = lock_rows(locks.ITEM, Item.objects.filter(pk=item_id))[0] if item_id else None
            condition = Q(pk=hold_id) | (Q(title_id=title_id, status=HoldStatus.WAITING) if item else Q(pk__in=[]))
            locked = {row.pk: row for row in _lock_holds(Hold.objects.filter(condition))}
            hold = locked.get(int(hold_id)) if str(hold_id).isdigit() else None
            if (hold is not None and hold.status == HoldStatus.READY and attempt + 1 < _CANCEL_ATTEMPTS
                    and (item is None or hold.assigned_item_id != item.pk)):
                # A checkin made it ready after the first read: its copy must be locked
                # first (core.locks), so start again; nothing was written yet.
                continue
            return _hold_cancel_locked(actor, hold, item, locked, reason=reason, now=now)


# A hold that turns ready between hold_cancel's first read and its lock is read again.
_CANCEL_ATTEMPTS = 3


def _hold_cancel_locked(actor, hold, item, locked, *, reason, now):
    """hold_cancel's writes, with the copy (of a ready hold) and the holds locked."""
    if hold is None:
        raise ServiceError("hold.not_found")
    actor.require_member(hold.member_id)
    if not hold.is_active:
        raise ServiceError("hold.closed")
    was_ready = hold.status == HoldStatus.READY and item is not None and hold.assigned_item_id == item.pk
    hold.status = HoldStatus.CANCELLED
    hold.ended_at = now
    hold.cancel_reason = (reason or "").strip()[:200] or "Geannuleerd"
    hold.save(update_fields=["status", "ended_at", "cancel_reason"])
    _event(hold, actor, f"Geannuleerd: {hold.cancel_reason}")
    if hold.member_id is not None and not actor.is_member:
        # Cancelled by the library (not by the member themself): they are told, with the reason.
        _queue_notice(actor, hold, "hold_cancelled", {
            "titels": [{**title_fields(hold.title_id), "barcode": ""}], "reden": hold.cancel_reason})
    if was_ready:
        _shelf_copy_free(actor, item, [row for row in locked.values() if row.pk != hold.pk], now=now)
    holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate(now), locked=was_ready)
    return hold


def _shelf_copy_free(actor, item, waiting, *, now):
    """The ready hold on this (locked) copy on a hold shelf ended: the next waiting
    hold (`waiting`, locked) that it can fill and that is picked up at the branch
    where it lies gets it at once (ready, with its notice). Otherwise it stays
    where it is, listed on that hold shelf to be taken off and checked in (which
    passes it on), and may be lent meanwhile. Returns the hold now ready, or None."""
    from tenants.models import Branch

    today = timezone.localdate(now)
    for hold in sorted((hold for hold in waiting if _fills(hold, item, today)), key=lambda h: (h.queue_at, h.pk)):
        if not _hold_rule(hold, item, item.owning_branch_id).holdable:
            continue
        if hold.pickup_branch_id != item.current_branch_id:
            return None  # first in line picks up elsewhere: off the shelf, checked in, sent
        hold.assigned_item = item
        _make_ready(actor, hold, item, Branch.objects.get(pk=item.current_branch_id), now=now)
        _event(hold, actor, "Klaargelegd met het exemplaar van een vervallen reservering")
        return hold
    return None


def hold_suspend(*, actor, hold_id, until):
    """Suspend a waiting hold until a date; it keeps its place in the queue (a
    member actor: only their own)."""
    actor.require_current_library()
    today = timezone.localdate()
    if until is None or until <= today:
        raise ServiceError("hold.suspend_date_not_future", field="until")
    if until > today + datetime.timedelta(days=365):
        raise ServiceError("hold.suspend_too_long", field="until")
    with transaction.atomic():
        hold = _lock_hold(actor, hold_id)
        if hold.status != HoldStatus.WAITING:
            raise ServiceError("hold.suspend_not_waiting")
        hold.suspended_until = until
        hold.save(update_fields=["suspended_until"])
        _event(hold, actor, f"Opgeschort tot {until:%d-%m-%Y}")
        holds_expected_refresh_for_title(hold.title_id, today=today)
    return hold


def hold_resume(*, actor, hold_id):
    """Make a suspended hold active again (a member actor: only their own)."""
    actor.require_current_library()
    with transaction.atomic():
        hold = _lock_hold(actor, hold_id)
        if hold.suspended_until is None:
            raise ServiceError("hold.not_suspended")
        hold.suspended_until = None
        hold.save(update_fields=["suspended_until"])
        _event(hold, actor, "Weer actief")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


def hold_change_pickup(*, actor, hold_id, pickup_branch_id):
    """Change where a waiting hold is picked up (a hold already on its way or on a
    shelf cannot move: cancel and place it anew). A member actor: only their own."""
    organisation = actor.require_current_library()
    with transaction.atomic():
        pickup = branch_of(organisation, pickup_branch_id, label=PICKUP_BRANCH)
        hold = _lock_hold(actor, hold_id)
        if hold.status != HoldStatus.WAITING:
            raise ServiceError("hold.pickup_not_waiting")
        if hold.pickup_branch_id == pickup.pk:
            raise ServiceError("hold.pickup_unchanged", branch=pickup.name)
        hold.pickup_branch_id = pickup.pk
        hold.save(update_fields=["pickup_branch_id"])
        _event(hold, actor, f"Ophaalvestiging gewijzigd naar {pickup.name}")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


def hold_queue_move(*, actor, hold_id, before_hold_id, reason):
    """Staff override of first come, first served (Role.DESK): put a waiting hold
    directly before another waiting hold of the same title. The reason is logged."""
    actor.require_current_library()
    require_role(actor, Role.DESK)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("hold.queue_reason_missing", field="reason")
    with transaction.atomic():
        # Both rows at once, in primary-key order (core.locks).
        locked = {hold.pk: hold for hold in _lock_holds(Hold.objects.filter(pk__in=[hold_id, before_hold_id]))}
        hold, other = locked.get(int(hold_id)), locked.get(int(before_hold_id))
        if hold is None or other is None:
            raise ServiceError("hold.not_found")
        if hold.status != HoldStatus.WAITING or other.status != HoldStatus.WAITING:
            raise ServiceError("hold.queue_not_waiting")
        if hold.title_id != other.title_id or hold.pk == other.pk:
            raise ServiceError("hold.queue_other_title")
        hold.queue_at = other.queue_at - datetime.timedelta(microseconds=1)
        hold.save(update_fields=["queue_at"])
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.QUEUE, hold=hold, staff_user=actor.user_or_none,
                                        actor_ref=actor.ref,
                                        detail=f"Voor reservering {other.pk} geplaatst: {reason[:300]}")
        holds_expected_refresh_for_title(hold.title_id, today=timezone.localdate())
    return hold


def _merge_rank(hold):
    """Which of two holds on one title is the better place: a copy ready, then one on
    its way, then the earlier place in the queue."""
    state = {HoldStatus.READY: 0, HoldStatus.IN_TRANSIT: 1}.get(hold.status, 2)
    return (state, hold.queue_at, hold.pk)


def holds_merge(*, actor, duplicate_id, kept_id, now=None):
    """Two member records of one person are merged (members.services.registration.
    member_merge, which has locked both member rows): the duplicate's holds become
    the kept record's. Where both hold a title the kept record keeps the better
    place (_merge_rank), whichever record placed it, and the other hold is
    cancelled; each change is logged on its hold, and the queues' positions and
    expected dates are recomputed. Ended holds move along as history. Returns how
    many holds moved."""
    actor.require_current_library()
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_holds(Hold.objects.filter(member_id__in=[duplicate_id, kept_id],
                                                 status__in=ACTIVE_HOLD_STATUSES))
        by_title = {}
        for hold in locked:
            by_title.setdefault(hold.title_id, []).append(hold)
        moved = 0
        for title_id, holds in sorted(by_title.items()):
            best, *others = sorted(holds, key=_merge_rank)
            for hold in others:  # first, so that the kept record holds the title once
                hold.status = HoldStatus.CANCELLED
                hold.ended_at = now
                hold.cancel_reason = "Dubbel na samenvoegen van leden"
                hold.save(update_fields=["status", "ended_at", "cancel_reason"])
                _event(hold, actor, f"Geannuleerd: {hold.cancel_reason} (de betere plaats blijft)")
            if best.member_id == duplicate_id:
                best.member_id = kept_id
                best.save(update_fields=["member"])
                _event(best, actor, f"Lid samengevoegd: de reservering gaat over naar het behouden lid ({kept_id})")
                moved += 1
        moved += Hold.objects.filter(member_id=duplicate_id).update(member_id=kept_id)  # history
        for title_id in sorted(by_title):
            holds_expected_refresh_for_title(title_id, today=timezone.localdate(now))
    return moved


# --- filling -----------------------------------------------------------------------

def holds_lock_waiting(title_id):
    """Lock the waiting holds of a title (the hold rank, by primary key): a checkin
    does this before anything moves the holdings row; they are the holds its copy
    may fill and whose expected dates it recomputes."""
    return _lock_holds(Hold.objects.filter(title_id=title_id, status=HoldStatus.WAITING))


def _fills(hold, item, today):
    """May this (waiting) hold be filled by this copy now? In queue, not suspended,
    still wanted (its not-needed-after date not passed)."""
    return (hold.status == HoldStatus.WAITING and hold.item_id in (None, item.pk)
            and (hold.suspended_until is None or hold.suspended_until <= today)
            and (hold.not_needed_after is None or hold.not_needed_after >= today))


def hold_trap(*, actor, item, branch, now, waiting):
    """Fill the first waiting hold this (locked, not lent) copy can fill: to this
    branch's hold shelf, or in transit to the pickup branch. `waiting`: the
    title's waiting holds, locked by the caller (holds_lock_waiting). None when no
    hold wants it."""
    today = timezone.localdate(now)
    for hold in sorted((hold for hold in waiting if _fills(hold, item, today)),
                       key=lambda hold: (hold.queue_at, hold.pk)):
        if not _hold_rule(hold, item, item.owning_branch_id).holdable:
            continue
        hold.assigned_item = item
        if hold.pickup_branch_id == branch.pk:
            return _make_ready(actor, hold, item, branch, now=now)
        hold.status = HoldStatus.IN_TRANSIT
        hold.save(update_fields=["status", "assigned_item"])
        _transfer_start(actor, item, from_branch_id=branch.pk, to_branch_id=hold.pickup_branch_id,
                        reason=Transfer.Reason.HOLD, now=now, hold=hold)
        pickup_name = _branch_name(hold.pickup_branch_id)
        return CheckinResult(item=item, route=ROUTE_HOLD_TRANSIT, code="route.hold_transit",
                             params={"branch": pickup_name}, hold=hold, destination_branch_id=hold.pickup_branch_id,
                             notes=[Note("checkin.hold_transit", {"held_for": _held_for(hold), "branch": pickup_name})])
    return None


def _make_ready(actor, hold, item, branch, *, now):
    today = timezone.localdate(now)
    rule = _hold_rule(hold, item, branch.pk)
    hold.status = HoldStatus.READY
    hold.ready_at = now
    # Days on the hold shelf are days the pickup branch is open: the last one is an open day too.
    hold.shelf_until = calendar.open_days_later(branch.pk, start=today, days=rule.hold_shelf_days)
    hold.expected_on = today
    hold.save(update_fields=["status", "assigned_item", "ready_at", "shelf_until", "expected_on"])
    if item.status != ItemStatus.ON_HOLD_SHELF:
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.ON_HOLD_SHELF,
                                current_branch_id=branch.pk,
                                # The item's history names the hold, never the member's card: the hold
                                # goes after the retention period, the history stays (issue 14).
                                detail=(f"Op de reserveringsplank voor reservering {hold.pk}" if hold.member_id
                                        else f"Op de reserveringsplank voor {_held_for(hold)}"))
    until = f"{hold.shelf_until:%d-%m-%Y}"
    if hold.member_id is None:
        # A library's hold (interlibrary loan): nobody here is told; the copy waits to be sent.
        return CheckinResult(item=item, route=ROUTE_HOLD_SHELF, code="route.hold_shelf", hold=hold,
                             destination_branch_id=branch.pk,
                             notes=[Note("checkin.library_hold_ready", {"held_for": _held_for(hold), "until": until})])
    _queue_notice(actor, hold, "hold_ready", {
        "titels": [{**title_fields(hold.title_id), "barcode": item.barcode, "uiterste_ophaaldatum": hold.shelf_until}],
        "uiterste_ophaaldatum": hold.shelf_until,
    })
    return CheckinResult(item=item, route=ROUTE_HOLD_SHELF, code="route.hold_shelf", hold=hold,
                         destination_branch_id=branch.pk,
                         notes=[Note("checkin.hold_ready", {"card": hold.member.card_number,
                                                            "name": hold.member.full_name, "until": until})])


def hold_receive(*, actor, item, transfer, now):
    """A copy in transit for a hold arrives at the pickup branch: onto the hold
    shelf. None when that hold was cancelled meanwhile (then route as usual)."""
    from tenants.models import Branch

    hold = next(iter(_lock_holds(Hold.objects.filter(pk=transfer.hold_id))), None)
    if hold is None or hold.status != HoldStatus.IN_TRANSIT or hold.assigned_item_id != item.pk:
        return None
    branch = Branch.objects.get(pk=transfer.to_branch_id)
    return _make_ready(actor, hold, item, branch, now=now)


def hold_first_waiting_for_copy(*, item, today):
    """The first waiting hold (queue order) this copy could fill today: not
    suspended, on its title or on this very copy, and holdable for its borrower.
    None when nobody waits for it. A read (checkout asks before lending it)."""
    waiting = (Hold.objects.filter(title_id=item.title_id, status=HoldStatus.WAITING)
               .filter(Q(item__isnull=True) | Q(item_id=item.pk)).select_related("member").order_by("queue_at", "pk"))
    for hold in waiting:
        if _fills(hold, item, today) and _hold_rule(hold, item, item.owning_branch_id).holdable:
            return hold
    return None


def pick_list_copy_missing(*, actor, barcode, now=None):
    """A copy the pick list named is not on the shelf (desk staff, Role.DESK): it is
    marked missing, so the hold it was offered to moves on to the next branch's pick
    list (circulation.selectors.pick_list) and the expected dates are recomputed."""
    actor.require_current_library()
    require_role(actor, Role.DESK)
    now = now or timezone.now()
    barcode = (barcode or "").strip()
    with transaction.atomic():
        item = lock_rows(locks.ITEM, Item.objects.filter(barcode=barcode))
        if not item:
            raise ServiceError("scan.item_unknown", field="barcode", barcode=barcode)
        item = item[0]
        if item.status != ItemStatus.AVAILABLE:
            raise ServiceError("hold.pick_copy_not_on_shelf", barcode=barcode,
                               status=ItemStatus(item.status).label.lower())
        waiting = holds_lock_waiting(item.title_id)
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.MISSING,
                                detail="Niet gevonden in de kast voor een reservering (picklijst)")
        holds_expected_refresh_for_title(item.title_id, today=timezone.localdate(now), locked=bool(waiting))
    return item


def hold_ready_for_item(item):
    return Hold.objects.select_related("member").filter(assigned_item=item, status=HoldStatus.READY).first()


def hold_for_checkout(*, item, borrower):
    """The ready hold on this copy when it is this borrower's (else None)."""
    hold = hold_ready_for_item(item)
    if hold is None or not borrower.owns_hold(hold):
        return None
    return hold


def holds_fulfil_on_checkout(*, actor, item, borrower, now):
    """A copy of a title with holds is lent: lock the title's waiting holds and the
    borrower's active holds on it (at once, by primary key, before the holdings
    row), and fulfil the borrower's (a member's, or a library's for this request):
    ready for them, or still waiting on the title. A copy ready for this member
    that is lent frees nobody else's place; a guest holds nothing here."""
    condition = Q(title_id=item.title_id, status=HoldStatus.WAITING)
    if not borrower.is_guest:
        condition |= Q(**borrower.holds_filter(), title_id=item.title_id, status__in=ACTIVE_HOLD_STATUSES)
    for hold in _lock_holds(Hold.objects.filter(condition)):
        if borrower.is_guest or not borrower.owns_hold(hold):
            continue
        # When their copy is on its way or on a shelf but they took another one, the
        # assigned copy goes to the next in line when it is next checked in.
        hold.status = HoldStatus.FULFILLED
        hold.ended_at = now
        hold.save(update_fields=["status", "ended_at"])


def holds_waiting_for_loan(loan):
    """Is another borrower waiting for this loan's title (or this very copy)?
    Renewal is refused then."""
    today = timezone.localdate()
    waiting = (
        Hold.objects.filter(status=HoldStatus.WAITING, title_id=loan.title_id)
        .filter(Q(item__isnull=True) | Q(item_id=loan.item_id))
        .filter(Q(suspended_until__isnull=True) | Q(suspended_until__lte=today))
        .filter(Q(not_needed_after__isnull=True) | Q(not_needed_after__gte=today))
    )
    if loan.member_id is not None:
        waiting = waiting.exclude(member_id=loan.member_id)
    elif loan.is_library_loan:
        waiting = waiting.exclude(borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=loan.borrowing_library_id,
                                  borrowing_library_ref=loan.borrowing_library_ref)
    return waiting.exists()


def _moment_on(day):
    """Now, or this time of day on `day` when a run is for another day (a missed night)."""
    now = timezone.now()
    if timezone.localdate(now) == day:
        return now
    return timezone.make_aware(datetime.datetime.combine(day, timezone.localtime(now).time()))


def holds_expire(*, actor, today=None):
    """Ready holds not picked up by their last day expire: the member is told
    (hold_expired) and charged the rule's no-show fee; their copies are free at once
    (_shelf_copy_free). Waiting holds past their not-needed-after date end too
    (cancelled, the member chose that date: no notice). Title by title, each in a
    short transaction of its own (never one over the library). Idempotent. Returns
    the expired (not picked up) holds."""
    actor.require_current_library()
    today = today or timezone.localdate()
    overdue = Q(status=HoldStatus.READY, shelf_until__lt=today)
    unwanted = Q(status=HoldStatus.WAITING, not_needed_after__lt=today)
    expired = []
    for title_id in sorted(set(Hold.objects.filter(overdue | unwanted).values_list("title_id", flat=True))):
        with transaction.atomic():
            # In core.locks' order: their copies (the item rank), the members who may pay a
            # no-show fee (the borrower rank), then the title's holds at once, by primary key.
            items = {item.pk: item for item in lock_rows(locks.ITEM, Item.objects.filter(
                pk__in=Hold.objects.filter(overdue, title_id=title_id).values("assigned_item_id")))}
            lock_rows(locks.BORROWER, Member.objects.filter(
                pk__in=Hold.objects.filter(overdue, title_id=title_id, member__isnull=False).values("member_id")))
            locked = _lock_holds(Hold.objects.filter(Q(title_id=title_id) & (overdue | Q(status=HoldStatus.WAITING))))
            now = _moment_on(today)
            for hold in locked:
                if hold.status == HoldStatus.WAITING and hold.not_needed_after and hold.not_needed_after < today:
                    hold.status = HoldStatus.CANCELLED
                    hold.ended_at = now
                    hold.cancel_reason = f"Niet meer nodig na {hold.not_needed_after:%d-%m-%Y}"
                    hold.save(update_fields=["status", "ended_at", "cancel_reason"])
                    _event(hold, actor, hold.cancel_reason)
                    continue
                if hold.status != HoldStatus.READY or not (hold.shelf_until and hold.shelf_until < today):
                    continue
                hold.status = HoldStatus.EXPIRED
                hold.ended_at = now
                hold.save(update_fields=["status", "ended_at"])
                _event(hold, actor, f"Niet opgehaald vóór {hold.shelf_until:%d-%m-%Y}")
                expired.append(hold)
                item = items.get(hold.assigned_item_id)
                if hold.member_id is not None:
                    _no_show(actor, hold, item)
                if item is not None and item.status == ItemStatus.ON_HOLD_SHELF:
                    _shelf_copy_free(actor, item, [row for row in locked if row.status == HoldStatus.WAITING],
                                     now=now)
            holds_expected_refresh_for_title(title_id, today=today, locked=True)
    return expired


def _no_show(actor, hold, item):
    """A member's ready hold expired unfetched: they are told, and charged the rule's
    no-show fee (the member's row is locked by the caller)."""
    title = title_fields(hold.title_id)
    _queue_notice(actor, hold, "hold_expired", {
        "titels": [{**title, "barcode": item.barcode if item else "", "uiterste_ophaaldatum": hold.shelf_until}],
        "uiterste_ophaaldatum": hold.shelf_until,
    })
    fee = _hold_rule(hold, item, hold.pickup_branch_id).no_show_fee_cents if item is not None else 0
    if fee:
        ledger_charge(actor=actor, member=hold.member, charge_type=LedgerEntry.ChargeType.RESERVATION_FEE,
                      amount_cents=fee, description=f"Reservering niet opgehaald: {title['titel']}"[:200],
                      reference=f"hold:{hold.pk}:no_show")


# --- expected dates ----------------------------------------------------------------

def holds_expected_refresh_for_title(title_id, *, today, locked=False):
    """Recompute and store the position and expected date of every waiting hold on
    a title (cheap no-op when nobody waits). The waiting holds are locked (the hold
    rank) unless the caller has (`locked`: checkin and checkout lock them before
    the holdings row, and recompute after the copy's change)."""
    from ..expected import expected_dates_for_title

    query = Hold.objects.filter(title_id=title_id, status=HoldStatus.WAITING)
    waiting = list(query) if locked else lock_rows(locks.HOLD, query)
    if not waiting:
        return 0
    waiting.sort(key=lambda hold: (hold.queue_at, hold.pk))
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
