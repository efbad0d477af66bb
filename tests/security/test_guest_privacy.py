"""Guest lending between libraries (issue 14, findings 1 and 12): a lending desk
learns only "may borrow: yes / no" and a reason category, each lookup is in the
home library's audit log; a charge another library asks for is capped by the home
library's rule and listed there with that library named."""

import datetime

import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from circulation.services.loans import loan_mark_lost
from core.actors import Actor
from members.models import AuditEntry, GuestCharge, LedgerEntry, MemberRules
from members.services.ledger import block_add, ledger_charge, member_rules_update
from tests.circulation.factories import make_rule
from tests.circulation.helpers import lend, refused
from tests.members.factories import make_member
from tests.outbox import outbox_deliver_all

ALPHA = "alpha.localhost"
BETA = "beta.localhost"
GUEST_CARD = "B7000001"
SECRET_REASON = "Boeken niet terug, mevrouw is ziek (ex-partner bellen)"


@pytest.fixture
def guest(desk, libraries):
    """A member of beta with a manual block (free text), a balance above beta's limit and
    a membership that ran out."""
    with tenant_context(libraries.beta):
        member = make_member(card_number=GUEST_CARD, first_name="Bram", last_name="Bakker",
                             paid_until=datetime.date(2026, 3, 31))
        system = Actor.system("test", libraries.beta)
        block_add(actor=system, member=member, reason=SECRET_REASON)
        ledger_charge(actor=system, member=member, charge_type="other", amount_cents=4321, description="x")
    _forget_lookups()
    return member


def _forget_lookups():
    """The once-a-minute marks of guest lookups outlive each rolled-back test."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter("*lsb:guest-lookup:*"):
        client.delete(key)


def _shown(html):
    return html.replace("&#x27;", "'")


def test_the_lending_desk_sees_only_yes_no_and_categories(client, libraries, staff, desk, guest):
    client.force_login(staff.alpha_desk)
    html = _shown(client.get("/uitlening/uitlenen/", {"pas": GUEST_CARD}, HTTP_HOST=ALPHA).content.decode())
    assert 'data-testid="may-not-borrow"' in html
    assert "geblokkeerd door de eigen bibliotheek" in html
    assert "openstaand saldo boven de grens van de eigen bibliotheek" in html
    assert "lidmaatschap verlopen" in html
    for secret in (SECRET_REASON, "43,21", "31-03-2026", "Bakker", "Bram"):
        assert secret not in html, secret
    # The refusal of a scan says no more.
    [item] = desk.items()
    error = refused(lambda: lend(desk, item, card=GUEST_CARD), item)
    text = " ".join(error.messages)
    assert error.refusals[0].params["category"] == "guest.blocked_by_home"
    for secret in (SECRET_REASON, "43,21", "31-03-2026"):
        assert secret not in text


def test_each_lookup_is_in_the_home_librarys_audit_log_and_on_the_member_page(client, libraries, staff, desk, guest):
    client.force_login(staff.alpha_desk)
    client.get("/uitlening/uitlenen/", {"pas": GUEST_CARD}, HTTP_HOST=ALPHA)
    client.get("/uitlening/uitlenen/", {"pas": GUEST_CARD}, HTTP_HOST=ALPHA)  # the same minute: one record
    with tenant_context(libraries.beta):
        [entry] = AuditEntry.objects.filter(member_id_ref=guest.pk, action="guest")
    assert entry.staff_user_id == staff.alpha_desk.pk
    assert entry.detail["library"] == libraries.alpha.name and entry.detail["account"] == "alpha.desk"
    assert entry.detail["branch"] == desk.main.name and entry.detail["may_borrow"] is False
    assert "guest.blocked_by_home" in entry.detail["categories"]
    assert SECRET_REASON not in str(entry.detail)

    beta = client.__class__()
    beta.force_login(staff.beta_desk)
    page = beta.get(f"/leden/{guest.pk}/", HTTP_HOST=BETA).content.decode()
    assert 'data-testid="guest-lookups"' in page and libraries.alpha.name in page and "alpha.desk" in page


def test_a_refused_scan_is_recorded_too(libraries, desk, guest):
    [item] = desk.items()
    refused(lambda: lend(desk, item, card=GUEST_CARD), item)
    with tenant_context(libraries.beta):
        assert AuditEntry.objects.filter(member_id_ref=guest.pk, action="guest").count() == 1


# --- charges from another library (finding 12) ---------------------------------------------

@pytest.fixture
def good_guest(desk, libraries):
    with tenant_context(libraries.beta):
        member = make_member(card_number="B7000002", first_name="Gea", last_name="Goed",
                             paid_until=datetime.date.today() + datetime.timedelta(days=300))
    return member


def _lose(desk, libraries, price_cents):
    make_rule(for_guests=True, loan_days=21)
    [item] = desk.items()
    loan = lend(desk, item, card="B7000002").loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, replacement_cents=price_cents)
    return [delivery.state for delivery in outbox_deliver_all()]


def test_a_lost_item_charge_from_another_library_is_capped_and_listed(client, libraries, staff, desk, good_guest):
    assert _lose(desk, libraries, 10_000_000) == ["done"]  # EUR 100.000 asked
    with tenant_context(libraries.beta):
        [entry] = LedgerEntry.objects.filter(member=good_guest, charge_type="lost_item")
        [guest_charge] = GuestCharge.objects.all()
    assert entry.amount_cents == MemberRules().guest_charge_max_cents == 7500
    assert entry.description.startswith(f"Gastlening bij {libraries.alpha.name}: ")
    assert "gevraagd € 100.000,00, begrensd op € 75,00" in entry.description
    assert (guest_charge.asked_cents, guest_charge.charged_cents, guest_charge.lending_organisation_id) == (
        10_000_000, 7500, libraries.alpha.pk)
    client.force_login(staff.beta_desk)
    page = client.get("/leden/geld/gastleenkosten/", HTTP_HOST=BETA).content.decode()
    assert libraries.alpha.name in page and "€ 100.000,00" in page and "begrensd" in page and "Gea" in page
    with tenant_context(libraries.beta):  # the list of members shown is audited
        assert AuditEntry.objects.filter(action="search", detail__contains={"member_ids": [good_guest.pk]}).exists()


def test_a_home_library_that_allows_nothing_books_nothing_but_lists_it(libraries, staff, desk, good_guest):
    with tenant_context(libraries.beta):
        member_rules_update(actor=Actor.system("test", libraries.beta), balance_block_cents=1000,
                            block_when_expired=True, loan_history_retention_days=30, guest_charge_max_cents=0)
    assert _lose(desk, libraries, 2500) == ["done"]
    with tenant_context(libraries.beta):
        assert not LedgerEntry.objects.filter(member=good_guest, charge_type="lost_item").exists()
        [guest_charge] = GuestCharge.objects.all()
        assert (guest_charge.asked_cents, guest_charge.charged_cents, guest_charge.entry_id) == (2500, 0, None)


def test_the_rules_screen_sets_the_cap(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.post("/leden/geld/regels/", {
        "balance_block": "10,00", "loan_history_retention_days": "30", "online_confirmation": "email",
        "guest_charge_max": "25,00"}, HTTP_HOST=ALPHA)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(libraries.alpha):
        assert MemberRules.objects.get().guest_charge_max_cents == 2500
