"""The collection screens: roles, tenant isolation and each screen's work."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from collection import services
from collection.models import Item, Stocktake
from core.actors import Actor
from staff.models import Role
from tests.factories import TitleFactory, staff_with_role

from .conftest import add_items, holding_counts
from .helpers import set_status_as_circulation

ALPHA = "alpha.localhost"


@pytest.fixture
def collection_client(client, staff):
    client.force_login(staff.alpha_collection)
    return client


def page(response):
    return response.content.decode()


def test_title_page_shows_items_per_branch_and_national_availability(collection_client, libraries, staff, title,
                                                                    alpha_branches):
    v1, v2 = alpha_branches
    add_items(libraries.alpha, staff.alpha_collection, title, v1, ["ALP00001"], call_number="REVE",
              shelf_location="Romans")
    add_items(libraries.alpha, staff.alpha_collection, title, v2, ["ALP00002"])
    beta_user = staff_with_role(libraries.beta, Role.COLLECTION)
    add_items(libraries.beta, beta_user, title, libraries.beta.branches.first(), ["BET00001", "BET00002"])
    with tenant_context(libraries.beta):
        set_status_as_circulation(libraries.beta, "BET00001", "on_loan")

    response = collection_client.get(f"/collectie/titel/{title.pk}/", HTTP_HOST=ALPHA)
    assert response.status_code == 200
    html = page(response)
    assert "De avonden" in html
    assert "Alpha vestiging 1" in html and "Alpha vestiging 2" in html
    assert "ALP00001" in html and "REVE" in html and "Romans" in html
    assert "<strong>1</strong> andere bibliotheek heeft deze titel: <strong>2</strong> exemplaren, waarvan " \
           "<strong>1</strong> beschikbaar." in html
    assert "Testbibliotheek beta" in html


def test_adding_items_by_scanning_on_the_title_page(collection_client, libraries, title, alpha_branches):
    v2 = alpha_branches[1]
    response = collection_client.post(f"/collectie/titel/{title.pk}/", {
        "barcodes": "SCAN00001\r\nSCAN00002\r\n", "branch": v2.pk, "shelf_location": "Romans", "call_number": "REVE",
        "item_type": "book", "collection": "adult", "price": "19,95", "acquired_on": "",
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 302
    followed = collection_client.get(response["Location"], HTTP_HOST=ALPHA)
    assert "2 exemplaren toegevoegd: SCAN00001, SCAN00002." in page(followed)
    with tenant_context(libraries.alpha):
        item = Item.objects.get(barcode="SCAN00002")
    assert (item.owning_branch_id, item.price_cents, item.call_number) == (v2.pk, 1995, "REVE")
    assert holding_counts(libraries.alpha, title, v2) == (2, 2)


def test_a_bad_scan_shows_dutch_messages_and_adds_nothing(collection_client, libraries, title, alpha_branches):
    response = collection_client.post(f"/collectie/titel/{title.pk}/", {
        "barcodes": "SCAN00001\nSCAN00001\nx", "branch": alpha_branches[0].pk, "item_type": "book",
        "collection": "adult",
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 400
    html = page(response)
    assert "Barcode &#x27;SCAN00001&#x27; is twee keer gescand." in html
    assert "Barcode &#x27;x&#x27; is ongeldig" in html
    with tenant_context(libraries.alpha):
        assert not Item.objects.exists()


def test_unknown_title_page_is_404(collection_client, libraries):
    assert collection_client.get("/collectie/titel/987654321/", HTTP_HOST=ALPHA).status_code == 404


def test_item_page_edit_move_status_and_withdraw(collection_client, libraries, staff, title, alpha_branches):
    v1, v2 = alpha_branches
    add_items(libraries.alpha, staff.alpha_collection, title, v1, ["ALP00001"])
    url = "/collectie/exemplaar/ALP00001/"
    html = page(collection_client.get(url, HTTP_HOST=ALPHA))
    assert "Exemplaar ALP00001" in html and "Toegevoegd" in html

    response = collection_client.post(url, {"shelf_location": "Thrillers", "call_number": "REVE", "item_type": "book",
                                            "collection": "adult", "price": "12,50", "notes": "Rug beschadigd"},
                                      HTTP_HOST=ALPHA)
    assert response.status_code == 302
    response = collection_client.post("/collectie/verplaatsen/", {"barcodes": "ALP00001", "branch": v2.pk,
                                                                   "shelf_location": "Jeugd", "next": url},
                                      HTTP_HOST=ALPHA)
    assert response["Location"] == url
    response = collection_client.post(f"{url}status/", {"status": "damaged"}, HTTP_HOST=ALPHA)
    assert response["Location"] == url
    response = collection_client.post("/collectie/afschrijven/", {"barcodes": "ALP00001", "reason": "damaged",
                                                                   "next": url}, HTTP_HOST=ALPHA)
    assert response["Location"] == url
    html = page(collection_client.get(url, HTTP_HOST=ALPHA))
    assert "1 exemplaar afgeschreven: ALP00001." in html
    assert "Afgeschreven" in html and "Beschadigd" in html and "Alpha vestiging 2" in html
    with tenant_context(libraries.alpha):
        item = Item.objects.get(barcode="ALP00001")
        kinds = list(item.events.order_by("pk").values_list("kind", flat=True))
    assert (item.shelf_location, item.price_cents, item.notes, item.status) == ("Jeugd", 1250, "Rug beschadigd",
                                                                               "withdrawn")
    assert kinds == ["added", "edited", "moved", "status", "withdrawn"]
    assert holding_counts(libraries.alpha, title, v1) is None
    assert holding_counts(libraries.alpha, title, v2) is None


def test_item_page_refuses_withdrawing_an_item_on_loan(collection_client, libraries, staff, title, alpha_branches):
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001"])
    with tenant_context(libraries.alpha):
        set_status_as_circulation(libraries.alpha, "ALP00001", "on_loan")
    url = "/collectie/exemplaar/ALP00001/"
    response = collection_client.post("/collectie/afschrijven/", {"barcodes": "ALP00001", "reason": "worn",
                                                                   "next": url}, HTTP_HOST=ALPHA, follow=True)
    assert "Exemplaar ALP00001 is uitgeleend; neem het eerst in: niet afgeschreven." in page(response)
    with tenant_context(libraries.alpha):
        assert Item.objects.get(barcode="ALP00001").status == "on_loan"


def test_batch_withdraw_page_refuses_the_whole_batch(collection_client, libraries, staff, title, alpha_branches):
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001", "ALP00002"])
    with tenant_context(libraries.alpha):
        set_status_as_circulation(libraries.alpha, "ALP00002", "in_transit")
    response = collection_client.post("/collectie/afschrijven/", {"barcodes": "ALP00001\nALP00002",
                                                                   "reason": "worn"}, HTTP_HOST=ALPHA)
    assert response.status_code == 400
    assert "Exemplaar ALP00002 is onderweg naar een andere vestiging: niet afgeschreven." in page(response)
    with tenant_context(libraries.alpha):
        assert Item.objects.get(barcode="ALP00001").status == "available"
    response = collection_client.post("/collectie/afschrijven/", {"barcodes": "ALP00001", "reason": ""},
                                      HTTP_HOST=ALPHA)
    assert response.status_code == 400 and "Dit veld is vereist." in page(response)


def test_weeding_list_page_and_csv(collection_client, libraries, staff, alpha_branches):
    title = TitleFactory(title="Oud boek")
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["OLD000001", "NEW000001"],
              shelf_location="Romans", acquired_on=timezone.localdate().replace(year=2015))
    with tenant_context(libraries.alpha):
        Item.objects.filter(barcode="NEW000001").update(last_loaned_at=timezone.now())
    response = collection_client.get("/collectie/wieden/", {"months": 12, "branch": alpha_branches[0].pk},
                                     HTTP_HOST=ALPHA)
    html = page(response)
    assert response.status_code == 200
    assert "OLD000001" in html and "NEW000001" not in html
    assert "50.0 %" in html or "50,0 %" in html
    csv_response = collection_client.get("/collectie/wieden/", {"months": 12, "formaat": "csv"}, HTTP_HOST=ALPHA)
    body = b"".join(csv_response.streaming_content).decode()
    assert csv_response["Content-Type"].startswith("text/csv")
    lines = body.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("vestiging;plaats;signatuur;barcode;titel")
    assert lines[1].startswith("Alpha vestiging 1;Romans;;OLD000001;Oud boek")
    assert len(lines) == 2
    assert collection_client.get("/collectie/wieden/", {"months": 0}, HTTP_HOST=ALPHA).status_code == 400


def test_stocktake_screens(collection_client, libraries, staff, alpha_branches):
    title = TitleFactory()
    v1 = alpha_branches[0]
    add_items(libraries.alpha, staff.alpha_collection, title, v1, ["SHELF0001", "SHELF0002"], shelf_location="Romans")
    response = collection_client.post("/collectie/inventarisatie/", {"branch": v1.pk, "shelf_location": "Romans"},
                                      HTTP_HOST=ALPHA)
    assert response.status_code == 302
    url = response["Location"]
    for barcode in ("SHELF0001", "ELSEWHERE1"):
        collection_client.post(f"{url}scan/", {"barcode": barcode}, HTTP_HOST=ALPHA)
    html = page(collection_client.get(url, HTTP_HOST=ALPHA))
    assert "Ontbreekt (1)" in html and "SHELF0002" in html
    assert "Hoort hier niet (1)" in html and "ELSEWHERE1" in html
    response = collection_client.post(f"{url}afronden/", {"mark_missing": "1"}, HTTP_HOST=ALPHA, follow=True)
    assert "Inventarisatie afgerond: 1 exemplaar gezien, 1 exemplaar als vermist gemarkeerd." in page(response)
    with tenant_context(libraries.alpha):
        assert Item.objects.get(barcode="SHELF0002").status == "missing"
        assert Stocktake.objects.get().finished_at is not None


COLLECTION_URLS = ["/collectie/titel/{title}/", "/collectie/exemplaar/ALP00001/", "/collectie/verplaatsen/",
                   "/collectie/afschrijven/", "/collectie/wieden/", "/collectie/inventarisatie/"]


@pytest.mark.parametrize("path", [path for path in COLLECTION_URLS if "/titel/" not in path and "/exemplaar/" not in path])
def test_desk_only_staff_are_refused(client, libraries, staff, title, alpha_branches, path):
    # The title and item pages they may read (issue 12, item 12: tests/circulation/test_desk_screens.py).
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001"])
    client.force_login(staff.alpha_desk)
    response = client.get(path.format(title=title.pk), HTTP_HOST=ALPHA)
    assert response.status_code == 403
    assert "Collectie" in page(response)


@pytest.mark.parametrize("path", COLLECTION_URLS)
def test_staff_of_another_library_are_refused_at_its_address(client, libraries, staff, title, alpha_branches, path):
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001"])
    client.force_login(staff_with_role(libraries.beta, Role.COLLECTION))
    assert client.get(path.format(title=title.pk), HTTP_HOST=ALPHA).status_code == 403


def test_staff_of_another_library_cannot_reach_its_items_through_their_own_address(
        client, libraries, staff, title, alpha_branches):
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001"])
    client.force_login(staff_with_role(libraries.beta, Role.COLLECTION))
    beta = "beta.localhost"
    assert client.get("/collectie/exemplaar/ALP00001/", HTTP_HOST=beta).status_code == 404
    title_page = page(client.get(f"/collectie/titel/{title.pk}/", HTTP_HOST=beta))
    assert "ALP00001" not in title_page and "nog geen exemplaren" in title_page
    response = client.post("/collectie/afschrijven/", {"barcodes": "ALP00001", "reason": "worn"}, HTTP_HOST=beta)
    assert "Exemplaar ALP00001 bestaat niet in deze bibliotheek." in page(response)
    response = client.post("/collectie/verplaatsen/", {"barcodes": "ALP00001", "branch": alpha_branches[1].pk},
                           HTTP_HOST=beta)
    assert response.status_code == 400  # alpha's branch is no choice at beta
    with tenant_context(libraries.alpha):
        item = Item.objects.get(barcode="ALP00001")
    assert (item.status, item.owning_branch_id) == ("available", alpha_branches[0].pk)


def test_desk_home_shows_the_collection_card_only_with_the_role(client, libraries, staff):
    client.force_login(staff.alpha_collection)
    html = page(client.get("/balie/", HTTP_HOST=ALPHA))
    assert 'aria-label="Collectie"' in html
    for link in ("/collectie/zoeken/", "/collectie/marc/", "/collectie/wieden/", "/collectie/inventarisatie/",
                 "/collectie/afschrijven/"):
        assert f'href="{link}"' in html
    client.force_login(staff.alpha_desk)
    assert 'aria-label="Collectie"' not in page(client.get("/balie/", HTTP_HOST=ALPHA))
