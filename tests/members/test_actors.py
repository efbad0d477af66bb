"""The service contract for the member services: who acts (core.actors) is checked
inside the services and recorded on what they write; the privacy audit of every
read of a member lives in members.selectors.access.

A refused actor changes nothing: no member, ledger entry, block or audit row."""

import datetime

import pytest

from core.actors import Actor
from members.models import AuditEntry, Block, FormerCard, LedgerEntry, Member, MemberRules, SubscriptionType
from members.selectors import access
from members.services import imports, ledger, privacy, registration
from tests.refusals import refused

from .factories import make_member

pytestmark = pytest.mark.django_db

FINE = LedgerEntry.ChargeType.FINE
CASH = LedgerEntry.PaymentMethod.CASH


def nothing_written(member):
    return (not LedgerEntry.objects.filter(member=member).exists()
            and not Block.objects.filter(member=member).exists()
            and not AuditEntry.objects.filter(member_id_ref=member.pk).exclude(action="create").exists())


@pytest.fixture
def anna(in_alpha):
    return make_member(card_number="ACTR00001", first_name="Anna", paid_until=datetime.date.today()
                       + datetime.timedelta(days=200))


@pytest.fixture
def bram(in_alpha):
    return make_member(card_number="ACTR00002", first_name="Bram", paid_until=datetime.date.today()
                       + datetime.timedelta(days=200))


@pytest.fixture
def beta_desk(libraries, staff):
    """Staff of beta, used while the connection is in alpha's schema: an edge's mistake."""
    return Actor.staff(staff.beta_desk, libraries.beta)


# --- an actor of another library -------------------------------------------------------

def test_every_member_service_refuses_an_actor_of_another_library(in_alpha, anna, beta_desk, staff, libraries):
    other_admin = Actor.staff(staff.gamma_library_admin, libraries.gamma)
    calls = [
        lambda: registration.member_register(actor=beta_desk, card_number="ACTR00009", first_name="X",
                                             last_name="Y", date_of_birth=datetime.date(1980, 1, 1)),
        lambda: registration.member_update(actor=beta_desk, member_id=anna.pk, expected_version=anna.version,
                                           email="x@example.nl"),
        lambda: registration.member_subscription_renew(actor=beta_desk, member=anna),
        lambda: registration.member_card_replace(actor=beta_desk, member=anna, new_card_number="ACTR00010",
                                                 reason="Verloren"),
        lambda: registration.subscription_type_save(actor=other_admin, code="x", name="X", annual_fee_cents=0,
                                                    max_loans=1),
        lambda: ledger.ledger_charge(actor=beta_desk, member=anna, charge_type=FINE, amount_cents=100),
        lambda: ledger.ledger_payment(actor=beta_desk, member=anna, amount_cents=100, method=CASH),
        lambda: ledger.block_add(actor=beta_desk, member=anna, reason="Niet van hier"),
        lambda: ledger.member_rules_update(actor=other_admin, balance_block_cents=1, block_when_expired=True,
                                           loan_history_retention_days=1),
        lambda: privacy.member_export(actor=beta_desk, member=anna, export_format="json"),
        lambda: privacy.member_erase(actor=beta_desk, member_id=anna.pk),
        lambda: imports.members_import(actor=other_admin, rows=[]),
        lambda: registration.members_expire(actor=Actor.system("nightly", libraries.beta), today=datetime.date.today()),
    ]
    for call in calls:
        with refused("actor.other_library"):
            call()
    anna.refresh_from_db()
    assert (anna.email, anna.card_number, anna.version, anna.erased_at) == ("anna@example.nl", "ACTR00001", 1, None)
    assert nothing_written(anna)
    assert not Member.objects.filter(card_number="ACTR00009").exists()
    assert not SubscriptionType.objects.filter(code="x").exists() and not MemberRules.objects.exists()
    assert not AuditEntry.objects.filter(action="import").exists()


def test_the_access_selectors_refuse_an_actor_of_another_library(in_alpha, anna, beta_desk):
    with refused("actor.other_library"):
        access.member_for_actor(beta_desk, anna.pk, purpose="member")
    with refused("actor.other_library"):
        access.members_search_for_actor(beta_desk, purpose="members", query="Anna")
    with refused("actor.other_library"):
        access.members_listed(beta_desk, [anna.pk], purpose="holds")
    assert not AuditEntry.objects.filter(action__in=["view", "search"]).exists()


# --- a member acting on someone else's things -------------------------------------------

def test_a_member_changes_only_their_own_contact_details(in_alpha, anna, bram):
    with refused("actor.not_owner"):
        registration.member_update(actor=Actor.member(bram.pk), member_id=anna.pk, expected_version=1,
                                   email="bram@example.nl")
    with refused("member.fields_not_own"):
        registration.member_update(actor=Actor.member(anna.pk), member_id=anna.pk, expected_version=1,
                                   last_name="Anders")
    anna.refresh_from_db()
    assert (anna.email, anna.last_name, anna.version) == ("anna@example.nl", "de Vries", 1)
    assert nothing_written(anna)

    updated = registration.member_update(actor=Actor.member(anna.pk), member_id=anna.pk, expected_version=1,
                                         email="anna.nieuw@example.nl", consents={"newsletter": True})
    assert updated.email == "anna.nieuw@example.nl" and updated.consent_newsletter_at is not None
    change = AuditEntry.objects.get(member_id_ref=anna.pk, action="update")
    assert change.actor_ref == f"member:{anna.pk}" and change.staff_user_id is None


def test_a_member_is_charged_and_exports_only_their_own(in_alpha, anna, bram):
    with refused("actor.not_owner"):
        ledger.ledger_charge(actor=Actor.member(bram.pk), member=anna, charge_type=FINE, amount_cents=100)
    with refused("actor.not_owner"):
        privacy.member_export(actor=Actor.member(bram.pk), member=anna, export_format="json")
    with refused("actor.not_allowed"):
        ledger.ledger_payment(actor=Actor.member(anna.pk), member=anna, amount_cents=100, method=CASH)
    with refused("actor.no_role"):
        ledger.block_add(actor=Actor.member(anna.pk), member=anna, reason="Zelf")
    assert nothing_written(anna)

    fee = ledger.ledger_charge(actor=Actor.member(anna.pk), member=anna,
                               charge_type=LedgerEntry.ChargeType.RESERVATION_FEE, amount_cents=50)
    assert fee.actor_ref == f"member:{anna.pk}" and fee.created_by_id is None
    data = privacy.member_export(actor=Actor.member(anna.pk), member=anna, export_format="json")
    assert data["lidnummer"] == anna.pk
    assert AuditEntry.objects.get(member_id_ref=anna.pk, action="export").actor_ref == f"member:{anna.pk}"


def test_a_member_sees_only_themself_and_that_is_not_audited(in_alpha, anna, bram):
    with refused("actor.not_owner"):
        access.member_for_actor(Actor.member(bram.pk), anna.pk, purpose="opac")
    with refused("actor.not_owner"):
        access.members_listed(Actor.member(bram.pk), [anna.pk, bram.pk], purpose="opac")
    with refused("actor.not_allowed"):
        access.members_search_for_actor(Actor.member(bram.pk), purpose="opac", query="Anna")
    assert access.member_for_actor(Actor.member(anna.pk), anna.pk, purpose="opac") == anna
    assert not AuditEntry.objects.filter(action__in=["view", "search"]).exists()


# --- staff without the role ---------------------------------------------------------------

def test_staff_without_the_role_are_refused(in_alpha, anna, staff):
    collection = Actor.staff(staff.alpha_collection)
    desk = Actor.staff(staff.alpha_desk)
    calls = [
        lambda: registration.member_register(actor=collection, card_number="ACTR00009", first_name="X",
                                             last_name="Y", date_of_birth=datetime.date(1980, 1, 1)),
        lambda: registration.member_update(actor=collection, member_id=anna.pk, expected_version=1,
                                           email="x@example.nl"),
        lambda: registration.member_merge(actor=collection, keep=anna, duplicate=anna),
        lambda: registration.subscription_type_save(actor=desk, code="x", name="X", annual_fee_cents=0, max_loans=1),
        lambda: registration.member_category_save(actor=desk, code="x", name="X", min_age=90, max_age=None,
                                                  default_subscription_id=anna.subscription_id),
        lambda: registration.members_age_transition(actor=desk, today=datetime.date.today()),
        lambda: ledger.ledger_payment(actor=collection, member=anna, amount_cents=100, method=CASH),
        lambda: ledger.block_add(actor=collection, member=anna, reason="Geen balie"),
        lambda: ledger.member_rules_update(actor=desk, balance_block_cents=1, block_when_expired=True,
                                           loan_history_retention_days=1),
        lambda: privacy.member_erase(actor=collection, member_id=anna.pk),
        lambda: privacy.member_export(actor=collection, member=anna, export_format="print"),
        lambda: imports.members_import(actor=desk, rows=[]),
    ]
    for call in calls:
        with refused("actor.no_role"):
            call()
    with refused("actor.no_role"):
        access.member_for_actor(collection, anna.pk, purpose="member")
    anna.refresh_from_db()
    assert anna.email == "anna@example.nl" and anna.erased_at is None
    assert nothing_written(anna)
    assert not SubscriptionType.objects.filter(code="x").exists() and not MemberRules.objects.exists()


def test_a_charge_needs_staff_of_this_library(in_alpha, anna, staff, libraries):
    # gamma's administrator acting in alpha's schema, claiming to be of alpha: works at gamma only.
    stranger = Actor.staff(staff.gamma_library_admin, libraries.alpha)
    with refused("actor.no_role"):
        ledger.ledger_charge(actor=stranger, member=anna, charge_type=FINE, amount_cents=100)
    assert nothing_written(anna)


# --- who did it is recorded ----------------------------------------------------------------

def test_entries_blocks_and_audit_rows_record_the_actor(in_alpha, anna, staff, libraries):
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 100})
    desk = Actor.staff(staff.alpha_desk)
    branch = libraries.alpha.branches.order_by("pk").first()
    machine = Actor.machine(3, branch.pk)

    charge = ledger.ledger_charge(actor=desk, member=anna, charge_type=FINE, amount_cents=500)
    assert (charge.actor_ref, charge.created_by_id) == (f"staff:{staff.alpha_desk.pk}", staff.alpha_desk.pk)
    automatic = Block.objects.get(member=anna, kind=Block.Kind.BALANCE)
    assert automatic.actor_ref == "system:member_rules" and automatic.created_by_id is None

    payment = ledger.ledger_payment(actor=machine, member=anna, amount_cents=500, method=CASH)
    assert (payment.actor_ref, payment.created_by_id) == (f"machine:3@{branch.pk}", None)
    automatic.refresh_from_db()
    assert automatic.lifted_at is not None and automatic.lifted_actor_ref == "system:member_rules"

    manual = ledger.block_add(actor=desk, member=anna, reason="Pas misbruikt")
    ledger.block_lift(actor=Actor.staff(staff.alpha_library_admin), block=manual)
    manual.refresh_from_db()
    assert manual.actor_ref == f"staff:{staff.alpha_desk.pk}"
    assert manual.lifted_actor_ref == f"staff:{staff.alpha_library_admin.pk}"

    registration.member_card_replace(actor=desk, member=anna, new_card_number="ACTR00011", reason="Verloren")
    assert FormerCard.objects.get(card_number="ACTR00001").actor_ref == f"staff:{staff.alpha_desk.pk}"

    refs = set(AuditEntry.objects.filter(member_id_ref=anna.pk).values_list("action", "actor_ref"))
    assert ("money", f"machine:3@{branch.pk}") in refs
    assert ("block", "system:member_rules") in refs
    assert ("card", f"staff:{staff.alpha_desk.pk}") in refs
    assert ("create", "system:test") in refs


def test_the_nightly_expiry_is_recorded_as_the_nightly_run(in_alpha, staff):
    lapsed = make_member(card_number="ACTR00020", paid_until=datetime.date(2020, 1, 1))
    assert registration.members_expire(actor=Actor.system("nightly"), today=datetime.date.today()) == 1
    block = Block.objects.get(member=lapsed, kind=Block.Kind.EXPIRED)
    assert block.actor_ref == "system:nightly"
    audit = AuditEntry.objects.get(member_id_ref=lapsed.pk, action="block")
    assert audit.actor_ref == "system:nightly" and audit.staff_user_id is None


# --- the access selectors write the audit --------------------------------------------------

def test_a_staff_read_is_checked_and_audited_by_the_selector(in_alpha, anna, bram, staff):
    desk = Actor.staff(staff.alpha_desk)
    assert access.member_for_actor(desk, anna.pk, purpose="member") == anna
    view = AuditEntry.objects.get(member_id_ref=anna.pk, action="view")
    assert (view.actor_ref, view.staff_user_id, view.detail) == (
        f"staff:{staff.alpha_desk.pk}", staff.alpha_desk.pk, {"screen": "member"}
    )
    assert access.member_for_actor(desk, 999_999, purpose="member") is None

    results = access.members_search_for_actor(desk, purpose="members", query="de Vries")
    assert {member.pk for member in results} == {anna.pk, bram.pk}
    search = AuditEntry.objects.get(action="search")
    assert search.detail["query"] == {"fields": ["q"]} and sorted(search.detail["member_ids"]) == [anna.pk, bram.pk]

    access.member_shown(desk, bram, purpose="checkout")
    assert AuditEntry.objects.get(member_id_ref=bram.pk, action="view").detail == {"screen": "checkout"}
    access.members_listed(desk, [bram.pk, None, anna.pk, bram.pk], purpose="holds", query={"branch": 1})
    listed = AuditEntry.objects.filter(action="search").latest("pk")
    assert listed.detail == {"query": {"screen": "holds", "branch": 1}, "member_ids": [anna.pk, bram.pk]}


def test_erased_and_merged_records_are_not_shown(in_alpha, anna, bram, staff):
    desk = Actor.staff(staff.alpha_desk)
    registration.member_merge(actor=desk, keep=anna, duplicate=bram)
    assert access.member_for_actor(desk, bram.pk, purpose="member") is None
    privacy.member_erase(actor=desk, member_id=anna.pk)
    before = AuditEntry.objects.filter(action="view").count()
    assert access.member_for_actor(desk, anna.pk, purpose="member") is None
    erased = access.member_for_actor(desk, anna.pk, purpose="erase", erased_ok=True)
    assert erased.erased_at is not None
    assert AuditEntry.objects.filter(action="view").count() == before  # nothing personal was shown


def test_the_audit_log_names_who_acted(in_alpha, anna, staff, libraries):
    from members.selectors.privacy import audit_actor_name, audit_staff_names

    branch = libraries.alpha.branches.order_by("pk").first()
    registration.member_update(actor=Actor.member(anna.pk), member_id=anna.pk, expected_version=1,
                               phone="0612345678")
    ledger.ledger_payment(actor=Actor.machine(3, branch.pk), member=anna, amount_cents=100, method=CASH)
    access.member_for_actor(Actor.staff(staff.alpha_desk), anna.pk, purpose="member")
    entries = list(AuditEntry.objects.filter(member_id_ref=anna.pk).order_by("pk"))
    names = audit_staff_names(entries)
    assert [(entry.action, audit_actor_name(entry, names)) for entry in entries] == [
        ("create", "Systeem"), ("update", "Het lid zelf"), ("money", "Zelfbedieningsautomaat 3"),
        ("view", staff.alpha_desk.get_full_name()),
    ]
