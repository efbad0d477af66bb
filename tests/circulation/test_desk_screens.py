"""Issue 12, item 12: the desk screens as desk staff need them. The desk role reads
the catalogue (search, title and item pages) to find a barcode or tell a member
where a book is; changing titles and items stays with the collection role. The
reservation screens name the author and show the copies per branch. The cursor
starts in the scan field or the first field. Checkboxes and radio buttons sit
beside their labels. The receipt names the members' own pages for renewing (the
catalogue for members is there now) and only for a member who can sign in there."""

import re

import pytest
from django_tenants.utils import tenant_context

from circulation.services import holds as hold_services
from collection.models import Item
from tests.factories import TitleFactory
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .helpers import lend

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"


def get(client, url, **params):
    return client.get(url, params, HTTP_HOST=ALPHA)


@pytest.fixture
def book(desk):
    title = TitleFactory(title="Het verborgen huis", responsibility="", contributors_text="Noor Verhalen")
    [on_shelf] = desk.items(title=title, shelf_location="Romans", call_number="VERH")
    [elsewhere] = desk.items(title=title, branch=desk.other)
    return title, on_shelf, elsewhere


def test_the_desk_reads_the_catalogue_but_does_not_change_it(client, desk, staff, book):
    title, on_shelf, _ = book
    client.force_login(desk.staff)
    search = get(client, "/collectie/zoeken/", q="verborgen")
    assert search.status_code == 200 and "Het verborgen huis" in search.content.decode()
    page = get(client, f"/collectie/titel/{title.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert on_shelf.barcode in html and "Romans" in html and desk.other.name in html
    assert "Exemplaren toevoegen" not in html
    item_page = get(client, f"/collectie/exemplaar/{on_shelf.barcode}/")
    assert item_page.status_code == 200
    html = item_page.content.decode()
    assert on_shelf.barcode in html and "Status wijzigen" not in html and "Afschrijven" not in html
    # Changing stays with the collection role.
    assert client.post(f"/collectie/titel/{title.pk}/", {"barcodes": "NIEUW0001"}, HTTP_HOST=ALPHA).status_code == 403
    assert client.post(f"/collectie/exemplaar/{on_shelf.barcode}/status/", {"status": "missing"},
                       HTTP_HOST=ALPHA).status_code == 403
    with tenant_context(desk.library):
        assert not Item.objects.filter(barcode="NIEUW0001").exists()
        assert Item.objects.get(pk=on_shelf.pk).status == "available"
    client.force_login(staff.alpha_collection)
    assert "Exemplaren toevoegen" in get(client, f"/collectie/titel/{title.pk}/").content.decode()


def test_the_reservation_screens_name_the_author_and_the_copies_per_branch(client, desk, book):
    title, on_shelf, elsewhere = book
    reader = make_member(first_name="Rik", last_name="Reserveert", paid_until=PAID_UNTIL)
    lend(desk, elsewhere)
    hold_services.hold_place(actor=desk.actor(), member=reader, title_id=title.pk, pickup_branch_id=desk.main.pk)
    client.force_login(desk.staff)
    queue = get(client, f"/reserveringen/titel/{title.pk}/").content.decode()
    header = queue.split("<h1>")[1].split("</section>")[0]
    assert "Noor Verhalen" in header
    copies = queue.split('data-testid="copies"')[1].split("</section>")[0]
    assert desk.main.name in copies and desk.other.name in copies
    assert "Beschikbaar" in copies and "Uitgeleend" in copies
    place = get(client, f"/reserveringen/lid/{reader.pk}/nieuw/", q="verborgen").content.decode()
    row = place.split('data-testid="title-results"')[1].split("</table>")[0]
    assert "Noor Verhalen" in row


@pytest.mark.parametrize("url", [
    "/uitlening/uitlenen/", "/uitlening/uitlenen/?pas=A1000001", "/uitlening/innemen/", "/collectie/zoeken/",
    "/reserveringen/lid/{member}/nieuw/", "/reserveringen/titel/{title}/", "/leden/",
])
def test_the_cursor_starts_in_the_scan_or_first_field(client, desk, book, url):
    title, _, _ = book
    client.force_login(desk.staff)
    html = client.get(url.format(member=desk.member.pk, title=title.pk), HTTP_HOST=ALPHA).content.decode()
    assert re.search(r"<(input|select|textarea)[^>]*\bautofocus\b", html), url


def test_checkboxes_and_radio_buttons_sit_beside_their_labels():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[2] / "static" / "lsb.css").read_text()
    assert re.search(r'input\[type="?checkbox"?\][^{]*\{[^}]*width:\s*auto', css)
    assert re.search(r'input\[type="?radio"?\]', css)
    assert re.search(r"label:has\(", css)


def test_the_receipt_names_the_members_own_pages(client, desk):
    [item] = desk.items()
    lend(desk, item)
    client.force_login(desk.staff)
    receipt = get(client, "/uitlening/bon/", pas="A1000001").content.decode()
    assert "op de website" not in receipt
    assert "/mijn/" in receipt and "Mijn bibliotheek" in receipt
