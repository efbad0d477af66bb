"""An acquisitions user, in a real browser: makes an order list for a supplier,
adds a title from the catalogue, sends the order and downloads its EDIFACT
ORDERS message, receives one of the two copies (an item in processing), makes
it available, registers the supplier's invoice for it and approves it; the fund
report shows the money spent."""

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, Title
from collection.models import Item
from core.actors import Actor
from ordering import models as ordering_models
from ordering.services import funds, suppliers
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.factories import PASSWORD, TitleFactory

pytestmark = pytest.mark.django_db

BARCODE = "BRWACQ0001"


@pytest.fixture(scope="module")
def supplier_and_fund(django_db_setup, django_db_blocker):
    """Committed: a supplier with EDIFACT, a fund of this year and a title in alpha;
    removed again afterwards with everything the test made."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        title = TitleFactory(title="Oorlogswinter", contributors_text="Terlouw, Jan", isbns=["9789047508670"],
                             publisher="Lemniscaat", year=1972)
        with tenant_context(alpha):
            actor = Actor.staff(StaffUser.objects.get(username="alpha.acquisitions"), alpha)
            supplier = suppliers.supplier_save(actor=actor, code="BRWLEV", name="Browserleverancier",
                                               default_discount="25", vat="9", edi_enabled=True,
                                               edi_id="8711234500007", buyer_edi_id="8719999000013")
            fund = funds.fund_save(actor=actor, year=timezone.localdate().year, code="BRWJEUGD",
                                   name="Jeugd (browser)", allocated_cents=50_000, target_group="youth_reading")
    yield supplier, fund, title
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            for model in ("FundEntry", "InvoiceLine", "Invoice", "ReceivedCopy", "Delivery", "LineCopies",
                          "EdiMessage", "OrderLine", "Order", "Fund", "SupplierAccount", "Supplier",
                          "OrderingSettings"):
                getattr(ordering_models, model).objects.all().delete()
            Item.objects.filter(title_id=title.pk).delete()
        connection.set_schema_to_public()
        Holding.objects.filter(title=title).delete()
        Title.objects.filter(pk=title.pk).delete()


def test_order_send_edifact_receive_invoice_approve(page, library_url, supplier_and_fund):
    supplier, fund, title = supplier_and_fund
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.acquisitions")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("region", name="Inkoop").get_by_role("link", name="Bestellingen en bestellijsten").click()

    # A new order list for the supplier.
    new_list = page.get_by_role("region", name="Nieuwe bestellijst")
    new_list.get_by_label("Leverancier").select_option(label="Browserleverancier")
    new_list.get_by_label("Omschrijving").fill("Kinderboekenweek")
    new_list.get_by_role("button", name="Bestellijst maken").click()
    expect(page.get_by_role("heading", name="Bestellijst")).to_be_visible()

    # A title from the catalogue: 2 copies at 20,00 with 25 % discount.
    page.get_by_label("Titel, maker of ISBN").fill("Oorlogswinter")
    page.get_by_role("button", name="Zoek").click()
    found = page.get_by_test_id(f"found-{title.pk}")
    found.get_by_label("Prijs per exemplaar").fill("20,00")
    found.get_by_label("Aantal").fill("2")
    found.get_by_label("Fonds").select_option(label="BRWJEUGD Jeugd (browser)")
    found.get_by_role("button", name="Toevoegen").click()
    expect(page.get_by_text("Toegevoegd: Oorlogswinter (2 ex.).")).to_be_visible()
    expect(page.get_by_test_id("order-total")).to_have_text("€ 30,00")

    # Send it; the EDIFACT ORDERS message is there to download.
    page.get_by_role("button", name="Bestelling versturen").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Besteld")
    with page.expect_download() as download:
        page.get_by_test_id("edi-download").click()
    text = open(download.value.path()).read()
    assert "UNH+" in text and "ORDERS:D:96A:UN:EAN008" in text and "LIN+1++9789047508670:EN'" in text
    assert "QTY+21:2'" in text and "PRI+AAE:20.00:CA'" in text and "BRWJEUGD:LFN" in text
    order_number = page.get_by_role("heading").first.inner_text().split()[-1]

    # Receive one of the two copies: an item in processing.
    page.goto(library_url("alpha", f"/inkoop/ontvangst/?leverancier={supplier.pk}"))
    page.get_by_label("Barcodes voor Oorlogswinter").fill(BARCODE)
    page.get_by_role("button", name="Ontvangst boeken").click()
    expect(page.get_by_text(f"1 exemplaren ontvangen en in bewerking gezet: {BARCODE}.")).to_be_visible()
    expect(page.get_by_test_id("open-lines")).to_contain_text(f"{order_number}/1")  # one copy still to come
    page.get_by_role("link", name="Verwerken").click()
    expect(page.get_by_test_id("processing")).to_contain_text(BARCODE)
    page.get_by_label("Barcodes").fill(BARCODE)
    page.get_by_role("button", name="Beschikbaar maken").click()
    expect(page.get_by_text(f"1 exemplaren zijn nu beschikbaar: {BARCODE}.")).to_be_visible()

    # The invoice for the copy that came, then approved for payment.
    page.goto(library_url("alpha", f"/inkoop/facturen/?leverancier={supplier.pk}"))
    page.get_by_label("Factuurnummer").fill("BRW-F-1")
    page.get_by_label(f"Aantal {order_number}/1").fill("1")
    page.get_by_label(f"Bedrag {order_number}/1").fill("15,00")
    page.get_by_label("Totaal op de factuur").fill("15,00")
    page.get_by_role("button", name="Factuur registreren").click()
    expect(page.get_by_text("Factuur BRW-F-1 is geregistreerd (€ 15,00).")).to_be_visible()
    page.get_by_role("button", name="Betaalbaar stellen").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Betaalbaar gesteld")

    page.get_by_role("link", name="Rapporten").click()
    report = page.get_by_test_id("fund-report")
    expect(report).to_contain_text("BRWJEUGD Jeugd (browser)")
    expect(report).to_contain_text("€ 15,00")  # spent; the other copy (€ 15,00) still committed
    expect(page.get_by_test_id("target-share")).to_contain_text("100,0 %")
    page.screenshot(path="/tmp/lsb-ordering-report.png", full_page=True)

    with tenant_context(LibraryOrganisation.objects.get(slug="alpha")):
        item = Item.objects.get(barcode=BARCODE)
        assert (item.status, item.price_cents, item.title_id) == ("available", 1500, title.pk)
