"""The POIs' daily work as the Celery tasks do it (the task bodies, in the test's
transaction): a leg that missed its run goes with the next one (delayed, counted),
past runs are done, today's runs exist with their manifests (references and titles,
no personal data), late legs are flagged and shown first to the POI."""

import datetime

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from ibl.models import Leg, Run, VanRoute, VanStop
from ibl.planning import next_working_day
from ibl.selectors import poi_legs
from ibl.services.requests import ibl_request_create
from ibl.services.sending import ibl_send
from ibl.services.transport import legs_flag_late, manifests_produce, routes_ensure_runs, runs_advance

from .conftest import first_branch

pytestmark = pytest.mark.django_db


def test_runs_advance_manifests_and_late_legs(ibl_world):
    world = ibl_world
    bisc = world.hubs["bisc"].poi
    route = VanRoute.objects.create(poi=bisc, name="Route test", weekdays=[0, 1, 2, 3, 4])
    VanStop.objects.create(route=route, branch=first_branch(world.alpha))
    VanStop.objects.create(route=route, branch=first_branch(world.beta), position=2)
    with tenant_context(world.alpha):
        request = ibl_request_create(actor=Actor.member(world.member.pk, world.alpha), member_id=world.member.pk,
                                     title_id=world.title.pk, pickup_branch_id=first_branch(world.alpha).pk)
    world.deliver()
    with tenant_context(world.beta):
        ibl_send(actor=world.desk(world.beta), barcode=world.beta_copy.barcode)
    world.deliver()
    legs = list(Leg.objects.filter(request=request).order_by("sequence"))
    assert all(leg.run is not None and leg.run.route_id == route.pk for leg in legs)
    second = legs[1]

    # The day of the hub -> alpha leg passes without the copy being loaded.
    after = second.planned_on + datetime.timedelta(days=1)
    done, moved = runs_advance(today=after)
    assert done >= 1 and moved == 1
    second.refresh_from_db()
    assert second.delayed == 1 and second.planned_on >= after and second.run.date == second.planned_on
    assert runs_advance(today=after) == (0, 0)  # once

    day = next_working_day(after)
    runs = routes_ensure_runs(day=day)
    assert any(run.route_id == route.pk for run in runs) and any(run.kind == "carrier" for run in runs)
    assert manifests_produce(day=second.planned_on) >= 1
    manifest = Run.objects.get(pk=second.run_id).manifest
    stops = {stop["stop"]: stop for stop in manifest["stops"]}
    assert any(line["request"] == request.reference for stop in stops.values() for line in stop["deliver"])
    assert world.member.last_name not in str(manifest) and world.member.card_number not in str(manifest)

    # Never scanned in at the hub, two days after the delivery was planned: both legs are late,
    # first in the POI's list.
    late_day = second.planned_arrival_on + datetime.timedelta(days=2)
    assert legs_flag_late(today=late_day) == 2
    assert legs_flag_late(today=late_day) == 0
    listed = poi_legs(list(bisc.provinces.all()), pois=[bisc], today=late_day)
    assert {leg.pk for leg in listed[:2]} == {legs[0].pk, second.pk} and all(leg.is_late for leg in listed[:2])
    connection.set_schema_to_public()
