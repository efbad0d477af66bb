"""A collection staff member imports a MARC file in the browser: upload, a real
Celery worker runs the import, the detail page refreshes itself until it is done."""

import os

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests.catalogue.marc_support import marc_file
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

MARC_DAT_CONTROL_NUMBERS = 20


@pytest.fixture(scope="module")
def marc_media(tmp_path_factory):
    """Uploads go to a temporary MEDIA_ROOT, for the live server and the worker alike
    (requested before the worker, which copies the environment when it starts)."""
    media = tmp_path_factory.mktemp("media")
    previous = os.environ.get("MEDIA_ROOT")
    os.environ["MEDIA_ROOT"] = str(media)
    with override_settings(MEDIA_ROOT=media):
        yield media
    if previous is None:
        del os.environ["MEDIA_ROOT"]
    else:
        os.environ["MEDIA_ROOT"] = previous


@pytest.fixture(scope="module")
def committed_cleanup(django_db_blocker):
    """The live server and the worker commit; remove what this test made.

    Module-scoped so that it is torn down after the test's own transaction is
    rolled back: a delete inside that transaction would be rolled back with it."""
    from django.db.models import Max

    from catalogue.models import MarcImport, SearchWord, Title

    with django_db_blocker.unblock():
        last_title = Title.objects.aggregate(last=Max("pk"))["last"] or 0
        words_before = set(SearchWord.objects.values_list("word", flat=True))
    yield
    with django_db_blocker.unblock():
        MarcImport.objects.filter(organisation__slug="alpha", file_name="marc.dat").delete()
        Title.objects.filter(pk__gt=last_title).delete()
        SearchWord.objects.exclude(word__in=words_before).delete()


def test_collection_staff_import_a_marc_file_and_watch_it_finish(
        marc_media, celery_worker_process, committed_cleanup, page, library_url):
    page.goto(library_url("alpha", "/balie/inloggen/?next=/collectie/marc/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.collection")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", name="MARC-import")).to_be_visible()

    page.get_by_label("MARC-bestand", exact=True).set_input_files(str(marc_file("marc.dat")))
    page.get_by_label("Formaat").select_option(label="MARC21 (ISO 2709)")
    page.get_by_role("button", name="Importeren").click()

    expect(page.get_by_role("heading", name="Import marc.dat")).to_be_visible()
    # The page reloads itself every 2 seconds until the worker is done.
    expect(page.get_by_test_id("status")).to_have_text("Klaar", timeout=30000)
    expect(page.get_by_test_id("created")).to_have_text(str(MARC_DAT_CONTROL_NUMBERS))
    expect(page.get_by_test_id("skipped")).to_have_text("0")
    expect(page.get_by_test_id("no-problems")).to_be_visible()

    page.get_by_role("link", name="MARC-import").click()
    expect(page.get_by_test_id("imports").get_by_role("link", name="marc.dat")).to_be_visible()
