"""A desk user reaches the sign-in page at their library's address, signs in and
sees the desk home with the library and branch."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

# Marked so the test database is set up even when only these tests run; the
# live server's own connection reads the committed once-per-run data.
pytestmark = pytest.mark.django_db


def test_desk_user_signs_in_and_sees_library_and_branch(page, library_url):
    page.goto(library_url("alpha", "/balie/"))
    expect(page.get_by_role("heading", name="Inloggen medewerkers")).to_be_visible()
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()

    expect(page.get_by_role("heading", name="Testbibliotheek alpha")).to_be_visible()
    expect(page.get_by_test_id("working-branch")).to_have_text("Alpha vestiging 1")
    expect(page.get_by_text("Balie", exact=True)).to_be_visible()

    page.get_by_label("Andere vestiging").select_option(label="Alpha vestiging 2")
    page.get_by_role("button", name="Wissel").click()
    expect(page.get_by_text("U werkt nu in vestiging Alpha vestiging 2.")).to_be_visible()
    expect(page.get_by_test_id("working-branch")).to_have_text("Alpha vestiging 2")
    page.screenshot(path="/tmp/lsb-desk-home.png", full_page=True)

    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("heading", name="Inloggen medewerkers")).to_be_visible()


def test_staff_of_another_library_are_refused_in_dutch(page, library_url):
    page.goto(library_url("beta", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    # The same answer as a wrong password (issue 14): nothing tells the password was right.
    expect(page.get_by_role("alert")).to_have_text("Onbekende gebruikersnaam of verkeerd wachtwoord.")


def test_unknown_library_address_shows_a_clear_page(page, live_server_port):
    page.goto(f"http://bestaatniet.localhost:{live_server_port}/")
    expect(page.get_by_role("heading", name="Onbekend adres")).to_be_visible()
