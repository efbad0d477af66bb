"""At the lending library: the pick list of requests it was asked for, and sending.

Scanning the copy sends it: circulation lends it to the requesting library
organisation (borrower kind library, its reference the request: the copy becomes
'on interlibrary loan' in this library's schema, and the library's hold on it is
fulfilled), the request is sent, and the transport legs are planned by a Celery
task once this commits (ibl.tasks.legs_plan). The send scan is the first leg's
scan out: the copy waits in the branch's IBL crate for the POI's van.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from circulation.borrowers import Borrower
from circulation.services.loans import checkout
from collection.models import Item
from collection.services import barcode_error
from core.actors import ActorKind
from core.errors import ServiceError
from staff.models import Role
from staff.permissions import require_role
from tenants.models import Branch, LibraryOrganisation

from ..models import Ask, IblRequest, RequestState
from ..planning import Planner
from .common import lock_request, transition


@dataclass
class SendResult:
    request: IblRequest
    loan: object
    hub_name: str
    destination: str

    @property
    def code(self):
        return "ibl.sign_send"

    @property
    def params(self):
        return {"hub": self.hub_name, "destination": self.destination}


def request_for_copy(organisation, item, *, branch_id=None):
    """The request this library was asked for that this copy can fill: the title's
    oldest asked request here, those for the scanning branch first."""
    asked = list(IblRequest.objects.filter(lender=organisation, state=RequestState.ASKED, title_id=item.title_id)
                 .order_by("created_at", "pk"))
    asked.sort(key=lambda request: request.lending_branch_id != branch_id)
    return asked[0] if asked else None


def ibl_send(*, actor, barcode, request_id=None, now=None):
    """Send the scanned copy for the request this library was asked for (the given
    one, or the title's oldest). Refused, with nothing changed, when no request
    wants this copy or circulation refuses the loan (the copy is on loan, held for
    one of our own members, ...)."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    barcode = (barcode or "").strip()
    if not barcode:
        raise ServiceError("scan.no_barcode", field="barcode")
    problem = barcode_error(barcode)
    if problem:
        raise problem
    now = now or timezone.now()
    item = Item.objects.filter(barcode=barcode, ibl_owner_id__isnull=True).first()
    if item is None:
        raise ServiceError("scan.item_unknown", barcode=barcode)
    if request_id is not None:
        request = IblRequest.objects.filter(pk=request_id, lender=organisation).first()
        if request is None or request.title_id != item.title_id:
            raise ServiceError("ibl.send_wrong_copy", barcode=barcode)
    else:
        request = request_for_copy(organisation, item, branch_id=actor.branch_id)
    if request is None:
        from catalogue.models import Title

        raise ServiceError("ibl.send_no_request", barcode=barcode,
                           title=Title.objects.filter(pk=item.title_id).values_list("title", flat=True).first() or "")
    requester = LibraryOrganisation.objects.get(pk=request.requesting_organisation_id)
    with transaction.atomic():
        result = checkout(actor=actor, borrower=Borrower.library(requester, request.reference), barcode=barcode,
                          now=now)
        loan = result.loan
        request = lock_request(request.pk)
        if request.state != RequestState.ASKED or request.lender_id != organisation.pk:
            # Cancelled or moved on while the copy was being scanned: the checkout rolls back.
            raise ServiceError("ibl.send_state", reference=request.reference,
                               state=request.get_state_display().lower())
        Ask.objects.filter(request=request, lender=organisation, outcome=Ask.Outcome.PENDING).update(
            outcome=Ask.Outcome.SENT, answered_at=now, actor_ref=actor.ref)
        request.item_barcode = barcode
        request.lender_loan_id = loan.pk
        request.lender_due_on = loan.due_on
        request.lending_branch_id = loan.branch_id
        request.sent_at = now
        planner = Planner()
        request.expected_on = planner.arrival(from_branch_id=loan.branch_id, to_branch_id=request.pickup_branch_id,
                                              start=timezone.localdate(now))
        transition(request, RequestState.SENT, actor=actor,
                   detail=f"Verstuurd door {organisation.name} (exemplaar {barcode})",
                   fields=["item_barcode", "lender_loan_id", "lender_due_on", "lending_branch", "sent_at",
                           "expected_on"])
        from .transport import legs_plan_on_commit

        legs_plan_on_commit(request.pk)
        hub = planner.branch(loan.branch_id).hub_id
        from tenants.models import PoiHub

        hub_name = PoiHub.objects.filter(pk=hub).values_list("name", flat=True).first() or ""
        pickup = Branch.objects.get(pk=request.pickup_branch_id)
    return SendResult(request=request, loan=loan, hub_name=hub_name,
                      destination=f"{requester.name}, {pickup.name}")
