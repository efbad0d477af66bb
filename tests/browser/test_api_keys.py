"""A desk user makes an API key for an integration on the desk's 'API-sleutels'
screen (real headless Chromium), sees it once, uses it against the live REST API,
sees when it was last used, and revokes it: the next request is refused."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def api_get(port, path, key):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                     headers={"Host": f"alpha.localhost:{port}", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_make_use_and_revoke_an_api_key(page, library_url, live_server_port):
    page.goto(library_url("alpha", "/balie/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("link", name="API-sleutels voor koppelingen").click()
    expect(page.get_by_role("heading", name="API-sleutels", exact=True)).to_be_visible()

    # No description: refused in Dutch, nothing made.
    page.get_by_label("Omschrijving").fill("   ")
    page.get_by_role("button", name="Maken").click()
    expect(page.get_by_role("alert")).to_contain_text("Geef de API-sleutel een omschrijving.")

    page.get_by_label("Omschrijving").fill("Koppeling bezorgservice")
    page.get_by_role("button", name="Maken").click()
    expect(page.get_by_text("hij wordt maar één keer getoond")).to_be_visible()
    key = page.get_by_test_id("new-key-value").inner_text().strip()
    assert key.startswith("lsbs_")

    status, body = api_get(live_server_port, "/api/v1/members/?q=nobody", key)
    assert status == 200 and body["results"] == []

    # Shown once: the list has the key's start, never the key.
    page.goto(library_url("alpha", "/balie/api-sleutels/"))
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert key not in page.content()
    row = page.locator("tr", has_text="Koppeling bezorgservice")
    expect(row).to_contain_text("Actief")
    expect(row).not_to_contain_text("nooit")  # last used: just now

    row.get_by_role("button", name="Intrekken").click()
    expect(page.get_by_text("is ingetrokken; hij werkt vanaf nu niet meer")).to_be_visible()
    expect(page.locator("tr", has_text="Koppeling bezorgservice")).to_contain_text("Ingetrokken op")
    status, body = api_get(live_server_port, "/api/v1/members/?q=nobody", key)
    assert status == 401 and body["errors"][0]["code"] == "api.key_invalid"
