"""The IBL screens through the views (the browser test drives them in Chromium):
the desk's request form, pick list and send scan, receipt; the hub screen; the POI
overview and figures with CSV. Dutch errors that change nothing; another library's
request, a hub one does not work at and the POI pages of another POI are refused."""

import pytest
from django.db import connection

from ibl.models import IblRequest, Leg, RequestState, Scan
from tests.conftest import forget_routing_cache

from .conftest import first_branch

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"
BETA = "beta.localhost"
NATIONAL = "localhost"


@pytest.fixture(autouse=True)
def fresh_routing():
    forget_routing_cache()


def request_at_desk(client, world):
    client.force_login(world.desk_users["alpha"])
    page = client.get("/ibl/aanvragen/nieuw/", {"pas": world.member.card_number, "q": "Het verre boek"},
                      HTTP_HOST=ALPHA)
    assert page.status_code == 200
    assert "Ilse Boekhouder" in page.content.decode()
    assert f'value="{world.title.pk}"' in page.content.decode()
    answer = client.post("/ibl/aanvragen/nieuw/", {"pas": world.member.card_number, "q": "Het verre boek",
                                                   "titel": world.title.pk,
                                                   "ophaalvestiging": first_branch(world.alpha).pk},
                         HTTP_HOST=ALPHA)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    connection.set_schema_to_public()
    return IblRequest.objects.get(title=world.title, requesting_organisation=world.alpha)


def test_the_desk_requests_sends_and_receives_through_the_screens(client, ibl_world):
    world = ibl_world
    request = request_at_desk(client, world)
    assert request.state == RequestState.ASKED
    detail = client.get(f"/ibl/aanvragen/{request.pk}/", HTTP_HOST=ALPHA).content.decode()
    assert "Gevraagd aan uitlener" in detail and world.beta.name in detail
    world.deliver()

    client.force_login(world.desk_users["beta"])
    pick = client.get("/ibl/versturen/", HTTP_HOST=BETA).content.decode()
    assert request.reference in pick and world.beta_copy.barcode in pick
    # Beta cannot see or cancel alpha's member: the request page names no person.
    assert "Ilse" not in client.get(f"/ibl/aanvragen/{request.pk}/", HTTP_HOST=BETA).content.decode()
    wrong = client.post("/ibl/versturen/scan/", {"barcode": "ONBEKEND99"}, HTTP_HOST=BETA)
    assert wrong.status_code == 422 and "onbekend" in wrong.content.decode()
    sent = client.post("/ibl/versturen/scan/", {"barcode": world.beta_copy.barcode}, HTTP_HOST=BETA)
    assert sent.status_code == 200
    assert "IN DE KRAT NAAR SORTEERCENTRUM BISC" in sent.content.decode()
    connection.set_schema_to_public()
    world.deliver()

    hub = world.hubs["bisc"]
    client.force_login(world.hub_users["bisc"])
    scanned = client.post(f"/ibl/sorteercentrum/{hub.pk}/scan/", {"code": world.beta_copy.barcode},
                          HTTP_HOST=NATIONAL)
    assert scanned.status_code == 200
    assert f"NAAR {world.alpha.name.upper()}" in scanned.content.decode()
    unknown = client.post(f"/ibl/sorteercentrum/{hub.pk}/scan/", {"code": "PAKKET404"}, HTTP_HOST=NATIONAL)
    assert unknown.status_code == 422 and "Leg het apart" in unknown.content.decode()
    assert Scan.objects.filter(hub=hub, code="PAKKET404", outcome="ibl.scan_unknown").exists()

    client.force_login(world.desk_users["alpha"])
    received = client.post("/ibl/ontvangen/scan/", {"barcode": world.beta_copy.barcode}, HTTP_HOST=ALPHA)
    assert received.status_code == 200 and "RESERVERINGSPLANK" in received.content.decode()
    connection.set_schema_to_public()
    request.refresh_from_db()
    assert request.state == RequestState.ARRIVED
    assert not request.legs.filter(state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT]).exists()


def test_bad_input_at_the_desk_changes_nothing(client, ibl_world):
    world = ibl_world
    client.force_login(world.desk_users["alpha"])
    page = client.get("/ibl/aanvragen/nieuw/", {"pas": "GEENPAS01", "q": "Het verre boek"}, HTTP_HOST=ALPHA)
    assert "onbekend" in page.content.decode()
    posted = client.post("/ibl/aanvragen/nieuw/", {"pas": world.member.card_number, "titel": "999999999",
                                                   "ophaalvestiging": first_branch(world.alpha).pk}, HTTP_HOST=ALPHA)
    assert posted.status_code == 422 and "landelijke catalogus" in posted.content.decode()
    other_branch = client.post("/ibl/aanvragen/nieuw/", {"pas": world.member.card_number, "titel": world.title.pk,
                                                         "ophaalvestiging": first_branch(world.beta).pk},
                               HTTP_HOST=ALPHA)
    assert other_branch.status_code == 422
    connection.set_schema_to_public()
    assert not IblRequest.objects.exists()
    received = client.post("/ibl/ontvangen/scan/", {"barcode": world.beta_copy.barcode}, HTTP_HOST=ALPHA)
    assert received.status_code == 422 and "niet verwacht" in received.content.decode()


def test_other_libraries_hubs_and_pois_are_refused(client, ibl_world, staff):
    world = ibl_world
    request = request_at_desk(client, world)
    # Gamma was never asked: its desk does not see the request.
    client.force_login(world.desk_users["gamma"])
    assert client.get(f"/ibl/aanvragen/{request.pk}/", HTTP_HOST="gamma.localhost").status_code == 404
    client.force_login(world.desk_users["beta"])
    assert client.post(f"/ibl/aanvragen/{request.pk}/annuleren/", HTTP_HOST=BETA).status_code == 302
    connection.set_schema_to_public()
    assert IblRequest.objects.get(pk=request.pk).state == RequestState.ASKED
    # Staff of a library are no hub staff; BiSC's hub staff do not work at Probiblio's hub.
    assert client.get(f"/ibl/sorteercentrum/{world.hubs['bisc'].pk}/", HTTP_HOST=NATIONAL).status_code == 403
    client.force_login(world.hub_users["bisc"])
    assert client.get(f"/ibl/sorteercentrum/{world.hubs['probiblio'].pk}/", HTTP_HOST=NATIONAL).status_code == 403
    assert client.get("/ibl/poi/", HTTP_HOST=NATIONAL).status_code == 403
    # Probiblio's administrator sees Zuid-Holland, not this Utrecht request; BiSC's sees it.
    client.force_login(staff.probiblio_poi)
    assert request.reference not in client.get("/ibl/poi/", HTTP_HOST=NATIONAL).content.decode()
    client.force_login(staff.bisc_poi)
    overview = client.get("/ibl/poi/", HTTP_HOST=NATIONAL).content.decode()
    assert request.reference in overview
    assert "Ilse" not in overview and world.member.card_number not in overview
    csv = client.get("/ibl/poi/statistiek/", {"formaat": "csv"}, HTTP_HOST=NATIONAL)
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    text = csv.content.decode()
    assert "Utrecht" in text and "Zuid-Holland" not in text
    assert client.get("/ibl/poi/statistiek/", {"van": "gisteren"}, HTTP_HOST=NATIONAL).status_code == 422


def test_the_library_admin_sets_its_ibl_terms(client, ibl_world, staff):
    from ibl.models import IblTerms

    client.force_login(staff.alpha_library_admin)
    page = client.post("/ibl/voorwaarden/", {"leent_uit": "1", "soorten": ["book", "audiobook"],
                                             "nieuw_maanden": "6", "kosten": "2,50"}, HTTP_HOST=ALPHA)
    assert page.status_code == 302
    connection.set_schema_to_public()
    terms = IblTerms.objects.get(organisation=ibl_world.alpha)
    assert (terms.lends, terms.item_types, terms.new_title_months, terms.request_fee_cents) == (
        True, ["book", "audiobook"], 6, 250)
    bad = client.post("/ibl/voorwaarden/", {"soorten": ["robot"], "nieuw_maanden": "-1", "kosten": "veel"},
                      HTTP_HOST=ALPHA)
    assert bad.status_code == 422
    connection.set_schema_to_public()
    assert IblTerms.objects.get(organisation=ibl_world.alpha).request_fee_cents == 250
    client.force_login(ibl_world.desk_users["alpha"])
    assert client.get("/ibl/voorwaarden/", HTTP_HOST=ALPHA).status_code == 403
