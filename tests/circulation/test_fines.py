"""Fines count the lending branch's open days after the due date, up to the
rule's maximum, with the terms fixed at checkout; an overdue renewal charges the
days so far. Lost items: the replacement price and the fine so far. Claims
returned: no charge, the item becomes missing, logged."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from circulation.models import CirculationEvent, Loan
from circulation.services.loans import checkin, loan_claims_returned, loan_mark_lost, renew
from collection.models import Item, ItemStatus
from core.errors import error_codes
from members.models import LedgerEntry
from tenants.models import ClosedDate

from .factories import make_rule
from .helpers import at, lend, snapshot, take_back

pytestmark = pytest.mark.django_db

D = datetime.date


def fines():
    return list(LedgerEntry.objects.filter(charge_type=LedgerEntry.ChargeType.FINE).values_list("amount_cents",
                                                                                                  flat=True))


def test_fine_counts_open_days_only(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))  # due Tuesday 22 December
    # 23, 24 open; 25, 26 holidays; 27 Sunday; 28, 29 open.
    result = take_back(desk, item, now=at(2026, 12, 29))
    assert result.fine_cents == 80
    assert fines() == [80]
    entry = LedgerEntry.objects.get(charge_type=LedgerEntry.ChargeType.FINE)
    assert entry.member_id == desk.member.pk and entry.created_by_id == desk.staff.pk
    assert "tot 22-12-2026, ingeleverd 29-12-2026" in entry.description


def test_closed_dates_are_not_counted(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    ClosedDate.objects.create(branch=desk.main, date=D(2026, 12, 23), reason="Storing")
    assert take_back(desk, item, now=at(2026, 12, 24)).fine_cents == 20


def test_returned_on_the_closed_day_after_the_due_date_is_free(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 11, 14)).loan
    assert loan.due_on == D(2026, 12, 5)  # Saturday
    assert take_back(desk, item, now=at(2026, 12, 6)).fine_cents == 0  # Sunday (the return box)
    assert fines() == []


def test_on_time_and_early_returns_are_free(desk):
    make_rule(fine_per_day_cents=20)
    early, on_time = desk.items(count=2)
    lend(desk, early, now=at(2026, 12, 1))
    lend(desk, on_time, now=at(2026, 12, 1))
    assert take_back(desk, early, now=at(2026, 12, 2)).fine_cents == 0
    assert take_back(desk, on_time, now=at(2026, 12, 22, 23, 30)).fine_cents == 0
    assert fines() == []


def test_fine_capped_at_the_maximum(desk):
    make_rule(fine_per_day_cents=25, fine_max_cents=60)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    result = take_back(desk, item, now=at(2027, 2, 1))
    assert result.fine_cents == 60
    assert fines() == [60]
    assert Loan.objects.get(pk=result.loan.pk).fine_cents == 60


def test_no_maximum_when_zero(desk):
    make_rule(fine_per_day_cents=10, fine_max_cents=0)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    # Due 22 December; open days up to Saturday 9 January 2027: 23, 24, 28, 29, 30, 31 December,
    # 2, 4-9 January (1 January a holiday, Sundays closed): 13 days.
    assert take_back(desk, item, now=at(2027, 1, 9)).fine_cents == 130


def test_no_fine_without_fine_terms(desk):
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    assert take_back(desk, item, now=at(2027, 2, 1)).fine_cents == 0
    assert fines() == []


def test_fine_terms_fixed_at_checkout(desk):
    rule = make_rule(fine_per_day_cents=20, fine_max_cents=1000)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    rule.fine_per_day_cents = 100
    rule.save()
    assert take_back(desk, item, now=at(2026, 12, 24)).fine_cents == 40


def test_fine_counts_the_lending_branch_calendar(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1), branch=desk.other)
    ClosedDate.objects.create(branch=desk.other, date=D(2026, 12, 23), reason="Storing")
    # Returned at the main branch (open on the 23rd): the lending branch's calendar counts.
    assert take_back(desk, item, now=at(2026, 12, 24)).fine_cents == 20


def test_overdue_renewal_charges_the_days_so_far_then_counts_afresh(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    renewed = renew(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 24))
    assert fines() == [40]
    assert LedgerEntry.objects.get(charge_type=LedgerEntry.ChargeType.FINE).reference == (
        f"loan:{loan.pk}:fine:2026-12-24"
    )
    assert renewed.due_on == D(2027, 1, 14)
    assert take_back(desk, item, now=at(2027, 1, 14)).fine_cents == 0
    assert fines() == [40]


# --- lost ------------------------------------------------------------------------

def test_lost_charges_the_item_price_and_the_fine_so_far(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items(price_cents=1995)
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 24))
    loan.refresh_from_db()
    assert loan.ending == Loan.Ending.LOST and loan.ended_at is not None and loan.fine_cents == 40
    charges = dict(LedgerEntry.objects.filter(member=desk.member).values_list("charge_type", "amount_cents"))
    assert charges == {LedgerEntry.ChargeType.LOST_ITEM: 1995, LedgerEntry.ChargeType.FINE: 40}
    assert Item.objects.get(pk=item.pk).status == ItemStatus.MISSING
    event = CirculationEvent.objects.get(kind=CirculationEvent.Kind.LOST)
    assert event.loan_id == loan.pk and "19,95" in event.detail
    assert (event.staff_user_id, event.actor_ref) == (desk.staff.pk, f"staff:{desk.staff.pk}")


def test_lost_with_a_replacement_price_given(desk):
    [item] = desk.items(price_cents=1995)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, replacement_cents=2500)
    assert list(LedgerEntry.objects.filter(member=desk.member).values_list("charge_type", "amount_cents")) == [
        (LedgerEntry.ChargeType.LOST_ITEM, 2500)
    ]


def test_lost_without_a_price_needs_one_and_changes_nothing(desk):
    [item] = desk.items()  # no price
    loan = lend(desk, item).loan
    before = snapshot(item)
    with pytest.raises(ValidationError) as caught:
        loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    assert "vervangingsprijs" in caught.value.messages[0]
    assert error_codes(caught.value) == ["loan.replacement_price_missing"]
    with pytest.raises(ValidationError) as caught:
        loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, replacement_cents=-1)
    assert error_codes(caught.value) == ["loan.replacement_price_invalid"]
    assert snapshot(item) == before
    # A price of nothing is allowed (the library writes it off).
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk, replacement_cents=0)
    assert not LedgerEntry.objects.filter(member=desk.member).exists()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.MISSING


def test_lost_twice_refused(desk):
    [item] = desk.items(price_cents=1000)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    with pytest.raises(ValidationError) as caught:
        loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    assert error_codes(caught.value) == ["loan.not_found"]
    assert LedgerEntry.objects.filter(member=desk.member).count() == 1


# --- claims returned -------------------------------------------------------------------

def test_claims_returned_no_charge_item_missing_logged(desk):
    make_rule(fine_per_day_cents=20)
    [item] = desk.items(price_cents=1995)
    loan = lend(desk, item, now=at(2026, 11, 1)).loan  # overdue by now
    loan_claims_returned(actor=desk.actor(), loan_id=loan.pk,
                         note="Zegt het in de inleverbus te hebben gedaan")
    loan.refresh_from_db()
    assert loan.ending == Loan.Ending.CLAIMS_RETURNED and loan.ended_at is not None and loan.fine_cents == 0
    assert not LedgerEntry.objects.filter(member=desk.member).exists()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.MISSING
    event = CirculationEvent.objects.get(kind=CirculationEvent.Kind.CLAIMS_RETURNED)
    assert event.loan_id == loan.pk and event.detail == "Zegt het in de inleverbus te hebben gedaan"
    with pytest.raises(ValidationError) as caught:
        loan_claims_returned(actor=desk.actor(), loan_id=loan.pk)
    assert error_codes(caught.value) == ["loan.not_found"]


def test_checkin_right_after_lost_is_not_a_second_loan_end(desk):
    [item] = desk.items(price_cents=1000)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    result = checkin(actor=desk.actor(), barcode=item.barcode)
    assert result.loan is None and result.fine_cents == 0
    loan.refresh_from_db()
    assert loan.ending == Loan.Ending.LOST
