"""Privacy in a real browser: a desk user shows a member their data (printable
page and JSON download) and erases the member on request; the library admin then
reads in the audit log who did what."""

import json

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tenants.models import LibraryOrganisation
from tests.factories import PASSWORD
from tests.members.test_privacy import privacy_cleanup, privacy_member

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def committed_member(django_db_setup, django_db_blocker):
    """A committed member of alpha (the live server sees only committed data); removed afterwards."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        with tenant_context(alpha):
            member = privacy_member(alpha, "BRWPRIV01", first_name="Saskia", last_name="Brouwer")
        connection.set_schema_to_public()
    yield member
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            privacy_cleanup(member)
        connection.set_schema_to_public()


def sign_in(page, library_url, username):
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def test_desk_exports_and_erases_a_member_and_the_admin_reads_the_log(browser, page, library_url,
                                                                      committed_member):
    member = committed_member
    sign_in(page, library_url, "alpha.desk")
    page.goto(library_url("alpha", f"/leden/privacy/{member.pk}/inzage/"))
    export = page.get_by_test_id("export")
    expect(export.get_by_role("heading", name="Persoonsgegevens")).to_be_visible()
    expect(export).to_contain_text("Brouwer")
    expect(export).to_contain_text("Oudegracht")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download als JSON").click()
    data = json.loads(open(download_info.value.path(), encoding="utf-8").read())
    assert data["onderdelen"][0]["gegevens"]["Achternaam"] == "Brouwer"

    page.goto(library_url("alpha", f"/leden/privacy/{member.pk}/wissen/"))
    page.get_by_label("Het lid heeft zelf om het wissen").check()
    page.get_by_role("button", name="Gegevens definitief wissen").click()
    expect(page.get_by_test_id("erased")).to_contain_text(f"De persoonsgegevens van lid {member.pk} zijn gewist")
    expect(page.get_by_test_id("erased")).to_contain_text("geboortejaren 1980–1984, postcodecijfers 3511")
    expect(page.locator("main")).not_to_contain_text("Brouwer")

    admin = browser.new_context(locale="nl-NL").new_page()
    sign_in(admin, library_url, "alpha.library_admin")
    admin.goto(library_url("alpha", "/leden/privacy/audit/"))
    admin.get_by_label("Lid (pasnummer of lidnummer)").fill(str(member.pk))
    admin.get_by_label("Handeling").select_option(label="Gegevens uitgevoerd")
    admin.get_by_role("button", name="Filter").click()
    entries = admin.get_by_test_id("audit-entries")
    expect(entries.locator("tbody tr")).to_have_count(2)
    expect(entries).to_contain_text("formaat: print")
    admin.get_by_label("Handeling").select_option(label="Gewist")
    admin.get_by_role("button", name="Filter").click()
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries).to_contain_text(f"#{member.pk}")
    admin.context.close()
