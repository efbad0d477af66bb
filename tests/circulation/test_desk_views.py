"""The desk screens for circulation (balie) in the browser's place: checkout,
checkin, renew, lost, claims returned and the receipt through the views; Dutch
errors that change nothing; overrides only for a coordinator; guest lending seen
from home; no reach into another library; the database briefly gone."""

import datetime

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Loan
from circulation.services.loans import checkout
from collection.models import Item, ItemStatus
from core.actors import Actor
from members.models import AuditEntry, Block, LedgerEntry
from tenants.models import GuestLoan
from tests.members.factories import make_member

from .factories import make_rule

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"
BETA = "beta.localhost"
DB_DOWN = "De database is even niet bereikbaar; er is niets gewijzigd. Scan opnieuw."


def scan_out(client, card, barcode, **extra):
    return client.post("/uitlening/uitlenen/scan/", {"pas": card, "barcode": barcode, **extra}, HTTP_HOST=ALPHA)


def scan_in(client, barcode, host=ALPHA):
    return client.post("/uitlening/innemen/scan/", {"barcode": barcode}, HTTP_HOST=host)


def state(desk, *items):
    """What a refused action must leave as it was."""
    with tenant_context(desk.library):
        return {
            "items": [tuple(Item.objects.filter(pk=item.pk).values_list("status", "current_branch_id", "loan_count")[0])
                      for item in items],
            "loans": sorted(Loan.objects.values_list("pk", "ended_at", "due_on", "renewals")),
            "ledger": LedgerEntry.objects.count(),
            "events": CirculationEvent.objects.count(),
            "guest_loans": GuestLoan.objects.count(),
        }


def lend_earlier(desk, item, *, days_ago, card=None):
    """A loan made `days_ago` days ago (through the service)."""
    with tenant_context(desk.library):
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
        return checkout(actor=desk.actor(), card_number=card or desk.member.card_number, barcode=item.barcode,
                        now=now).loan


# --- desk home and checkout ------------------------------------------------------------

def test_desk_home_has_the_uitlening_card(client, desk, staff):
    client.force_login(desk.staff)
    page = client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    assert 'aria-label="Uitlening"' in page
    assert "/uitlening/uitlenen/" in page and "/uitlening/innemen/" in page
    client.force_login(staff.alpha_collection)
    assert 'aria-label="Uitlening"' not in client.get("/balie/", HTTP_HOST=ALPHA).content.decode()


def test_card_scan_opens_the_member_panel(client, desk):
    client.force_login(desk.staff)
    response = client.get("/uitlening/uitlenen/?pas=a1000001", HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Anna Jansen" in page and "A1000001" in page and "Volwassene" in page
    assert 'data-testid="balance">€ 0,00<' in page and 'data-testid="holds">0<' in page
    assert 'name="barcode"' in page and "autofocus data-scan" in page
    assert 'data-canonical-url="/uitlening/uitlenen/?pas=A1000001"' in page
    with tenant_context(desk.library):
        assert AuditEntry.objects.filter(member_id_ref=desk.member.pk, action="view",
                                         detail__screen="checkout").exists()


def test_unknown_card_is_refused_in_dutch(client, desk):
    client.force_login(desk.staff)
    response = client.get("/uitlening/uitlenen/?pas=ONBEKEND1", HTTP_HOST=ALPHA)
    assert response.status_code == 422
    assert "Pas ONBEKEND1 is onbekend" in response.content.decode()
    assert 'name="barcode"' not in response.content.decode()


def test_checkout_two_items_lists_them_with_due_dates(client, desk):
    first, second = desk.items(count=2, price_cents=1995)
    client.force_login(desk.staff)
    assert scan_out(client, "A1000001", first.barcode).status_code == 200
    response = scan_out(client, "A1000001", second.barcode)
    page = response.content.decode()
    assert response.status_code == 200
    with tenant_context(desk.library):
        loans = list(Loan.objects.filter(member=desk.member, ended_at__isnull=True).order_by("pk"))
        assert [loan.item_id for loan in loans] == [first.pk, second.pk]
        assert Item.objects.get(pk=first.pk).status == ItemStatus.ON_LOAN
    due = loans[1].due_on.strftime("%d-%m-%Y")
    assert "Uitgeleend" in page and f"inleveren uiterlijk <strong>{due}</strong>" in page
    scanned = page.split('data-testid="scanned"')[1].split("</table>")[0]
    assert first.barcode in scanned and second.barcode in scanned and due in scanned
    # The open loans on the panel, with per-loan actions.
    assert f"/uitlening/{loans[0].pk}/verloren/" in page and f"/uitlening/verlengen/{loans[0].pk}/" in page


def test_a_scan_costs_the_same_queries_with_many_loans(client, desk):
    """No query per open loan on the page a scan answers with (the desk must stay fast)."""
    items = desk.items(count=12)
    client.force_login(desk.staff)
    scan_out(client, "A1000001", items[0].barcode)

    def queries_for(item):
        with CaptureQueriesContext(connection) as queries:
            assert scan_out(client, "A1000001", item.barcode).status_code == 200
        return len(queries)

    few = queries_for(items[1])
    for item in items[2:11]:
        scan_out(client, "A1000001", item.barcode)
    assert queries_for(items[11]) == few


def test_double_scan_is_a_renewal_and_says_why_not_now(client, desk):
    (item,) = desk.items()
    client.force_login(desk.staff)
    scan_out(client, "A1000001", item.barcode)
    before = state(desk, item)
    response = scan_out(client, "A1000001", item.barcode)
    page = response.content.decode()
    assert response.status_code == 422
    assert f"Exemplaar {item.barcode} is al aan deze lener uitgeleend; verlengen kan niet:" in page
    assert "verlengen geeft nu geen latere inleverdatum" in page
    assert state(desk, item) == before


def test_double_scan_of_an_older_loan_renews_it(client, desk):
    (item,) = desk.items()
    loan = lend_earlier(desk, item, days_ago=10)
    client.force_login(desk.staff)
    response = scan_out(client, "A1000001", item.barcode)
    assert response.status_code == 200
    with tenant_context(desk.library):
        loan.refresh_from_db()
    assert loan.renewals == 1
    page = response.content.decode()
    assert "Verlengd</strong> (was al aan deze lener uitgeleend)" in page
    assert '<span class="tag">verlengd</span>' in page


@pytest.mark.parametrize("what", ["unknown", "card", "empty"])
def test_scan_errors_are_dutch_and_change_nothing(client, desk, what):
    (item,) = desk.items()
    barcode = {"unknown": "C99999999", "card": "A1000001", "empty": ""}[what]
    expected = {"unknown": "Exemplaar C99999999 is onbekend in deze bibliotheek.",
                "card": "A1000001 is een pasnummer, geen exemplaar.",
                "empty": "Scan de barcode van een exemplaar."}[what]
    client.force_login(desk.staff)
    before = state(desk, item)
    response = scan_out(client, "A1000001", barcode)
    assert response.status_code == 422
    assert expected in response.content.decode()
    assert state(desk, item) == before


def test_item_of_another_member_is_refused(client, desk):
    (item,) = desk.items()
    with tenant_context(desk.library):
        other = make_member(card_number="A1000002", paid_until=datetime.date.today() + datetime.timedelta(days=30))
    client.force_login(desk.staff)
    scan_out(client, other.card_number, item.barcode)
    response = scan_out(client, "A1000001", item.barcode)
    assert response.status_code == 422
    assert "is al uitgeleend aan een ander lid" in response.content.decode()


def test_blocked_member_refusals_are_listed_in_red(client, desk):
    (item,) = desk.items()
    with tenant_context(desk.library):
        Block.objects.create(member=desk.member, kind="manual", reason="Boeken beschadigd teruggebracht")
    client.force_login(desk.staff)
    page = client.get("/uitlening/uitlenen/?pas=A1000001", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="may-not-borrow"' in page and "Boeken beschadigd teruggebracht" in page
    before = state(desk, item)
    response = scan_out(client, "A1000001", item.barcode)
    assert response.status_code == 422
    assert "Boeken beschadigd teruggebracht" in response.content.decode().split('data-testid="errors"')[1]
    assert state(desk, item) == before


def test_override_only_for_a_coordinator(client, desk):
    (item,) = desk.items(not_for_loan=True)
    before = state(desk, item)
    # The desk user gets the refusal, no override form, and cannot force it.
    client.force_login(desk.staff)
    response = scan_out(client, "A1000001", item.barcode)
    page = response.content.decode()
    assert response.status_code == 422
    assert f"Exemplaar {item.barcode} is niet uitleenbaar." in page and "Toch uitlenen" not in page
    response = scan_out(client, "A1000001", item.barcode, override_reason="Docent", override="1")
    assert response.status_code == 422
    assert "Alleen een baliecoördinator mag een uitzondering maken." in response.content.decode()
    assert state(desk, item) == before
    # The coordinator sees the form; without a reason nothing happens.
    client.force_login(desk.supervisor)
    page = scan_out(client, "A1000001", item.barcode).content.decode()
    assert "Toch uitlenen" in page and 'name="override_reason"' in page
    response = scan_out(client, "A1000001", item.barcode, override_reason=" ", override="1")
    assert response.status_code == 422 and "Geef een reden voor de uitzondering" in response.content.decode()
    assert state(desk, item) == before
    response = scan_out(client, "A1000001", item.barcode, override_reason="Naslagwerk voor de klas", override="1")
    assert response.status_code == 200
    assert "uitzondering vastgelegd" in response.content.decode()
    with tenant_context(desk.library):
        loan = Loan.objects.get(item=item, ended_at__isnull=True)
        assert loan.override_reason == "Naslagwerk voor de klas"


def test_non_overridable_refusal_offers_no_override(client, desk):
    (item,) = desk.items()
    with tenant_context(desk.library):
        Item.objects.filter(pk=item.pk).update(status=ItemStatus.ON_INTERLIBRARY_LOAN)
    client.force_login(desk.supervisor)
    response = scan_out(client, "A1000001", item.barcode)
    assert response.status_code == 422
    page = response.content.decode()
    assert "is uitgeleend aan een andere bibliotheek (IBL)" in page and "Toch uitlenen" not in page


# --- checkin ---------------------------------------------------------------------------

def test_checkin_at_home_and_at_another_branch(client, desk):
    first, second = desk.items(count=2)
    lend_earlier(desk, first, days_ago=1)
    lend_earlier(desk, second, days_ago=1)
    client.force_login(desk.staff)
    assert client.get("/uitlening/innemen/", HTTP_HOST=ALPHA).status_code == 200
    response = scan_in(client, first.barcode)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-route="shelf"' in page and "route-green" in page
    assert '<div class="route-message" data-testid="route-message">TERUG IN DE KAST</div>' in page
    # At the other branch: in transit home, in orange.
    client.post("/balie/vestiging/", {"branch": desk.other.pk}, HTTP_HOST=ALPHA)
    response = scan_in(client, second.barcode)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"TRANSPORT NAAR {desk.main.name.upper()}" in page and "route-orange" in page
    assert f'data-testid="route-destination">{desk.main.name}<' in page
    checkins = page.split('data-testid="checkins"')[1]
    assert first.barcode in checkins and second.barcode in checkins
    with tenant_context(desk.library):
        assert not Loan.objects.filter(ended_at__isnull=True).exists()
        assert Item.objects.get(pk=second.pk).status == ItemStatus.IN_TRANSIT


def test_checkin_notes_a_fine(client, desk):
    with tenant_context(desk.library):
        make_rule(loan_days=7, fine_per_day_cents=25, fine_max_cents=500)
    (item,) = desk.items()
    lend_earlier(desk, item, days_ago=30)
    client.force_login(desk.staff)
    page = scan_in(client, item.barcode).content.decode()
    assert "boete op de rekening gezet" in page
    with tenant_context(desk.library):
        assert LedgerEntry.objects.filter(member=desk.member, charge_type="fine").exists()


def test_checkin_errors_are_dutch(client, desk):
    client.force_login(desk.staff)
    response = scan_in(client, "C99999998")
    assert response.status_code == 422
    assert "Exemplaar C99999998 is onbekend in deze bibliotheek." in response.content.decode()


# --- renew, lost, claims returned ---------------------------------------------------------

def test_renew_one_loan(client, desk):
    (item,) = desk.items()
    loan = lend_earlier(desk, item, days_ago=10)
    client.force_login(desk.staff)
    response = client.post(f"/uitlening/verlengen/{loan.pk}/", HTTP_HOST=ALPHA)
    assert response.status_code == 200
    with tenant_context(desk.library):
        loan.refresh_from_db()
    assert loan.renewals == 1
    assert f"Verlengd tot <strong>{loan.due_on:%d-%m-%Y}</strong>" in response.content.decode()
    receipt = client.get("/uitlening/bon/?pas=A1000001", HTTP_HOST=ALPHA).content.decode()
    assert item.barcode in receipt and f"verlengd, inleveren {loan.due_on:%d-%m-%Y}" in receipt
    # Again today: refused with the reason, nothing changed.
    before = state(desk, item)
    response = client.post(f"/uitlening/verlengen/{loan.pk}/", HTTP_HOST=ALPHA)
    assert response.status_code == 422
    assert "Niet verlengd:" in response.content.decode() and "geen latere inleverdatum" in response.content.decode()
    assert state(desk, item) == before


def test_renew_all_gives_an_outcome_per_loan(client, desk):
    old, new = desk.items(count=2)
    old_loan = lend_earlier(desk, old, days_ago=10)
    new_loan = lend_earlier(desk, new, days_ago=0)
    client.force_login(desk.staff)
    response = client.post("/uitlening/verlengen/", {"pas": "A1000001"}, HTTP_HOST=ALPHA)
    assert response.status_code == 200
    table = response.content.decode().split('data-testid="renewals"')[1].split("</table>")[0]
    with tenant_context(desk.library):
        old_loan.refresh_from_db()
        new_loan.refresh_from_db()
    assert old_loan.renewals == 1 and new_loan.renewals == 0
    assert f"Verlengd tot <strong>{old_loan.due_on:%d-%m-%Y}</strong>" in table
    assert "Niet verlengd:" in table and new.barcode in table


def test_mark_lost_with_the_price_prefilled_and_editable(client, desk):
    (item,) = desk.items(price_cents=1995)
    loan = lend_earlier(desk, item, days_ago=2)
    client.force_login(desk.staff)
    page = client.get(f"/uitlening/{loan.pk}/verloren/", HTTP_HOST=ALPHA).content.decode()
    assert 'name="price" value="19,95"' in page and "Anna Jansen" in page
    before = state(desk, item)
    response = client.post(f"/uitlening/{loan.pk}/verloren/", {"price": "twaalf"}, HTTP_HOST=ALPHA)
    assert response.status_code == 422 and "Geef een bedrag in euro" in response.content.decode()
    assert state(desk, item) == before
    response = client.post(f"/uitlening/{loan.pk}/verloren/", {"price": "12,50"}, HTTP_HOST=ALPHA)
    assert response.status_code == 302 and response["Location"] == "/uitlening/uitlenen/?pas=A1000001"
    page = client.get(response["Location"], HTTP_HOST=ALPHA).content.decode()
    assert "is als verloren gemeld; vervangingsprijs € 12,50 op de rekening gezet." in page
    with tenant_context(desk.library):
        loan.refresh_from_db()
        assert loan.ending == Loan.Ending.LOST
        assert Item.objects.get(pk=item.pk).status == ItemStatus.MISSING
        assert LedgerEntry.objects.get(member=desk.member, charge_type="lost_item").amount_cents == 1250
    # An ended loan is no longer offered.
    assert client.get(f"/uitlening/{loan.pk}/verloren/", HTTP_HOST=ALPHA).status_code == 404


def test_claims_returned(client, desk):
    (item,) = desk.items()
    loan = lend_earlier(desk, item, days_ago=2)
    client.force_login(desk.staff)
    assert "zegt het te hebben ingeleverd" in client.get(f"/uitlening/{loan.pk}/ingeleverd/",
                                                          HTTP_HOST=ALPHA).content.decode().lower()
    response = client.post(f"/uitlening/{loan.pk}/ingeleverd/", {"note": "Zegt het in de bus te hebben gedaan"},
                           HTTP_HOST=ALPHA)
    assert response.status_code == 302
    with tenant_context(desk.library):
        loan.refresh_from_db()
        assert loan.ending == Loan.Ending.CLAIMS_RETURNED
        assert Item.objects.get(pk=item.pk).status == ItemStatus.MISSING
        assert CirculationEvent.objects.get(loan=loan).detail == "Zegt het in de bus te hebben gedaan"


# --- receipt -----------------------------------------------------------------------------

def test_receipt_lists_todays_loans_and_balance(client, desk):
    today_item, old_item = desk.items(count=2)
    lend_earlier(desk, old_item, days_ago=5)
    client.force_login(desk.staff)
    scan_out(client, "A1000001", today_item.barcode)
    response = client.get("/uitlening/bon/?pas=A1000001", HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 200
    lines = page.split('data-testid="receipt-lines"')[1].split("</ol>")[0]
    assert today_item.barcode in lines and old_item.barcode not in lines
    assert desk.library.name in page and desk.main.name in page
    assert "Anna Jansen" in page and 'data-testid="receipt-open">2<' in page
    assert 'data-testid="receipt-balance">€ 0,00<' in page
    assert "data-print" in page and "@media print" not in page  # print CSS lives in static/circulation.css


# --- guests --------------------------------------------------------------------------------

def test_guest_loan_shows_no_personal_data_and_appears_at_home(client, desk, libraries, staff):
    with tenant_context(libraries.beta):
        guest = make_member(card_number="B7000001", first_name="Bram", last_name="Bakker",
                            paid_until=datetime.date.today() + datetime.timedelta(days=100))
    (item,) = desk.items()
    client.force_login(desk.staff)
    page = client.get("/uitlening/uitlenen/?pas=B7000001", HTTP_HOST=ALPHA).content.decode()
    assert f"Gastlener van {libraries.beta.name}" in page and "Bakker" not in page and "Bram" not in page
    response = scan_out(client, "B7000001", item.barcode)
    assert response.status_code == 200
    page = response.content.decode()
    assert item.barcode in page.split('data-testid="loans"')[1] and "Bakker" not in page
    receipt = client.get("/uitlening/bon/?pas=B7000001", HTTP_HOST=ALPHA).content.decode()
    assert "Pas B7000001 (gastlener van" in receipt and "Bakker" not in receipt
    # At home, beta's member page shows the loan at alpha.
    client.force_login(staff.beta_desk)
    page = client.get(f"/leden/{guest.pk}/", HTTP_HOST=BETA).content.decode()
    guest_loans = page.split('data-testid="guest-loans"')[1].split("</table>")[0]
    assert libraries.alpha.name in guest_loans and item.barcode in guest_loans


def test_member_page_lists_loans_and_links_to_checkout(client, desk):
    (item,) = desk.items()
    loan = lend_earlier(desk, item, days_ago=40)  # overdue by now
    client.force_login(desk.staff)
    page = client.get(f"/leden/{desk.member.pk}/", HTTP_HOST=ALPHA).content.decode()
    section = page.split('data-testid="member-loans"')[1].split("</section>")[0]
    assert item.barcode in section and f"{loan.due_on:%d-%m-%Y}" in section and "te laat" in section
    assert "/uitlening/uitlenen/?pas=A1000001" in section


# --- isolation -------------------------------------------------------------------------------

def test_staff_of_another_library_is_refused(client, desk, staff):
    (item,) = desk.items()
    client.force_login(staff.beta_desk)
    assert client.get("/uitlening/uitlenen/?pas=A1000001", HTTP_HOST=ALPHA).status_code == 403
    assert scan_out(client, "A1000001", item.barcode).status_code == 403
    assert scan_in(client, item.barcode).status_code == 403
    assert client.get("/uitlening/bon/?pas=A1000001", HTTP_HOST=ALPHA).status_code == 403
    client.force_login(staff.alpha_collection)  # no desk role
    assert scan_out(client, "A1000001", item.barcode).status_code == 403
    with tenant_context(desk.library):
        assert not Loan.objects.exists()


def test_a_loan_id_of_another_library_is_not_found(client, desk, libraries, staff):
    with tenant_context(libraries.beta):
        beta_member = make_member(card_number="B7000002",
                                  paid_until=datetime.date.today() + datetime.timedelta(days=100))
        from .factories import make_items

        (beta_item,) = make_items(libraries.beta, branch=libraries.beta.branches.order_by("name").first())
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10)
        loan = checkout(actor=Actor.system("test", libraries.beta, branch_id=beta_item.owning_branch_id),
                        card_number=beta_member.card_number, barcode=beta_item.barcode, now=now).loan
        # An id far above any of alpha's, so the request can only mean beta's loan.
        Loan.objects.filter(pk=loan.pk).update(id=987654)
    with tenant_context(desk.library):
        assert not Loan.objects.filter(pk=987654).exists()
    client.force_login(desk.staff)
    assert client.post("/uitlening/verlengen/987654/", HTTP_HOST=ALPHA).status_code == 404
    assert client.get("/uitlening/987654/verloren/", HTTP_HOST=ALPHA).status_code == 404
    assert client.post("/uitlening/987654/verloren/", {"price": "1"}, HTTP_HOST=ALPHA).status_code == 404
    assert client.post("/uitlening/987654/ingeleverd/", HTTP_HOST=ALPHA).status_code == 404
    with tenant_context(libraries.beta):
        beta_loan = Loan.objects.get(pk=987654)
        assert beta_loan.renewals == 0 and beta_loan.ended_at is None


# --- the database briefly gone -----------------------------------------------------------------

def test_checkout_answers_503_when_the_database_is_gone(client, desk, monkeypatch):
    (item,) = desk.items()
    client.force_login(desk.staff)
    before = state(desk, item)

    def gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("circulation.services.loans.checkout", gone)
    response = scan_out(client, "A1000001", item.barcode)
    assert response.status_code == 503
    page = response.content.decode()
    assert DB_DOWN in page and 'name="pas" value="A1000001"' in page and "autofocus data-scan" in page
    assert state(desk, item) == before


def test_checkin_answers_503_when_the_database_is_gone(client, desk, monkeypatch):
    (item,) = desk.items()
    lend_earlier(desk, item, days_ago=1)
    client.force_login(desk.staff)
    before = state(desk, item)

    def gone(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr("circulation.services.loans.checkin", gone)
    response = scan_in(client, item.barcode)
    assert response.status_code == 503 and DB_DOWN in response.content.decode()
    assert state(desk, item) == before
