"""A library's own copy at a POI hub outside interlibrary loan (a member handed it
in at another library, whose desk put it in the IBL crate): the hub screen says
whose it is and it goes home on legs planned like a request's, in the crates for
its way, until its own library's desk checks it in. Barcodes nobody knows are
still unknown; a barcode of several libraries is put aside; nothing personal is
recorded."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.services.holds import hold_place
from circulation.services.loans import (
    ROUTE_HOLD_SHELF,
    ROUTE_HOLD_TRANSIT,
    ROUTE_KEEP,
    checkin,
    checkout,
    loan_mark_lost,
)
from collection.models import ItemStatus, WithdrawalReason
from collection.services import item_add, item_withdraw
from core.errors import error_codes
from ibl.models import Crate, Leg, Run, RunKind, Scan, StrayCopy
from ibl.services.transport import hub_scan, legs_flag_late, manifest_of
from tests.factories import collection_actor
from tests.members.factories import make_member

from .conftest import PAID_UNTIL, first_branch
from .test_privacy import rows_as_text

pytestmark = pytest.mark.django_db


def handed_in_at_the_wrong_library(world):
    """A member of beta borrows beta's copy and hands it in at alpha, whose desk
    refuses it (another library's) and puts it in the IBL crate."""
    with tenant_context(world.beta):
        member = make_member(card_number="STRAYB01", first_name="Saskia", last_name="Zwerfboek",
                             street="Kerkstraat", house_number="3", postcode="3811 CV", city="Amersfoort",
                             email="saskia.zwerfboek@example.nl", paid_until=PAID_UNTIL)
        checkout(actor=world.desk(world.beta), card_number=member.card_number, barcode=world.beta_copy.barcode)
    with tenant_context(world.alpha):
        with pytest.raises(ValidationError) as caught:
            checkin(actor=world.desk(world.alpha), barcode=world.beta_copy.barcode)
        assert error_codes(caught.value) == ["scan.item_of_other_library"]
    connection.set_schema_to_public()
    return member


def test_a_copy_at_its_own_pois_hub_goes_home_in_the_crate_for_its_branch(ibl_world):
    world = ibl_world
    member = handed_in_at_the_wrong_library(world)
    bisc = world.hubs["bisc"]
    barcode = world.beta_copy.barcode
    home = first_branch(world.beta)

    sign = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)
    assert sign.code == "ibl.sign_stray_crate"
    assert world.beta.name.upper() in sign.message
    assert sign.crate.hub_id == bisc.pk and sign.crate.to_branch_id == home.pk
    assert any(world.beta.name in text and home.name in text for text in sign.note_texts)
    stray = StrayCopy.objects.get(barcode=barcode)
    assert (stray.owner_id, stray.to_branch_id, stray.found_hub_id, stray.state) == (
        world.beta.pk, home.pk, bisc.pk, StrayCopy.State.IN_TRANSIT)
    legs = list(stray.legs.order_by("sequence"))
    # The planner's way from this hub: the POI's van to the owning branch, on its run.
    assert [(leg.mode, leg.from_hub_id, leg.to_branch_id, leg.crate_id, leg.request_id) for leg in legs] == [
        (RunKind.VAN, bisc.pk, home.pk, sign.crate.pk, None)]
    assert legs[0].run is not None and legs[0].run.date == legs[0].planned_on
    assert Scan.objects.filter(hub=bisc, code=barcode, outcome="ibl.sign_stray_crate", stray=stray).exists()

    # Scanned again before the crate left: the same crate, no second way home.
    again = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)
    assert again.crate == sign.crate and "ibl.note_scanned_again" in [code for code, _ in again.notes]
    assert StrayCopy.objects.filter(barcode=barcode).count() == 1 and Leg.objects.filter(stray=stray).count() == 1

    out = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=sign.crate.code)
    assert (out.code, out.count) == ("ibl.sign_crate_sent", 1)
    assert Leg.objects.get(stray=stray).state == Leg.State.IN_TRANSIT

    # Its own desk checks it in: the member's loan ends as at any return, and the transport is closed.
    with tenant_context(world.beta):
        back = checkin(actor=world.desk(world.beta), barcode=barcode)
        assert back.loan is not None and back.loan.member_id == member.pk
        assert "ibl.note_stray_arrived" in [note.code for note in back.notes]
    connection.set_schema_to_public()
    stray.refresh_from_db()
    assert stray.state == StrayCopy.State.HOME and stray.home_at is not None
    assert Leg.objects.get(stray=stray).state == Leg.State.ARRIVED
    # Home: its leg is never flagged late.
    assert legs_flag_late(today=legs[0].planned_arrival_on + datetime.timedelta(days=30)) == 0

    # Nothing personal about the member in what the hub and the POI record.
    _tables, texts = rows_as_text("public", lambda name: name in ("ibl_straycopy", "ibl_leg", "ibl_scan",
                                                                   "ibl_crate"))
    assert texts and any(barcode in text for text in texts)
    for personal in ("Saskia", "Zwerfboek", "STRAYB01", "Kerkstraat", "3811 CV", "saskia.zwerfboek"):
        assert not [text for text in texts if personal in text], personal


def assert_home_and_never_late(stray):
    stray.refresh_from_db()
    assert stray.state == StrayCopy.State.HOME and stray.home_at is not None
    legs = list(stray.legs.order_by("sequence"))
    assert [leg.state for leg in legs] == [Leg.State.ARRIVED] * len(legs)
    assert legs_flag_late(today=legs[-1].planned_arrival_on + datetime.timedelta(days=30)) == 0


def test_a_stray_kept_aside_at_its_checkin_is_home_too(ibl_world):
    """Reported lost and withdrawn while the POI brought it home: the desk keeps it
    aside (route keep), and still the way home ends, not flagged late later on."""
    world = ibl_world
    handed_in_at_the_wrong_library(world)
    bisc = world.hubs["bisc"]
    barcode = world.beta_copy.barcode
    hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)
    stray = StrayCopy.objects.get(barcode=barcode)
    with tenant_context(world.beta):
        loan = Loan.objects.get(item__barcode=barcode, ended_at__isnull=True)
        loan_mark_lost(actor=world.desk(world.beta), loan_id=loan.pk, replacement_cents=0)
        item_withdraw(actor=collection_actor(world.beta), barcodes=[barcode], reason=WithdrawalReason.LOST)
        back = checkin(actor=world.desk(world.beta), barcode=barcode)
        assert (back.route, back.code) == (ROUTE_KEEP, "route.keep")
        assert [note.code for note in back.notes] == ["checkin.withdrawn", "ibl.note_stray_arrived"]
        back.item.refresh_from_db()
        assert back.item.status == ItemStatus.WITHDRAWN
    connection.set_schema_to_public()
    assert_home_and_never_late(stray)
    assert Scan.objects.filter(code=barcode, outcome="ibl.note_stray_arrived", stray=stray).exists()


def test_a_stray_on_its_way_to_a_hold_is_home_when_the_pickup_desk_receives_it(ibl_world):
    """Sent from the other branch to its home branch for a hold, the copy went into
    the POI's crate by mistake; the hub sends it home, where the desk receives the
    transfer onto the hold shelf (hold_receive): that ends the way home too."""
    world = ibl_world
    barcode = world.beta_copy.barcode
    home = first_branch(world.beta)
    other = world.beta.branches.filter(is_active=True).exclude(pk=home.pk).order_by("name").first()
    with tenant_context(world.beta):
        reader, waiter = make_member(paid_until=PAID_UNTIL), make_member(paid_until=PAID_UNTIL)
        checkout(actor=world.desk(world.beta), card_number=reader.card_number, barcode=barcode)
        hold = hold_place(actor=world.desk(world.beta), member=waiter, title_id=world.title.pk,
                          pickup_branch_id=home.pk)
        sent = checkin(actor=world.desk(world.beta, branch=other), barcode=barcode)
        assert (sent.route, sent.destination_branch_id) == (ROUTE_HOLD_TRANSIT, home.pk)
    connection.set_schema_to_public()
    bisc = world.hubs["bisc"]
    sign = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)
    assert sign.code == "ibl.sign_stray_crate" and sign.crate.to_branch_id == home.pk
    stray = StrayCopy.objects.get(barcode=barcode)
    with tenant_context(world.beta):
        back = checkin(actor=world.desk(world.beta), barcode=barcode)
        assert (back.route, back.hold.pk) == (ROUTE_HOLD_SHELF, hold.pk)
        assert [note.code for note in back.notes] == ["checkin.hold_ready", "ibl.note_stray_arrived"]
    connection.set_schema_to_public()
    assert_home_and_never_late(stray)


def test_at_another_pois_hub_it_goes_by_the_night_carrier_and_is_sorted_on(ibl_world):
    world = ibl_world
    handed_in_at_the_wrong_library(world)
    bisc, probiblio = world.hubs["bisc"], world.hubs["probiblio"]
    barcode = world.beta_copy.barcode

    first = hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=barcode)
    assert first.code == "ibl.sign_stray_crate" and first.crate.to_hub_id == bisc.pk
    stray = StrayCopy.objects.get(barcode=barcode)
    legs = list(stray.legs.order_by("sequence"))
    assert [(leg.mode, leg.from_hub_id, leg.to_hub_id, leg.to_branch_id) for leg in legs] == [
        (RunKind.CARRIER, probiblio.pk, bisc.pk, None), (RunKind.VAN, bisc.pk, None, first_branch(world.beta).pk)]

    # The night carrier's manifest lists it by barcode and owner, nothing more.
    carrier = Run.objects.get(kind=RunKind.CARRIER, date=legs[0].planned_on)
    lines = [line for stop in manifest_of(carrier)["stops"] for line in stop["collect"]]
    assert [(line["barcode"], line["request"]) for line in lines] == [(barcode, stray.reference)]
    assert world.beta.name in lines[0]["title"]

    hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=first.crate.code)
    arrived = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=first.crate.code)
    assert (arrived.code, arrived.count) == ("ibl.sign_crate_arrived", 1)
    second = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)
    assert second.code == "ibl.sign_stray_crate"
    assert second.crate.hub_id == bisc.pk and second.crate.to_branch_id == first_branch(world.beta).pk
    # Sorted for the first time here: not "scanned here before".
    assert "ibl.note_scanned_again" not in [code for code, _ in second.notes]
    assert [leg.state for leg in stray.legs.order_by("sequence")] == [Leg.State.ARRIVED, Leg.State.PLANNED]
    # On its way and not home by its planned day: late, as a request's leg would be.
    last = stray.legs.order_by("sequence").last()
    assert legs_flag_late(today=last.planned_arrival_on + datetime.timedelta(days=1)) == 1
    assert stray.legs.get(pk=last.pk).late_since is not None


def test_a_stray_copy_at_the_wrong_hub_is_rerouted_from_there(ibl_world):
    world = ibl_world
    handed_in_at_the_wrong_library(world)
    bisc, probiblio = world.hubs["bisc"], world.hubs["probiblio"]
    barcode = world.beta_copy.barcode
    hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=barcode)  # for beta's branch, from bisc
    sign = hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=barcode)
    assert sign.code == "ibl.sign_stray_crate" and sign.crate.to_hub_id == bisc.pk
    assert "ibl.note_rerouted" in [code for code, _ in sign.notes]
    stray = StrayCopy.objects.get(barcode=barcode)
    assert [(leg.state, leg.from_hub_id) for leg in stray.legs.order_by("sequence")] == [
        (Leg.State.REROUTED, bisc.pk), (Leg.State.PLANNED, probiblio.pk), (Leg.State.PLANNED, bisc.pk)]


def test_unknown_and_shared_barcodes_are_put_aside_and_recorded(ibl_world):
    world = ibl_world
    bisc = world.hubs["bisc"]
    with pytest.raises(ValidationError) as caught:
        hub_scan(actor=world.hub_actor(bisc), hub=bisc, code="NERGENS01")
    assert error_codes(caught.value) == ["ibl.scan_unknown"]

    # Barcodes are unique per library only: gamma has a copy with beta's barcode too.
    with tenant_context(world.gamma):
        item_add(actor=collection_actor(world.gamma), title_id=world.title.pk, barcodes=[world.beta_copy.barcode],
                 branch_id=first_branch(world.gamma).pk)
    connection.set_schema_to_public()
    with pytest.raises(ValidationError) as caught:
        hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=world.beta_copy.barcode)
    assert error_codes(caught.value) == ["ibl.scan_several_owners"]
    assert world.beta.name in caught.value.messages[0] and world.gamma.name in caught.value.messages[0]
    assert not StrayCopy.objects.exists() and not Crate.objects.exists()
    assert set(Scan.objects.filter(hub=bisc).values_list("outcome", flat=True)) == {
        "ibl.scan_unknown", "ibl.scan_several_owners"}


def test_the_hub_screen_says_whose_it_is_and_the_poi_admin_finds_it(client, ibl_world):
    from tests.conftest import forget_routing_cache
    from tests.factories import StaffUserFactory

    forget_routing_cache()
    world = ibl_world
    handed_in_at_the_wrong_library(world)
    bisc = world.hubs["bisc"]
    barcode = world.beta_copy.barcode
    client.force_login(world.hub_users["bisc"])
    scanned = client.post(f"/ibl/sorteercentrum/{bisc.pk}/scan/", {"code": barcode}, HTTP_HOST="localhost")
    page = scanned.content.decode()
    assert scanned.status_code == 200, page[:2000]
    assert f"VAN {world.beta.name.upper()}, GAAT NAAR HUIS" in page
    assert StrayCopy.objects.get(barcode=barcode).reference in page  # among the latest scans
    assert "Zwerfboek" not in page

    admin = StaffUserFactory(username="stray.admin", is_superuser=True, is_staff=True)
    client.force_login(admin)
    listing = client.get("/admin/ibl/straycopy/", HTTP_HOST="localhost")
    assert listing.status_code == 200 and barcode in listing.content.decode()
    stray = StrayCopy.objects.get(barcode=barcode)
    detail = client.get(f"/admin/ibl/straycopy/{stray.pk}/change/", HTTP_HOST="localhost")
    assert detail.status_code == 200 and "Zwerfboek" not in detail.content.decode()
