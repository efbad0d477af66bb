"""Issue 12, item 2: a copy reported lost that turns up at checkin. The replacement
charge is reversed by itself: a credit on the charge with the reason (also when
the member has paid already: then a credit balance), less the processing fee the
library keeps (its circulation settings); the fine for the days it was late stays.
For a guest the reversal is a step for their home library (the outbox), like the
charge was. A copy that went missing otherwise (claims returned) has no charge to
reverse."""

import pytest
from django_tenants.utils import tenant_context

from circulation.services.loans import loan_claims_returned, loan_mark_lost
from circulation.services.rules import circulation_settings_update
from collection.models import ItemStatus
from core.actors import Actor
from members.models import LedgerEntry
from members.selectors.ledger import member_balance_cents
from members.services.ledger import ledger_payment
from tests.members.factories import make_member
from tests.outbox import outbox_deliver_all

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, lend, take_back

pytestmark = pytest.mark.django_db


def lost_charge(member):
    return LedgerEntry.objects.get(member=member, charge_type=LedgerEntry.ChargeType.LOST_ITEM)


def test_the_replacement_charge_is_reversed_when_the_copy_turns_up(desk):
    [item] = desk.items(price_cents=1995)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    assert member_balance_cents(desk.member) == 1995

    result = take_back(desk, item)
    assert [note.code for note in result.notes] == ["checkin.found_after_ending", "checkin.lost_charge_reversed"]
    assert result.notes[1].params == {"amount": "€ 19,95"}
    assert result.item.status == ItemStatus.AVAILABLE
    credit = LedgerEntry.objects.get(member=desk.member, kind=LedgerEntry.Kind.WAIVER)
    assert credit.waives_id == lost_charge(desk.member).pk and credit.amount_cents == 1995
    assert "teruggevonden" in credit.description.lower() and item.barcode in credit.description
    assert credit.actor_ref == f"staff:{desk.staff.pk}"
    assert member_balance_cents(desk.member) == 0
    # Scanned again: nothing more (it is on the shelf now).
    take_back(desk, item)
    assert LedgerEntry.objects.filter(member=desk.member, kind=LedgerEntry.Kind.WAIVER).count() == 1


def test_the_processing_fee_stays_and_a_paid_charge_becomes_a_credit(desk):
    circulation_settings_update(actor=desk.actor(desk.supervisor), floating_item_types=[], transfer_days=2,
                                lost_found_fee_cents=500)
    make_rule(fine_per_day_cents=20, fine_max_cents=300)
    [item] = desk.items(price_cents=2000)
    loan = lend(desk, item, now=at(2026, 12, 1)).loan  # due 22 December
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, today=at(2026, 12, 29).date())
    fine = LedgerEntry.objects.get(member=desk.member, charge_type=LedgerEntry.ChargeType.FINE).amount_cents
    ledger_payment(actor=desk.actor(), member=desk.member, amount_cents=2000 + fine, method="cash")
    assert member_balance_cents(desk.member) == 0

    result = take_back(desk, item, now=at(2027, 1, 5))
    assert result.notes[-1].code == "checkin.lost_charge_reversed_fee_kept"
    assert result.notes[-1].params == {"amount": "€ 15,00", "fee": "€ 5,00"}
    credit = LedgerEntry.objects.get(member=desk.member, kind=LedgerEntry.Kind.WAIVER)
    assert credit.waives_id == lost_charge(desk.member).pk and credit.amount_cents == 1500
    assert member_balance_cents(desk.member) == -1500  # a credit ("tegoed"); the fine stays


def test_a_self_service_machine_taking_it_back_reverses_it_too(desk):
    [item] = desk.items(price_cents=1200)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    take_back(desk, item, actor=Actor.machine(7, desk.main.pk, desk.library))
    credit = LedgerEntry.objects.get(member=desk.member, kind=LedgerEntry.Kind.WAIVER)
    assert credit.amount_cents == 1200 and credit.actor_ref.startswith("machine:7")


def test_claims_returned_has_nothing_to_reverse(desk):
    [item] = desk.items(price_cents=1200)
    loan = lend(desk, item).loan
    loan_claims_returned(actor=desk.actor(), loan_id=loan.pk)
    result = take_back(desk, item)
    assert [note.code for note in result.notes] == ["checkin.found_after_ending"]
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WAIVER).exists()


def test_a_guests_charge_is_reversed_at_home(desk, libraries):
    with tenant_context(libraries.beta):
        guest = make_member(card_number="B2000091", first_name="Gijs", last_name="Gast", paid_until=PAID_UNTIL)
    [item] = desk.items(price_cents=1500)
    loan = lend(desk, item, card="B2000091").loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    outbox_deliver_all()
    result = take_back(desk, item)
    assert result.notes[-1].code == "checkin.lost_charge_reversed"
    assert len(outbox_deliver_all()) == 1
    with tenant_context(libraries.beta):
        credit = LedgerEntry.objects.get(member=guest, kind=LedgerEntry.Kind.WAIVER)
        assert credit.waives_id == lost_charge(guest).pk and credit.amount_cents == 1500
        assert member_balance_cents(guest) == 0
