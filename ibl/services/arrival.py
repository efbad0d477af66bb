"""Receiving at a library's IBL desk (scan what the POI's van brought).

- A copy another library sent for one of our members (at its pickup branch):
  the last leg is scanned in, the copy is put on the hold shelf for the member
  with the hold-ready notice (circulation.services.interlibrary.ibl_copy_arrive),
  the member's IBL fee (this library's tariff) goes on their account, and the
  request is ready to be lent, in one transaction.
- A copy of ours coming home from a library: it is checked in as at the desk
  (circulation's checkin ends the library's loan and routes it), which completes
  the request (ibl.policy).

Locks (core.locks): the copy, the member, the hold (circulation), then the request.
"""

from django.db import transaction
from django.utils import timezone

from circulation.services.interlibrary import ibl_copy_arrive
from circulation.services.loans import checkin
from collection.services import barcode_error
from core.actors import ActorKind
from core.errors import ServiceError
from members.models import LedgerEntry, Member
from members.services.ledger import ledger_charge
from staff.models import Role
from staff.permissions import require_role

from ..models import MOVING_STATES, IblRequest, Leg, RequestState
from .common import lock_request, transition
from .lenders import item_type_of
from .transport import legs_arrive_all, legs_plan


def _clean(barcode):
    barcode = (barcode or "").strip()
    if not barcode:
        raise ServiceError("scan.no_barcode", field="barcode")
    problem = barcode_error(barcode)
    if problem:
        raise problem
    return barcode


def ibl_receive(*, actor, barcode, now=None):
    """A copy scanned at this library's IBL desk on arrival: for one of our members
    (onto the hold shelf), or ours coming home (checked in). Returns circulation's
    CheckinResult for the big sign; a ServiceError when nothing of IBL is expected
    here with this barcode."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    barcode = _clean(barcode)
    now = now or timezone.now()
    incoming = (IblRequest.objects.filter(requesting_organisation=organisation, item_barcode=barcode,
                                          state=RequestState.SENT).order_by("-sent_at", "-pk").first())
    if incoming is not None:
        return _receive_for_member(actor, incoming, barcode, now=now)
    home = (IblRequest.objects.filter(lender=organisation, item_barcode=barcode, state__in=MOVING_STATES)
            .order_by("-sent_at", "-pk").first())
    if home is not None:
        return checkin(actor=actor, barcode=barcode, now=now)
    here = (IblRequest.objects.filter(requesting_organisation=organisation, item_barcode=barcode,
                                      state__in=[RequestState.ARRIVED, RequestState.LENT]).first())
    if here is not None:
        raise ServiceError("ibl.receive_already", barcode=barcode, state=here.get_state_display().lower())
    from .exceptions import ibl_wrong_library

    raise ibl_wrong_library(actor=actor, barcode=barcode) or ServiceError("ibl.receive_nothing", barcode=barcode)


def _receive_for_member(actor, request, barcode, *, now):
    if actor.branch_id != request.pickup_branch_id:
        raise ServiceError("ibl.receive_other_branch", barcode=barcode, branch=request.pickup_branch.name)
    title = request.title
    with transaction.atomic():
        result = ibl_copy_arrive(actor=actor, member_id=request.member_id, title_id=title.pk, barcode=barcode,
                                 owner_id=request.lender_id, item_type=item_type_of(title), now=now)
        request = lock_request(request.pk)
        if request.state != RequestState.SENT:
            raise ServiceError("ibl.receive_nothing", barcode=barcode)
        if not Leg.objects.filter(request=request, direction=Leg.Direction.OUT).exists():
            legs_plan(request.pk)  # its planning task has not run yet
        legs_arrive_all(request, Leg.Direction.OUT, actor=actor, now=now, note="Onderweg niet gescand")
        if request.fee_cents:
            ledger_charge(actor=actor, member=Member.objects.get(pk=request.member_id),
                          charge_type=LedgerEntry.ChargeType.RESERVATION_FEE, amount_cents=request.fee_cents,
                          description=f"IBL-aanvraag: {title.title}"[:200], reference=f"{request.reference}:fee")
        request.requester_item_id = result.item.pk
        request.arrived_at = now
        request.expected_on = timezone.localdate(now)
        transition(request, RequestState.ARRIVED, actor=actor,
                   detail=f"Binnengekomen in {request.pickup_branch.name}; ligt klaar tot "
                          f"{result.hold.shelf_until:%d-%m-%Y}",
                   fields=["requester_item_id", "arrived_at", "expected_on"])
    result.ibl_request = request
    return result
