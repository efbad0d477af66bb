"""The member account ledger: exact arithmetic in cents, waivers and who may give
them, automatic and manual blocks, member_may_borrow, the rules."""

import datetime
from unittest import mock

import pytest
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.money import euro, euro_parse
from members.models import AuditEntry, Block, LedgerEntry, MemberRules
from members.selectors.ledger import (
    member_account,
    member_balance_cents,
    member_may_borrow,
    members_needing_block_refresh,
)
from members.services.ledger import (
    WAIVE_DESK_LIMIT_CENTS,
    block_add,
    block_lift,
    ledger_charge,
    ledger_payment,
    ledger_waive,
    member_blocks_refresh,
    member_rules_update,
    members_blocks_refresh_all,
)

from tests.refusals import refused

from .ledger_helpers import money_member

pytestmark = pytest.mark.django_db

CASH = LedgerEntry.PaymentMethod.CASH
FINE = LedgerEntry.ChargeType.FINE


@pytest.fixture
def alpha(libraries):
    with tenant_context(libraries.alpha):
        yield libraries.alpha


@pytest.fixture
def high_threshold(alpha):
    """Rules whose balance block does not get in the way of arithmetic tests."""
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 1_000_000})


def active_kinds(member):
    return sorted(Block.objects.filter(member=member, lifted_at__isnull=True).values_list("kind", flat=True))


# --- money parsing and formatting --------------------------------------------------

@pytest.mark.parametrize("text, cents", [
    ("12,50", 1250), ("12.50", 1250), ("€ 12", 1200), ("0,05", 5), ("12,5", 1250), ("1.250,00", 125000),
    ("1.250", 125000), ("0,1", 10), ("19,99", 1999), ("abc", None), ("1,234", None), ("-3", None), ("", None),
])
def test_euro_parse_is_exact(text, cents):
    assert euro_parse(text) == cents


def test_euro_format():
    assert euro(1250) == "€ 12,50"
    assert euro(-300) == "-€ 3,00"
    assert euro(123456789) == "€ 1.234.567,89"
    assert euro(0) == "€ 0,00"


# --- arithmetic --------------------------------------------------------------------

def test_balance_is_charges_minus_payments_minus_waivers(alpha, staff, high_threshold):
    member = money_member()
    assert member_balance_cents(member) == 0
    fine = ledger_charge(member=member, charge_type=FINE, amount_cents=1250, actor=Actor.staff(staff.alpha_desk))
    ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.RESERVATION_FEE, amount_cents=399,
                  actor=Actor.staff(staff.alpha_desk))
    # 0.1 + 0.2 style amounts: no float anywhere.
    for _ in range(3):
        ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.LOAN_FEE, amount_cents=10,
                      actor=Actor.system("test"))
    assert member_balance_cents(member) == 1250 + 399 + 30
    ledger_payment(member=member, amount_cents=1000, method=CASH, actor=Actor.staff(staff.alpha_desk))
    ledger_waive(charge=fine, amount_cents=149, reason="Kapotte terugbezorgbus", actor=Actor.staff(staff.alpha_desk))
    assert member_balance_cents(member) == 1250 + 399 + 30 - 1000 - 149 == 530
    account = member_account(member)
    assert account["balance_cents"] == 530
    assert [e.kind for e in account["entries"]][:2] == ["waiver", "payment"]
    fine_row = next(e for e in account["entries"] if e.pk == fine.pk)
    assert (fine_row.waived_cents, fine_row.open_cents) == (149, 1101)


def test_overpayment_leaves_a_credit_that_later_charges_use_up(alpha, staff, high_threshold):
    member = money_member()
    ledger_charge(member=member, charge_type=FINE, amount_cents=250, actor=Actor.staff(staff.alpha_desk))
    ledger_payment(member=member, amount_cents=1000, method=LedgerEntry.PaymentMethod.PIN, actor=Actor.staff(staff.alpha_desk))
    assert member_balance_cents(member) == -750
    account = member_account(member)
    assert account["credit_cents"] == 750
    ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.RESERVATION_FEE, amount_cents=100,
                  actor=Actor.staff(staff.alpha_desk))
    assert member_balance_cents(member) == -650
    assert member_may_borrow(member) == (True, [])


AMOUNT_CODES = {"groter zijn dan": "ledger.amount_not_positive", "geheel aantal centen": "ledger.amount_not_whole_cents",
                "niet hoger": "ledger.amount_too_high"}


@pytest.mark.parametrize("amount, message", [
    (0, "groter zijn dan"), (-5, "groter zijn dan"), (12.5, "geheel aantal centen"), (True, "geheel aantal centen"),
    ("1250", "geheel aantal centen"), (10_000_001, "niet hoger"),
])
def test_bad_amounts_are_refused_and_nothing_is_written(alpha, staff, amount, message):
    member = money_member()
    for call in (
        lambda: ledger_charge(member=member, charge_type=FINE, amount_cents=amount, actor=Actor.staff(staff.alpha_desk)),
        lambda: ledger_payment(member=member, amount_cents=amount, method=CASH, actor=Actor.staff(staff.alpha_desk)),
    ):
        with refused(AMOUNT_CODES[message], match=message):
            call()
    assert not LedgerEntry.objects.filter(member=member).exists()
    assert not AuditEntry.objects.filter(member_id_ref=member.pk).exists()


def test_bad_charge_type_payment_method_and_erased_member_are_refused(alpha, staff):
    member = money_member()
    with refused("charge.type_missing", match="soort kosten"):
        ledger_charge(member=member, charge_type="bribe", amount_cents=100, actor=Actor.staff(staff.alpha_desk))
    with refused("payment.method_missing", match="contant, pin of online"):
        ledger_payment(member=member, amount_cents=100, method="bitcoin", actor=Actor.staff(staff.alpha_desk))
    member.erased_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    member.save()
    with refused("ledger.member_erased", match="gewist"):
        ledger_payment(member=member, amount_cents=100, method=CASH, actor=Actor.staff(staff.alpha_desk))
    assert not LedgerEntry.objects.filter(member=member).exists()


def test_money_writes_are_audited(alpha, staff, high_threshold):
    member = money_member()
    charge = ledger_charge(member=member, charge_type=FINE, amount_cents=300, actor=Actor.staff(staff.alpha_desk))
    ledger_payment(member=member, amount_cents=100, method=CASH, actor=Actor.staff(staff.alpha_desk))
    entries = AuditEntry.objects.filter(member_id_ref=member.pk, action=AuditEntry.Action.MONEY).order_by("pk")
    assert [(e.staff_user_id, e.detail["kind"], e.detail["amount_cents"]) for e in entries] == [
        (staff.alpha_desk.pk, "charge", 300), (staff.alpha_desk.pk, "payment", 100),
    ]
    assert entries[0].detail["entry"] == charge.pk


# --- waivers -----------------------------------------------------------------------

def test_waiver_never_exceeds_what_is_open_on_the_charge(alpha, staff, high_threshold):
    member = money_member()
    charge = ledger_charge(member=member, charge_type=FINE, amount_cents=2000, actor=Actor.staff(staff.alpha_desk))
    ledger_charge(member=member, charge_type=FINE, amount_cents=5000, actor=Actor.staff(staff.alpha_desk))
    admin = staff.alpha_library_admin
    ledger_waive(charge=charge, amount_cents=1500, reason="Coulance", actor=Actor.staff(admin))
    with refused("waiver.more_than_open", match="hoogstens € 5,00"):
        ledger_waive(charge=charge, amount_cents=501, reason="Nog eens", actor=Actor.staff(admin))
    ledger_waive(charge=charge, amount_cents=500, reason="Rest", actor=Actor.staff(admin))
    with refused("waiver.already_waived", match="al helemaal kwijtgescholden"):
        ledger_waive(charge=charge, amount_cents=1, reason="Nog eens", actor=Actor.staff(admin))
    assert member_balance_cents(member) == 5000


def test_paid_money_is_not_waived(alpha, staff, high_threshold):
    member = money_member()
    charge = ledger_charge(member=member, charge_type=FINE, amount_cents=1000, actor=Actor.staff(staff.alpha_desk))
    ledger_payment(member=member, amount_cents=700, method=CASH, actor=Actor.staff(staff.alpha_desk))
    with refused("waiver.more_than_balance", match="hoogstens € 3,00 kwijtschelden: de rest"):
        ledger_waive(charge=charge, amount_cents=400, reason="Fout", actor=Actor.staff(staff.alpha_library_admin))
    ledger_payment(member=member, amount_cents=300, method=CASH, actor=Actor.staff(staff.alpha_desk))
    with refused("waiver.no_balance", match="geen openstaand saldo"):
        ledger_waive(charge=charge, amount_cents=100, reason="Fout", actor=Actor.staff(staff.alpha_library_admin))
    assert member_balance_cents(member) == 0


def test_only_charges_can_be_waived_and_a_reason_is_required(alpha, staff):
    member = money_member()
    charge = ledger_charge(member=member, charge_type=FINE, amount_cents=100, actor=Actor.staff(staff.alpha_desk))
    payment = ledger_payment(member=member, amount_cents=50, method=CASH, actor=Actor.staff(staff.alpha_desk))
    with refused("waiver.not_a_charge", match="Alleen kosten"):
        ledger_waive(charge=payment, amount_cents=10, reason="x", actor=Actor.staff(staff.alpha_library_admin))
    with refused("waiver.reason_missing", match="reden"):
        ledger_waive(charge=charge, amount_cents=10, reason="  ", actor=Actor.staff(staff.alpha_library_admin))
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WAIVER, member=member).exists()


def test_desk_may_waive_up_to_the_limit_per_charge_admin_any_other_roles_none(alpha, staff, high_threshold):
    member = money_member()
    charge = ledger_charge(member=member, charge_type=FINE, amount_cents=2000, actor=Actor.staff(staff.alpha_desk))
    with refused("waiver.over_desk_limit", match="Baliemedewerkers mogen per kostenpost hoogstens € 5,00"):
        ledger_waive(charge=charge, amount_cents=WAIVE_DESK_LIMIT_CENTS + 1, reason="x", actor=Actor.staff(staff.alpha_desk))
    ledger_waive(charge=charge, amount_cents=300, reason="x", actor=Actor.staff(staff.alpha_desk))
    # The limit is per charge in total: two small waivers cannot get round it.
    with refused("waiver.over_desk_limit", match="Baliemedewerkers"):
        ledger_waive(charge=charge, amount_cents=201, reason="x", actor=Actor.staff(staff.alpha_desk))
    ledger_waive(charge=charge, amount_cents=200, reason="x", actor=Actor.staff(staff.alpha_desk))
    with refused("waiver.over_desk_limit", match="Baliemedewerkers"):
        ledger_waive(charge=charge, amount_cents=1, reason="x", actor=Actor.staff(staff.alpha_collection))
    ledger_waive(charge=charge, amount_cents=1500, reason="Beheerder", actor=Actor.staff(staff.alpha_library_admin))
    assert member_balance_cents(member) == 0
    # Staff of another library have no role here at all.
    other = ledger_charge(member=member, charge_type=FINE, amount_cents=100, actor=Actor.system("test"))
    with refused("waiver.over_desk_limit", match="Baliemedewerkers"):
        ledger_waive(charge=other, amount_cents=50, reason="x", actor=Actor.staff(staff.beta_desk))


# --- automatic blocks --------------------------------------------------------------

def test_balance_block_is_set_at_the_threshold_and_lifts_itself(alpha, staff):
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 1000})
    member = money_member()
    ledger_charge(member=member, charge_type=FINE, amount_cents=999, actor=Actor.staff(staff.alpha_desk))
    assert active_kinds(member) == []
    assert member_may_borrow(member) == (True, [])
    ledger_charge(member=member, charge_type=FINE, amount_cents=1, actor=Actor.staff(staff.alpha_desk))
    assert active_kinds(member) == ["balance"]
    may, reasons = member_may_borrow(member)
    assert not may and [str(reason) for reason in reasons] == ["Openstaand saldo € 10,00 (de grens is € 10,00)."]
    assert [(reason.code, reason.params) for reason in reasons] == [
        ("member.balance_too_high", {"balance": "€ 10,00", "limit": "€ 10,00"})
    ]
    assert Block.objects.get(member=member, kind="balance").reason == "Openstaand saldo € 10,00 (de grens is € 10,00)."
    # Idempotent.
    assert member_blocks_refresh(actor=Actor.system("test"), member=member) == ([], [])
    assert Block.objects.filter(member=member).count() == 1
    ledger_payment(member=member, amount_cents=1, method=CASH, actor=Actor.staff(staff.alpha_desk))
    assert active_kinds(member) == []
    assert member_may_borrow(member) == (True, [])
    audit = AuditEntry.objects.filter(member_id_ref=member.pk, action=AuditEntry.Action.BLOCK).order_by("pk")
    assert [("set" in a.detail, "lifted" in a.detail, a.staff_user_id) for a in audit] == [
        (True, False, None), (False, True, None),
    ]


def test_expired_block_follows_the_rules(alpha, staff):
    today = datetime.date(2026, 6, 1)
    member = money_member(expires_on=datetime.date(2026, 5, 31))
    assert member_blocks_refresh(actor=Actor.system("test"), member=member, today=today) == (["expired"], [])
    reasons = member_may_borrow(member, today=today)[1]
    assert [str(reason) for reason in reasons] == ["Het lidmaatschap is verlopen op 31-05-2026."]
    assert [reason.code for reason in reasons] == ["member.membership_expired"]
    # Still valid on its last day.
    assert member_may_borrow(member, today=datetime.date(2026, 5, 31)) == (True, [])
    member_rules_update(actor=Actor.staff(staff.alpha_library_admin), balance_block_cents=1000, block_when_expired=False,
                        loan_history_retention_days=30)
    assert member_may_borrow(member, today=today) == (True, [])
    assert member_blocks_refresh(actor=Actor.system("test"), member=member, today=today) == ([], ["expired"])


def test_manual_block_and_lift(alpha, staff):
    member = money_member()
    with refused("block.reason_missing", match="reden"):
        block_add(member=member, reason=" ", actor=Actor.staff(staff.alpha_desk))
    block = block_add(member=member, reason="Agressief aan de balie", actor=Actor.staff(staff.alpha_desk))
    may, reasons = member_may_borrow(member)
    assert not may and [str(reason) for reason in reasons] == ["Geblokkeerd door de bibliotheek: Agressief aan de balie"]
    assert [(reason.code, reason.params) for reason in reasons] == [
        ("member.blocked_by_library", {"reason": "Agressief aan de balie"})
    ]
    block_lift(block=block, actor=Actor.staff(staff.alpha_desk))
    block.refresh_from_db()
    assert block.lifted_by_id == staff.alpha_desk.pk and block.lifted_at is not None
    assert member_may_borrow(member) == (True, [])
    with refused("block.already_lifted", match="al opgeheven"):
        block_lift(block=block, actor=Actor.staff(staff.alpha_desk))


def test_automatic_blocks_cannot_be_lifted_by_staff(alpha, staff):
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 100})
    member = money_member()
    ledger_charge(member=member, charge_type=FINE, amount_cents=500, actor=Actor.staff(staff.alpha_desk))
    block = Block.objects.get(member=member, kind=Block.Kind.BALANCE)
    with refused("block.lifts_itself", match="vervalt vanzelf"):
        block_lift(block=block, actor=Actor.staff(staff.alpha_library_admin))
    block.refresh_from_db()
    assert block.lifted_at is None


def test_rules_change_refreshes_every_member_that_is_out_of_step(alpha, staff, django_capture_on_commit_callbacks):
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 5000})
    owes_much = money_member()
    owes_little = money_member()
    clean = money_member()
    expired = money_member(expires_on=datetime.date.today() - datetime.timedelta(days=1))
    ledger_charge(member=owes_much, charge_type=FINE, amount_cents=6000, actor=Actor.system("test"))
    ledger_charge(member=owes_little, charge_type=FINE, amount_cents=800, actor=Actor.system("test"))
    assert active_kinds(owes_much) == ["balance"] and active_kinds(owes_little) == []
    assert set(members_needing_block_refresh()) >= {expired.pk}
    with mock.patch("members.tasks.member_blocks_refresh_library.apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            member_rules_update(actor=Actor.staff(staff.alpha_library_admin), balance_block_cents=700,
                                block_when_expired=True, loan_history_retention_days=14)
    send.assert_called_once_with(headers={"_schema_name": alpha.schema_name})
    mine = {owes_much.pk, owes_little.pk, clean.pk, expired.pk}
    assert mine & set(members_needing_block_refresh()) == {owes_little.pk, expired.pk}
    members_blocks_refresh_all(actor=Actor.system("test"))
    assert mine & set(members_needing_block_refresh()) == set()
    assert active_kinds(owes_little) == ["balance"]
    assert active_kinds(expired) == ["expired"]
    assert active_kinds(clean) == []
    assert members_blocks_refresh_all(actor=Actor.system("test")) == 0  # idempotent


@pytest.mark.parametrize("fields, message", [
    ({"balance_block_cents": -1}, "saldogrens"), ({"balance_block_cents": 10.0}, "saldogrens"),
    ({"loan_history_retention_days": 3651}, "bewaartermijn"), ({"loan_history_retention_days": -1}, "bewaartermijn"),
])
def test_rules_update_validates(alpha, staff, fields, message):
    values = {"balance_block_cents": 1000, "block_when_expired": True, "loan_history_retention_days": 30, **fields}
    with refused("member_rules.balance_block_out_of_range" if message == "saldogrens"
                 else "member_rules.retention_out_of_range", match=message):
        member_rules_update(actor=Actor.staff(staff.alpha_library_admin), **values)
    assert not MemberRules.objects.exists()
