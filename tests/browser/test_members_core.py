"""A desk user, in a real browser: registers a member (with a bad postcode first),
finds her by name, edits her, replaces her lost card (the old card is then refused
at the search), registers a duplicate by mistake and merges it; takes a payment."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from members.models import AuditEntry, Block, FormerCard, LedgerEntry, Member, MemberCategory, SubscriptionType
from tenants.models import CardIndex, LibraryOrganisation
from tests.factories import PASSWORD
from tests.members.factories import default_categories

pytestmark = pytest.mark.django_db

CARDS = ["BRWCORE01", "BRWCORE02", "BRWCORE03"]


@pytest.fixture(scope="module")
def alpha_with_categories(django_db_setup, django_db_blocker):
    """Alpha's default categories, committed (the live server sees only committed data);
    afterwards everything the test created is removed again."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        with tenant_context(alpha):
            existed = set(SubscriptionType.objects.values_list("code", flat=True))
            default_categories()
        connection.set_schema_to_public()
    yield alpha
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            ids = list(Member.objects.filter(card_number__in=CARDS).values_list("pk", flat=True))
            ids += list(FormerCard.objects.filter(card_number__in=CARDS).values_list("member_id", flat=True))
            ids += list(Member.objects.filter(merged_into_id__in=ids).values_list("pk", flat=True))
            LedgerEntry.objects.filter(member_id__in=ids, kind="waiver").delete()
            LedgerEntry.objects.filter(member_id__in=ids).delete()
            Block.objects.filter(member_id__in=ids).delete()
            FormerCard.objects.filter(member_id__in=ids).delete()
            AuditEntry.objects.filter(member_id_ref__in=ids).delete()
            AuditEntry.objects.filter(action="search", staff_user__username="alpha.desk").delete()
            Member.objects.filter(pk__in=ids).update(merged_into=None)
            Member.objects.filter(pk__in=ids).delete()
            if not existed:
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number__in=CARDS).delete()
        connection.set_schema_to_public()


def scan(field, code):
    field.press_sequentially(code)
    field.press("Enter")


def fill_member(page, *, card, postcode):
    page.get_by_label("Pasnummer (scan de nieuwe pas)").fill(card)
    page.get_by_label("Voornaam").fill("Femke")
    page.get_by_label("Achternaam").fill("Brouwer")
    page.get_by_label("Geboortedatum").fill("1991-09-23")
    page.get_by_label("Straat").fill("Twijnstraat")
    page.get_by_label("Huisnummer").fill("8")
    page.get_by_label("Postcode").fill(postcode)
    page.get_by_label("Plaats").fill("Utrecht")
    page.get_by_label("E-mail").fill("femke@example.nl")
    page.get_by_label("Pincode (minstens 4 cijfers)").fill("5678")


def test_desk_registers_finds_edits_replaces_card_and_merges(page, library_url, alpha_with_categories):
    page.goto(library_url("alpha", "/balie/inloggen/"))
    page.get_by_label("Gebruikersnaam").fill("alpha.desk")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    members_card = page.get_by_role("region", name="Leden")
    members_card.get_by_role("link", name="Nieuw lid inschrijven").click()

    # A bad postcode: a Dutch message, nothing saved, what was typed stays.
    fill_member(page, card="BRWCORE01", postcode="35123")
    page.get_by_label("Leestips ontvangen").check()
    page.get_by_role("button", name="Inschrijven").click()
    expect(page.get_by_test_id("errors")).to_contain_text("'35123' is geen geldige postcode")
    expect(page.get_by_label("Voornaam")).to_have_value("Femke")
    page.get_by_label("Postcode").fill("3512 ea")
    page.get_by_label("Pincode (minstens 4 cijfers)").fill("5678")
    page.get_by_role("button", name="Inschrijven").click()
    expect(page.locator(".messages")).to_contain_text("is ingeschreven met pas BRWCORE01")
    expect(page.get_by_test_id("membership")).to_contain_text("Volwassene")
    expect(page.get_by_test_id("balance")).to_have_text("€ 45,00")
    expect(page.get_by_test_id("consents")).to_contain_text("Leestips: ja")

    # Take the payment.
    page.get_by_role("link", name="Betaling").click()
    page.get_by_role("button", name="Betaling boeken").click()
    expect(page.get_by_test_id("balance")).to_have_text("€ 0,00")

    # Find her by name and edit.
    page.goto(library_url("alpha", "/leden/"))
    page.get_by_label("Pasnummer, naam, e-mail, geboortedatum of postcode + huisnummer").fill("femke brouwer")
    page.get_by_role("button", name="Zoeken").click()
    page.get_by_test_id("results").get_by_role("link", name="Brouwer, Femke").click()
    page.get_by_role("link", name="Wijzigen").click()
    page.get_by_label("Telefoon").fill("06 12345678")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.locator(".messages")).to_contain_text("De gegevens zijn opgeslagen")
    expect(page.get_by_test_id("personal")).to_contain_text("06 12345678")

    # She lost her card.
    page.get_by_role("link", name="Pas vervangen").click()
    scan(page.get_by_label("Nieuw pasnummer (scan de nieuwe pas)"), "BRWCORE02")
    expect(page.locator(".messages")).to_contain_text("Pas BRWCORE01 is geblokkeerd")
    expect(page.get_by_test_id("card-number")).to_have_text("BRWCORE02")
    expect(page.get_by_test_id("former-cards")).to_contain_text("BRWCORE01")
    page.goto(library_url("alpha", "/leden/"))
    scan(page.get_by_label("Pasnummer, naam, e-mail, geboortedatum of postcode + huisnummer"), "BRWCORE01")
    expect(page.get_by_test_id("old-card")).to_contain_text("Pas BRWCORE01 is niet meer geldig")
    page.get_by_test_id("old-card").get_by_role("link").click()
    kept_url = page.url

    # A colleague registered her again by mistake: merge.
    page.goto(library_url("alpha", "/leden/nieuw/"))
    fill_member(page, card="BRWCORE03", postcode="3512 EA")
    page.get_by_role("button", name="Inschrijven").click()
    expect(page.locator(".messages")).to_contain_text("is ingeschreven met pas BRWCORE03")
    page.goto(kept_url)
    page.get_by_role("link", name="Samenvoegen met dubbele inschrijving").click()
    scan(page.get_by_label("Pasnummer of lidnummer van de dubbele inschrijving"), "BRWCORE03")
    expect(page.get_by_test_id("merge-compare")).to_contain_text("BRWCORE03")
    page.get_by_role("button", name="Samenvoegen").click()
    expect(page.locator(".messages")).to_contain_text("Pas BRWCORE03 is samengevoegd")
    expect(page.get_by_test_id("former-cards")).to_contain_text("BRWCORE03")
    expect(page.get_by_test_id("balance")).to_have_text("€ 45,00")
