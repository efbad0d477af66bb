"""Renewal: a new due date from today, up to the rule's maximum; refused (with
nothing changed) when another member waits for the title, when the member is
blocked, or when it gives no later date; renew_all renews each loan on its own."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from circulation.models import Loan
from circulation.services.holds import hold_place, hold_suspend
from circulation.services.loans import CirculationRefused, renew, renew_all
from core.errors import error_codes
from members.services.ledger import block_add
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, codes, lend, refused, take_back

pytestmark = pytest.mark.django_db

D = datetime.date


def renew_on(desk, loan, today):
    return renew(actor=desk.actor(), loan_id=loan.pk, today=today)


def test_renew_gives_a_new_due_date_from_today(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    assert loan.due_on == D(2026, 12, 22)
    renewed = renew_on(desk, loan, D(2026, 12, 10))
    assert renewed.renewals == 1 and renewed.due_on == D(2026, 12, 31)
    loan.refresh_from_db()
    assert (loan.renewals, loan.due_on, loan.ended_at) == (1, D(2026, 12, 31), None)
    # The new date also moves off closed days: 20 December + 21 = Sunday 10 January.
    renewed = renew_on(desk, loan, D(2026, 12, 20))
    assert renewed.due_on == D(2027, 1, 11)


def test_renewal_uses_the_rule_for_this_loan(desk):
    make_rule(item_type="dvd", loan_days=7, max_renewals=1)
    [dvd] = desk.items(item_type="dvd")
    loan = lend(desk, dvd, now=at(2026, 12, 1)).loan
    assert loan.due_on == D(2026, 12, 8)
    assert renew_on(desk, loan, D(2026, 12, 7)).due_on == D(2026, 12, 14)


def test_max_renewals(desk):
    make_rule(max_renewals=2)
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    renew_on(desk, loan, D(2026, 12, 10))
    renew_on(desk, loan, D(2026, 12, 20))
    error = refused(lambda: renew_on(desk, loan, D(2026, 12, 30)), item)
    assert codes(error) == ["loan.max_renewals"]
    assert "al 2 keer verlengd, het maximum is 2." in error.messages[0]
    loan.refresh_from_db()
    assert loan.renewals == 2


def test_no_renewals_allowed(desk):
    make_rule(max_renewals=0)
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    assert codes(refused(lambda: renew_on(desk, loan, D(2026, 12, 10)), item)) == ["loan.max_renewals"]


def test_refused_when_another_member_waits(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    waiting = make_member(card_number="A1000002", paid_until=PAID_UNTIL)
    hold = hold_place(actor=desk.actor(), member=waiting, title_id=item.title_id, pickup_branch_id=desk.main.pk)
    error = refused(lambda: renew_on(desk, loan, D(2026, 12, 10)), item)
    assert codes(error) == ["loan.held_for_other"]
    assert "een ander lid heeft dit gereserveerd" in error.messages[0]
    # Scanning it again at the desk is the same renewal, refused the same way.
    assert codes(refused(lambda: lend(desk, item, now=at(2026, 12, 10)), item)) == ["loan.held_for_other"]
    # A suspended hold does not stand in the way.
    hold_suspend(actor=desk.actor(), hold_id=hold.pk, until=datetime.date.today() + datetime.timedelta(days=30))
    assert renew_on(desk, loan, D(2026, 12, 10)).renewals == 1


def test_a_hold_on_another_copy_also_refuses(desk):
    # A title-level hold waits for whichever copy comes back first.
    first, second = desk.items(count=2)
    loan = lend(desk, first, now=at(2026, 12, 1)).loan
    other = make_member(card_number="A1000002", paid_until=PAID_UNTIL)
    lend(desk, second, other, now=at(2026, 12, 1))
    waiting = make_member(card_number="A1000003", paid_until=PAID_UNTIL)
    hold_place(actor=desk.actor(), member=waiting, title_id=first.title_id, pickup_branch_id=desk.main.pk)
    assert codes(refused(lambda: renew_on(desk, loan, D(2026, 12, 10)), first)) == ["loan.held_for_other"]


def test_blocked_member_refused(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    block_add(actor=desk.actor(), member=desk.member, reason="Adres onbekend")
    error = refused(lambda: renew_on(desk, loan, D(2026, 12, 10)), item)
    assert codes(error) == ["member.blocked_by_library"]
    assert "Adres onbekend" in error.messages[0]
    assert not error.overridable


def test_too_early_refused(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    assert codes(refused(lambda: renew_on(desk, loan, D(2026, 12, 1)), item)) == ["loan.renewal_too_early"]


def test_ended_or_unknown_loan(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    take_back(desk, item, now=at(2026, 12, 2))
    with pytest.raises(ValidationError) as caught:
        renew_on(desk, loan, D(2026, 12, 10))
    assert not isinstance(caught.value, CirculationRefused)
    assert "al beëindigd" in caught.value.messages[0]
    assert error_codes(caught.value) == ["loan.not_found"]
    with pytest.raises(ValidationError) as caught:
        renew(actor=desk.actor(), loan_id=987654321)
    assert error_codes(caught.value) == ["loan.not_found"]


def test_renew_all_mixes_outcomes(desk):
    make_rule(item_type="dvd", max_renewals=0)
    [free] = desk.items()
    [wanted] = desk.items()  # another title
    [dvd] = desk.items(item_type="dvd")
    loans = {name: lend(desk, item, now=at(2026, 12, 1)).loan for name, item in
             (("free", free), ("wanted", wanted), ("dvd", dvd))}
    waiting = make_member(card_number="A1000002", paid_until=PAID_UNTIL)
    hold_place(actor=desk.actor(), member=waiting, title_id=wanted.title_id, pickup_branch_id=desk.main.pk)
    # Another member's loan is not touched.
    other = make_member(card_number="A1000003", paid_until=PAID_UNTIL)
    [theirs] = desk.items()
    their_loan = lend(desk, theirs, other, now=at(2026, 12, 1)).loan

    outcomes = renew_all(actor=desk.actor(), card_number=desk.member.card_number, today=D(2026, 12, 10))
    by_loan = {outcome.loan.pk: outcome for outcome in outcomes}
    assert set(by_loan) == {loan.pk for loan in loans.values()}
    assert by_loan[loans["free"].pk].renewed and by_loan[loans["free"].pk].reasons == []
    assert by_loan[loans["free"].pk].loan.due_on == D(2026, 12, 31)
    assert not by_loan[loans["wanted"].pk].renewed
    assert "gereserveerd" in by_loan[loans["wanted"].pk].reasons[0]
    assert by_loan[loans["wanted"].pk].codes == ["loan.held_for_other"]
    assert not by_loan[loans["dvd"].pk].renewed
    assert "maximum is 0" in by_loan[loans["dvd"].pk].reasons[0]
    renewals = dict(Loan.objects.values_list("pk", "renewals"))
    assert renewals == {loans["free"].pk: 1, loans["wanted"].pk: 0, loans["dvd"].pk: 0, their_loan.pk: 0}


def test_renew_all_for_a_blocked_member_renews_nothing(desk):
    items = desk.items(count=2)
    for item in items:
        lend(desk, item, now=at(2026, 12, 1))
    block_add(actor=desk.actor(), member=desk.member, reason="Geblokkeerd")
    outcomes = renew_all(actor=desk.actor(), card_number=desk.member.card_number, today=D(2026, 12, 10))
    assert len(outcomes) == 2 and not any(outcome.renewed for outcome in outcomes)
    assert set(Loan.objects.values_list("renewals", flat=True)) == {0}
