"""The members' catalogue in a real browser (done means of the OPAC issue): a member
searches, opens a title, signs in, reserves with a pickup branch and sees the queue
position and expected date; desk staff check the copy in; the member sees it ready
with the last pickup day, renews a loan and changes a consent; a newcomer registers
online, verifies the e-mail address (the file mail backend) and signs in. Every
OPAC page is checked with axe-core (WCAG 2.1 A/AA): no serious or critical
violation. Keyboard: the skip link is the first stop and leads to the content."""

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from catalogue.models import Holding, Title
from circulation.models import CirculationEvent, Hold, Loan, Transfer
from circulation.services.loans import checkout
from collection.models import Item, ItemEvent
from core.actors import Actor
from members.models import AuditEntry, CardSignIn, Member, OnlineRegistration
from notices.models import Notice
from staff.models import StaffUser
from tenants.models import CardIndex, LibraryOrganisation
from tests.circulation.conftest import PAID_UNTIL
from tests.circulation.factories import make_items
from tests.factories import PASSWORD, TitleFactory
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup

pytestmark = pytest.mark.django_db

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CARDS = {"member": "OPACB0001", "reader": "OPACB0002"}
TITLE = "Het geheim van de vuurtorenwachter"
OTHER = "Wandelen langs de Vecht"


def axe_check(page, label):
    """axe-core on the page as it is: no serious or critical WCAG 2.1 A/AA violation."""
    assert AXE.exists(), "axe-core is missing: ./lsbctl installs it with npm ci (package.json)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{label}: {bad}"
    return result


@pytest.fixture(scope="module")
def opac_day(django_db_setup, django_db_blocker):
    """Committed in alpha: a member (PIN 1234) with a loan lent 10 days ago, a title
    whose only copy is lent to a reader. Removed afterwards with what the test made."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.filter(is_active=True).order_by("name").first()
        staff = StaffUser.objects.get(username="alpha.desk")
        title = TitleFactory(title=TITLE, contributors_text="Visser, Marte", contributors=[
            {"name": "Visser, Marte", "role": "auteur"}], isbns=["9789044632345"])
        other = TitleFactory(title=OTHER, contributors_text="Berg, Kees")
        actor = Actor.staff(staff, alpha, branch_id=branch.pk)
        with tenant_context(alpha):
            audit_from = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            member = make_member(card_number=CARDS["member"], first_name="Fenna", last_name="Fictief",
                                 email="fenna@example.nl", paid_until=PAID_UNTIL)
            reader = make_member(card_number=CARDS["reader"], first_name="Rik", last_name="Lezer",
                                 paid_until=PAID_UNTIL)
            copy = make_items(alpha, branch=branch, title=title)[0]
            own = make_items(alpha, branch=branch, title=other)[0]
            checkout(actor=actor, card_number=reader.card_number, barcode=copy.barcode)
            checkout(actor=actor, card_number=member.card_number, barcode=own.barcode,
                     now=timezone.now() - datetime.timedelta(days=10))
        connection.set_schema_to_public()
    yield alpha, branch, title, copy, member
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            member_ids = list(Member.objects.filter(
                pk__in=[member.pk, reader.pk]).values_list("pk", flat=True)) + list(
                OnlineRegistration.objects.values_list("member_id", flat=True))
            cards = list(Member.objects.filter(pk__in=member_ids).values_list("card_number", flat=True))
            item_ids = [copy.pk, own.pk]
            Notice.objects.filter(member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(hold__member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(loan__member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(item_id_ref__in=item_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Hold.objects.filter(member_id__in=member_ids).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            ItemEvent.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()
            OnlineRegistration.objects.filter(member_id__in=member_ids).delete()
            CardSignIn.objects.filter(card_number__in=cards).delete()
            AuditEntry.objects.filter(pk__gt=audit_from, member_id_ref__isnull=True).delete()
            money_cleanup(member_ids)
        CardIndex.objects.filter(card_number__in=cards).delete()
        Holding.objects.filter(title_id__in=[title.pk, other.pk]).delete()
        Title.objects.filter(pk__in=[title.pk, other.pk]).delete()
        connection.set_schema_to_public()


@pytest.fixture
def page(browser):
    """A page whose Content-Security-Policy lets the test inject axe-core (the site's
    own policy allows only LSB's static scripts)."""
    context = browser.new_context(locale="nl-NL", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def test_a_members_day_in_the_catalogue(page, browser, library_url, opac_day, settings, tmp_path):
    alpha, branch, title, copy, member = opac_day
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)

    # Home: the skip link is the first keyboard stop and leads to the content.
    page.goto(library_url("alpha", "/"))
    expect(page.get_by_role("heading", name="Testbibliotheek alpha", level=1)).to_be_visible()
    axe_check(page, "home")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Naar de inhoud")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#inhoud$"))

    # Search and open the title.
    page.get_by_label("Zoeken in de catalogus van Testbibliotheek alpha").fill("vuurtorenwachter")
    page.get_by_label("Zoeken in de catalogus van Testbibliotheek alpha").press("Enter")
    result = page.get_by_test_id("result").filter(has_text=TITLE)
    expect(result).to_contain_text(f"{branch.name}: uitgeleend")
    axe_check(page, "search")
    result.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.get_by_test_id("copies")).to_contain_text("Uitgeleend")
    axe_check(page, "title")

    # Reserve: to the sign-in page first, then back to the reservation with its fee.
    page.get_by_label("Ophalen in vestiging").select_option(str(branch.pk))
    page.get_by_role("button", name="Reserveren").click()
    expect(page.get_by_role("heading", name="Aanmelden")).to_be_visible()
    axe_check(page, "sign-in")
    page.get_by_label("Pasnummer").fill(CARDS["member"])
    page.get_by_label("Pincode").fill("1234")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", name="Reserveren")).to_be_visible()
    expect(page.get_by_test_id("hold-fee")).to_be_visible()
    axe_check(page, "reserve")
    page.get_by_role("button", name="Reservering bevestigen").click()
    expect(page.locator(".messages")).to_contain_text(f"U haalt het op in {branch.name}")
    hold = page.get_by_test_id("hold").filter(has_text=TITLE)
    expect(hold.get_by_test_id("queue-position")).to_have_text("Plaats in de wachtrij: 1")
    expect(hold.get_by_test_id("expected-date")).to_contain_text("Verwacht:")
    axe_check(page, "account")

    # At the desk (another browser context): the reader brings the copy back here.
    desk = browser.new_context(locale="nl-NL").new_page()
    desk.goto(library_url("alpha", "/balie/inloggen/"))
    desk.get_by_label("Gebruikersnaam").fill("alpha.desk")
    desk.get_by_label("Wachtwoord").fill(PASSWORD)
    desk.get_by_role("button", name="Inloggen").click()
    desk.goto(library_url("alpha", "/uitlening/innemen/"))
    desk.get_by_label("Barcode exemplaar").fill(copy.barcode)
    desk.get_by_label("Barcode exemplaar").press("Enter")
    expect(desk.get_by_test_id("route-message")).to_have_text("RESERVERINGSPLANK")
    desk.context.close()

    # The member sees it ready, with the last day to pick it up.
    page.reload()
    ready = page.get_by_test_id("ready-hold").filter(has_text=TITLE)
    with tenant_context(alpha):
        shelf_until = Hold.objects.get(member_id=member.pk, title_id=title.pk).shelf_until
    connection.set_schema_to_public()
    expect(ready).to_contain_text(f"ligt klaar in {branch.name}, ophalen uiterlijk")
    expect(ready).to_contain_text(str(shelf_until.year))

    # Renew the other loan.
    loan_row = page.get_by_test_id("loan").filter(has_text=OTHER)
    loan_row.get_by_role("button", name=f"Verleng {OTHER}").click()
    expect(page.locator(".messages")).to_contain_text("Verlengd tot en met")
    axe_check(page, "account after renewal")

    # Change a consent.
    page.get_by_role("link", name="Mijn gegevens en toestemmingen").click()
    axe_check(page, "profile")
    page.get_by_label("Stuur mij de nieuwsbrief van de bibliotheek").check()
    page.get_by_role("button", name="Keuzes opslaan").click()
    expect(page.locator(".messages")).to_contain_text("Uw keuzes zijn opgeslagen.")
    expect(page.get_by_label("Stuur mij de nieuwsbrief van de bibliotheek")).to_be_checked()
    with tenant_context(alpha):
        assert Member.objects.get(pk=member.pk).consent_newsletter_at is not None
    connection.set_schema_to_public()
    for path, label in (("/mijn/pincode/", "pin change"), ("/mijn/leenhistorie/", "history")):
        page.goto(library_url("alpha", path))
        axe_check(page, label)
    page.get_by_role("button", name="Afmelden").click()
    expect(page.locator(".messages")).to_contain_text("U bent afgemeld.")

    # English, and back.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("link", name="Search")).to_be_visible()
    axe_check(page, "home in English")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_role("link", name="Zoeken", exact=True)).to_be_visible()

    # A newcomer registers online, verifies the e-mail address and signs in.
    page.goto(library_url("alpha", "/registreren/"))
    axe_check(page, "register")
    page.get_by_role("button", name="Inschrijven").click()  # empty: every problem at once, in Dutch
    expect(page.locator(".field-error").first).to_be_visible()
    axe_check(page, "register with errors")
    page.get_by_label("Voornaam").fill("Nina")
    page.get_by_label("Achternaam").fill("Nieuwkomer")
    page.get_by_label("Geboortedatum").fill("2012-04-01")
    page.get_by_label("Postcode").fill("3511 AB")
    page.get_by_label("Huisnummer").fill("14")
    page.get_by_label("Straat").fill("Oudegracht")
    page.get_by_label("Plaats").fill("Utrecht")
    page.locator("#id_email").fill("nina@example.nl")
    page.get_by_label("Kies een pincode (4 tot 12 cijfers)").fill("8642")
    page.get_by_label("Pincode nog een keer").fill("8642")
    page.get_by_role("button", name="Inschrijven").click()
    card = page.get_by_test_id("new-card").inner_text()
    axe_check(page, "registered")
    mails = "".join(path.read_text() for path in tmp_path.iterdir())
    link = re.search(r"(http://alpha\.localhost:\d+/registreren/bevestigen/[^/\s]+/)", mails).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", name="E-mailadres bevestigd")).to_be_visible()
    axe_check(page, "verified")
    page.get_by_role("link", name="Aanmelden", exact=True).last.click()
    page.get_by_label("Pasnummer").fill(card)
    page.get_by_label("Pincode").fill("8642")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("heading", name="Mijn bibliotheek")).to_be_visible()
    expect(page.get_by_text("Welkom, Nina")).to_be_visible()

    # Pages without a member: forgotten PIN, an unknown title, national search.
    page.get_by_role("button", name="Afmelden").click()
    page.goto(library_url("alpha", "/pincode-vergeten/"))
    axe_check(page, "pin forgotten")
    page.goto(library_url("alpha", "/titel/999999999-onbekend/"))
    expect(page.get_by_role("heading", name="Titel niet gevonden")).to_be_visible()
    axe_check(page, "unknown title")
    page.goto(library_url("alpha", "/zoeken/?q=" + "x" * 300))
    axe_check(page, "too long a search")
    national = library_url("alpha", "/").replace("alpha.localhost", "localhost")
    page.goto(national)
    axe_check(page, "national home")
    page.goto(national + "zoeken/?q=vuurtorenwachter")
    expect(page.get_by_test_id("result").filter(has_text=TITLE)).to_be_visible()
    axe_check(page, "national search")
    page.screenshot(path="/tmp/lsb-opac-national-search.png", full_page=True)
