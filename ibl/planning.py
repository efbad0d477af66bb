"""When a copy travels: the legs from one branch to another through the POI hubs,
with their planned days, from the van routes (ibl.VanRoute: the days a POI's van
visits a branch), the branches' calendar (tenants.calendar: a van delivers and
collects on days the branch is open) and the night carrier between the hubs.

Inside one POI (one POI may serve two provinces and drive across both):
    branch --van--> POI hub (sorted overnight) --van--> branch
Between POIs:
    branch --van--> lending POI's hub --night carrier--> requesting POI's hub --van--> branch

A van leg departs and arrives on its day. The carrier leaves a hub on a working
evening and is unloaded at the other hub the next working morning, in time for
that day's vans. A branch without a route is visited every working day.
A pure calculation apart from reading the registry (cached per Planner).
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from tenants.calendar import BranchCalendar, is_public_holiday
from tenants.models import Branch, ClosedDate, LibraryOrganisation, OpeningPeriod, PoiHub, Province

from .models import RunKind, VanRoute, VanStop

# A branch with its POI, hub, van route and calendar around a day, in one statement.
_BRANCH_SQL = """
    SELECT b.organisation_id, o.province_id, p.poi_id,
           (SELECT min(h.id) FROM {hub} AS h WHERE h.poi_id = p.poi_id),
           s.route_id, r.poi_id, r.weekdays,
           coalesce((SELECT array_agg(DISTINCT weekday) FROM {opening} WHERE branch_id = b.id), '{{}}'),
           coalesce((SELECT array_agg(date) FROM {closed} WHERE branch_id = b.id
                       AND date BETWEEN %(start)s AND %(end)s), '{{}}')
      FROM {branch} AS b
      JOIN {organisation} AS o ON o.id = b.organisation_id
      JOIN {province} AS p ON p.id = o.province_id
      LEFT JOIN {stop} AS s ON s.branch_id = b.id
      LEFT JOIN {route} AS r ON r.id = s.route_id
     WHERE b.id = %(branch)s
"""

# Searching for a van day stops here (a branch closed for months): the leg is planned then anyway.
MAX_SEARCH_DAYS = 60
WORKING_WEEKDAYS = frozenset(range(5))
DAY = datetime.timedelta(days=1)


def is_working_day(day):
    """Hubs and the carrier work Monday to Friday, not on public holidays."""
    return day.weekday() in WORKING_WEEKDAYS and not is_public_holiday(day)


def next_working_day(day):
    for _ in range(MAX_SEARCH_DAYS):
        if is_working_day(day):
            return day
        day += DAY
    return day


@dataclass(frozen=True)
class Place:
    """Where a leg starts or ends: a branch or a hub."""

    branch_id: int | None = None
    hub_id: int | None = None


@dataclass(frozen=True)
class PlannedLeg:
    mode: str
    poi_id: int | None
    origin: Place
    destination: Place
    route_id: int | None
    planned_on: datetime.date
    planned_arrival_on: datetime.date


@dataclass(frozen=True)
class BranchInfo:
    branch_id: int
    organisation_id: int
    province_id: int
    poi_id: int
    hub_id: int
    route_id: int | None
    route_weekdays: frozenset


class Planner:
    """Plans legs; reads each branch's POI, hub and route once."""

    def __init__(self):
        self._branches = {}
        self._calendars = {}

    def branch(self, branch_id):
        info = self._branches.get(branch_id)
        if info is None:
            self._load(branch_id, datetime.date.today())
            info = self._branches[branch_id]
        return info

    def _load(self, branch_id, day):
        """A branch's POI, hub and route, and its calendar around `day`: one statement."""
        start, end = day - DAY, day + datetime.timedelta(days=2 * MAX_SEARCH_DAYS)
        with connection.cursor() as cursor:
            cursor.execute(_BRANCH_SQL.format(
                branch=Branch._meta.db_table, organisation=LibraryOrganisation._meta.db_table,
                province=Province._meta.db_table, hub=PoiHub._meta.db_table, stop=VanStop._meta.db_table,
                route=VanRoute._meta.db_table, opening=OpeningPeriod._meta.db_table,
                closed=ClosedDate._meta.db_table), {"branch": branch_id, "start": start, "end": end})
            row = cursor.fetchone()
        if row is None:
            raise Branch.DoesNotExist(f"branch {branch_id}")
        organisation_id, province_id, poi_id, hub_id, route_id, route_poi, weekdays, open_days, closed = row
        if hub_id is None:
            raise LookupError(f"POI {poi_id} has no hub")
        on_route = route_id is not None and route_poi == poi_id
        self._branches[branch_id] = BranchInfo(
            branch_id=branch_id, organisation_id=organisation_id, province_id=province_id, poi_id=poi_id,
            hub_id=hub_id, route_id=route_id if on_route else None,
            route_weekdays=frozenset(weekdays) if on_route else WORKING_WEEKDAYS)
        self._calendars[branch_id] = BranchCalendar.preloaded(branch_id, start=start, end=end,
                                                              open_weekdays=set(open_days), closed_dates=set(closed))

    def _calendar(self, branch_id, day):
        calendar = self._calendars.get(branch_id)
        if calendar is None or not calendar.start <= day <= calendar.end - datetime.timedelta(days=MAX_SEARCH_DAYS):
            self._load(branch_id, day)
            calendar = self._calendars[branch_id]
        return calendar

    def van_day(self, branch_id, day):
        """The first day on or after `day` the POI's van visits this branch: a day of
        its route that is a working day on which the branch is open."""
        info = self.branch(branch_id)
        calendar = self._calendar(branch_id, day)
        for _ in range(MAX_SEARCH_DAYS):
            if day.weekday() in info.route_weekdays and is_working_day(day) and calendar.is_open(day):
                return day
            day += DAY
        return day

    def route(self, *, from_branch_id, to_branch_id, start):
        """The legs from one branch to another, the first leaving on or after `start`."""
        origin, destination = self.branch(from_branch_id), self.branch(to_branch_id)
        legs = []
        pickup = self.van_day(origin.branch_id, start)
        legs.append(PlannedLeg(RunKind.VAN, origin.poi_id, Place(branch_id=origin.branch_id), Place(hub_id=origin.hub_id),
                               origin.route_id, pickup, pickup))
        if origin.poi_id == destination.poi_id:
            # Sorted at the hub overnight, out with a van from the next working day.
            delivery = self.van_day(destination.branch_id, next_working_day(pickup + DAY))
            legs.append(PlannedLeg(RunKind.VAN, destination.poi_id, Place(hub_id=origin.hub_id),
                                   Place(branch_id=destination.branch_id), destination.route_id, delivery, delivery))
            return legs
        night = next_working_day(pickup)
        unloaded = next_working_day(night + DAY)
        legs.append(PlannedLeg(RunKind.CARRIER, None, Place(hub_id=origin.hub_id), Place(hub_id=destination.hub_id),
                               None, night, unloaded))
        delivery = self.van_day(destination.branch_id, unloaded)
        legs.append(PlannedLeg(RunKind.VAN, destination.poi_id, Place(hub_id=destination.hub_id),
                               Place(branch_id=destination.branch_id), destination.route_id, delivery, delivery))
        return legs

    def from_hub(self, *, hub_id, to_branch_id=None, to_hub_id=None, start):
        """The legs from a hub to a branch or to another hub (a parcel rerouted from
        the wrong hub): the carrier between POIs, or the van of the hub's POI."""
        if to_hub_id is not None:
            night = next_working_day(start)
            return [PlannedLeg(RunKind.CARRIER, None, Place(hub_id=hub_id), Place(hub_id=to_hub_id), None, night,
                               next_working_day(night + DAY))]
        destination = self.branch(to_branch_id)
        legs = []
        day = next_working_day(start)
        if destination.hub_id != hub_id:
            night = next_working_day(start)
            day = next_working_day(night + DAY)
            legs.append(PlannedLeg(RunKind.CARRIER, None, Place(hub_id=hub_id), Place(hub_id=destination.hub_id),
                                   None, night, day))
        delivery = self.van_day(destination.branch_id, day)
        legs.append(PlannedLeg(RunKind.VAN, destination.poi_id, Place(hub_id=destination.hub_id),
                               Place(branch_id=destination.branch_id), destination.route_id, delivery, delivery))
        return legs

    def arrival(self, *, from_branch_id, to_branch_id, start):
        """When a copy leaving `from_branch_id` on or after `start` is at `to_branch_id`."""
        return self.route(from_branch_id=from_branch_id, to_branch_id=to_branch_id, start=start)[-1].planned_arrival_on

    def latest_start(self, *, from_branch_id, to_branch_id, arrive_by, earliest):
        """The last day (not before `earliest`) a copy may leave `from_branch_id` and
        still be at `to_branch_id` by `arrive_by`; `earliest` when none does."""
        day = arrive_by
        while day > earliest:
            if self.arrival(from_branch_id=from_branch_id, to_branch_id=to_branch_id, start=day) <= arrive_by:
                return day
            day -= DAY
        return earliest
