"""An acquisitions user, in a real browser: makes an order list for a supplier,
adds a title from the catalogue, sends the order and downloads its EDIFACT
ORDERS message, receives one of the two copies (an item in processing), makes
it available, registers the supplier's invoice for it and approves it; the fund
report shows the money spent.

And a second order list filled the other ways: the supplier's CSV title list (a
new title through the catalogue import, a broken row reported), a title from the
purchase suggestions (a reservation queue) and the supplier's MARC21 list; sent,
the supplier's order response (ORDRSP) read in the EDIFACT inbox changes the
lines (accepted, back-ordered with a new price and date, cancelled), the INVOIC
registers the invoice, which is approved only once the copies are received."""

import re

import pytest
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, MarcImport, SearchWord, Title
from circulation.models import Hold
from collection.models import Item
from core.actors import Actor
from members.models import AuditEntry, Member, MemberCategory, SubscriptionType
from ordering import models as ordering_models
from ordering.services import funds, suppliers
from staff.models import StaffUser
from tenants.models import CardIndex, LibraryOrganisation
from tests.circulation.conftest import PAID_UNTIL
from tests.factories import PASSWORD, TitleFactory, marc_record
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup
from tests.ordering.conftest import edifact_sample

pytestmark = pytest.mark.django_db

BARCODE = "BRWACQ0001"
LIST_BARCODES = ["BRWACQ0101", "BRWACQ0102", "BRWACQ0103"]
READER_CARDS = ["BRWACQR01", "BRWACQR02", "BRWACQR03", "BRWACQR04"]
LIST_FILES = ("titellijst.csv", "titellijst.mrc")
# The supplier's list: a title the catalogue does not know yet, and a row without a valid ISBN.
SUPPLIER_CSV = """isbn;titel;auteur;uitgever;jaar;prijs;aantal
9789021416939;De avonden;Reve, Gerard;De Bezige Bij;1947;20,00;3
12345;Kapot ISBN;Iemand;X;2020;10,00;1
"""


@pytest.fixture(scope="module")
def supplier_and_fund(django_db_setup, django_db_blocker):
    """Committed: a supplier with EDIFACT, a fund of this year and a title in alpha;
    removed again afterwards with everything the test made."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        # Titles made after this one (by the fixtures, or by the catalogue import of a
        # supplier's list through the live server) are removed afterwards.
        last_title = Title.objects.aggregate(last=Max("pk"))["last"] or 0
        words_before = set(SearchWord.objects.values_list("word", flat=True))
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
            Item.objects.filter(title_id__gt=last_title).delete()
        connection.set_schema_to_public()
        MarcImport.objects.filter(organisation=alpha, file_name__in=LIST_FILES).delete()
        Holding.objects.filter(title_id__gt=last_title).delete()
        Title.objects.filter(pk__gt=last_title).delete()
        SearchWord.objects.exclude(word__in=words_before).delete()


@pytest.fixture(scope="module")
def waiting_readers(supplier_and_fund, django_db_blocker):
    """Committed: a fund for adults and 'Het diner', which alpha does not have, with
    four members waiting for it: a purchase suggestion of 2 copies (3 holds per copy).
    Removed again afterwards (the title with the supplier_and_fund fixture)."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.filter(is_active=True).order_by("name").first()
        diner = TitleFactory(title="Het diner", contributors_text="Koch, Herman", isbns=["9789025443726"],
                             publisher="Anthos", year=2009)
        with tenant_context(alpha):
            actor = Actor.staff(StaffUser.objects.get(username="alpha.acquisitions"), alpha)
            adult = funds.fund_save(actor=actor, year=timezone.localdate().year, code="BRWVOLW",
                                    name="Volwassenen (browser)", allocated_cents=20_000)
            categories_existed = SubscriptionType.objects.exists()
            audit_from = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            readers = [make_member(card_number=card, paid_until=PAID_UNTIL) for card in READER_CARDS]
            now = timezone.now()
            for reader in readers:
                Hold.objects.create(member=reader, title_id=diner.pk, pickup_branch_id=branch.pk, status="waiting",
                                    placed_at=now, queue_at=now)
        connection.set_schema_to_public()
    yield adult, diner
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            member_ids = [reader.pk for reader in readers]
            Hold.objects.filter(member_id__in=member_ids).delete()
            AuditEntry.objects.filter(pk__gt=audit_from, member_id_ref__isnull=True).delete()
            money_cleanup(member_ids)
            if not categories_existed and not Member.objects.exists():
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number__in=READER_CARDS).delete()
        connection.set_schema_to_public()


def sign_in(page, library_url):
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.acquisitions")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def test_order_send_edifact_receive_invoice_approve(page, library_url, supplier_and_fund):
    supplier, fund, title = supplier_and_fund
    sign_in(page, library_url)
    expect(page.get_by_role("region", name="Inkoop")).to_be_visible()
    start = page.url

    # The library's customer number and delivery location at the supplier, for the working
    # branch the order's copies go to; a mistyped GLN is refused first.
    page.goto(library_url("alpha", f"/inkoop/leveranciers/{supplier.pk}/"))
    accounts = page.get_by_role("region", name="Klantnummers per vestiging")
    accounts.get_by_label("Klantnummer").fill("BRW-KLANT-1")
    accounts.get_by_label("Afleverlocatie (EAN/GLN)").fill("8711234500015")
    accounts.get_by_role("button", name="Vastleggen").click()
    expect(page.get_by_text("Afleverlocatie '8711234500015' is geen geldige GLN")).to_be_visible()
    accounts.get_by_label("Klantnummer").fill("BRW-KLANT-1")
    accounts.get_by_label("Afleverlocatie (EAN/GLN)").fill("8711234500014")
    accounts.get_by_role("button", name="Vastleggen").click()
    expect(page.get_by_text("Klantnummer vastgelegd.")).to_be_visible()
    expect(accounts.get_by_role("table")).to_contain_text("BRW-KLANT-1")

    page.goto(start)
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
    assert "RFF+API:BRW-KLANT-1'" in text and "NAD+DP+8711234500014::9'" in text
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


def upload(name, data, mime):
    return {"name": name, "mimeType": mime, "buffer": data}


def read_supplier_list(page, file, fund_label):
    """Upload a supplier's title list (CSV or MARC) into the open order list."""
    supplier_list = page.get_by_role("region", name="Titellijst van de leverancier")
    supplier_list.get_by_label("Bestand").set_input_files(file)
    supplier_list.get_by_label("Fonds").select_option(label=fund_label)
    supplier_list.get_by_role("button", name="Titellijst inlezen").click()


def test_order_list_from_supplier_lists_and_suggestions_order_response_and_invoic(
        page, library_url, supplier_and_fund, waiting_readers):
    supplier, _fund, _title = supplier_and_fund
    adult, diner = waiting_readers
    fund_label = f"{adult.code} {adult.name}"
    sign_in(page, library_url)
    page.get_by_role("region", name="Inkoop").get_by_role("link", name="Bestellingen en bestellijsten").click()
    new_list = page.get_by_role("region", name="Nieuwe bestellijst")
    new_list.get_by_label("Leverancier").select_option(label="Browserleverancier")
    new_list.get_by_label("Omschrijving").fill("Leesclubs")
    new_list.get_by_role("button", name="Bestellijst maken").click()
    expect(page.get_by_role("heading", name="Bestellijst")).to_be_visible()
    order_number = page.get_by_role("heading").first.inner_text().split()[-1]
    order_id = page.url.rstrip("/").split("/")[-1]
    nav = page.get_by_role("navigation", name="Inkoop")

    # The supplier's CSV list: a title new to the catalogue (3 copies at 20,00), a broken row.
    read_supplier_list(page, upload(LIST_FILES[0], SUPPLIER_CSV.encode(), "text/csv"), fund_label)
    expect(page.locator(".messages")).to_contain_text(
        "Titellijst: 1 regels toegevoegd, 1 nieuwe titels in de catalogus, 1 regels met een probleem.")
    expect(page.get_by_test_id("list-problems")).to_have_text("Regel 3: '12345' is geen geldig ISBN.")
    expect(page.get_by_test_id("line-1")).to_contain_text("De avonden")
    expect(page.get_by_test_id("line-1")).to_contain_text("9789021416939")

    # From the purchase suggestions: four members wait for 'Het diner', alpha has no copy.
    nav.get_by_role("link", name="Aanschafsuggesties").click()
    suggestion = page.get_by_test_id("suggestions").get_by_role("row").filter(has_text="Het diner")
    expect(suggestion.get_by_role("cell").nth(2)).to_have_text("4")
    expect(page.get_by_label("Aantal voor Het diner")).to_have_value("2")
    page.get_by_label("Het diner bestellen").check()
    place = page.get_by_role("region", name="Op een bestellijst zetten")
    place.get_by_label("Bestellijst").select_option(value=order_id)
    place.get_by_label("Prijs per exemplaar").fill("22,50")
    place.get_by_label("Fonds").select_option(label=fund_label)
    place.get_by_role("button", name="Op de bestellijst zetten").click()
    expect(page.locator(".messages")).to_contain_text("1 titels op de bestellijst gezet.")
    expect(page.get_by_test_id("line-2")).to_contain_text("Het diner")

    # The supplier's MARC21 list: one record with its price in 020 $c.
    record = marc_record(title="Max Havelaar", author="Multatuli", isbn="9789045117270", control_number="BRW0003",
                         source="BRWLEV")
    record["020"].add_subfield("c", "EUR 12,50")
    read_supplier_list(page, upload(LIST_FILES[1], record.as_marc(), "application/marc"), fund_label)
    expect(page.locator(".messages")).to_contain_text(
        "Titellijst: 1 regels toegevoegd, 1 nieuwe titels in de catalogus, 0 regels met een probleem.")
    expect(page.get_by_test_id("line-3")).to_contain_text("Max Havelaar")
    # 3 x 15,00 + 2 x 16,88 + 1 x 9,38 (25 % discount, rounded per copy).
    expect(page.get_by_test_id("order-total")).to_have_text("€ 88,14")

    page.get_by_role("button", name="Bestelling versturen").click()
    expect(page.get_by_test_id("order-status")).to_have_text("Besteld")
    with page.expect_download() as download:
        page.get_by_test_id("edi-download").click()
    text = open(download.value.path()).read()
    for number, isbn in enumerate(["9789021416939", "9789025443726", "9789045117270"], start=1):
        assert f"LIN+{number}++{isbn}:EN'" in text

    # The supplier's order response, read in the EDIFACT inbox.
    values = dict(ORDER=order_number, SUPPLIER=supplier.edi_id, BUYER=supplier.buyer_edi_id)
    nav.get_by_role("link", name="EDIFACT").click()
    inbox = page.get_by_role("region", name="Bericht inlezen")
    inbox.get_by_label("Leverancier").select_option(label="Browserleverancier")
    inbox.get_by_label("Soort").select_option(label="Orderbevestiging (ORDRSP)")
    inbox.get_by_label("Bestand").set_input_files(
        upload("ordrsp.edi", edifact_sample("lsb_ordrsp.edi", **values).encode(), "application/edifact"))
    inbox.get_by_role("button", name="Inlezen").click()
    expect(page.locator(".messages")).to_contain_text(
        "Orderbevestiging gelezen: 1 geaccepteerd, 1 in nalevering, 1 geannuleerd, 0 gewijzigd.")
    response_row = page.get_by_test_id("edi-messages").get_by_role("row").filter(has_text="ORDRSP")
    response_row.get_by_role("link", name=order_number).click()

    # Its effect on the lines of the order.
    expect(page.get_by_role("heading", name=f"Bestelling {order_number}")).to_be_visible()
    expect(page.get_by_test_id("line-1")).to_contain_text("Geaccepteerd")
    backordered = page.get_by_test_id("line-2")
    expect(backordered).to_contain_text("In nalevering")
    expect(backordered).to_contain_text("(verwacht 15-4-2026)")
    expect(backordered).to_contain_text("€ 24,99")  # the supplier's price replaces 22,50
    cancelled = page.get_by_test_id("line-3")
    expect(cancelled).to_contain_text("Geannuleerd door leverancier: Uitverkocht bij de uitgever")
    expect(cancelled).to_contain_text("(−1)")
    expect(page.get_by_role("region", name="EDIFACT")).to_contain_text("ORDRSP")

    # The supplier's invoice for the three copies of line 1, read in the inbox as well.
    nav.get_by_role("link", name="EDIFACT").click()
    inbox = page.get_by_role("region", name="Bericht inlezen")
    inbox.get_by_label("Leverancier").select_option(label="Browserleverancier")
    inbox.get_by_label("Soort").select_option(label="Factuur (INVOIC)")
    inbox.get_by_label("Bestand").set_input_files(
        upload("invoic.edi", edifact_sample("lsb_invoic.edi", **values).encode(), "application/edifact"))
    inbox.get_by_role("button", name="Inlezen").click()
    expect(page.locator(".messages")).to_contain_text("Factuur gelezen: F2026-0042 (€ 45,00).")

    # Not payable before the copies are there.
    nav.get_by_role("link", name="Facturen").click()
    page.get_by_test_id("invoices").get_by_role("link", name="F2026-0042").click()
    expect(page.get_by_test_id("invoice-lines")).to_contain_text(f"{order_number}/1")
    page.get_by_role("button", name="Betaalbaar stellen").click()
    expect(page.get_by_test_id("errors")).to_contain_text(
        f"Regel {order_number}/1 (De avonden): 3 gefactureerd maar 0 ontvangen.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Geregistreerd")

    # A partial delivery: the three copies of line 1; 'Het diner' is still to come.
    page.goto(library_url("alpha", f"/inkoop/ontvangst/?leverancier={supplier.pk}"))
    page.get_by_label("Barcodes voor De avonden").fill("\n".join(LIST_BARCODES))
    page.get_by_role("button", name="Ontvangst boeken").click()
    expect(page.locator(".messages")).to_contain_text(
        f"3 exemplaren ontvangen en in bewerking gezet: {', '.join(LIST_BARCODES)}.")
    open_lines = page.get_by_test_id("open-lines")
    expect(open_lines).to_contain_text(f"{order_number}/2")
    expect(open_lines).not_to_contain_text(f"{order_number}/1")
    nav.get_by_role("link", name="Verwerken").click()
    page.get_by_label("Barcodes").fill(" ".join(LIST_BARCODES))
    page.get_by_role("button", name="Beschikbaar maken").click()
    expect(page.locator(".messages")).to_contain_text(
        f"3 exemplaren zijn nu beschikbaar: {', '.join(LIST_BARCODES)}.")

    nav.get_by_role("link", name="Facturen").click()
    page.get_by_test_id("invoices").get_by_role("link", name="F2026-0042").click()
    page.get_by_role("button", name="Betaalbaar stellen").click()
    expect(page.get_by_test_id("invoice-status")).to_have_text("Betaalbaar gesteld")

    # The fund: 45,00 spent; 2 x 18,74 still committed for 'Het diner', the cancelled copy released.
    nav.get_by_role("link", name="Rapporten").click()
    row = page.get_by_test_id("fund-report").get_by_role("row").filter(has_text=fund_label)
    expect(row.get_by_role("cell")).to_have_text([fund_label, "€ 200,00", "€ 37,48", "€ 45,00", "€ 117,52",
                                                  re.compile(r"%")])

    with tenant_context(LibraryOrganisation.objects.get(slug="alpha")):
        items = Item.objects.filter(barcode__in=LIST_BARCODES)
        assert {(item.status, item.price_cents) for item in items} == {("available", 1500)}
        assert len({item.title_id for item in items}) == 1
        assert Title.objects.get(pk=items[0].title_id).isbns == ["9789021416939"]
        lines = ordering_models.OrderLine.objects.filter(order__number=order_number).order_by("line_number")
        assert [(line.title_id == diner.pk, line.source) for line in lines] == [
            (False, "supplier_list"), (True, "suggestion"), (False, "supplier_list")]
