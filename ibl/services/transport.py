"""Transport: planning the legs of a request, and every scan of a parcel on its way.

- legs_plan (a Celery task once a copy is sent or handed in for return): the legs
  from the sending branch to the receiving branch through the POI hubs
  (ibl.planning), each on its run (a POI's van route on a day, or the night
  carrier). Idempotent: a request's legs in one direction are planned once, in one
  transaction with the request row locked, so a worker killed half-way plans
  nothing and the next delivery plans them all.
- hub_scan (the hub screen): a copy scanned at a hub arrives (its leg scanned in)
  and is sorted into the crate for its next destination (the big routing sign);
  a crate's label scanned at its hub sends it (every leg in it scanned out), at
  its destination it arrives (every leg in it scanned in). A copy at the wrong hub
  is rerouted from there (logged). Every scan is recorded (ibl.Scan), also of
  parcels nobody knows.
- a library's own copy at a hub outside interlibrary loan (handed in at another
  library, whose desk put it in the IBL crate): the national item index
  (collection.item_index) says whose it is; it goes home as a stray copy
  (ibl.StrayCopy) on legs planned by the same planner from this hub to its
  owning branch, sorted into the same crates, scanned like a request's copy.
- runs_advance (daily): past runs are done; legs that missed their run move to
  the next day the van or carrier goes (counted as delayed).
- legs_flag_late (hourly): legs not in at their destination by their planned day.
- manifests_produce (daily): each run's manifest, per stop what to collect and deliver.
"""

import datetime
import logging
import uuid
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from core import locks
from core.errors import ServiceError

from ..models import (
    LEG_PARCEL_IN_TRANSPORT, MOVING_STATES, Crate, IblEvent, IblRequest, Leg, RequestState, Run, RunKind, Scan,
    StrayCopy, VanRoute,
)
from ..planning import DAY, Planner, next_working_day
from .common import event, lock_request

logger = logging.getLogger(__name__)

# A test hook (tests/ibl): called inside legs_plan after its first leg is written.
PLAN_HOOK = None

OPEN_LEG_STATES = (Leg.State.PLANNED, Leg.State.IN_TRANSIT)


def send_task(task, *args):
    """Send a task that works in the public schema (as the outbox does): a broker
    that is down is logged, the beat sweep sends it later."""
    try:
        task.apply_async(args=list(args), headers={"_schema_name": get_public_schema_name()})
    except Exception as error:  # noqa: BLE001 - the sweep catches up
        logger.warning("IBL task %s%s not sent to the broker (the sweep will): %s", task.name, args, error)


def legs_plan_on_commit(request_id):
    from ..tasks import legs_plan as task

    transaction.on_commit(lambda: send_task(task, request_id), robust=True)


def _direction_of(request):
    if request.state == RequestState.RETURNING:
        return Leg.Direction.BACK
    if request.state in (RequestState.SENT, RequestState.ARRIVED, RequestState.LENT):
        return Leg.Direction.OUT
    return None


def _run_for(planned, *, cache):
    """The run a planned leg travels on (made when missing)."""
    if planned.mode == RunKind.CARRIER:
        key = (RunKind.CARRIER, None, None, planned.planned_on)
    else:
        key = (RunKind.VAN, planned.poi_id, planned.route_id, planned.planned_on)
    run = cache.get(key)
    if run is None:
        run = Run.objects.filter(kind=key[0], poi_id=key[1], route_id=key[2], date=key[3]).first()
        if run is None:
            Run.objects.bulk_create([Run(kind=key[0], poi_id=key[1], route_id=key[2], date=key[3])],
                                    ignore_conflicts=True)
            run = Run.objects.get(kind=key[0], poi_id=key[1], route_id=key[2], date=key[3])
        cache[key] = run
    return run


def _leg_rows(request, direction, planned_legs, *, first_sequence=1, runs=None, stray=None):
    runs = {} if runs is None else runs
    return [
        Leg(request=request, stray=stray, direction=direction, sequence=first_sequence + index, mode=planned.mode,
            poi_id=planned.poi_id, from_branch_id=planned.origin.branch_id, from_hub_id=planned.origin.hub_id,
            to_branch_id=planned.destination.branch_id, to_hub_id=planned.destination.hub_id,
            run=_run_for(planned, cache=runs), planned_on=planned.planned_on,
            planned_arrival_on=planned.planned_arrival_on)
        for index, planned in enumerate(planned_legs)
    ]


def _handover(request, direction):
    """Who handed the copy to transport and when: the send scan (out) or the
    checkin at the requesting desk (back)."""
    state = RequestState.SENT if direction == Leg.Direction.OUT else RequestState.RETURNING
    event_row = IblEvent.objects.filter(request=request, to_state=state).order_by("-at", "-pk").first()
    at = request.sent_at if direction == Leg.Direction.OUT else request.handed_in_at
    return at or (event_row.at if event_row else timezone.now()), event_row.actor_ref if event_row else ""


def legs_plan(request_id, *, planner=None):
    """Plan the legs of a request in its current direction (once). Returns the legs
    (those planned before, when there are any). Runs in the public schema."""
    planner = planner or Planner()
    with transaction.atomic():
        request = lock_request(request_id, related=False)
        direction = _direction_of(request)
        if direction is None:
            return []
        existing = list(Leg.objects.filter(request=request, direction=direction).order_by("sequence"))
        if existing:
            return existing
        at, by = _handover(request, direction)
        start = timezone.localdate(at)
        if direction == Leg.Direction.OUT:
            planned = planner.route(from_branch_id=request.lending_branch_id, to_branch_id=request.pickup_branch_id,
                                    start=start)
        else:
            planned = planner.route(from_branch_id=request.handed_in_branch_id or request.pickup_branch_id,
                                    to_branch_id=request.lending_branch_id, start=start)
        rows = _leg_rows(request, direction, planned)
        # The handover is the first leg's scan out: the copy waits in the branch's IBL crate for the van.
        rows[0].state = Leg.State.IN_TRANSIT
        rows[0].scanned_out_at = at
        rows[0].out_by_ref = by
        rows[0].save()
        if PLAN_HOOK is not None:
            PLAN_HOOK(request, rows[0])
        Leg.objects.bulk_create(rows[1:])
        if direction == Leg.Direction.OUT and request.state == RequestState.SENT:
            request.expected_on = rows[-1].planned_arrival_on
            request.save(update_fields=["expected_on", "updated_at"])
        return rows


def legs_plan_missing(*, older_than=datetime.timedelta(minutes=1), limit=1000):
    """The requests on their way without legs in their direction (their planning
    task was lost): their ids, for the sweep to send again."""
    cutoff = timezone.now() - older_than
    out = (IblRequest.objects.filter(state=RequestState.SENT, sent_at__lte=cutoff)
           .exclude(legs__direction=Leg.Direction.OUT).values_list("pk", flat=True)[:limit])
    back = (IblRequest.objects.filter(state=RequestState.RETURNING, handed_in_at__lte=cutoff)
            .exclude(legs__direction=Leg.Direction.BACK).values_list("pk", flat=True)[:limit])
    return sorted(set(out) | set(back))


def open_legs(request):
    direction = _direction_of(request)
    if direction is None:
        return direction, []
    legs = list(Leg.objects.filter(request=request, direction=direction).select_related(
        "from_hub", "to_hub", "from_branch__organisation", "to_branch__organisation", "crate").order_by("sequence"))
    if not legs:
        legs = legs_plan(request.pk)
        legs = list(Leg.objects.filter(request=request, direction=direction).select_related(
            "from_hub", "to_hub", "from_branch__organisation", "to_branch__organisation", "crate")
            .order_by("sequence"))
    return direction, legs


def leg_arrive(leg, *, actor, now, note=""):
    """Scan a leg in (and out, when nobody scanned it out: noted)."""
    fields = ["state", "scanned_in_at", "in_by_ref", "note", "late_since"]
    if leg.scanned_out_at is None:
        leg.scanned_out_at = now
        leg.out_by_ref = actor.ref
        fields += ["scanned_out_at", "out_by_ref"]
        note = note or "Aangekomen zonder vertrekscan"
    leg.state = Leg.State.ARRIVED
    leg.scanned_in_at = now
    leg.in_by_ref = actor.ref
    leg.late_since = None
    if note:
        leg.note = note[:200]
    leg.save(update_fields=fields)


def legs_arrive_all(request, direction, *, actor, now, note):
    """The copy is at the end of its way: every leg still open is in (the last one
    scanned now, earlier ones noted as passed without their scans)."""
    legs = list(Leg.objects.filter(request=request, direction=direction, state__in=OPEN_LEG_STATES)
                .order_by("sequence"))
    return _arrive_all(legs, actor=actor, now=now, note=note)


def _arrive_all(legs, *, actor, now, note):
    for index, leg in enumerate(legs):
        last = index == len(legs) - 1
        leg_arrive(leg, actor=actor, now=now, note="" if last else note)
    return legs


def place_name(leg, end):
    """The name of a leg's origin ('from') or destination ('to')."""
    branch = leg.from_branch if end == "from" else leg.to_branch
    hub = leg.from_hub if end == "from" else leg.to_hub
    if branch is not None:
        return f"{branch.organisation.name}, {branch.name}"
    return hub.name


# --- the hub ----------------------------------------------------------------------

@dataclass
class HubScanResult:
    """What a hub scan says: the sign's code and values, its colour, and what moved."""

    code: str
    params: dict = field(default_factory=dict)
    colour: str = "green"
    request: IblRequest | None = None
    stray: StrayCopy | None = None
    crate: Crate | None = None
    count: int = 0
    notes: list = field(default_factory=list)  # (code, params)

    @property
    def message(self):
        from core.errors import message_for

        text = message_for(self.code)
        return str(text % self.params if self.params else text).upper()

    @property
    def note_texts(self):
        from core.errors import message_for

        return [str(message_for(code) % params if params else message_for(code)) for code, params in self.notes]


def may_work_at_hub(user, hub):
    """Hub staff of this hub, an administrator of its POI, or the national administrator."""
    from staff.models import PoiAdministrator

    from ..models import HubStaff

    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (HubStaff.objects.filter(user=user, hub=hub).exists()
            or PoiAdministrator.objects.filter(user=user, poi_id=hub.poi_id).exists())


def hubs_of(user):
    """The hubs a staff account may work at."""
    from tenants.models import PoiHub

    if not user.is_authenticated:
        return PoiHub.objects.none()
    if user.is_superuser:
        return PoiHub.objects.select_related("poi").order_by("name")
    return (PoiHub.objects.filter(Q(ibl_staff__user=user) | Q(poi__administrators__user=user)).select_related("poi")
            .distinct().order_by("name"))


def _crate_code(crate_id):
    return f"KR{crate_id:08d}"


def _open_crate(hub, leg):
    """The open crate at `hub` for the leg's destination (made when there is none)."""
    destination = {"to_branch_id": leg.to_branch_id, "to_hub_id": leg.to_hub_id}
    crate = Crate.objects.select_for_update().filter(hub=hub, state=Crate.State.OPEN, **destination).first()
    if crate is None:
        with transaction.atomic():
            crate = Crate.objects.create(hub=hub, code=f"t{uuid.uuid4().hex[:18]}", **destination)
            crate.code = _crate_code(crate.pk)
            crate.save(update_fields=["code"])
    return crate


def _record_scan(*, hub=None, branch=None, code, outcome, request=None, stray=None, crate=None, actor):
    Scan.objects.create(hub=hub, branch=branch, code=code[:40], outcome=outcome[:40], request=request, stray=stray,
                        crate=crate, actor_ref=actor.ref)


def hub_scan(*, actor, hub, code, now=None):
    """One scan at a hub by its staff: a copy's barcode or a crate's label.
    Returns a HubScanResult; raises a ServiceError (ibl.scan_*) for a parcel that
    is not in transport here; every scan is recorded either way."""
    code = (code or "").strip()
    if not actor.is_staff or not may_work_at_hub(actor.staff_user, hub):
        raise ServiceError("ibl.hub_not_allowed", hub=hub.name)
    if not code:
        raise ServiceError("ibl.scan_empty", field="code")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            crate = Crate.objects.filter(code__iexact=code).first()
            if crate is not None:
                result = _crate_scan(actor=actor, hub=hub, crate_id=crate.pk, now=now)
            else:
                result = _item_scan(actor=actor, hub=hub, barcode=code, now=now)
            _record_scan(hub=hub, code=code, outcome=result.code, request=result.request, stray=result.stray,
                         crate=result.crate, actor=actor)
            return result
    except ServiceError as refused:
        _record_scan(hub=hub, code=code, outcome=refused.code, actor=actor)
        raise


def _moving_request(barcode):
    """The request whose copy with this barcode is on its way (the newest)."""
    return (IblRequest.objects.filter(item_barcode=barcode, state__in=MOVING_STATES)
            .order_by("-sent_at", "-pk").first())


@dataclass
class _Parcel:
    """What travels on legs: a request's copy, or a stray copy going home (always
    direction back)."""

    request: IblRequest | None = None
    stray: StrayCopy | None = None
    direction: str = Leg.Direction.BACK

    def log(self, *, actor, detail):
        """A request's events say where its copy went; a stray copy's scans do (ibl.Scan)."""
        if self.request is not None:
            event(self.request, actor=actor, detail=detail, organisation=None)

    def state_text(self):
        if self.request is not None:
            return self.request.get_state_display().lower()
        return self.stray.get_state_display().lower()


def _item_scan(*, actor, hub, barcode, now):
    found = _moving_request(barcode)
    if found is None:
        return _stray_scan(actor=actor, hub=hub, barcode=barcode, now=now)
    request = lock_request(found.pk)
    direction, legs = open_legs(request)
    if direction is None or request.state not in (RequestState.SENT, RequestState.RETURNING):
        raise ServiceError("ibl.scan_not_in_transport", parcel=barcode, state=request.get_state_display().lower())
    return _sort(_Parcel(request=request, direction=direction), legs, actor=actor, hub=hub, barcode=barcode, now=now)


def _sort(parcel, legs, *, actor, hub, barcode, now):
    """A parcel's copy scanned at `hub`: its leg to here is in, and it goes into the
    crate for its next leg (rerouted from here when its way does not pass here)."""
    open_ = [leg for leg in legs if leg.is_open]
    if not open_:
        raise ServiceError("ibl.scan_not_in_transport", parcel=barcode, state=parcel.state_text())
    current = open_[0]
    notes = []
    if current.to_hub_id == hub.pk:
        leg_arrive(current, actor=actor, now=now)
        parcel.log(actor=actor, detail=f"Gescand in {hub.name}")
        following = [leg for leg in legs if leg.sequence > current.sequence and leg.is_open]
        current = following[0] if following else None
        if current is None:  # cannot happen with planned legs (they end at a branch)
            raise ServiceError("ibl.scan_not_in_transport", parcel=barcode, state=parcel.state_text())
    elif current.from_hub_id == hub.pk:
        # Sorted here before (in a crate, or its crate left without it); a leg that
        # starts here and was never sorted (a crate that came in, a stray copy just
        # found) is simply sorted now.
        sorted_before = current.crate_id is not None or current.state == Leg.State.IN_TRANSIT
        if current.state == Leg.State.IN_TRANSIT:
            # Its crate left without it: it waits here for the next crate.
            current.state = Leg.State.PLANNED
            current.scanned_out_at = None
            current.out_by_ref = ""
            current.crate = None
            current.note = "Niet meegegaan met de krat"
            current.save(update_fields=["state", "scanned_out_at", "out_by_ref", "crate", "note"])
        if sorted_before:
            notes.append(("ibl.note_scanned_again", {}))
    else:
        current = _reroute(parcel, legs, current, hub=hub, actor=actor, now=now)
        notes.append(("ibl.note_rerouted", {"hub": hub.name}))
    crate = _open_crate(hub, current)
    if current.crate_id != crate.pk:
        current.crate = crate
        current.save(update_fields=["crate"])
    destination = place_name(current, "to")
    rerouted = bool(notes) and notes[0][0] == "ibl.note_rerouted"
    if parcel.stray is not None:
        code = "ibl.sign_stray_crate"
        params = {"library": parcel.stray.owner.name, "crate": crate.code, "destination": destination}
        notes.append(("ibl.note_stray_home", {"library": parcel.stray.owner.name,
                                              "branch": parcel.stray.to_branch.name}))
    else:
        code = "ibl.sign_crate_rerouted" if rerouted else "ibl.sign_crate"
        params = {"destination": destination, "crate": crate.code}
    return HubScanResult(code=code, params=params, colour="orange" if rerouted or parcel.stray else "green",
                         request=parcel.request, stray=parcel.stray, crate=crate, count=1, notes=notes)


# --- a library's own copy, found at a hub -------------------------------------------

def _stray_scan(*, actor, hub, barcode, now):
    """A copy not in interlibrary loan: one already going home is sorted on; one
    the national item index knows starts its way home from here; else unknown."""
    from collection.item_index import item_index_owners

    stray = _lock_open_stray(barcode)
    if stray is None:
        owners = item_index_owners(barcode)
        if not owners:
            raise ServiceError("ibl.scan_unknown", parcel=barcode)
        if len(owners) > 1:
            # Barcodes are unique per library only: which library's copy it is, a person must see.
            raise ServiceError("ibl.scan_several_owners", parcel=barcode,
                               libraries=" / ".join(owner.name for owner in owners))
        stray = stray_home(actor=actor, hub=hub, owner=owners[0], barcode=barcode, now=now)
    legs = list(stray.legs.select_related("from_hub", "to_hub", "from_branch__organisation",
                                          "to_branch__organisation", "crate").order_by("sequence"))
    return _sort(_Parcel(stray=stray), legs, actor=actor, hub=hub, barcode=barcode, now=now)


def _open_strays(barcode):
    return StrayCopy.objects.filter(barcode=barcode, state=StrayCopy.State.IN_TRANSIT)


def _lock_open_stray(barcode):
    found = _open_strays(barcode).order_by("-pk").values_list("pk", flat=True).first()
    if found is None:
        return None
    return _lock_stray(found)


def _lock_stray(pk):
    return (StrayCopy.objects.select_for_update(of=("self",)).select_related("owner", "to_branch__organisation")
            .get(pk=pk))


def stray_home(*, actor, hub, owner, barcode, now):
    """Start the way home of `owner`'s copy found at `hub`: the stray copy and its
    legs from this hub to its owning branch, planned as a request's legs are
    (Planner.from_hub, the way a rerouted parcel goes on). The first leg leaves
    from this hub (sorted into a crate by the caller). Returns the stray copy."""
    from collection.item_index import item_index_home_branch

    branch, item_id = item_index_home_branch(owner, barcode)
    if branch is None:
        raise ServiceError("ibl.scan_no_home", parcel=barcode, library=owner.name)
    planned = Planner().from_hub(hub_id=hub.pk, to_branch_id=branch.pk, start=timezone.localdate(now))
    try:
        with transaction.atomic():
            stray = StrayCopy.objects.create(barcode=barcode, owner=owner, owner_item_id=item_id, to_branch=branch,
                                             found_hub=hub, found_at=now, actor_ref=actor.ref)
            Leg.objects.bulk_create(_leg_rows(None, Leg.Direction.BACK, planned, stray=stray))
    except IntegrityError:
        # Scanned at the same moment at another hub screen: that one is on its way home.
        stray = _lock_open_stray(barcode)
        if stray is None:
            raise
        return stray
    return _lock_stray(stray.pk)


def stray_back_home(*, actor, barcode, branch, now):
    """The owning library's desk checked in its own copy (circulation asks, last in
    its transaction: ibl.policy): when the POI was bringing it home, every open leg
    is in (the last scanned now, earlier ones noted) and the stray copy is home.
    Returns the desk's notes [(code, params)]."""
    organisation = actor.organisation
    found = (_open_strays(barcode).filter(owner=organisation).values_list("pk", flat=True).first())
    if found is None:
        return []
    [stray] = locks.lock_rows(locks.IBL_REQUEST, StrayCopy.objects.filter(pk=found).select_related("found_hub"),
                              of=("self",))
    if stray.state != StrayCopy.State.IN_TRANSIT:
        return []
    _arrive_all(list(stray.legs.filter(state__in=OPEN_LEG_STATES).order_by("sequence")), actor=actor, now=now,
                note="Onderweg niet gescand")
    stray.state = StrayCopy.State.HOME
    stray.home_at = now
    stray.save(update_fields=["state", "home_at"])
    _record_scan(branch=branch, code=barcode, outcome="ibl.note_stray_arrived", stray=stray, actor=actor)
    return [("ibl.note_stray_arrived", {"hub": stray.found_hub.name})]


def _reroute(parcel, legs, current, *, hub, actor, now):
    """The copy turned up at `hub`, which its current leg does not touch: that leg
    ends here (rerouted, logged) and new legs take it from here to where the leg was
    going; the legs after it follow. Returns the new first leg."""
    request, direction = parcel.request, parcel.direction
    planner = Planner()
    current.state = Leg.State.REROUTED
    current.scanned_in_at = now
    current.in_by_ref = actor.ref
    if current.scanned_out_at is None:
        current.scanned_out_at = now
        current.out_by_ref = actor.ref
    current.note = f"Verkeerd gesorteerd: aangekomen in {hub.name}"[:200]
    current.save(update_fields=["state", "scanned_in_at", "in_by_ref", "scanned_out_at", "out_by_ref", "note"])
    today = timezone.localdate(now)
    new = planner.from_hub(hub_id=hub.pk, to_branch_id=current.to_branch_id, to_hub_id=current.to_hub_id,
                           start=today)
    later = [leg for leg in legs if leg.sequence > current.sequence]
    # Make room: the later legs move up by the number of new legs (highest first, unique sequences).
    for leg in sorted(later, key=lambda leg: -leg.sequence):
        Leg.objects.filter(pk=leg.pk).update(sequence=F("sequence") + len(new))
    rows = _leg_rows(request, direction, new, first_sequence=current.sequence + 1, stray=parcel.stray)
    Leg.objects.bulk_create(rows)
    # Later legs keep their route but move to after the new ones' arrival when needed.
    arrival = rows[-1].planned_arrival_on
    for leg in later:
        if leg.planned_on < arrival:
            shift = (arrival - leg.planned_on).days
            Leg.objects.filter(pk=leg.pk).update(planned_on=F("planned_on") + datetime.timedelta(days=shift),
                                                 planned_arrival_on=F("planned_arrival_on")
                                                 + datetime.timedelta(days=shift))
    if request is not None:
        event(request, actor=actor, detail=f"Verkeerd sorteercentrum: {hub.name}; omgeleid naar "
                                            f"{place_name(current, 'to')}")
    if request is not None and direction == Leg.Direction.OUT and request.state == RequestState.SENT:
        last = Leg.objects.filter(request=request, direction=direction).order_by("-sequence").first()
        request.expected_on = last.planned_arrival_on
        request.save(update_fields=["expected_on", "updated_at"])
    return rows[0]


def _crate_scan(*, actor, hub, crate_id, now):
    crate = Crate.objects.select_for_update(of=("self",)).select_related("to_branch__organisation", "to_hub").get(pk=crate_id)
    destination = (f"{crate.to_branch.organisation.name}, {crate.to_branch.name}" if crate.to_branch_id
                   else crate.to_hub.name)
    if crate.hub_id == hub.pk and crate.state == Crate.State.OPEN:
        moved = list(Leg.objects.filter(crate=crate, state=Leg.State.PLANNED).order_by("pk"))
        if not moved:
            raise ServiceError("ibl.crate_empty", crate=crate.code)
        Leg.objects.filter(pk__in=[leg.pk for leg in moved]).update(
            state=Leg.State.IN_TRANSIT, scanned_out_at=now, out_by_ref=actor.ref)
        crate.state = Crate.State.SENT
        crate.sent_at = now
        crate.save(update_fields=["state", "sent_at"])
        for request_id in {leg.request_id for leg in moved} - {None}:
            IblEvent.objects.create(request_id=request_id, detail=f"Vertrokken uit {hub.name} in krat {crate.code}",
                                    actor_ref=actor.ref)
        return HubScanResult(code="ibl.sign_crate_sent", params={"crate": crate.code, "count": len(moved),
                                                                 "destination": destination},
                             crate=crate, count=len(moved))
    if crate.to_hub_id == hub.pk and crate.state == Crate.State.SENT:
        arrived = list(Leg.objects.filter(crate=crate, state=Leg.State.IN_TRANSIT).order_by("pk"))
        for leg in arrived:
            leg_arrive(leg, actor=actor, now=now)
        crate.state = Crate.State.ARRIVED
        crate.arrived_at = now
        crate.save(update_fields=["state", "arrived_at"])
        return HubScanResult(code="ibl.sign_crate_arrived", params={"crate": crate.code, "count": len(arrived)},
                             colour="purple", crate=crate, count=len(arrived))
    if crate.state == Crate.State.ARRIVED and crate.to_hub_id == hub.pk:
        raise ServiceError("ibl.crate_already_arrived", crate=crate.code)
    raise ServiceError("ibl.crate_not_here", crate=crate.code, hub=hub.name)


# --- runs, late legs, manifests -------------------------------------------------------

def runs_advance(*, today=None):
    """Runs before today are done; their legs that never left (still planned at
    their origin) move to the next run of the same van route or the carrier
    (delayed, counted). Returns (runs done, legs moved). Idempotent."""
    today = today or timezone.localdate()
    planner = Planner()
    done = moved = 0
    for run in Run.objects.filter(date__lt=today, state=Run.State.PLANNED).select_related("route").order_by("date",
                                                                                                            "pk"):
        with transaction.atomic():
            run = Run.objects.select_for_update(of=("self",)).select_related("route").get(pk=run.pk)
            if run.state != Run.State.PLANNED:
                continue
            missed = list(Leg.objects.select_for_update().filter(run=run, state=Leg.State.PLANNED).order_by("pk"))
            runs = {}
            for leg in missed:
                day = _next_run_day(run, leg, today, planner)
                shift = datetime.timedelta(days=(day - leg.planned_on).days)
                leg.planned_on = day
                leg.planned_arrival_on = leg.planned_arrival_on + shift
                leg.delayed += 1
                key = (run.kind, run.poi_id, run.route_id, day)
                if key not in runs:
                    runs[key] = Run.objects.get_or_create(kind=run.kind, poi_id=run.poi_id, route_id=run.route_id,
                                                          date=day)[0]
                leg.run = runs[key]
                leg.save(update_fields=["planned_on", "planned_arrival_on", "delayed", "run"])
                moved += 1
            run.state = Run.State.DONE
            run.save(update_fields=["state"])
            done += 1
    return done, moved


def _next_run_day(run, leg, today, planner):
    if run.kind == RunKind.CARRIER:
        return next_working_day(today)
    branch_id = leg.from_branch_id or leg.to_branch_id
    return planner.van_day(branch_id, today)


def legs_flag_late(*, today=None):
    """Legs not in at their destination by the end of their planned arrival day are
    late (late_since: the first day they are late). Returns how many are newly late."""
    today = today or timezone.localdate()
    return (Leg.objects.filter(state__in=OPEN_LEG_STATES, planned_arrival_on__lt=today, late_since__isnull=True)
            .filter(LEG_PARCEL_IN_TRANSPORT).update(late_since=today))


def manifest_of(run):
    """A run's manifest now: per stop (a branch, or a hub pair for the carrier) the
    copies to collect and to deliver, with their crates. References and titles only."""
    legs = list(Leg.objects.filter(run=run).exclude(state__in=[Leg.State.CANCELLED, Leg.State.REROUTED])
                .select_related("request__title", "stray__owner", "from_branch__organisation",
                                "to_branch__organisation", "from_hub", "to_hub", "crate").order_by("pk"))
    stops = {}

    def stop(key, name):
        return stops.setdefault(key, {"stop": name, "collect": [], "deliver": []})

    for leg in legs:
        if leg.request_id is not None:
            reference, barcode, title = leg.request.reference, leg.request.item_barcode, leg.request.title.title
        else:  # a stray copy going home: its owner instead of a title
            reference, barcode, title = leg.stray.reference, leg.stray.barcode, f"Terug naar {leg.stray.owner.name}"
        line = {"request": reference, "barcode": barcode,
                "title": title[:120], "crate": leg.crate.code if leg.crate_id else "",
                "state": leg.state, "from": place_name(leg, "from"), "to": place_name(leg, "to")}
        origin = ("branch", leg.from_branch_id) if leg.from_branch_id else ("hub", leg.from_hub_id)
        destination = ("branch", leg.to_branch_id) if leg.to_branch_id else ("hub", leg.to_hub_id)
        stop(origin, place_name(leg, "from"))["collect"].append(line)
        stop(destination, place_name(leg, "to"))["deliver"].append(line)
    return {"run": str(run), "date": run.date.isoformat(), "kind": run.kind, "legs": len(legs),
            "stops": sorted(stops.values(), key=lambda entry: (not entry["stop"].startswith("Sorteercentrum"),
                                                              entry["stop"]))}


def manifests_produce(*, day=None):
    """Store the manifest of every run on `day` (default today). Returns how many."""
    day = day or timezone.localdate()
    count = 0
    for run in Run.objects.filter(date=day).select_related("route", "poi"):
        with transaction.atomic():
            Run.objects.filter(pk=run.pk).update(manifest=manifest_of(run), manifest_at=timezone.now())
        count += 1
    return count


def routes_ensure_runs(*, day):
    """Every van route's run and the carrier's run on `day` exist (also empty ones,
    so each driver has a manifest). Returns the runs of that day."""
    if next_working_day(day) == day:
        Run.objects.get_or_create(kind=RunKind.CARRIER, poi=None, route=None, date=day)
    for route in VanRoute.objects.all():
        if day.weekday() in route.weekdays and next_working_day(day) == day:
            Run.objects.get_or_create(kind=RunKind.VAN, poi_id=route.poi_id, route=route, date=day)
    return list(Run.objects.filter(date=day))


__all__ = ["DAY", "HubScanResult", "hub_scan", "hubs_of", "legs_flag_late", "legs_plan",
           "legs_plan_missing", "manifest_of", "manifests_produce", "may_work_at_hub", "runs_advance", "stray_home"]
