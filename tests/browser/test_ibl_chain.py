"""Interlibrary loan end to end in a real browser, with a real Celery worker carrying
out the outbox steps and the leg planning: a member of alpha asks in the OPAC for two
titles their library lacks, one held by beta (same province, BiSC) and one by gamma
(Zuid-Holland, Probiblio); the lenders' staff pick and send them; hub staff scan them
through the hubs (the night carrier between Probiblio's and BiSC's hub for gamma's);
alpha's desk receives them onto the hold shelf and lends them; they are taken back
and go home the same way; the lenders receive them and the requests complete; the
POI overview and the figures show them."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from core.actors import Actor
from ibl.models import IblRequest, Leg, RequestState
from staff.models import Role, StaffUser
from tenants.models import LibraryOrganisation, OutboxMessage, PoiHub
from tests.circulation.conftest import PAID_UNTIL
from tests.concurrency import wait_for
from tests.factories import PASSWORD, StaffUserFactory, TitleFactory, staff_with_role
from tests.ibl.cleanup import ibl_cleanup
from tests.members.factories import make_member

pytestmark = pytest.mark.django_db

CARD = "BRWIBL001"
TITLES = {"beta": "Het verre boek", "gamma": "De lange reis naar huis"}
BARCODES = {"beta": "BETAIBL0001", "gamma": "GAMMAIBL001"}


@pytest.fixture(scope="module")
def ibl_day(django_db_setup, django_db_blocker, celery_worker_process):
    from collection.services import item_add
    from ibl.models import HubStaff

    with django_db_blocker.unblock():
        libraries = {o.slug: o for o in LibraryOrganisation.objects.filter(slug__in=["alpha", "beta", "gamma"])}
        users = []
        titles = {slug: TitleFactory(title=text) for slug, text in TITLES.items()}
        for slug in ("beta", "gamma"):
            organisation = libraries[slug]
            collector = staff_with_role(organisation, Role.COLLECTION, username=f"{slug}.ibl.collectie")
            users.append(collector)
            with tenant_context(organisation):
                branch = organisation.branches.order_by("name").first()
                item_add(actor=Actor.staff(collector, organisation), title_id=titles[slug].pk,
                         barcodes=[BARCODES[slug]], branch_id=branch.pk, shelf_location="Romans")
        gamma_desk = staff_with_role(libraries["gamma"], Role.DESK, username="gamma.ibl.balie")
        users.append(gamma_desk)
        for code in ("bisc", "probiblio"):
            user = StaffUserFactory(username=f"{code}.ibl.sorteer")
            HubStaff.objects.create(user=user, hub=PoiHub.objects.get(poi__code=code))
            users.append(user)
        with tenant_context(libraries["alpha"]):
            member = make_member(card_number=CARD, first_name="Ilse", last_name="Verweg", email="ilse@example.nl",
                                 street="Lindenlaan", house_number="9", postcode="3581 AC", city="Utrecht",
                                 paid_until=PAID_UNTIL)
        connection.set_schema_to_public()
    yield libraries, titles, member
    with django_db_blocker.unblock():
        requests = list(IblRequest.objects.filter(title__in=titles.values()).values_list("pk", flat=True))
        ibl_cleanup(requests=requests, libraries=libraries.values(), members={"alpha": [member.pk]},
                    barcodes=BARCODES.values(), titles=[t.pk for t in titles.values()], users=users, cards=[CARD])


def staff_page(browser, url, username):
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(url)
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    return page


def scan(page, label, code):
    page.get_by_label(label).fill(code)
    page.get_by_label(label).press("Enter")


def hub_scan(page, code):
    scan(page, "Barcode of kratlabel", code)
    return page.get_by_test_id("route-message")


def sort_and_send(hub_page, barcode, destination):
    """At a hub: the copy in, into the crate for `destination`; the crate out."""
    expect(hub_scan(hub_page, barcode)).to_contain_text(f"NAAR {destination.upper()}")
    crate = hub_page.get_by_test_id("crate").inner_text()
    expect(hub_scan(hub_page, crate)).to_contain_text(f"KRAT {crate} VERTROKKEN")
    return crate


def request_state(title):
    return IblRequest.objects.get(title=title).state


def test_a_member_borrows_from_two_other_libraries_and_everything_goes_home(browser, page, library_url,
                                                                           live_server_port, ibl_day):
    libraries, titles, member = ibl_day
    alpha, beta, gamma = libraries["alpha"], libraries["beta"], libraries["gamma"]
    national = f"http://localhost:{live_server_port}"

    # The member asks in the OPAC for both titles.
    page.goto(library_url("alpha", "/aanmelden/"))
    page.get_by_label("Pasnummer").fill(CARD)
    page.get_by_label("Pincode").fill("1234")
    page.get_by_role("button", name="Aanmelden").click()
    for slug in ("beta", "gamma"):
        page.goto(library_url("alpha", f"/titel/{titles[slug].pk}/"))
        page.get_by_test_id("ibl-link").click()
        page.get_by_role("button", name="Aanvragen bij een andere bibliotheek").click()
        expect(page.locator(".messages")).to_contain_text("Aangevraagd bij een andere bibliotheek")
    requests = {slug: IblRequest.objects.get(title=titles[slug]) for slug in ("beta", "gamma")}
    expect(page.get_by_test_id("ibl-request")).to_have_count(2)
    expect(page.get_by_test_id("ibl-expected").first).to_contain_text("Verwacht")
    assert requests["beta"].lender_id == beta.pk and requests["gamma"].lender_id == gamma.pk
    # The worker asked both lenders (a hold on the copy in their schema).
    assert wait_for(lambda: not OutboxMessage.objects.filter(
        dedupe_key__in=[f"ibl:{r.pk}:hold:{r.lender_id}" for r in requests.values()]).exclude(state="done").exists())

    # The lenders' staff pick and send.
    for slug, username, hub_name in (("beta", "beta.desk", "SORTEERCENTRUM BISC"),
                                     ("gamma", "gamma.ibl.balie", "SORTEERCENTRUM PROBIBLIO")):
        desk = staff_page(browser, library_url(slug, "/balie/inloggen/"), username)
        desk.goto(library_url(slug, "/ibl/versturen/"))
        expect(desk.get_by_test_id(f"pick-{requests[slug].pk}")).to_contain_text(TITLES[slug])
        expect(desk.get_by_label("Barcode exemplaar")).to_be_focused()
        scan(desk, "Barcode exemplaar", BARCODES[slug])
        expect(desk.get_by_test_id("route-message")).to_contain_text(f"IN DE KRAT NAAR {hub_name}")
        desk.context.close()
    assert wait_for(lambda: all(Leg.objects.filter(request=r, direction="out").count() >= 2
                                for r in requests.values()))

    # The POI overview shows them on their way.
    poi = staff_page(browser, f"{national}/ibl/inloggen/?next=/ibl/poi/", "bisc.poi")
    expect(poi.get_by_test_id(f"poi-request-{requests['beta'].pk}")).to_contain_text(TITLES["beta"])
    expect(poi.get_by_test_id(f"poi-request-{requests['gamma'].pk}")).to_contain_text(TITLES["gamma"])

    # Hub staff scan them through: beta's inside BiSC; gamma's from Probiblio's hub by the night carrier.
    bisc = staff_page(browser, f"{national}/ibl/inloggen/", "bisc.ibl.sorteer")
    expect(bisc.get_by_label("Barcode of kratlabel")).to_be_focused()
    probiblio = staff_page(browser, f"{national}/ibl/inloggen/", "probiblio.ibl.sorteer")
    alpha_branch = f"{alpha.name}, {alpha.branches.order_by('name').first().name}"
    sort_and_send(bisc, BARCODES["beta"], alpha_branch)
    night = sort_and_send(probiblio, BARCODES["gamma"], "Sorteercentrum BiSC")
    expect(hub_scan(bisc, night)).to_contain_text(f"KRAT {night} AANGEKOMEN")
    sort_and_send(bisc, BARCODES["gamma"], alpha_branch)

    # Alpha's desk receives both onto the hold shelf and lends them; then they come back.
    desk = staff_page(browser, library_url("alpha", "/balie/inloggen/"), "alpha.desk")
    desk.goto(library_url("alpha", "/ibl/ontvangen/"))
    for slug in ("beta", "gamma"):
        scan(desk, "Barcode exemplaar", BARCODES[slug])
        expect(desk.get_by_test_id("route-message")).to_have_text("RESERVERINGSPLANK")
        expect(desk.get_by_test_id("route-notes")).to_contain_text(f"pas {CARD}")
    assert request_state(titles["beta"]) == RequestState.ARRIVED
    desk.goto(library_url("alpha", f"/uitlening/uitlenen/?pas={CARD}"))
    for slug in ("beta", "gamma"):
        scan(desk, "Barcode exemplaar", BARCODES[slug])
        expect(desk.get_by_test_id("scanned")).to_contain_text(BARCODES[slug])
    assert wait_for(lambda: request_state(titles["gamma"]) == RequestState.LENT)
    desk.goto(library_url("alpha", "/uitlening/innemen/"))
    for slug in ("beta", "gamma"):
        scan(desk, "Barcode exemplaar", BARCODES[slug])
        expect(desk.get_by_test_id("route-message")).to_contain_text(
            f"IBL — TERUG NAAR {libraries[slug].name.upper()}")
    assert wait_for(lambda: all(Leg.objects.filter(request=r, direction="back").count() >= 2
                                for r in requests.values()))

    # The same way back.
    sort_and_send(bisc, BARCODES["beta"], f"{beta.name}, {beta.branches.order_by('name').first().name}")
    night_back = sort_and_send(bisc, BARCODES["gamma"], "Sorteercentrum Probiblio")
    expect(hub_scan(probiblio, night_back)).to_contain_text("AANGEKOMEN")
    sort_and_send(probiblio, BARCODES["gamma"], f"{gamma.name}, {gamma.branches.order_by('name').first().name}")

    # Home: the lenders receive them; the requests complete.
    for slug, username in (("beta", "beta.desk"), ("gamma", "gamma.ibl.balie")):
        home = staff_page(browser, library_url(slug, "/balie/inloggen/"), username)
        home.goto(library_url(slug, "/ibl/ontvangen/"))
        scan(home, "Barcode exemplaar", BARCODES[slug])
        expect(home.get_by_test_id("route-message")).to_have_text("TERUG IN DE KAST")
        expect(home.get_by_test_id("route-notes")).to_contain_text("afgerond")
        home.context.close()
    for request in requests.values():
        request.refresh_from_db()
        assert request.state == RequestState.COMPLETED
        assert set(request.legs.values_list("state", flat=True)) == {Leg.State.ARRIVED}
    assert requests["gamma"].legs.filter(mode="carrier").count() == 2

    # The figures: Utrecht received one copy from inside the province and one from another.
    poi.goto(f"{national}/ibl/poi/statistiek/")
    utrecht = poi.get_by_test_id("province-UT")
    expect(utrecht.locator("td").nth(1)).to_have_text("1")
    expect(utrecht.locator("td").nth(2)).to_have_text("1")
    for open_page in (bisc, probiblio, desk, poi):
        open_page.context.close()
    assert StaffUser.objects.filter(username="bisc.ibl.sorteer").exists()
