"""Circulation's part of interlibrary loan (see circulation.interlibrary): another
library's copy arriving here for one of our members, and taking it back.

- ibl_copy_arrive: the lender's copy is scanned at the pickup branch: its
  stand-in record is made (collection.interlibrary), a hold on that very copy is
  put ready on this branch's hold shelf for the member who asked for it, and the
  member gets the hold-ready notice, in one transaction. From then on it is lent,
  renewed and taken back with the desk's own services.
- checkin_ibl_copy (called by checkin for a stand-in): the loan ends as any loan
  (a fine under this library's rules); the copy does not go to a shelf or a hold
  but home to its owner: the stand-in leaves and the interlibrary-loan app starts
  the return legs, in the same transaction.

Locks (core.locks): the stand-in (item), the member (borrower), the hold (hold),
then whatever the interlibrary-loan app locks (its request, the last rank).
"""

from django.db import transaction
from django.utils import timezone

from collection.interlibrary import item_ibl_copy_leave, item_ibl_copy_receive
from collection.models import Item, ItemStatus
from core import locks
from core.actors import ActorKind
from core.errors import ServiceError
from members.models import Member
from tenants.models import Branch

from ..interlibrary import interlibrary
from ..models import ACTIVE_HOLD_STATUSES, Hold, HoldStatus, Loan
from .holds import _event as _hold_event
from .holds import _held_for, _make_ready, hold_ready_for_item
from .loans import (
    ROUTE_KEEP,
    CheckinResult,
    Note,
    _end_loan,
    _loan_returned,
)

ROUTE_IBL_RETURN = "ibl_return"


def ibl_copy_arrive(*, actor, member_id, title_id, barcode, owner_id, item_type, now=None):
    """Library `owner_id`'s copy `barcode` of `title_id` arrives at the actor's
    branch (the pickup branch) for our member `member_id`: its stand-in record, a
    hold on it for the member, ready on this branch's hold shelf, and the member's
    hold-ready notice. Returns the CheckinResult (route.hold_shelf) for the sign.
    Staff of this library or the system (interlibrary loan's own steps)."""
    actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
    now = now or timezone.now()
    with transaction.atomic():
        item = item_ibl_copy_receive(actor=actor, barcode=barcode, title_id=title_id, branch_id=actor.branch_id,
                                     owner_id=owner_id, item_type=item_type)
        branch = Branch.objects.get(pk=actor.branch_id)
        member = locks.lock_row(locks.BORROWER, Member.objects.filter(pk=member_id))
        if member is None or member.erased_at is not None or member.merged_into_id is not None:
            raise ServiceError("hold.ibl_member_gone", barcode=barcode)
        # A hold the member placed on the title here meanwhile makes way for this copy.
        others = locks.lock_rows(locks.HOLD, Hold.objects.filter(member=member, title_id=title_id,
                                                                 status__in=ACTIVE_HOLD_STATUSES))
        for other in others:
            other.status = HoldStatus.CANCELLED
            other.ended_at = now
            other.cancel_reason = "Vervangen door het IBL-exemplaar"
            other.save(update_fields=["status", "ended_at", "cancel_reason"])
            _hold_event(other, actor, f"Geannuleerd: {other.cancel_reason}")
        locks.note_lock(locks.HOLD)  # the new hold is ours alone until commit
        hold = Hold.objects.create(member=member, title_id=title_id, item=item, pickup_branch_id=branch.pk,
                                   placed_at=now, queue_at=now, placed_by=actor.user_or_none, actor_ref=actor.ref)
        hold.member = member
        hold.assigned_item = item
        _hold_event(hold, actor, f"IBL-exemplaar ontvangen in {branch.name}")
        return _make_ready(actor, hold, item, branch, now=now)


def checkin_ibl_copy(actor, context, *, now):
    """Checkin of a stand-in (circulation.services.loans.checkin calls this with its
    locked context): end the member's loan, or see that the copy was never
    collected, and send it home; a copy still ready for its member stays on the
    hold shelf; one that already left says where it went."""
    item, branch, loan = context.item, context.branch, context.open_loan
    today = timezone.localdate(now)
    organisation = actor.organisation
    fine, notes = _loan_returned(actor, organisation, loan, branch, today=today, now=now)
    if loan is None and item.status == ItemStatus.WITHDRAWN:
        code, params = interlibrary().standin_gone(item=item)
        return CheckinResult(item=item, route=ROUTE_KEEP, code=code, params=params)
    if loan is None:
        ready = hold_ready_for_item(item)
        if ready is not None:
            return CheckinResult(item=item, route="hold_shelf", code="route.hold_shelf", hold=ready,
                                 destination_branch_id=ready.pickup_branch_id,
                                 notes=[Note("checkin.ready_already", {"held_for": _held_for(ready),
                                                                       "until": f"{ready.shelf_until:%d-%m-%Y}"})])
    # Holds still waiting for this very copy end: it goes home.
    for hold in locks.lock_rows(locks.HOLD, Hold.objects.filter(item=item, status__in=ACTIVE_HOLD_STATUSES)):
        hold.status = HoldStatus.CANCELLED
        hold.ended_at = now
        hold.cancel_reason = "IBL-exemplaar terug naar de eigenaar"
        hold.save(update_fields=["status", "ended_at", "cancel_reason"])
    item_ibl_copy_leave(actor=actor, item=item)
    code, params, extra = interlibrary().standin_returned(actor=actor, item=item, loan=loan, branch=branch, now=now)
    return CheckinResult(item=item, route=ROUTE_IBL_RETURN, code=code, params=params, loan=loan, fine_cents=fine,
                         notes=notes + [Note(note_code, note_params) for note_code, note_params in extra])


def library_loan_returned(actor, loan, branch, *, now, result):
    """A copy of ours lent to a library came back and was checked in (its loan has
    ended): interlibrary loan completes the request; its notes join the sign."""
    extra = interlibrary().library_loan_returned(actor=actor, loan=loan, branch=branch, now=now)
    result.notes = list(result.notes) + [Note(code, params) for code, params in extra or ()]
    return result


def own_copy_back(actor, branch, *, now, result):
    """A copy of ours checked in here: interlibrary loan ends its transport home
    when the POI brought it from elsewhere; its notes join the sign."""
    extra = interlibrary().own_copy_back(actor=actor, item=result.item, branch=branch, now=now)
    result.notes = list(result.notes) + [Note(code, params) for code, params in extra or ()]
    return result


def library_loan_lost(*, actor, loan_id, detail=""):
    """Interlibrary loan's own step at the lender: its copy, lent to a library, was
    lost (or damaged beyond return) on its way. The loan ends as lost and the copy
    becomes missing; nobody is charged here (the compensation between the libraries
    is settled by interlibrary loan). The system only (ibl's outbox step)."""
    from collection.services import item_circulation_update

    from ..models import CirculationEvent
    from .loans import _lock_open_loan

    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM)
    now = timezone.now()
    with transaction.atomic():
        loan, _borrower = _lock_open_loan(actor, loan_id)
        if not loan.is_library_loan:
            raise ValueError("library_loan_lost is for a loan to a library organisation")
        _end_loan(organisation, loan, ending=Loan.Ending.LOST, branch_id=None, now=now)
        loan.save(update_fields=["ended_at", "ending", "ended_branch_id"])
        item_circulation_update(actor=actor, item=loan.item, to_status=ItemStatus.MISSING,
                                detail=detail or "Verloren in het IBL-transport")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.LOST, loan=loan, item_id_ref=loan.item_id,
                                        actor_ref=actor.ref, detail=detail or "Verloren in het IBL-transport")
    return loan


def ibl_copy_gone(*, actor, barcode, detail=""):
    """Interlibrary loan's own step at the requesting library: the lender's copy is
    lost or damaged while here (reported to IBL): its stand-in leaves and a hold
    still ready for it ends. A member's open loan of it stays for the desk (lost:
    circulation's loan_mark_lost, with the replacement amount)."""
    actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM, ActorKind.STAFF)
    now = timezone.now()
    with transaction.atomic():
        item = locks.lock_row(locks.ITEM, Item.objects.filter(barcode=barcode, ibl_owner_id__isnull=False))
        if item is None:
            return None
        for hold in locks.lock_rows(locks.HOLD, Hold.objects.filter(item=item, status__in=ACTIVE_HOLD_STATUSES)):
            hold.status = HoldStatus.CANCELLED
            hold.ended_at = now
            hold.cancel_reason = detail or "IBL-exemplaar verloren of beschadigd"
            hold.save(update_fields=["status", "ended_at", "cancel_reason"])
        if not Loan.objects.filter(item=item, ended_at__isnull=True).exists():
            item_ibl_copy_leave(actor=actor, item=item, detail=detail or "Verloren of beschadigd (IBL)")
    return item


def loan_due_shorten(*, actor, loan_id, due_on):
    """A lender recalls its copy (interlibrary loan): the member's loan of the
    stand-in is due no later than `due_on` (never earlier than it already is). The
    system only (ibl's outbox step; the request records why). Returns the loan, or
    None when it has ended."""
    from .loans import _lock_open_loan

    actor.require_current_library()
    actor.require_kind(ActorKind.SYSTEM)
    with transaction.atomic():
        try:
            loan, _borrower = _lock_open_loan(actor, loan_id)
        except ServiceError:
            return None
        if due_on < loan.due_on:
            loan.due_on = due_on
            loan.overdue_level = 0
            loan.save(update_fields=["due_on", "overdue_level"])
    return loan
