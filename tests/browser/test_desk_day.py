"""A day at the desk, in a real browser, with the keyboard as a scanner uses it
(type the code, Enter): sign in, scan a member card, scan two items and see their
due dates, scan one again (the renewal message), renew all, check one in at
another branch (TRANSPORT NAAR ...) and one at home (TERUG IN DE KAST), take a
payment, and open the receipt (renewing in Mijn bibliotheek). A guest with a card
of another library borrows and returns a book; the desk looks a book up in the
catalogue (its barcode and where it stands) and registers a member (the consent
checkboxes beside their labels, the cursor in the first field)."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, Title
from circulation.models import CirculationEvent, Loan, Transfer
from circulation.services.loans import checkout
from collection.models import Item, ItemEvent
from core.actors import Actor
from members.models import AuditEntry, LedgerEntry, Member, MemberCategory, SubscriptionType
from members.services.ledger import ledger_charge
from staff.models import StaffUser
from tenants.models import CardIndex, GuestLoan, LibraryOrganisation
from tests.circulation.conftest import PAID_UNTIL
from tests.circulation.factories import make_items
from tests.factories import PASSWORD, TitleFactory
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup

pytestmark = pytest.mark.django_db

CARD = "BRWDESK01"
GUEST_CARD = "BRWGAST01"


@pytest.fixture(scope="module")
def desk_day(django_db_setup, django_db_blocker):
    """Committed in alpha (the live server sees only committed data): a member
    owing EUR 2,50, four copies at the first branch (alpha.desk's working branch),
    one of them lent ten days ago, and a member of beta (a guest here). Removed
    again afterwards with everything the test made."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        home, other = list(alpha.branches.filter(is_active=True).order_by("name"))[:2]
        staff = StaffUser.objects.get(username="alpha.desk")
        beta = LibraryOrganisation.objects.get(slug="beta")
        titles = [TitleFactory(title=f"Balieboek {n}") for n in ("een", "twee", "drie")]
        titles.append(TitleFactory(title="Balieboek vier", responsibility="", contributors_text="Gerda Gastvrij"))
        with tenant_context(beta):  # a member of beta: a guest at alpha's desk
            beta_categories_existed = SubscriptionType.objects.exists()
            guest = make_member(card_number=GUEST_CARD, first_name="Greet", last_name="Gast", paid_until=PAID_UNTIL)
        with tenant_context(alpha):
            categories_existed = SubscriptionType.objects.exists()
            audit_from = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            member = make_member(card_number=CARD, first_name="Daan", last_name="Dagelijks", paid_until=PAID_UNTIL)
            ledger_charge(actor=Actor.system("test"), member=member, charge_type=LedgerEntry.ChargeType.FINE,
                          amount_cents=250,
                          description="Te laat (vorige keer)")
            items = [make_items(alpha, branch=home, title=title)[0] for title in titles]
            checkout(actor=Actor.staff(staff, alpha, branch_id=home.pk), card_number=CARD,
                     barcode=items[2].barcode, now=timezone.now() - datetime.timedelta(days=10))
        connection.set_schema_to_public()
    yield alpha, home, other, member, items
    with django_db_blocker.unblock():
        GuestLoan.objects.filter(card_number=GUEST_CARD).delete()
        with tenant_context(beta):
            AuditEntry.objects.filter(member_id_ref=guest.pk).delete()
            money_cleanup([guest.pk])
            if not beta_categories_existed and not Member.objects.exists():
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number=GUEST_CARD).delete()
        with tenant_context(alpha):
            item_ids = [item.pk for item in items]
            CirculationEvent.objects.filter(item_id_ref__in=item_ids).delete()
            CirculationEvent.objects.filter(loan__item_id__in=item_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            ItemEvent.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()
            AuditEntry.objects.filter(pk__gt=audit_from, member_id_ref__isnull=True).delete()
            money_cleanup([member.pk])
            if not categories_existed and not Member.objects.exists():
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number=CARD).delete()
        Holding.objects.filter(title_id__in=[title.pk for title in titles]).delete()
        Title.objects.filter(pk__in=[title.pk for title in titles]).delete()
        connection.set_schema_to_public()


def scan(page, code):
    """What a barcode scanner does: type into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def test_a_day_at_the_desk(page, library_url, desk_day):
    alpha, home, other, member, (first, second, old, for_guest) = desk_day
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("region", name="Uitlening").get_by_role("link", name="Uitlenen").click()

    # The card: the focus is in the card field.
    expect(page.get_by_label("Pas van de lener")).to_be_focused()
    scan(page, CARD)
    borrower = page.get_by_test_id("borrower")
    expect(borrower).to_contain_text("Daan Dagelijks")
    expect(page.get_by_test_id("balance")).to_have_text("€ 2,50")
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    assert page.url.endswith(f"/uitlening/uitlenen/?pas={CARD}")

    # Two items scanned right after each other, as a fast scanner does: the page's script
    # sends them one after the other (fetch, the scan fragment) and the page stays.
    page.evaluate("window.lsbSamePage = true")
    scan(page, first.barcode)
    scan(page, second.barcode)
    scanned = page.get_by_test_id("scanned")
    expect(scanned).to_contain_text(first.barcode)
    expect(scanned).to_contain_text(second.barcode)
    expect(page.get_by_test_id("result")).to_contain_text(second.barcode)
    expect(page.get_by_test_id("result")).to_contain_text("inleveren uiterlijk")
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    expect(page.get_by_label("Barcode exemplaar")).to_have_value("")
    with tenant_context(alpha):
        due = Loan.objects.get(item=second, ended_at__isnull=True).due_on
    connection.set_schema_to_public()
    expect(scanned).to_contain_text(due.strftime("%d-%m-%Y"))
    loans = page.get_by_test_id("loans")
    expect(loans.locator("[data-loans-count]")).to_have_text("3")  # the old loan and the two new ones
    expect(page.get_by_test_id(f"loan-{second.barcode}")).to_contain_text(due.strftime("%d-%m-%Y"))
    assert page.evaluate("window.lsbSamePage") is True  # no page load per scan
    assert page.url.endswith(f"/uitlening/uitlenen/?pas={CARD}")  # a reload would not scan again
    # A reload keeps this desk's list (the script keeps it for the tab).
    page.reload()
    expect(page.get_by_test_id("scanned")).to_contain_text(first.barcode)
    expect(page.get_by_test_id("scanned")).to_contain_text(second.barcode)
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()

    # The same item again: it is a renewal, and today that gives no later date.
    scan(page, first.barcode)
    expect(page.get_by_test_id("errors")).to_contain_text(
        f"Exemplaar {first.barcode} is al aan deze lener uitgeleend; verlengen kan niet")
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()

    # The server out of reach: the Dutch message names the scan that was not handled.
    page.route("**/uitlening/uitlenen/scan/", lambda route: route.abort())
    scan(page, "C12345678")
    expect(page.get_by_test_id("errors")).to_contain_text("Geen verbinding met de server; niet verwerkt: C12345678")
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    page.unroute("**/uitlening/uitlenen/scan/")

    # Renew all: the loan of ten days ago is renewed, today's are not.
    page.get_by_test_id("renew-all").click()
    renewals = page.get_by_test_id("renewals")
    expect(renewals.locator("tr", has_text=old.barcode)).to_contain_text("Verlengd tot")
    expect(renewals.locator("tr", has_text=first.barcode)).to_contain_text("Niet verlengd")

    # Check in at the other branch: in transit home, in big text.
    page.goto(library_url("alpha", "/balie/"))
    page.get_by_label("Andere vestiging").select_option(label=other.name)
    page.get_by_role("button", name="Wissel").click()
    expect(page.get_by_test_id("working-branch")).to_have_text(other.name)
    page.get_by_role("region", name="Uitlening").get_by_role("link", name="Innemen").click()
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    page.evaluate("window.lsbSamePage = true")
    scan(page, first.barcode)
    message = page.get_by_test_id("route-message")
    expect(message).to_have_text(f"TRANSPORT NAAR {home.name.upper()}")
    assert float(message.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 32
    expect(page.get_by_test_id("checkins")).to_contain_text(first.barcode)
    assert page.evaluate("window.lsbSamePage") is True

    # Back at the home branch: back on the shelf.
    page.goto(library_url("alpha", "/balie/"))
    page.get_by_label("Andere vestiging").select_option(label=home.name)
    page.get_by_role("button", name="Wissel").click()
    page.get_by_role("region", name="Uitlening").get_by_role("link", name="Innemen").click()
    # A scanner types into the page that has the cursor: wait for the checkin page's field.
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    scan(page, second.barcode)
    expect(page.get_by_test_id("route-message")).to_have_text("TERUG IN DE KAST")
    expect(page.get_by_test_id("checkins")).to_contain_text(first.barcode)

    # Take the payment from the member panel, then back to the checkout for the receipt.
    page.goto(library_url("alpha", f"/uitlening/uitlenen/?pas={CARD}"))
    page.get_by_test_id("payment-link").click()
    page.get_by_role("button", name="Betaling boeken").click()
    expect(page.get_by_test_id("balance")).to_have_text("€ 0,00")
    page.get_by_test_id("member-loans").get_by_role("link", name="Uitlenen aan dit lid").click()
    expect(page.get_by_test_id("balance")).to_have_text("€ 0,00")
    page.get_by_test_id("receipt-link").click()
    receipt = page.get_by_test_id("receipt")
    expect(receipt).to_contain_text(alpha.name)
    expect(receipt).to_contain_text("Daan Dagelijks")
    expect(page.get_by_test_id("receipt-lines")).to_contain_text(old.barcode)  # renewed today
    expect(page.get_by_test_id("receipt-lines")).to_contain_text("verlengd, inleveren")
    expect(page.get_by_test_id("receipt-open")).to_have_text("1")  # the renewed loan; both new ones are back
    expect(page.get_by_test_id("receipt-balance")).to_have_text("€ 0,00")
    expect(receipt).to_contain_text("Verlengen kan in Mijn bibliotheek")
    expect(receipt).not_to_contain_text("op de website")
    expect(page.get_by_role("button", name="Afdrukken")).to_be_visible()
    with tenant_context(alpha):
        assert not Loan.objects.filter(item__in=[first, second], ended_at__isnull=True).exists()
        assert Loan.objects.get(item=old, ended_at__isnull=True).renewals == 1
    connection.set_schema_to_public()

    # A guest: a card of another library borrows here with the same scans, and brings it back.
    page.goto(library_url("alpha", "/uitlening/uitlenen/"))
    expect(page.get_by_label("Pas van de lener")).to_be_focused()
    scan(page, GUEST_CARD)
    expect(page.get_by_test_id("borrower-name")).to_contain_text("Gastlener van Testbibliotheek beta")
    expect(page.get_by_test_id("borrower")).not_to_contain_text("Greet")  # nothing personal from home
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    scan(page, for_guest.barcode)
    expect(page.get_by_test_id("result")).to_contain_text(for_guest.barcode)
    expect(page.get_by_test_id("result")).to_contain_text("inleveren uiterlijk")
    assert GuestLoan.objects.filter(card_number=GUEST_CARD, lending_organisation=alpha).count() == 1
    page.goto(library_url("alpha", "/uitlening/innemen/"))
    expect(page.get_by_label("Barcode exemplaar")).to_be_focused()
    scan(page, for_guest.barcode)
    expect(page.get_by_test_id("route-message")).to_have_text("TERUG IN DE KAST")
    assert not GuestLoan.objects.filter(card_number=GUEST_CARD).exists()

    # Where is that book? The desk searches the catalogue (cursor in the search box) and opens the title.
    page.goto(library_url("alpha", "/balie/"))
    page.get_by_role("region", name="Uitlening").get_by_role("link", name="Catalogus zoeken").click()
    expect(page.get_by_label("Titel, maker, onderwerp of ISBN (scannen kan ook)")).to_be_focused()
    page.keyboard.type("Balieboek vier")
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Balieboek vier").first.click()
    expect(page.get_by_test_id(f"items-{home.code}")).to_contain_text(for_guest.barcode)
    expect(page.get_by_text("Exemplaren toevoegen")).to_have_count(0)  # changing stays with the collection role

    # Registering a member: the cursor in the first field, each consent checkbox beside its label.
    page.goto(library_url("alpha", "/leden/nieuw/"))
    focused = page.evaluate("document.activeElement && document.activeElement.tagName")
    assert focused in ("INPUT", "SELECT"), focused
    for label in ("Leenhistorie bewaren", "Nieuwsbrief ontvangen"):
        checkbox = page.get_by_label(label)
        box = checkbox.bounding_box()
        text = page.locator("label", has_text=label).bounding_box()
        assert box["width"] < 40, box  # not stretched over the line
        assert text["height"] < 2.2 * box["height"] + 8, (text, box)  # one line: box and text side by side
