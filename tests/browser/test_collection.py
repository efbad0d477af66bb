"""A collection staff member, in a real browser: opens a title page, sees national
availability, adds two items by scanning their barcodes, moves one to another
branch and withdraws the other."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding
from collection import services
from collection.models import Item
from tenants.models import LibraryOrganisation
from tests.collection.helpers import set_status_as_circulation
from tests.factories import PASSWORD, TitleFactory, collection_actor

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def title_held_elsewhere(django_db_setup, django_db_blocker):
    """A committed title with two copies at library beta (one on loan); the live
    server sees only committed data. Removed again afterwards, with whatever the
    test added."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        beta = LibraryOrganisation.objects.get(slug="beta")
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        actor = collection_actor(beta)
        title = TitleFactory(title="Het diner", contributors_text="Koch, Herman", year=2009,
                             isbns=["9789041413123"], publisher="Anthos")
        with tenant_context(beta):
            services.item_add(actor=actor, title_id=title.pk,
                              barcodes=["BRWBETA01", "BRWBETA02"], branch_id=beta.branches.order_by("code")[0].pk)
            set_status_as_circulation(beta, "BRWBETA01", "on_loan")
    yield title
    with django_db_blocker.unblock():
        for library in (alpha, beta):
            with tenant_context(library):
                Item.objects.filter(title_id=title.pk).delete()
        connection.set_schema_to_public()
        Holding.objects.filter(title=title).delete()
        title.delete()


def scan(field, barcode):
    """A keyboard-wedge scanner types the barcode and presses Enter."""
    field.press_sequentially(barcode)
    field.press("Enter")


def test_collection_user_adds_moves_and_withdraws_items(page, library_url, title_held_elsewhere):
    title = title_held_elsewhere
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.collection")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    collection_card = page.get_by_role("region", name="Collectie")
    expect(collection_card.get_by_role("link", name="Wiedlijst")).to_be_visible()

    page.goto(library_url("alpha", f"/collectie/titel/{title.pk}/"))
    expect(page.get_by_role("heading", name="Het diner")).to_be_visible()
    expect(page.get_by_test_id("national-summary")).to_have_text(
        "1 andere bibliotheek heeft deze titel: 2 exemplaren, waarvan 1 beschikbaar.")
    expect(page.get_by_test_id("national")).to_contain_text("Testbibliotheek beta")
    expect(page.get_by_text("Deze bibliotheek heeft nog geen exemplaren van deze titel.")).to_be_visible()

    adding = page.get_by_role("region", name="Exemplaren toevoegen")
    barcodes = adding.get_by_label("Barcodes")
    barcodes.click()
    scan(barcodes, "BRW000001")
    scan(barcodes, "BRW000002")
    adding.get_by_label("Vestiging").select_option(label="Alpha vestiging 1")
    adding.get_by_label("Plaats").fill("Romans")
    adding.get_by_label("Signatuur").fill("KOCH")
    adding.get_by_role("button", name="Exemplaren toevoegen").click()
    expect(page.get_by_text("2 exemplaren toegevoegd: BRW000001, BRW000002.")).to_be_visible()
    expect(page.get_by_test_id("items-v1")).to_contain_text("BRW000001")
    expect(page.get_by_test_id("items-v1")).to_contain_text("BRW000002")

    page.get_by_role("link", name="BRW000001").click()
    expect(page.get_by_role("heading", name="Exemplaar BRW000001")).to_be_visible()
    moving = page.get_by_role("region", name="Verplaatsen")
    moving.get_by_label("Naar vestiging").select_option(label="Alpha vestiging 2")
    moving.get_by_label("Naar plaats").fill("Jeugd")
    moving.get_by_role("button", name="Verplaatsen").click()
    expect(page.get_by_text("1 exemplaar verplaatst naar Alpha vestiging 2, Jeugd: BRW000001.")).to_be_visible()
    expect(page.get_by_test_id("item-branch")).to_have_text("Alpha vestiging 2")
    expect(page.get_by_test_id("item-location")).to_have_text("Jeugd")

    page.goto(library_url("alpha", "/collectie/exemplaar/BRW000002/"))
    withdrawing = page.get_by_role("region", name="Afschrijven")
    withdrawing.get_by_label("Reden").select_option(label="Versleten")
    withdrawing.get_by_role("button", name="Afschrijven").click()
    expect(page.get_by_text("1 exemplaar afgeschreven: BRW000002.")).to_be_visible()
    expect(page.get_by_test_id("item-status")).to_have_text("Afgeschreven")

    page.get_by_role("link", name="Het diner").click()
    expect(page.get_by_test_id("items-v2")).to_contain_text("BRW000001")
    expect(page.get_by_test_id("items-v1")).to_have_count(0)  # the other copy is withdrawn
    expect(page.get_by_test_id("national-summary")).to_have_text(
        "1 andere bibliotheek heeft deze titel: 2 exemplaren, waarvan 1 beschikbaar.")
    page.screenshot(path="/tmp/lsb-collection-title.png", full_page=True)

    assert Holding.objects.filter(title=title, organisation__slug="alpha").count() == 1
