"""The member screens in the browser's place: desk role, Dutch messages, audit of
every view, and no reach into another library."""

import datetime

import pytest
from django_tenants.utils import tenant_context

from members.models import AuditEntry, FormerCard, LedgerEntry, Member, MemberCategory, SubscriptionType
from tenants.models import CardIndex

from .factories import make_member

ALPHA = "alpha.localhost"
BETA = "beta.localhost"


def registration_post(**overrides):
    data = {
        "card_number": "SCHERM001", "first_name": "Sanne", "name_prefix": "van", "last_name": "Dijk",
        "date_of_birth": "1990-04-01", "street": "Lange Nieuwstraat", "house_number": "3", "postcode": "3512pn",
        "city": "Utrecht", "email": "sanne@example.nl", "phone": "030 1234567", "preferred_branch": "",
        "subscription": "", "guardian_card": "", "pin": "24680", "consent_newsletter": "on", "notes": "",
    }
    data.update(overrides)
    return data


def test_desk_home_shows_the_members_card_for_desk_staff(client, staff, member_defaults):
    client.force_login(staff.alpha_desk)
    page = client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    assert 'aria-label="Leden"' in page and "/leden/nieuw/" in page
    assert "/leden/categorieen/" not in page
    client.force_login(staff.alpha_collection)
    assert 'aria-label="Leden"' not in client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    client.force_login(staff.alpha_library_admin)
    assert "/leden/categorieen/" in client.get("/balie/", HTTP_HOST=ALPHA).content.decode()


def test_register_screen_registers_and_shows_the_member(client, libraries, staff, member_defaults):
    client.force_login(staff.alpha_desk)
    assert client.get("/leden/nieuw/?pas=SCHERM001", HTTP_HOST=ALPHA).status_code == 200
    response = client.post("/leden/nieuw/", registration_post(), HTTP_HOST=ALPHA)
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_HOST=ALPHA).content.decode()
    assert "ingeschreven met pas SCHERM001" in page and "€ 45,00" in page
    assert "Sanne van Dijk" in page and "3512 PN" in page and "Volwassene" in page
    assert 'data-testid="account"' in page and 'data-testid="privacy-actions"' in page
    assert "24680" not in page
    with tenant_context(libraries.alpha):
        member = Member.objects.get(card_number="SCHERM001")
        assert member.consent_newsletter_at and not member.consent_loan_history_at
        assert AuditEntry.objects.filter(member_id_ref=member.pk, action="view").exists()


def test_register_screen_shows_every_problem_and_saves_nothing(client, libraries, staff, member_defaults):
    client.force_login(staff.alpha_desk)
    response = client.post("/leden/nieuw/", registration_post(
        postcode="12345", email="sanne@", pin="1", date_of_birth="2999-01-01"), HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 400
    for message in ("geen geldige postcode", "geen geldig e-mailadres", "minstens 4 cijfers", "in de toekomst"):
        assert message in page
    assert 'value="Sanne"' in page  # what was typed stays
    with tenant_context(libraries.alpha):
        assert not Member.objects.exists()
    assert not CardIndex.objects.filter(card_number="SCHERM001").exists()


def test_register_screen_refuses_a_card_of_another_library(client, libraries, staff, member_defaults):
    with tenant_context(libraries.beta):
        make_member(card_number="BETAPAS01")
    client.force_login(staff.alpha_desk)
    response = client.post("/leden/nieuw/", registration_post(card_number="BETAPAS01"), HTTP_HOST=ALPHA)
    assert response.status_code == 400
    assert "al uitgegeven door een andere bibliotheek" in response.content.decode()


def test_minor_with_guardian_card_registers_free(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        parent = make_member(card_number="OUDER0001")
    client.force_login(staff.alpha_desk)
    response = client.post("/leden/nieuw/", registration_post(
        card_number="KIND00001", date_of_birth="2016-05-05", guardian_card="ouder0001"), HTTP_HOST=ALPHA)
    assert response.status_code == 302
    with tenant_context(libraries.alpha):
        child = Member.objects.get(card_number="KIND00001")
        assert child.guardian_id == parent.pk and child.subscription.for_youth
        assert not LedgerEntry.objects.filter(member=child).exists()
    response = client.post("/leden/nieuw/", registration_post(
        card_number="KIND00002", date_of_birth="2016-05-05", guardian_card="ONBEKEND1"), HTTP_HOST=ALPHA)
    assert response.status_code == 400 and "ouder/verzorger" in response.content.decode()


def test_search_scan_goes_to_member_and_results_are_audited(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        anna = make_member(card_number="ZOEK00001", first_name="Anna", last_name="Bakker")
        make_member(card_number="ZOEK00002", first_name="Bram", last_name="Bakker")
    client.force_login(staff.alpha_desk)
    response = client.post("/leden/", {"q": "zoek00001"}, HTTP_HOST=ALPHA)
    assert response.status_code == 302 and response["Location"] == f"/leden/{anna.pk}/"
    page = client.post("/leden/", {"q": "bakker"}, HTTP_HOST=ALPHA).content.decode()
    assert "2 leden gevonden" in page and "ZOEK00002" in page
    with tenant_context(libraries.alpha):
        search = AuditEntry.objects.filter(action="search").latest("pk")
        # Which criteria, never the typed text (issue 14).
        assert search.detail["query"] == {"fields": ["q"]} and len(search.detail["member_ids"]) == 2
        assert search.staff_user_id == staff.alpha_desk.pk


def test_scanning_a_replaced_card_is_refused(client, libraries, staff, member_defaults):
    client.force_login(staff.alpha_desk)
    with tenant_context(libraries.alpha):
        member = make_member(card_number="VERLOREN1")
    page = client.get(f"/leden/{member.pk}/pas-vervangen/", HTTP_HOST=ALPHA).content.decode()
    assert "VERLOREN1" in page
    response = client.post(f"/leden/{member.pk}/pas-vervangen/", {
        "new_card_number": "VERVANG01", "reason": "Verloren", "reason_other": "", "fee": "2,50", "version": "1",
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 302
    page = client.post("/leden/", {"q": "VERLOREN1"}, HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="old-card"' in page and "niet meer geldig" in page and "VERVANG01" in page
    with tenant_context(libraries.alpha):
        assert FormerCard.objects.get(card_number="VERLOREN1").member_id == member.pk
        assert LedgerEntry.objects.filter(member=member, charge_type="card_replacement", amount_cents=250).exists()


def test_two_desks_editing_the_same_member(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        member = make_member(card_number="BEWERK001")
    client.force_login(staff.alpha_desk)
    form = client.get(f"/leden/{member.pk}/wijzigen/", HTTP_HOST=ALPHA).content.decode()
    assert 'name="version"' in form and 'value="1"' in form
    data = registration_post(first_name="Anna", last_name="de Vries", email="eerst@example.nl", version="1")
    del data["card_number"]
    assert client.post(f"/leden/{member.pk}/wijzigen/", data, HTTP_HOST=ALPHA).status_code == 302
    data["email"] = "later@example.nl"
    response = client.post(f"/leden/{member.pk}/wijzigen/", data, HTTP_HOST=ALPHA)
    assert response.status_code == 400
    assert "intussen door iemand anders gewijzigd" in response.content.decode()
    with tenant_context(libraries.alpha):
        assert Member.objects.get(pk=member.pk).email == "eerst@example.nl"


def test_renew_button(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        member = make_member(card_number="VERLENG01")
        end = member.expires_on
    client.force_login(staff.alpha_desk)
    response = client.post(f"/leden/{member.pk}/verlengen/", {"version": "1"}, HTTP_HOST=ALPHA, follow=True)
    assert "Lidmaatschap verlengd" in response.content.decode()
    response = client.post(f"/leden/{member.pk}/verlengen/", {"version": "1"}, HTTP_HOST=ALPHA, follow=True)
    assert "intussen door iemand anders gewijzigd" in response.content.decode()
    with tenant_context(libraries.alpha):
        member.refresh_from_db()
        assert member.expires_on > end
        assert LedgerEntry.objects.filter(member=member, charge_type="subscription").count() == 2


def test_merge_screen_compares_then_merges(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        keep = make_member(card_number="HOUDEN001")
        dup = make_member(card_number="DUBBEL001")
    client.force_login(staff.alpha_desk)
    page = client.get(f"/leden/{keep.pk}/samenvoegen/?other=dubbel001", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="merge-compare"' in page and "DUBBEL001" in page
    response = client.post(f"/leden/{keep.pk}/samenvoegen/", {"other": "DUBBEL001", "confirm": "1"},
                           HTTP_HOST=ALPHA)
    assert response.status_code == 302
    # The duplicate's page leads to the kept member.
    response = client.get(f"/leden/{dup.pk}/", HTTP_HOST=ALPHA)
    assert response.status_code == 302 and response["Location"] == f"/leden/{keep.pk}/"
    page = client.get(f"/leden/{keep.pk}/samenvoegen/?other=onbekend", HTTP_HOST=ALPHA)
    assert page.status_code == 400 and "Geen lid met pasnummer" in page.content.decode()


def test_categories_screen_for_library_admin(client, libraries, staff, member_defaults):
    client.force_login(staff.alpha_desk)
    assert client.get("/leden/categorieen/", HTTP_HOST=ALPHA).status_code == 403
    client.force_login(staff.alpha_library_admin)
    page = client.get("/leden/categorieen/", HTTP_HOST=ALPHA).content.decode()
    assert "Standaard" in page and "Jeugd" in page
    response = client.post("/leden/categorieen/", {
        "kind": "subscription", "id": "", "s-code": "kids", "s-name": "Kids", "s-annual_fee": "5,00",
        "s-max_loans": "10", "s-for_youth": "on", "s-is_active": "on",
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 400 and "Een jeugdabonnement is gratis" in response.content.decode()
    response = client.post("/leden/categorieen/", {
        "kind": "subscription", "id": "", "s-code": "plus", "s-name": "Plus", "s-annual_fee": "62,50",
        "s-max_loans": "30", "s-includes": "Alles", "s-is_active": "on",
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 302
    with tenant_context(libraries.alpha):
        plus = SubscriptionType.objects.get(code="plus")
        assert plus.annual_fee_cents == 6250 and not plus.for_youth
    response = client.post("/leden/categorieen/", {
        "kind": "category", "id": "", "c-code": "senior", "c-name": "Senior", "c-min_age": "65", "c-max_age": "",
        "c-default_subscription": str(plus.pk),
    }, HTTP_HOST=ALPHA)
    assert response.status_code == 400 and "overlappen" in response.content.decode()
    with tenant_context(libraries.alpha):
        assert not MemberCategory.objects.filter(code="senior").exists()


def test_screens_need_the_desk_role(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        member = make_member(card_number="ROLLEN001")
    client.force_login(staff.alpha_collection)
    for url in ("/leden/", "/leden/nieuw/", f"/leden/{member.pk}/", f"/leden/{member.pk}/wijzigen/",
                f"/leden/{member.pk}/pas-vervangen/", f"/leden/{member.pk}/samenvoegen/"):
        assert client.get(url, HTTP_HOST=ALPHA).status_code == 403, url
    client.logout()
    assert client.get(f"/leden/{member.pk}/", HTTP_HOST=ALPHA).status_code == 302


def test_staff_of_another_library_cannot_reach_alpha_members(client, libraries, staff, member_defaults):
    """alpha and beta both have a member with the same id: each desk sees only its own."""
    with tenant_context(libraries.alpha):
        alpha_member = make_member(card_number="ALFA00001", first_name="Alfons")
    with tenant_context(libraries.beta):
        # A minor: nothing on the account, so the id can be set to alpha's member's id.
        beta_member = make_member(card_number="BETA00001", first_name="Beatrix",
                                  date_of_birth=datetime.date(2014, 1, 1))
        if beta_member.pk != alpha_member.pk:
            Member.objects.filter(pk=beta_member.pk).update(id=alpha_member.pk)
    client.force_login(staff.beta_desk)
    # beta's desk on alpha's host: refused outright.
    for url in (f"/leden/{alpha_member.pk}/", "/leden/", "/leden/nieuw/"):
        assert client.get(url, HTTP_HOST=ALPHA).status_code == 403
    # On its own host the same id is beta's member; alpha's card is unknown.
    page = client.get(f"/leden/{alpha_member.pk}/", HTTP_HOST=BETA).content.decode()
    assert "Beatrix" in page and "Alfons" not in page
    page = client.post("/leden/", {"q": "ALFA00001"}, HTTP_HOST=BETA).content.decode()
    assert "0 leden gevonden" in page and "Alfons" not in page
    assert client.get("/leden/999999/", HTTP_HOST=BETA).status_code == 404
