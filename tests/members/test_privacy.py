"""Privacy (AVG/GDPR): audit log, data export, erasure on request, loan-history
anonymising; and that no staff of another library reaches any of it."""

import json
from datetime import date, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.errors import ServiceError, error_codes
from members.models import AuditEntry, Block, FormerCard, LedgerEntry, Member, MemberCategory, MemberRules, SubscriptionType
from members.selectors import privacy as privacy_selectors
from members.services import privacy
from members.services.ledger import block_add, ledger_charge, ledger_payment
from staff.models import Role
from tenants.models import CardIndex
from tests.factories import staff_with_role


def privacy_member(organisation, card_number, *, first_name="Anna", last_name="Jansen", pk=None, **fields):
    """A member of `organisation` written straight to its schema (call inside tenant_context)."""
    subscription, _ = SubscriptionType.objects.get_or_create(
        code="privacy-test", defaults={"name": "Standaard", "annual_fee_cents": 2500}
    )
    category, _ = MemberCategory.objects.get_or_create(
        code="privacy-test", defaults={"name": "Volwassene", "min_age": 18, "default_subscription": subscription}
    )
    values = {
        "date_of_birth": date(1983, 5, 2), "street": "Oudegracht", "house_number": "12a", "postcode": "3511 AB",
        "city": "Utrecht", "email": "anna@example.nl", "phone": "0612345678", "notes": "Komt vaak op dinsdag",
        "pin_hash": make_password("4321"), "consent_newsletter_at": timezone.now(),
    }
    values.update(fields)
    if pk is not None:
        values["pk"] = pk
    member = Member.objects.create(card_number=card_number, first_name=first_name, last_name=last_name,
                                   category=category, subscription=subscription, **values)
    CardIndex.objects.create(card_number=card_number, organisation=organisation)
    return member


def privacy_cleanup(member):
    """Remove a committed test member with everything about it (in its library's schema)."""
    LedgerEntry.objects.filter(member_id=member.pk, kind=LedgerEntry.Kind.WAIVER).delete()
    LedgerEntry.objects.filter(member_id=member.pk).delete()
    Block.objects.filter(member_id=member.pk).delete()
    FormerCard.objects.filter(member_id=member.pk).delete()
    AuditEntry.objects.filter(member_id_ref=member.pk).delete()
    Member.objects.filter(pk=member.pk).delete()
    CardIndex.objects.filter(card_number=member.card_number).delete()
    if not Member.objects.filter(category__code="privacy-test").exists():
        MemberCategory.objects.filter(code="privacy-test").delete()
        SubscriptionType.objects.filter(code="privacy-test").delete()


@pytest.fixture
def alpha(libraries):
    with tenant_context(libraries.alpha):
        yield libraries.alpha


# --- audit_record ------------------------------------------------------------------

def test_audit_record_keeps_who_what_and_member_id(alpha, staff):
    member = privacy_member(alpha, "A100001")
    entry = privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=member, action=AuditEntry.Action.VIEW)
    assert (entry.staff_user_id, entry.member_id_ref, entry.action, entry.detail) == (
        staff.alpha_desk.pk, member.pk, "view", {}
    )
    system = privacy.audit_record(actor=Actor.system("test"), member=member.pk, action="block", detail={"kind": "balance"})
    assert system.staff_user_id is None and system.member_id_ref == member.pk
    with pytest.raises(ValueError):
        privacy.audit_record(actor=Actor.system("test"), member=member, action="peek")


def test_audit_log_search_filters_and_finds_searches_that_showed_a_member(alpha, staff):
    anna = privacy_member(alpha, "A100002")
    bert = privacy_member(alpha, "A100003", first_name="Bert")
    privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=anna, action="view")
    privacy.audit_record(actor=Actor.staff(staff.alpha_library_admin), member=bert, action="update",
                         detail={"fields": ["email"]})
    privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=None, action="search",
                         detail={"query": "jansen", "member_ids": [anna.pk, bert.pk]})
    by_member = privacy_selectors.audit_log_search(member_id=anna.pk)
    assert sorted(entry.action for entry in by_member) == ["search", "view"]
    by_staff = privacy_selectors.audit_log_search(staff_user_id=staff.alpha_library_admin.pk)
    assert [entry.member_id_ref for entry in by_staff] == [bert.pk]
    assert [entry.action for entry in privacy_selectors.audit_log_search(action="update")] == ["update"]
    today = timezone.localdate()
    assert privacy_selectors.audit_log_search(date_from=today, date_to=today).count() == 3
    assert privacy_selectors.audit_log_search(date_to=today - timedelta(days=1)).count() == 0
    assert privacy_selectors.audit_member_lookup("a100003") == bert.pk
    assert privacy_selectors.audit_member_lookup(str(anna.pk)) == anna.pk
    assert privacy_selectors.audit_member_lookup("ONBEKEND1") is None


def test_audit_log_screen_for_library_admin_with_filters(client, libraries, staff):
    with tenant_context(libraries.alpha):
        anna = privacy_member(libraries.alpha, "A100004")
        privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=anna, action="view")
        privacy.audit_record(actor=Actor.staff(staff.alpha_library_admin), member=anna, action="update")
    client.force_login(staff.alpha_library_admin)
    response = client.get("/leden/privacy/audit/", {"lid": "A100004", "handeling": "view"},
                          HTTP_HOST="alpha.localhost")
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["entry"].action for row in rows] == ["view"]
    assert rows[0]["staff"] == (staff.alpha_desk.get_full_name() or staff.alpha_desk.username)
    assert "Anna" not in response.content.decode()  # the log shows member numbers, not names
    response = client.get("/leden/privacy/audit/", {"lid": "ONBEKEND9"}, HTTP_HOST="alpha.localhost")
    assert "Geen lid met pasnummer of lidnummer" in response.content.decode()
    response = client.get("/leden/privacy/audit/", {"van": "2026-02-01", "tot": "2026-01-01"},
                          HTTP_HOST="alpha.localhost")
    assert "De begindatum ligt na de einddatum." in response.content.decode()


def test_audit_log_is_for_library_admins_only(client, staff):
    client.force_login(staff.alpha_desk)
    assert client.get("/leden/privacy/audit/", HTTP_HOST="alpha.localhost").status_code == 403


# --- export ------------------------------------------------------------------------

def test_export_holds_everything_about_the_member_and_is_audited(alpha, staff):
    member = privacy_member(alpha, "A100005")
    ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.OTHER, amount_cents=350,
                  actor=Actor.staff(staff.alpha_desk), description="Kopieën")
    block_add(member=member, reason="Gedrag", actor=Actor.staff(staff.alpha_desk))
    FormerCard.objects.create(member=member, card_number="A0OLD01", reason="verloren")
    data = privacy.member_export(member=member, actor=Actor.staff(staff.alpha_desk),
                                 export_format="json")
    parts = {part["sleutel"]: part["gegevens"] for part in data["onderdelen"]}
    # The built-in sections come first, in this order; other apps (notices, loans) add theirs after.
    assert list(parts)[:7] == ["personal", "consents", "subscription", "ledger", "blocks", "former_cards", "audit"]
    assert parts["personal"]["Achternaam"] == "Jansen"
    assert parts["personal"]["Postcode"] == "3511 AB"
    assert parts["personal"]["Pincode ingesteld"] == "ja"
    assert "4321" not in json.dumps(data) and member.pin_hash not in json.dumps(data)
    assert parts["consents"]["Leenhistorie bewaren"] == "niet gegeven"
    assert parts["consents"]["Nieuwsbrief"].startswith("gegeven op")
    assert parts["subscription"]["Abonnement"] == "Standaard"
    assert [row["Bedrag"] for row in parts["ledger"]] == ["€ 3,50"]
    assert [row["Reden"] for row in parts["blocks"]] == ["Gedrag"]
    assert [row["Pasnummer"] for row in parts["former_cards"]] == ["A0OLD01"]
    assert {row["Handeling"] for row in parts["audit"]} >= {"Saldo", "Blokkade"}
    assert AuditEntry.objects.filter(member_id_ref=member.pk, action="export", detail={"format": "json"}).exists()


def test_export_registry_takes_sections_of_other_apps(alpha, staff):
    member = privacy_member(alpha, "A100006")
    privacy_selectors.export_section_register(
        key="loans", title="Leningen", build=lambda m: [{"Titel": "De avonden", "Lid": m.pk}]
    )
    try:
        data = privacy.member_export(member=member, actor=Actor.system("test"), export_format="print")
    finally:
        privacy_selectors.export_section_unregister("loans")
    loans = [part for part in data["onderdelen"] if part["sleutel"] == "loans"]
    assert loans == [{"sleutel": "loans", "titel": "Leningen", "gegevens": [{"Titel": "De avonden", "Lid": member.pk}]}]


def test_export_screens_print_page_and_json_download(client, libraries, staff):
    with tenant_context(libraries.alpha):
        member = privacy_member(libraries.alpha, "A100007")
    client.force_login(staff.alpha_desk)
    page = client.get(f"/leden/privacy/{member.pk}/inzage/", HTTP_HOST="alpha.localhost")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Uw gegevens bij" in text and "Jansen" in text and "Oudegracht" in text
    download = client.get(f"/leden/privacy/{member.pk}/inzage.json", HTTP_HOST="alpha.localhost")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="lid-{member.pk}-gegevens.json"'
    assert json.loads(download.content)["lidnummer"] == member.pk
    with tenant_context(libraries.alpha):
        formats = list(AuditEntry.objects.filter(member_id_ref=member.pk, action="export")
                       .order_by("pk").values_list("detail__format", flat=True))
    assert formats == ["print", "json"]


# --- erasure -----------------------------------------------------------------------

def test_erasure_refused_while_balance_is_open_then_allowed_after_payment(alpha, staff):
    member = privacy_member(alpha, "A100008")
    ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=120,
                  actor=Actor.staff(staff.alpha_desk))
    with pytest.raises(ValidationError) as refused:
        privacy.member_erase(member_id=member.pk, actor=Actor.staff(staff.alpha_desk))
    assert refused.value.messages == [
        "Er staat nog € 1,20 open op de rekening; laat dit eerst betalen of kwijtschelden."
    ]
    assert error_codes(refused.value) == ["erasure.balance_open"]
    member.refresh_from_db()
    assert member.erased_at is None and member.last_name == "Jansen"
    assert CardIndex.objects.filter(card_number="A100008").exists()

    ledger_payment(member=member, amount_cents=200, method=LedgerEntry.PaymentMethod.CASH,
                   actor=Actor.staff(staff.alpha_desk))
    with pytest.raises(ValidationError) as credit:
        privacy.member_erase(member_id=member.pk, actor=Actor.staff(staff.alpha_desk))
    assert "tegoed" in credit.value.messages[0] and error_codes(credit.value) == ["erasure.credit_open"]


def test_erasure_removes_personal_data_and_keeps_anonymous_statistics(alpha, staff):
    guardian = privacy_member(alpha, "A100009", date_of_birth=date(1983, 5, 2))
    ward = privacy_member(alpha, "A100010", first_name="Kim", date_of_birth=date(2015, 1, 1), guardian=guardian)
    ledger_charge(member=guardian, charge_type=LedgerEntry.ChargeType.OTHER, amount_cents=500,
                  actor=Actor.staff(staff.alpha_desk), description="Kopie paspoort van Anna")
    ledger_payment(member=guardian, amount_cents=500, method=LedgerEntry.PaymentMethod.PIN,
                   actor=Actor.staff(staff.alpha_desk))
    block_add(member=guardian, reason="Anna was onbeleefd", actor=Actor.staff(staff.alpha_desk))
    FormerCard.objects.create(member=guardian, card_number="A0OLD02", reason="verloren")
    CardIndex.objects.create(card_number="A0OLD02", organisation=alpha, is_active=False)
    search = privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=None, action="search",
                                  detail={"query": "anna jansen", "member_ids": [guardian.pk, ward.pk]})
    privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=guardian, action="view")
    version = guardian.version

    privacy.member_erase(member_id=guardian.pk, actor=Actor.staff(staff.alpha_desk))

    erased = Member.objects.get(pk=guardian.pk)
    assert erased.erased_at is not None
    assert (erased.first_name, erased.name_prefix, erased.last_name) == ("", "", "(gewist)")
    assert erased.date_of_birth is None and erased.birth_year_bucket == 1980
    assert erased.postcode == "3511"
    assert (erased.street, erased.house_number, erased.city, erased.email, erased.phone, erased.notes,
            erased.pin_hash) == ("", "", "", "", "", "", "")
    assert (erased.consent_loan_history_at, erased.consent_newsletter_at, erased.consent_suggestions_at) == (
        None, None, None
    )
    assert erased.category.code == "privacy-test"
    assert erased.card_number == f"gewist-{guardian.pk}"
    assert erased.version == version + 1
    assert not CardIndex.objects.filter(card_number__in=["A100009", "A0OLD02"]).exists()
    assert not FormerCard.objects.filter(member=erased).exists()
    entries = LedgerEntry.objects.filter(member=erased)
    assert sorted(entry.amount_cents for entry in entries) == [500, 500]
    assert all(entry.description == "" for entry in entries)
    assert list(Block.objects.filter(member=erased).values_list("reason", flat=True)) == [""]
    ward.refresh_from_db()
    assert ward.guardian_id is None and ward.last_name == "Jansen"  # the ward keeps their own data
    search.refresh_from_db()
    assert search.detail == {"query": "(gewist)", "member_ids": [guardian.pk, ward.pk]}
    actions = list(AuditEntry.objects.filter(member_id_ref=guardian.pk).values_list("action", flat=True))
    assert "view" in actions and actions[0] == "erase"  # earlier entries kept, erasure recorded
    # The freed card number may be issued again (nationally).
    assert not CardIndex.objects.filter(card_number="A100009").exists()

    with pytest.raises(ValidationError) as again:
        privacy.member_erase(member_id=guardian.pk, actor=Actor.staff(staff.alpha_desk))
    assert again.value.messages == ["Dit lid is al gewist."]
    assert error_codes(again.value) == ["erasure.already_erased"]
    with pytest.raises(ValidationError) as exported:
        privacy.member_export(member=erased, actor=Actor.system("test"), export_format="json")
    assert exported.value.code == "member_export.erased"


def test_erasure_also_erases_the_duplicate_records_merged_into_the_member(alpha, staff):
    member = privacy_member(alpha, "A100017")
    duplicate = privacy_member(alpha, "A100018", street="Vorige straat", merged_into=member)
    older = privacy_member(alpha, "A100019", city="Amersfoort", merged_into=duplicate)
    FormerCard.objects.create(member=member, card_number="A100018X", reason="samengevoegd")
    other = privacy_member(alpha, "A100020", first_name="Ander")
    privacy.member_erase(member_id=member.pk, actor=Actor.staff(staff.alpha_desk))
    for record in Member.objects.filter(pk__in=[member.pk, duplicate.pk, older.pk]):
        assert record.erased_at is not None
        assert (record.last_name, record.street, record.city, record.card_number) == (
            "(gewist)", "", "", f"gewist-{record.pk}"
        )
    other.refresh_from_db()
    assert other.erased_at is None and other.first_name == "Ander"
    assert not CardIndex.objects.filter(card_number__in=["A100017", "A100018", "A100019", "A100018X"]).exists()
    assert CardIndex.objects.filter(card_number="A100020").exists()
    erase = AuditEntry.objects.get(member_id_ref=member.pk, action="erase")
    assert erase.detail["merged_records"] == [duplicate.pk, older.pk]
    # Every registered obstacle was checked: the balance here, loans and holds from circulation.
    assert erase.detail["checked"][0] == "balance" and {"loans", "holds"} <= set(erase.detail["checked"])


def test_erasure_refused_by_a_registered_open_obligation(alpha, staff):
    member = privacy_member(alpha, "A100011")
    privacy_selectors.erasure_obstacle_register(
        key="test-obligation",
        check=lambda m: [ServiceError("erasure.balance_open", amount="€ 2,00")] if m.pk == member.pk else [],
    )
    try:
        with pytest.raises(ValidationError) as refused:
            privacy.member_erase(member_id=member.pk, actor=Actor.staff(staff.alpha_desk))
        assert refused.value.messages == [
            "Er staat nog € 2,00 open op de rekening; laat dit eerst betalen of kwijtschelden."
        ]
        assert error_codes(refused.value) == ["erasure.balance_open"]
        assert Member.objects.get(pk=member.pk).erased_at is None
    finally:
        privacy_selectors.erasure_obstacle_unregister("test-obligation")
    privacy.member_erase(member_id=member.pk, actor=Actor.staff(staff.alpha_desk))
    assert Member.objects.get(pk=member.pk).erased_at is not None


def test_erase_screen_shows_reasons_and_erases_after_confirmation(client, libraries, staff):
    with tenant_context(libraries.alpha):
        member = privacy_member(libraries.alpha, "A100012")
        charge = ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=75,
                               actor=Actor.staff(staff.alpha_desk))
    client.force_login(staff.alpha_desk)
    url = f"/leden/privacy/{member.pk}/wissen/"
    page = client.get(url, HTTP_HOST="alpha.localhost")
    assert page.status_code == 200
    assert "Er staat nog € 0,75 open op de rekening" in page.content.decode()
    refused = client.post(url, {"confirm": "on"}, HTTP_HOST="alpha.localhost")
    assert "Er staat nog € 0,75 open" in refused.content.decode()
    with tenant_context(libraries.alpha):
        assert Member.objects.get(pk=member.pk).erased_at is None
        ledger_payment(member=member, amount_cents=charge.amount_cents, method=LedgerEntry.PaymentMethod.CASH,
                       actor=Actor.staff(staff.alpha_desk))
    unconfirmed = client.post(url, {}, HTTP_HOST="alpha.localhost")
    assert "Bevestig dat het lid om wissen heeft gevraagd." in unconfirmed.content.decode()
    done = client.post(url, {"confirm": "on"}, HTTP_HOST="alpha.localhost", follow=True)
    assert done.status_code == 200
    assert "zijn gewist" in done.content.decode()
    assert "Jansen" not in done.content.decode()
    with tenant_context(libraries.alpha):
        assert Member.objects.get(pk=member.pk).erased_at is not None
    assert client.get(f"/leden/privacy/{member.pk}/inzage/", HTTP_HOST="alpha.localhost").status_code == 404


# --- loan history ------------------------------------------------------------------

def test_loan_history_anonymise_uses_retention_and_keeps_consented_members(alpha):
    consented = privacy_member(alpha, "A100013", consent_loan_history_at=timezone.now())
    other = privacy_member(alpha, "A100014")
    MemberRules.objects.update_or_create(pk=1, defaults={"loan_history_retention_days": 10})
    today = date(2026, 11, 24)
    # A stand-in for circulation's loan history: (member id, returned on).
    history = [
        [consented.pk, today - timedelta(days=40)],
        [other.pk, today - timedelta(days=40)],
        [other.pk, today - timedelta(days=11)],
        [other.pk, today - timedelta(days=10)],
        [other.pk, None],  # still on loan
    ]
    calls = []

    def anonymise(*, returned_before, keep_member_ids):
        calls.append(returned_before)
        keep = set(keep_member_ids.values_list("pk", flat=True))
        changed = 0
        for row in history:
            if row[0] is not None and row[1] is not None and row[1] < returned_before and row[0] not in keep:
                row[0] = None
                changed += 1
        return changed

    privacy.loan_history_anonymiser_register(key="test-loans", anonymise=anonymise)
    try:
        assert privacy.loan_history_anonymise(actor=Actor.system("nightly"), today=today)["test-loans"] == 2
        assert privacy.loan_history_anonymise(actor=Actor.system("nightly"), today=today)["test-loans"] == 0  # idempotent
    finally:
        privacy.loan_history_anonymiser_unregister("test-loans")
    assert calls == [today - timedelta(days=10)] * 2
    assert [row[0] for row in history] == [consented.pk, None, None, other.pk, other.pk]
    assert "test-loans" not in privacy.loan_history_anonymise(actor=Actor.system("nightly"), today=today)


# --- tenant isolation ----------------------------------------------------------------

def test_staff_of_another_library_cannot_reach_alpha_privacy_screens(client, libraries, staff):
    with tenant_context(libraries.alpha):
        member = privacy_member(libraries.alpha, "A100015")
        privacy.audit_record(actor=Actor.staff(staff.alpha_desk), member=member, action="view")
    beta_admin = staff_with_role(libraries.beta, Role.LIBRARY_ADMIN, username="beta.admin.privacy")
    for user in (staff.beta_desk, beta_admin):
        client.force_login(user)
        for url in ("/leden/privacy/audit/", f"/leden/privacy/{member.pk}/inzage/",
                    f"/leden/privacy/{member.pk}/inzage.json", f"/leden/privacy/{member.pk}/wissen/",
                    "/leden/privacy/import/"):
            assert client.get(url, HTTP_HOST="alpha.localhost").status_code == 403, url
        assert client.post(f"/leden/privacy/{member.pk}/wissen/", {"confirm": "on"},
                           HTTP_HOST="alpha.localhost").status_code == 403
        # On their own host, alpha's member id does not exist.
        for url in (f"/leden/privacy/{member.pk}/inzage/", f"/leden/privacy/{member.pk}/inzage.json",
                    f"/leden/privacy/{member.pk}/wissen/"):
            assert client.get(url, HTTP_HOST="beta.localhost").status_code == 404, url
        assert client.post(f"/leden/privacy/{member.pk}/wissen/", {"confirm": "on"},
                           HTTP_HOST="beta.localhost").status_code == 404
    client.force_login(beta_admin)
    log = client.get("/leden/privacy/audit/", HTTP_HOST="beta.localhost")
    assert log.status_code == 200 and log.context["page"].paginator.count == 0
    log = client.get("/leden/privacy/audit/", {"lid": "A100015"}, HTTP_HOST="beta.localhost")
    assert "Geen lid met pasnummer of lidnummer" in log.content.decode()
    with tenant_context(libraries.alpha):
        assert Member.objects.get(pk=member.pk).erased_at is None
        assert not AuditEntry.objects.filter(member_id_ref=member.pk, action__in=["export", "erase"]).exists()


def test_same_member_id_in_two_libraries_stays_apart(client, libraries, staff):
    with tenant_context(libraries.alpha):
        alpha_member = privacy_member(libraries.alpha, "A100016", last_name="Alfastraat")
    with tenant_context(libraries.beta):
        beta_member = privacy_member(libraries.beta, "B100016", last_name="Betaweg", pk=alpha_member.pk)
    assert beta_member.pk == alpha_member.pk
    client.force_login(staff.beta_desk)
    export = client.get(f"/leden/privacy/{alpha_member.pk}/inzage.json", HTTP_HOST="beta.localhost")
    text = export.content.decode()
    assert "Betaweg" in text and "Alfastraat" not in text and "A100016" not in text
    assert client.post(f"/leden/privacy/{alpha_member.pk}/wissen/", {"confirm": "on"},
                       HTTP_HOST="beta.localhost").status_code == 302
    with tenant_context(libraries.beta):
        assert Member.objects.get(pk=beta_member.pk).erased_at is not None
    with tenant_context(libraries.alpha):
        survivor = Member.objects.get(pk=alpha_member.pk)
        assert survivor.erased_at is None and survivor.last_name == "Alfastraat"
        assert not AuditEntry.objects.filter(member_id_ref=alpha_member.pk, action__in=["export", "erase"]).exists()
    assert CardIndex.objects.filter(card_number="A100016").exists()
    assert not CardIndex.objects.filter(card_number="B100016").exists()
