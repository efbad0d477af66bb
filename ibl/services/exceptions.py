"""When things go wrong between two libraries: a copy lost or damaged (on which leg,
whose cost, which status), the lender recalling its copy, a copy scanned at a
library where it does not belong.

Lost or damaged: reported by whoever has the copy now: the staff of the hub or a
POI administrator while it travels, the requesting library's staff while it is
there, the lender's staff while it waits at its branch for the van. Who pays the
lender's compensation follows from where it was:

    in a van (a leg scanned out, not in)          the POI that drives it
    with the night carrier                        the carrier (settled through the POIs)
    waiting at a hub                              the hub's POI
    at the requesting library (or waiting there)  the requesting library
    at the lender's own branch                    nobody: the lender's own loss

The request ends as lost (or damaged), the leg it happened on says so, the legs
after it lapse, the cost is recorded per library pair for settlement
(ibl.Settlement: the lender's copy price, or the national default), and the
lender's loan to the requesting library ends as lost in its schema (outbox:
ibl.lender_lost); a stand-in at the requesting library leaves (ibl.requester_copy_gone).
"""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from core.actors import Actor
from core.errors import ServiceError
from staff.models import Role
from staff.permissions import actor_has_role
from staff.selectors import provinces_administered_by
from tenants.models import Branch, LibraryOrganisation
from tenants.outbox import enqueue

from ..models import Leg, RequestState, RunKind, Settlement
from .common import event, lock_request, transition
from .transport import OPEN_LEG_STATES, may_work_at_hub

# The compensation for a lost copy without a price in the lender's catalogue (cents).
DEFAULT_COMPENSATION_CENTS = getattr(settings, "LSB_IBL_DEFAULT_COMPENSATION_CENTS", 2500)
# A recalled copy is due back at the requesting library within this many days.
RECALL_DAYS = 7
LOSS_KINDS = {"lost": RequestState.LOST, "damaged": RequestState.DAMAGED}


def _where(request):
    """(leg or None, party, POI or None, library or None) of the copy now."""
    legs = list(Leg.objects.filter(request=request, state__in=OPEN_LEG_STATES).select_related(
        "from_branch", "from_hub", "poi").order_by("direction", "sequence"))
    if request.state in (RequestState.SENT, RequestState.RETURNING) and legs:
        direction = Leg.Direction.OUT if request.state == RequestState.SENT else Leg.Direction.BACK
        leg = next((leg for leg in legs if leg.direction == direction), legs[0])
        if leg.state == Leg.State.IN_TRANSIT and not (leg.from_branch_id and leg.sequence == 1):
            if leg.mode == RunKind.CARRIER:
                return leg, Settlement.Party.CARRIER, None, None
            return leg, Settlement.Party.POI, leg.poi, None
        if leg.from_hub_id is not None:
            return leg, Settlement.Party.POI, leg.from_hub.poi, None
        # Waiting at a branch for the van (the first leg is scanned out at the handover).
        branch = leg.from_branch
        if branch.organisation_id == request.requesting_organisation_id:
            return leg, Settlement.Party.LIBRARY, None, request.requesting_organisation
        return leg, Settlement.Party.LENDER, None, request.lender
    if request.state in (RequestState.ARRIVED, RequestState.LENT):
        return None, Settlement.Party.LIBRARY, None, request.requesting_organisation
    raise ServiceError("ibl.loss_not_now", state=request.get_state_display().lower())


def _may_report(actor, request, *, leg, library, poi):
    """The staff of the library that has it, the hub's staff or POI administrators
    for what travels, the national administrator."""
    if not actor.is_staff:
        return False
    user = actor.staff_user
    if user.is_superuser:
        return True
    if actor.organisation is not None:
        return (library is not None and actor.organisation.pk == library.pk) and actor_has_role(actor, Role.DESK)
    hubs = [hub for hub in (getattr(leg, "from_hub", None), getattr(leg, "to_hub", None)) if hub is not None]
    if any(may_work_at_hub(user, hub) for hub in hubs):
        return True
    provinces = set(provinces_administered_by(user).values_list("pk", flat=True))
    return (request.requesting_organisation.province_id in provinces
            or (request.lender is not None and request.lender.province_id in provinces))


def _lender_price(request):
    """The lender's price of its copy (read in its schema), or the national default."""
    from collection.models import Item

    with schema_context(request.lender.schema_name):
        price = Item.objects.filter(barcode=request.item_barcode).values_list("price_cents", flat=True).first()
    return price or DEFAULT_COMPENSATION_CENTS


def _as_library(request, actor):
    """The actor that asks the libraries' steps (the outbox needs a library as source):
    a library's own actor, or for a hub or POI the requesting library's system."""
    if actor.organisation is not None:
        return actor, None
    requester = LibraryOrganisation.objects.get(pk=request.requesting_organisation_id)
    return Actor.system("ibl", requester), requester


def ibl_report_loss(*, actor, request_id, kind, note="", now=None):
    """Report the copy of a request lost or damaged (see the module). Returns the
    Settlement (None when the lender itself bears it)."""
    if kind not in LOSS_KINDS:
        raise ServiceError("ibl.loss_kind_unknown", field="kind")
    note = (note or "").strip()[:200]
    now = now or timezone.now()
    if actor.organisation is not None:
        actor.require_current_library()
    with transaction.atomic():
        request = lock_request(request_id)
        leg, party, poi, library = _where(request)
        if not _may_report(actor, request, leg=leg, library=library, poi=poi):
            raise ServiceError("ibl.loss_not_allowed")
        state = LOSS_KINDS[kind]
        what = "Verloren" if kind == "lost" else "Beschadigd"
        where = (f"onderweg ({leg.get_mode_display().lower()})" if leg is not None and leg.state == Leg.State.IN_TRANSIT
                 else f"bij {library.name}" if library is not None else "in het sorteercentrum")
        detail = f"{what} {where}" + (f": {note}" if note else "")
        if leg is not None:
            leg.state = Leg.State.LOST if kind == "lost" else Leg.State.DAMAGED
            leg.note = detail[:200]
            leg.save(update_fields=["state", "note"])
        Leg.objects.filter(request=request, state__in=OPEN_LEG_STATES).update(state=Leg.State.CANCELLED)
        settlement = None
        if party != Settlement.Party.LENDER:
            settlement = Settlement.objects.create(
                request=request, kind=kind, payee_id=request.lender_id,
                payer=request.requesting_organisation if party == Settlement.Party.LIBRARY else None,
                payer_party=party, payer_poi=poi, leg=leg, amount_cents=_lender_price(request), actor_ref=actor.ref)
        had_standin = request.state in (RequestState.ARRIVED, RequestState.LENT)
        request.ended_at = now
        request.end_reason = detail[:200]
        request.expected_on = None
        transition(request, state, actor=actor, detail=detail, fields=["ended_at", "end_reason", "expected_on"])
        asking, requester = _as_library(request, actor)
        context = tenant_context(requester) if requester is not None else _nothing()
        with context:
            if request.lender_loan_id is not None:
                enqueue(actor=asking, target=request.lender_id, kind="ibl.lender_lost",
                        dedupe_key=f"{request.reference}:lost", payload={"request": request.pk,
                                                                          "loan": request.lender_loan_id})
            if had_standin:
                # Also when the requesting library reports it itself: the stand-in is an item,
                # locked before any request (core.locks), so it leaves in a step of its own.
                enqueue(actor=asking, target=request.requesting_organisation_id, kind="ibl.requester_copy_gone",
                        dedupe_key=f"{request.reference}:gone", payload={"request": request.pk,
                                                                          "barcode": request.item_barcode})
    return settlement


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def ibl_recall(*, actor, request_id, reason="", now=None):
    """The lender wants its copy back early: no more renewals, and the member's loan
    at the requesting library is due within RECALL_DAYS (outbox: ibl.requester_recall)."""
    organisation = actor.require_current_library()
    if not actor_has_role(actor, Role.DESK):
        raise ServiceError("actor.no_role", role=Role.DESK.label)
    now = now or timezone.now()
    reason = (reason or "").strip()[:200]
    with transaction.atomic():
        request = lock_request(request_id)
        if request.lender_id != organisation.pk:
            raise ServiceError("ibl.not_asked_here", library=organisation.name)
        if request.state not in (RequestState.SENT, RequestState.ARRIVED, RequestState.LENT):
            raise ServiceError("ibl.recall_not_now", state=request.get_state_display().lower())
        if request.recalled_at is not None:
            raise ServiceError("ibl.recall_already")
        request.recalled_at = now
        request.save(update_fields=["recalled_at", "updated_at"])
        due = timezone.localdate(now) + datetime.timedelta(days=RECALL_DAYS)
        event(request, actor=actor, detail=f"Teruggeroepen door {organisation.name}; terug uiterlijk "
                                            f"{due:%d-%m-%Y}" + (f" ({reason})" if reason else ""))
        enqueue(actor=actor, target=request.requesting_organisation_id, kind="ibl.requester_recall",
                dedupe_key=f"{request.reference}:recall",
                payload={"request": request.pk, "due_on": due.isoformat()})
    return request


def ibl_wrong_library(*, actor, barcode):
    """A copy of interlibrary loan scanned at a library it is not for (a member
    handed it in at the wrong library): recorded, and the ServiceError that says
    whose it is and where it goes (ibl.receive_wrong_library)."""
    from ..models import IblRequest, MOVING_STATES, Scan

    organisation = actor.require_current_library()
    request = (IblRequest.objects.filter(item_barcode=barcode, state__in=MOVING_STATES)
               .select_related("requesting_organisation", "lender").order_by("-sent_at").first())
    if request is None:
        return None
    branch = Branch.objects.filter(pk=actor.branch_id, organisation=organisation).first()
    Scan.objects.create(branch=branch, code=barcode, outcome="ibl.receive_wrong_library", request=request,
                        actor_ref=actor.ref)
    event(request, actor=actor, detail=f"Gescand bij {organisation.name}, waar het niet hoort")
    goes_to = request.requesting_organisation if request.state in (RequestState.SENT, RequestState.ARRIVED,
                                                                    RequestState.LENT) else request.lender
    return ServiceError("ibl.receive_wrong_library", barcode=barcode, owner=request.lender.name,
                        library=goes_to.name, reference=request.reference)
