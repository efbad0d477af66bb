"""Reads of interlibrary loan, each with its filter built in: a library sees the
requests it made or was asked for; a member their own; a hub its crates and scans;
a POI administrator the requests and legs of their provinces."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from collection.models import Item, ItemStatus

from .models import (
    ACTIVE_STATES, ENDED_STATES, LEG_PARCEL_IN_TRANSPORT, Ask, Crate, IblRequest, Leg, RequestState, Run, Scan,
)

RECENT_DAYS = 30


def _requests():
    return IblRequest.objects.select_related("title", "requesting_organisation", "lender", "pickup_branch",
                                             "lending_branch")


def requests_made(organisation, *, limit=200):
    """This library's requests (as requester): active first, then ended in the last 30 days."""
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    rows = list(_requests().filter(requesting_organisation=organisation)
                .filter(Q(state__in=ACTIVE_STATES) | Q(ended_at__gte=since)).order_by("-created_at", "-pk")[:limit])
    rows.sort(key=lambda request: (not request.is_active,))
    return rows


def requests_lent(organisation, *, limit=200):
    """The requests this library was asked for or lends (as lender), open first."""
    since = timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    rows = list(_requests().filter(lender=organisation)
                .filter(Q(state__in=ACTIVE_STATES) | Q(ended_at__gte=since)).order_by("-created_at", "-pk")[:limit])
    rows.sort(key=lambda request: (not request.is_active,))
    return rows


def request_for_library(organisation, request_id):
    """One request, when this library made it or was asked for it (else None)."""
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        return None
    request = _requests().filter(pk=request_id).first()
    if request is None:
        return None
    asked = Ask.objects.filter(request=request, lender=organisation).exists()
    if request.requesting_organisation_id != organisation.pk and not asked:
        return None
    request.is_requester = request.requesting_organisation_id == organisation.pk
    return request


def request_timeline(request):
    """(events, asks, legs) of a request, for its page."""
    events = list(request.events.select_related("organisation").order_by("at", "pk"))
    asks = list(request.asks.select_related("lender", "branch").order_by("asked_at", "pk"))
    legs = list(request.legs.select_related("from_branch__organisation", "to_branch__organisation", "from_hub",
                                            "to_hub", "crate", "poi").order_by("direction", "sequence"))
    legs.sort(key=lambda leg: (leg.direction != Leg.Direction.OUT, leg.sequence))
    return events, asks, legs


def member_requests(organisation, member_id, *, include_ended_days=RECENT_DAYS):
    """A member's IBL requests at their library, as reservations: active ones with
    their expected arrival date, and those ended recently."""
    since = timezone.now() - datetime.timedelta(days=include_ended_days)
    return list(_requests().filter(requesting_organisation=organisation, member_id=member_id)
                .filter(Q(state__in=ACTIVE_STATES) | Q(ended_at__gte=since)).order_by("-created_at", "-pk"))


def lender_available(organisation, title):
    """Would another library lend this title to this library's members through IBL
    now (a lender in the national holdings index that offers it)?"""
    from tenants.models import LibraryOrganisation

    from .services.lenders import lender_candidates

    requester = LibraryOrganisation.objects.select_related("province").get(pk=organisation.pk)
    return bool(lender_candidates(requesting_organisation=requester, title=title, now=timezone.now()))


@dataclass
class PickRow:
    request: IblRequest
    copies: list


def pick_list(organisation, branch_id):
    """What this library's branch should take off the shelf and send: every request
    it was asked for at this branch (oldest first) with the copies of the title on
    this branch's shelf (or put ready for the request on its hold shelf)."""
    asked = list(_requests().filter(lender=organisation, state=RequestState.ASKED, lending_branch_id=branch_id)
                 .order_by("created_at", "pk"))
    titles = {request.title_id for request in asked}
    copies = {}
    for item in (Item.objects.filter(title_id__in=titles, current_branch_id=branch_id, not_for_loan=False,
                                     ibl_owner_id__isnull=True,
                                     status__in=[ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF])
                 .order_by("shelf_location", "call_number", "barcode")):
        copies.setdefault(item.title_id, []).append(item)
    for request in asked:
        request.answer_due = Ask.objects.filter(request=request, lender=organisation,
                                                outcome=Ask.Outcome.PENDING).values_list("answer_due_at",
                                                                                         flat=True).first()
    return [PickRow(request=request, copies=copies.get(request.title_id, [])) for request in asked]


def expected_here(organisation, branch_id=None):
    """Copies on their way to this library for its members (sent, not yet received)."""
    rows = _requests().filter(requesting_organisation=organisation, state=RequestState.SENT)
    if branch_id is not None:
        rows = rows.filter(pickup_branch_id=branch_id)
    return list(rows.order_by("expected_on", "pk")[:200])


def coming_home(organisation):
    """Copies of this library on their way back from other libraries."""
    return list(_requests().filter(lender=organisation, state=RequestState.RETURNING).order_by("handed_in_at", "pk")
                [:200])


# --- the hub ------------------------------------------------------------------------

def hub_overview(hub, *, today=None):
    """A hub's open crates (by destination, with their count), what is expected
    in today, and its latest scans."""
    today = today or timezone.localdate()
    crates = list(Crate.objects.filter(hub=hub, state=Crate.State.OPEN)
                  .select_related("to_branch__organisation", "to_hub")
                  .annotate(count=Count("legs", filter=Q(legs__state=Leg.State.PLANNED))).order_by("code"))
    incoming = (Leg.objects.filter(to_hub=hub, state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT],
                                   planned_arrival_on__lte=today)
                .filter(LEG_PARCEL_IN_TRANSPORT).count())
    scans = list(Scan.objects.filter(hub=hub).select_related("request__title", "stray", "crate")
                 .order_by("-at", "-pk")[:25])
    return {"crates": crates, "incoming_today": incoming, "scans": scans}


# --- the POI ------------------------------------------------------------------------

def _in_provinces(provinces):
    return (Q(requesting_organisation__province__in=provinces) | Q(lender__province__in=provinces))


def poi_requests(provinces, *, today=None, limit=300):
    """The open requests of these provinces (requesting or lending library there),
    late ones first (a leg late, or past its expected date), then by expected date."""
    today = today or timezone.localdate()
    late_leg = Leg.objects.filter(request=OuterRef("pk"), late_since__isnull=False,
                                  state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT])
    rows = list(_requests().filter(_in_provinces(provinces), state__in=ACTIVE_STATES)
                .annotate(has_late_leg=Exists(late_leg)).order_by("expected_on", "pk")[:limit])
    for request in rows:
        request.is_late = request.has_late_leg or (
            request.state in (RequestState.ASKED, RequestState.SENT) and request.expected_on is not None
            and request.expected_on < today)
    rows.sort(key=lambda request: (not request.is_late, request.expected_on or today, request.pk))
    return rows


def poi_legs(provinces, *, pois, today=None, limit=300):
    """The open legs these POIs drive, or that start or end in their provinces
    (the night carrier's included), late first."""
    today = today or timezone.localdate()
    legs = list(Leg.objects.filter(state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT],
                                   request__state__in=[RequestState.SENT, RequestState.RETURNING])
                .filter(Q(poi__in=pois) | Q(from_hub__poi__in=pois) | Q(to_hub__poi__in=pois))
                .select_related("request__title", "from_branch__organisation", "to_branch__organisation",
                                "from_hub", "to_hub", "crate", "run__route")
                .order_by("planned_arrival_on", "pk")[:limit])
    for leg in legs:
        leg.is_late = leg.late_since is not None or leg.planned_arrival_on < today
    legs.sort(key=lambda leg: (not leg.is_late, leg.planned_arrival_on, leg.pk))
    return legs


def poi_daily_volumes(pois, *, days=7, today=None):
    """Per day, per hub and per van route: the legs planned to leave (volume to
    drive), for the coming `days` days. [(day, [(what, count)])]."""
    today = today or timezone.localdate()
    end = today + datetime.timedelta(days=days)
    rows = (Leg.objects.filter(planned_on__gte=today - datetime.timedelta(days=1), planned_on__lt=end)
            .exclude(state__in=[Leg.State.CANCELLED, Leg.State.REROUTED])
            .filter(Q(poi__in=pois) | Q(from_hub__poi__in=pois) | Q(to_hub__poi__in=pois))
            .values("planned_on", "mode", "run__route__name", "from_hub__name", "to_hub__name")
            .annotate(count=Count("pk")))
    by_day = {}
    for row in rows:
        if row["mode"] == "carrier":
            what = f"Nachtvervoer {row['from_hub__name']} → {row['to_hub__name']}"
        else:
            what = f"Route {row['run__route__name']}" if row["run__route__name"] else "Bus (geen vaste route)"
        day = by_day.setdefault(row["planned_on"], {})
        day[what] = day.get(what, 0) + row["count"]
    return [(day, sorted(values.items())) for day, values in sorted(by_day.items())]


def runs_of(pois, *, day):
    """The runs on `day` of these POIs' vans and the night carrier, with leg counts."""
    return list(Run.objects.filter(date=day).filter(Q(poi__in=pois) | Q(kind="carrier"))
                .select_related("route", "poi").annotate(count=Count("legs")).order_by("kind", "route__name"))


__all__ = ["ENDED_STATES", "coming_home", "expected_here", "hub_overview", "lender_available", "member_requests",
           "pick_list",
           "poi_daily_volumes", "poi_legs", "poi_requests", "request_for_library", "request_timeline",
           "requests_lent", "requests_made", "runs_of"]
