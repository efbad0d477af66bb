"""Registration and the member record: validation, national card uniqueness, the
under-18 rule, optimistic locking, renewal, card replacement, merge, the daily
age transition and expiry, categories and subscriptions."""

import datetime

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail
from django_tenants.utils import tenant_context

from core.actors import Actor
from members.models import AuditEntry, Block, FormerCard, LedgerEntry, Member, MemberCategory, SubscriptionType
from members.selectors.ledger import member_balance_cents, member_may_borrow
from members.selectors.registration import age_on, member_by_card, member_search, members_turned_adult
from members.services import registration as services
from members.services.ledger import block_add, ledger_charge
from tenants.models import CardIndex

from tests.refusals import refused

from .factories import make_member

TODAY = datetime.date(2025, 6, 15)


def register(org, staff_user=None, **fields):
    """Register through the service in `org` (the connection is in its schema): by
    `staff_user` at the desk, else by the system."""
    values = {
        "card_number": "ALPHA0001", "first_name": "Anna", "last_name": "de Vries",
        "date_of_birth": datetime.date(1985, 3, 14), "postcode": "3511ab", "house_number": "12",
        "email": "anna@example.nl", "pin": "1234", "today": TODAY,
    }
    values.update(fields)
    actor = Actor.staff(staff_user, org) if staff_user is not None else Actor.system("test", org)
    return services.member_register(actor=actor, **values)


# --- registration --------------------------------------------------------------------

def test_register_adult_posts_fee_indexes_card_and_audits(in_alpha, staff):
    member = register(in_alpha, staff.alpha_desk, card_number="alpha0001",
                      consents={"loan_history": True, "newsletter": False, "suggestions": True})
    member.refresh_from_db()
    assert member.card_number == "ALPHA0001"
    assert member.postcode == "3511 AB"
    assert member.category.code == "volwassene" and member.subscription.code == "standaard"
    assert member.expires_on == datetime.date(2026, 6, 14)
    assert member.consent_loan_history_at and member.consent_suggestions_at and member.consent_newsletter_at is None
    assert member.pin_hash != "1234" and check_password("1234", member.pin_hash)
    charge = LedgerEntry.objects.get(member=member)
    assert (charge.kind, charge.charge_type, charge.amount_cents) == ("charge", "subscription", 4500)
    index = CardIndex.objects.get(card_number="ALPHA0001")
    assert index.organisation == in_alpha and index.is_active
    created = AuditEntry.objects.get(member_id_ref=member.pk, action="create")
    assert created.staff_user_id == staff.alpha_desk.pk
    assert "1234" not in str(created.detail) and member.pin_hash not in str(AuditEntry.objects.values_list("detail"))


def test_under_18_is_free_youth_and_a_paid_subscription_is_refused(in_alpha, member_defaults):
    child = register(in_alpha, card_number="KIND00001", date_of_birth=datetime.date(2015, 1, 1))
    assert child.category.code == "jeugd" and child.subscription.code == "jeugd"
    assert not LedgerEntry.objects.filter(member=child).exists()
    with refused("subscription.youth_required", match="onder de 18 zijn gratis"):
        register(in_alpha, card_number="KIND00002", date_of_birth=datetime.date(2015, 1, 1),
                 subscription=member_defaults.alpha["standard"])
    with refused("subscription.youth_only", match="jeugdabonnement"):
        register(in_alpha, card_number="VOLW00001", subscription=member_defaults.alpha["youth"])
    assert not Member.objects.filter(card_number__in=["KIND00002", "VOLW00001"]).exists()
    assert not CardIndex.objects.filter(card_number__in=["KIND00002", "VOLW00001"]).exists()


def test_seventeen_year_old_is_youth_on_the_day_before_turning_18(in_alpha):
    born = datetime.date(2007, 6, 16)  # 18 tomorrow
    member = register(in_alpha, card_number="BIJNA0018", date_of_birth=born)
    assert member.category.code == "jeugd"
    adult = register(in_alpha, card_number="PRECIES18", date_of_birth=datetime.date(2007, 6, 15))
    assert adult.category.code == "volwassene"


BAD_INPUT_CODES = {
    "geen geldige postcode": "member.postcode_invalid", "geen geldig e-mailadres": "member.email_invalid",
    "in de toekomst": "member.birth_date_future", "minstens 4 cijfers": "member.pin_too_short",
    "alleen cijfers": "member.pin_not_digits", "ongeldig": "card.invalid", "voornaam": "member.first_name_missing",
    "telefoonnummer": "member.phone_invalid", "geboortedatum": "member.birth_date_missing",
}


@pytest.mark.parametrize("fields, message", [
    ({"postcode": "35111 AB"}, "geen geldige postcode"),
    ({"email": "anna@"}, "geen geldig e-mailadres"),
    ({"date_of_birth": datetime.date(2030, 1, 1)}, "in de toekomst"),
    ({"pin": "12"}, "minstens 4 cijfers"),
    ({"pin": "12ab"}, "alleen cijfers"),
    ({"card_number": "12-34"}, "ongeldig"),
    ({"first_name": "  "}, "voornaam"),
    ({"phone": "bel me"}, "telefoonnummer"),
    ({"date_of_birth": None}, "geboortedatum"),
])
def test_bad_input_is_refused_with_a_dutch_message_and_nothing_saved(in_alpha, fields, message):
    with refused(BAD_INPUT_CODES[message]) as error:
        register(in_alpha, **fields)
    assert any(message in text for text in error.value.messages), error.value.messages
    assert not Member.objects.exists()
    assert not CardIndex.objects.filter(organisation=in_alpha).exists()
    assert not LedgerEntry.objects.exists()


def test_every_problem_is_reported_at_once(in_alpha):
    with refused("member.postcode_invalid", "member.email_invalid", "member.pin_too_short") as error:
        register(in_alpha, postcode="x", email="y", pin="1")
    assert len(error.value.messages) == 3
    assert error.value.codes == ["member.postcode_invalid", "member.email_invalid", "member.pin_too_short"]


def test_card_number_is_unique_nationally(in_alpha, libraries):
    register(in_alpha, card_number="DUBBEL001")
    with refused("card.issued_here", match="al uitgegeven door deze bibliotheek"):
        register(in_alpha, card_number="dubbel001", first_name="Bert")
    with tenant_context(libraries.beta):
        with refused("card.issued_elsewhere", match="andere bibliotheek"):
            register(libraries.beta, card_number="DUBBEL001", first_name="Carla")
        assert not Member.objects.exists()


def test_a_replaced_card_is_never_issued_again(in_alpha, staff):
    member = register(in_alpha, card_number="OUD000001")
    services.member_card_replace(member=member, new_card_number="NIEUW0001", reason="Verloren",
                                 actor=Actor.staff(staff.alpha_desk))
    with refused("card.issued_here", match="al uitgegeven"):
        register(in_alpha, card_number="OUD000001", first_name="Bert")


def test_register_refuses_without_a_category_for_the_age(in_alpha):
    MemberCategory.objects.filter(code="jeugd").delete()
    with refused("category.none_for_age", match="geen ledencategorie voor de leeftijd 10"):
        register(in_alpha, date_of_birth=datetime.date(2015, 1, 1))


def test_guardian_must_be_an_adult_member_and_only_for_minors(in_alpha):
    parent = register(in_alpha, card_number="OUDER0001")
    child = register(in_alpha, card_number="KIND00001", date_of_birth=datetime.date(2016, 2, 2),
                     guardian_id=parent.pk)
    assert child.guardian_id == parent.pk
    with refused("guardian.minor", match="zelf 18"):
        register(in_alpha, card_number="KIND00002", date_of_birth=datetime.date(2016, 2, 2), guardian_id=child.pk)
    with refused("guardian.member_adult", match="Alleen een minderjarig lid"):
        register(in_alpha, card_number="VOLW00002", guardian_id=parent.pk)


# --- update --------------------------------------------------------------------------

def test_update_with_optimistic_locking(in_alpha, staff):
    member = register(in_alpha)
    first = services.member_update(member_id=member.pk, expected_version=member.version,
                                   actor=Actor.staff(staff.alpha_desk), email="nieuw@example.nl", city="Utrecht")
    assert first.version == member.version + 1
    with refused("member.changed_meanwhile", match="intussen door iemand anders gewijzigd"):
        services.member_update(member_id=member.pk, expected_version=member.version, actor=Actor.staff(staff.alpha_desk),
                               email="ouder@example.nl")
    member.refresh_from_db()
    assert member.email == "nieuw@example.nl"
    entry = AuditEntry.objects.filter(member_id_ref=member.pk, action="update").get()
    assert entry.detail == {"fields": ["city", "email"]}


def test_update_validates_and_changes_nothing_on_bad_input(in_alpha, staff):
    member = register(in_alpha)
    with refused("member.email_invalid"):
        services.member_update(member_id=member.pk, expected_version=member.version, actor=Actor.staff(staff.alpha_desk),
                               email="kapot", last_name="Jansen")
    member.refresh_from_db()
    assert (member.last_name, member.email, member.version) == ("de Vries", "anna@example.nl", 1)


def test_update_keeps_consent_dates_and_pin_unless_given(in_alpha, staff):
    member = register(in_alpha, consents={"loan_history": True})
    given_at, pin_hash = member.consent_loan_history_at, member.pin_hash
    updated = services.member_update(member_id=member.pk, expected_version=1, actor=Actor.staff(staff.alpha_desk),
                                     consents={"loan_history": True, "newsletter": True}, pin="")
    assert updated.consent_loan_history_at == given_at and updated.consent_newsletter_at is not None
    assert updated.pin_hash == pin_hash
    updated = services.member_update(member_id=member.pk, expected_version=updated.version,
                                     actor=Actor.staff(staff.alpha_desk), consents={"loan_history": False}, pin="98765")
    assert updated.consent_loan_history_at is None and check_password("98765", updated.pin_hash)


def test_correcting_the_birth_date_to_a_minor_moves_to_youth(in_alpha, staff):
    member = register(in_alpha)
    updated = services.member_update(member_id=member.pk, expected_version=1, actor=Actor.staff(staff.alpha_desk),
                                     date_of_birth=datetime.date(2014, 4, 4), today=TODAY)
    assert updated.category.code == "jeugd" and updated.subscription.for_youth


def test_update_cannot_give_a_minor_a_paid_subscription(in_alpha, staff, member_defaults):
    child = register(in_alpha, date_of_birth=datetime.date(2014, 4, 4))
    with refused("subscription.youth_required", match="gratis"):
        services.member_update(member_id=child.pk, expected_version=1, actor=Actor.staff(staff.alpha_desk),
                               subscription=member_defaults.alpha["basic"].pk, today=TODAY)


# --- renew -----------------------------------------------------------------------------

def test_renew_extends_a_year_and_charges(in_alpha, staff):
    member = register(in_alpha)
    renewed = services.member_subscription_renew(member=member, actor=Actor.staff(staff.alpha_desk),
                                                 expected_version=member.version, today=TODAY)
    assert renewed.expires_on == datetime.date(2027, 6, 14)
    assert LedgerEntry.objects.filter(member=member, charge_type="subscription").count() == 2
    with refused("member.changed_meanwhile", match="intussen"):
        services.member_subscription_renew(member=member, actor=Actor.staff(staff.alpha_desk),
                                           expected_version=member.version, today=TODAY)


def test_renew_after_expiry_starts_today_and_lifts_the_expiry_block(in_alpha, staff):
    member = register(in_alpha)
    Member.objects.filter(pk=member.pk).update(expires_on=datetime.date(2024, 1, 31))
    services.members_expire(actor=Actor.system("nightly"), today=TODAY)
    assert Block.objects.filter(member=member, kind="expired", lifted_at__isnull=True).exists()
    renewed = services.member_subscription_renew(member=member, actor=Actor.staff(staff.alpha_desk), today=TODAY)
    assert renewed.expires_on == datetime.date(2026, 6, 14)
    assert not Block.objects.filter(member=member, kind="expired", lifted_at__isnull=True).exists()


# --- card replacement ---------------------------------------------------------------

def test_card_replacement_blocks_the_old_card_and_keeps_history(in_alpha, staff):
    member = register(in_alpha, card_number="OUD000001")
    ledger_charge(member=member, charge_type="fine", amount_cents=150, actor=Actor.system("test"))
    replaced = services.member_card_replace(member=member, new_card_number="nieuw0001", reason="Verloren",
                                            actor=Actor.staff(staff.alpha_desk), fee_cents=250)
    assert replaced.card_number == "NIEUW0001"
    assert CardIndex.objects.get(card_number="OUD000001").is_active is False
    assert CardIndex.objects.get(card_number="NIEUW0001").is_active is True
    former = FormerCard.objects.get(card_number="OUD000001")
    assert former.member_id == member.pk and former.reason == "Verloren"
    old = member_by_card("OUD000001")
    assert old.is_old_card and old.member.pk == member.pk
    new = member_by_card("NIEUW0001")
    assert not new.is_old_card and new.member.pk == member.pk
    assert member_balance_cents(member) == 4500 + 150 + 250
    assert AuditEntry.objects.filter(member_id_ref=member.pk, action="card").exists()


def test_card_replacement_refuses_a_taken_card_and_changes_nothing(in_alpha, staff):
    member = register(in_alpha, card_number="OUD000001")
    register(in_alpha, card_number="BEZET0001", first_name="Bert")
    with refused("card.issued_here", match="al uitgegeven"):
        services.member_card_replace(member=member, new_card_number="BEZET0001", reason="Verloren",
                                     actor=Actor.staff(staff.alpha_desk))
    with refused("card.reason_missing", match="reden"):
        services.member_card_replace(member=member, new_card_number="VRIJ00001", reason="",
                                     actor=Actor.staff(staff.alpha_desk))
    member.refresh_from_db()
    assert member.card_number == "OUD000001" and not FormerCard.objects.exists()
    assert not CardIndex.objects.filter(card_number="VRIJ00001").exists()


# --- merge -----------------------------------------------------------------------------

def test_merge_moves_everything_to_the_kept_member(in_alpha, staff):
    keep = register(in_alpha, card_number="HOUD00001", email="", phone="")
    dup = register(in_alpha, card_number="DUBB00001", phone="0612345678", first_name="Anna")
    child = register(in_alpha, card_number="KIND00001", date_of_birth=datetime.date(2016, 1, 1), guardian_id=dup.pk)
    block_add(member=dup, reason="Boek beschadigd", actor=Actor.staff(staff.alpha_desk))
    services.member_card_replace(member=dup, new_card_number="DUBB00002", reason="Kapot", actor=Actor.system("test"))
    dup.refresh_from_db()
    kept = services.member_merge(keep=keep, duplicate=dup, actor=Actor.staff(staff.alpha_desk), today=TODAY)

    dup.refresh_from_db()
    assert dup.merged_into_id == kept.pk
    assert LedgerEntry.objects.filter(member=dup).count() == 0
    assert member_balance_cents(kept) == 9000
    assert Block.objects.filter(member=kept, kind="manual").exists()
    assert set(FormerCard.objects.filter(member=kept).values_list("card_number", flat=True)) == {
        "DUBB00001", "DUBB00002"}
    assert member_by_card("DUBB00002").member.pk == kept.pk and member_by_card("DUBB00002").is_old_card
    assert CardIndex.objects.get(card_number="DUBB00002").is_active is False
    child.refresh_from_db()
    assert child.guardian_id == kept.pk
    assert kept.phone == "0612345678"
    assert AuditEntry.objects.filter(member_id_ref=dup.pk).filter(action="merge").exists()
    assert AuditEntry.objects.filter(member_id_ref=kept.pk, action="create").count() == 2  # moved
    assert member_search(query="DUBB00002") == [kept]
    assert dup not in member_search(query="de Vries")


def test_merge_refuses_the_same_member_and_merged_ones(in_alpha, staff):
    a = register(in_alpha, card_number="LIDAA0001")
    b = register(in_alpha, card_number="LIDBB0001")
    c = register(in_alpha, card_number="LIDCC0001")
    with refused("merge.same_member", match="twee verschillende"):
        services.member_merge(keep=a, duplicate=a, actor=Actor.staff(staff.alpha_desk))
    services.member_merge(keep=a, duplicate=b, actor=Actor.staff(staff.alpha_desk))
    with refused("merge.already_merged", match="al samengevoegd"):
        services.member_merge(keep=c, duplicate=b, actor=Actor.staff(staff.alpha_desk))


def test_merge_combines_automatic_blocks_into_one(in_alpha, staff):
    keep = register(in_alpha, card_number="LIDAA0001")
    dup = register(in_alpha, card_number="LIDBB0001")
    assert Block.objects.filter(member=keep, kind="balance", lifted_at__isnull=True).count() == 1
    services.member_merge(keep=keep, duplicate=dup, actor=Actor.staff(staff.alpha_desk))
    assert Block.objects.filter(member=keep, kind="balance", lifted_at__isnull=True).count() == 1
    may, reasons = member_may_borrow(keep)
    assert not may and "€ 90,00" in str(reasons[0]) and reasons[0].code == "member.balance_too_high"


# --- search ----------------------------------------------------------------------------

def test_search_by_card_name_birth_date_postcode_and_email(in_alpha):
    anna = register(in_alpha, card_number="ZOEK00001", first_name="Anna", last_name="Müller")
    bert = register(in_alpha, card_number="ZOEK00002", first_name="Bert", last_name="de Vries",
                    date_of_birth=datetime.date(1970, 7, 1), postcode="1234 AB", house_number="5a",
                    email="bert@example.nl")
    assert member_search(query="zoek00001") == [anna]
    assert member_search(query="muller") == [anna]
    assert member_search(query="bert vries") == [bert]
    assert member_search(query="01-07-1970") == [bert]
    assert member_search(query="1234ab 5A") == [bert]
    assert member_search(query="BERT@example.nl") == [bert]
    assert member_search(name="anna", date_of_birth=datetime.date(1985, 3, 14)) == [anna]
    assert member_search(postcode="3511 AB", house_number="12") == [anna]
    assert member_search(query="") == []


# --- age transition and expiry --------------------------------------------------------

def test_age_transition_moves_to_adult_and_mails_once(in_alpha, django_capture_on_commit_callbacks):
    turned = register(in_alpha, card_number="JARIG0001", date_of_birth=datetime.date(2007, 6, 15),
                      email="jarig@example.nl", today=datetime.date(2025, 6, 1))
    not_yet = register(in_alpha, card_number="JARIG0002", date_of_birth=datetime.date(2007, 6, 16),
                       today=datetime.date(2025, 6, 1))
    assert turned.subscription.for_youth
    assert members_turned_adult(today=TODAY) == [turned.pk]
    with django_capture_on_commit_callbacks(execute=True):
        moved = services.members_age_transition(actor=Actor.system("nightly"), today=TODAY)
    assert moved == [turned.pk]
    turned.refresh_from_db()
    not_yet.refresh_from_db()
    assert turned.category.code == "volwassene" and turned.subscription.code == "standaard"
    assert not_yet.category.code == "jeugd"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jarig@example.nl"]
    assert "18" in mail.outbox[0].body and "€ 45,00" in mail.outbox[0].body
    assert not LedgerEntry.objects.filter(member=turned).exists()  # the adult fee comes at renewal
    with django_capture_on_commit_callbacks(execute=True):
        assert services.members_age_transition(actor=Actor.system("nightly"), today=TODAY) == []
    assert len(mail.outbox) == 1


def test_age_on_leap_day_birthdays():
    born = datetime.date(2008, 2, 29)
    assert age_on(born, datetime.date(2026, 2, 28)) == 17
    assert age_on(born, datetime.date(2026, 3, 1)) == 18


def test_members_expire_sets_and_is_idempotent(in_alpha):
    member = register(in_alpha, date_of_birth=datetime.date(2012, 1, 1))  # free: no balance block
    Member.objects.filter(pk=member.pk).update(expires_on=datetime.date(2025, 6, 14))
    assert services.members_expire(actor=Actor.system("nightly"), today=TODAY) == 1
    assert services.members_expire(actor=Actor.system("nightly"), today=TODAY) == 0
    assert Block.objects.filter(member=member, kind="expired", lifted_at__isnull=True).count() == 1


# --- categories and subscriptions ------------------------------------------------------

def test_youth_subscription_must_be_free(in_alpha, staff):
    with refused("subscription.youth_not_free", match="gratis"):
        services.subscription_type_save(actor=Actor.staff(staff.alpha_library_admin), code="kids", name="Kids",
                                        annual_fee_cents=500, max_loans=10, for_youth=True)
    youth = SubscriptionType.objects.get(code="jeugd")
    with refused("subscription.youth_not_free", match="gratis"):
        services.subscription_type_save(actor=Actor.staff(staff.alpha_library_admin), subscription_id=youth.pk,
                                        code="jeugd", name="Jeugd", annual_fee_cents=100, max_loans=20,
                                        for_youth=True)
    with refused("subscription.default_must_be_youth", match="standaardabonnement"):
        services.subscription_type_save(actor=Actor.staff(staff.alpha_library_admin), subscription_id=youth.pk,
                                        code="jeugd", name="Jeugd", annual_fee_cents=0, max_loans=20,
                                        for_youth=False)
    youth.refresh_from_db()
    assert youth.for_youth and youth.annual_fee_cents == 0


def test_categories_may_not_overlap_or_straddle_18(in_alpha, staff, member_defaults):
    standard = member_defaults.alpha["standard"]
    youth = member_defaults.alpha["youth"]
    with refused("category.ages_overlap", match="overlappen"):
        services.member_category_save(actor=Actor.system("test"), code="senior", name="Senior", min_age=60, max_age=None,
                                      default_subscription_id=standard.pk)
    with refused("category.spans_adult_age", match="geheel onder de 18"):
        services.member_category_save(actor=Actor.system("test"), code="tiener", name="Tiener", min_age=12, max_age=20,
                                      default_subscription_id=youth.pk)
    with refused("category.youth_needs_youth_subscription", match="jeugdabonnement"):
        services.member_category_save(actor=Actor.system("test"), code="jeugd", name="Jeugd", min_age=0, max_age=17,
                                      default_subscription_id=standard.pk,
                                      category_id=member_defaults.alpha["youth_category"].pk)
    adult = member_defaults.alpha["adult_category"]
    services.member_category_save(actor=Actor.system("test"), category_id=adult.pk, code="volwassene", name="Volwassene",
                                  min_age=18, max_age=64, default_subscription_id=standard.pk)
    senior = services.member_category_save(actor=Actor.system("test"), code="senior", name="65+", min_age=65, max_age=None,
                                           default_subscription_id=member_defaults.alpha["basic"].pk)
    member = register(in_alpha, date_of_birth=datetime.date(1950, 1, 1))
    assert member.category == senior and member.subscription.code == "basis"


def test_a_member_of_another_library_does_not_exist_here(libraries, member_defaults):
    with tenant_context(libraries.alpha):
        alpha_member = make_member(card_number="ALFA00001")
    with tenant_context(libraries.beta):
        beta_member = make_member(card_number="BETA00001")
        assert member_by_card("ALFA00001") is None
        assert member_search(query="ALFA00001") == []
        assert Member.objects.filter(pk=beta_member.pk).get().card_number == "BETA00001"
    with tenant_context(libraries.alpha):
        assert member_by_card("BETA00001") is None
        assert Member.objects.get(pk=alpha_member.pk).card_number == "ALFA00001"
