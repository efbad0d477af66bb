"""A collection staff member, in a real browser: finds a title by a misspelled
word and by a scanned ISBN, narrows the result with a filter, opens the title
page and sees national availability; then runs the weeding list and a
stocktake of one shelf (one item scanned, one scanned that belongs elsewhere)."""

import datetime

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, MaterialType, SearchWord, Title
from collection import services
from collection.models import Item, Stocktake
from core.actors import Actor
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.factories import PASSWORD, TitleFactory, collection_actor

pytestmark = pytest.mark.django_db

BOOK_ISBN = "9789021465319"
AUDIOBOOK_ISBN = "9789021465326"
SHELF = "Zoekproefkast"
ON_SHELF, ALSO_ON_SHELF, ELSEWHERE = "ZKP000001", "ZKP000002", "ZKP000003"


@pytest.fixture(scope="module")
def lighthouse_titles(django_db_setup, django_db_blocker):
    """Two committed titles (book and audiobook) with a rare word; alpha holds three
    old copies of the book (two on the stocktake shelf, one elsewhere), beta one
    audiobook. The live server sees only committed data, so everything is removed
    again after the module, with the dictionary words the titles added."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        beta = LibraryOrganisation.objects.get(slug="beta")
        words_before = set(SearchWord.objects.values_list("word", flat=True))
        common = dict(title="De vuurtorenwachter van Westkapelle", contributors_text="Zoekproef, Marijke",
                      year=2016, language="dut")
        book = TitleFactory(isbns=[BOOK_ISBN], material_type=MaterialType.BOOK, **common)
        audiobook = TitleFactory(isbns=[AUDIOBOOK_ISBN], material_type=MaterialType.AUDIOBOOK, **common)
        alpha_branch = alpha.branches.order_by("code")[0]
        with tenant_context(alpha):
            actor = Actor.staff(StaffUser.objects.get(username="alpha.collection"), alpha)
            services.item_add(actor=actor, title_id=book.pk, branch_id=alpha_branch.pk,
                              barcodes=[ON_SHELF, ALSO_ON_SHELF], shelf_location=SHELF, call_number="VUUR",
                              acquired_on=datetime.date(2012, 3, 1))
            services.item_add(actor=actor, title_id=book.pk, branch_id=alpha_branch.pk,
                              barcodes=[ELSEWHERE], shelf_location="Jeugd", call_number="VUUR",
                              acquired_on=datetime.date(2012, 3, 1))
        with tenant_context(beta):
            services.item_add(actor=collection_actor(beta), title_id=audiobook.pk, barcodes=["ZKPBETA01"],
                              branch_id=beta.branches.order_by("code")[0].pk)
    yield book, audiobook
    with django_db_blocker.unblock():
        titles = [book.pk, audiobook.pk]
        with tenant_context(alpha):
            Stocktake.objects.filter(shelf_location=SHELF).delete()
        for library in (alpha, beta):
            with tenant_context(library):
                Item.objects.filter(title_id__in=titles).delete()
        connection.set_schema_to_public()
        Holding.objects.filter(title_id__in=titles).delete()
        Title.objects.filter(pk__in=titles).delete()
        SearchWord.objects.exclude(word__in=words_before).delete()


def scan(field, code):
    """A keyboard-wedge scanner types the code and presses Enter."""
    field.fill(code)
    field.press("Enter")


def test_collection_user_finds_a_title_and_checks_a_shelf(page, library_url, lighthouse_titles):
    book, audiobook = lighthouse_titles
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.collection")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("region", name="Collectie")).to_be_visible()

    # A misspelled word finds both titles, marked as similar to the query.
    page.goto(library_url("alpha", "/collectie/zoeken/"))
    search_box = page.get_by_label("Titel, maker, onderwerp of ISBN")
    scan(search_box, "vuurtorenwachtr")
    results = page.get_by_test_id("result")
    expect(results).to_have_count(2)
    expect(results.first).to_contain_text("De vuurtorenwachter van Westkapelle")
    expect(results.first).to_contain_text("lijkt op uw zoekvraag")

    # A scanned ISBN (ISBN-10 with hyphens, as printed) finds exactly the book.
    scan(page.get_by_label("Titel, maker, onderwerp of ISBN"), "90-214-6531-0")
    expect(page.get_by_test_id("result-count")).to_contain_text("gevonden op ISBN/EAN")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text(BOOK_ISBN)

    # Words plus a filter: only the audiobook, held by one other library.
    page.get_by_label("Titel, maker, onderwerp of ISBN").fill("vuurtorenwachter westkap")
    page.get_by_label("Materiaalsoort").select_option(label="Luisterboek")
    page.get_by_role("button", name="Zoeken").click()
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Luisterboek")
    expect(results.first.get_by_test_id("other-holdings")).to_have_text("1 van 1 beschikbaar bij 1 bibliotheek")

    results.first.get_by_role("link", name="De vuurtorenwachter van Westkapelle").click()
    expect(page).to_have_url(library_url("alpha", f"/collectie/titel/{audiobook.pk}/"))
    expect(page.get_by_role("heading", name="De vuurtorenwachter van Westkapelle")).to_be_visible()
    expect(page.get_by_test_id("national-summary")).to_have_text(
        "1 andere bibliotheek heeft deze titel: 1 exemplaar, waarvan 1 beschikbaar.")
    expect(page.get_by_test_id("national")).to_contain_text("Testbibliotheek beta")

    # The weeding list for the branch has the copies not loaned since 2012.
    page.goto(library_url("alpha", "/collectie/wieden/"))
    page.get_by_label("Vestiging").select_option(label="Alpha vestiging 1")
    page.get_by_role("button", name="Toon lijst").click()
    weeding = page.get_by_test_id("weeding-items")
    for barcode in (ON_SHELF, ALSO_ON_SHELF, ELSEWHERE):
        expect(weeding).to_contain_text(barcode)

    # Stocktake of the shelf: one copy scanned, one from another shelf scanned too.
    page.goto(library_url("alpha", "/collectie/inventarisatie/"))
    page.get_by_label("Vestiging").select_option(label="Alpha vestiging 1")
    page.get_by_label("Plaats (kast/plank)").fill(SHELF)
    page.get_by_role("button", name="Beginnen").click()
    expect(page.get_by_role("heading", name=f"Inventarisatie Alpha vestiging 1, {SHELF}")).to_be_visible()
    expect(page.get_by_test_id("expected")).to_have_text("2")
    scan(page.get_by_label("Barcode"), ON_SHELF)
    expect(page.get_by_test_id("scanned")).to_have_text("1")
    scan(page.get_by_label("Barcode"), ELSEWHERE)
    expect(page.get_by_test_id("scanned")).to_have_text("2")
    expect(page.get_by_test_id("missing")).to_contain_text(ALSO_ON_SHELF)
    expect(page.get_by_test_id("missing")).not_to_contain_text(ON_SHELF)
    expect(page.get_by_test_id("misplaced")).to_contain_text(ELSEWHERE)
    expect(page.get_by_test_id("misplaced")).to_contain_text("Hoort op plaats Jeugd")
    page.screenshot(path="/tmp/lsb-catalogue-search-stocktake.png", full_page=True)
