"""Guest lending (gastlenen): a member of beta borrows at alpha with their own
card. Alpha keeps only the card number and home library on the loan; the
national GuestLoan index shows the loan to beta; beta's blocks count; guest
rules apply; charges go to the member's account in beta, as a step for beta
through the outbox (tenants.outbox): recorded with the checkin, carried out in
beta's schema once alpha's transaction commits (here: tests.outbox delivers it)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.selectors import member_guest_loans
from circulation.services.loans import loan_mark_lost, renew
from collection.models import Item, ItemStatus
from core.actors import Actor
from core.errors import error_codes
from members.models import LedgerEntry, Member
from members.services.ledger import block_add
from members.services.registration import member_card_replace
from tenants.models import GuestLoan, OutboxMessage
from tests.members.factories import make_member
from tests.outbox import outbox_deliver_all

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, codes, lend, refused, take_back

pytestmark = pytest.mark.django_db

D = datetime.date
GUEST_CARD = "B2000001"


@pytest.fixture
def guest(desk, libraries):
    """A member of beta (registered in beta's schema); the test goes on in alpha's."""
    with tenant_context(libraries.beta):
        member = make_member(card_number=GUEST_CARD, first_name="Bram", last_name="Bakker", paid_until=PAID_UNTIL)
    return member


def in_beta(libraries, work):
    with tenant_context(libraries.beta):
        return work()


def test_guest_borrows_with_their_own_card(desk, guest, libraries):
    [item] = desk.items()
    members_here = Member.objects.count()
    result = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1))
    loan = Loan.objects.get(pk=result.loan.pk)
    assert loan.member_id is None
    assert loan.guest_card_number == GUEST_CARD and loan.guest_organisation_id == libraries.beta.pk
    assert Member.objects.count() == members_here
    assert not Member.objects.filter(card_number=GUEST_CARD).exists()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN

    row = GuestLoan.objects.get()
    assert (row.card_number, row.home_organisation_id, row.lending_organisation_id, row.loan_id) == (
        GUEST_CARD, libraries.beta.pk, libraries.alpha.pk, loan.pk)
    assert (row.item_barcode, row.title_id, row.due_on) == (item.barcode, item.title_id, loan.due_on)

    # Beta sees the loan among its member's loans.
    shown = in_beta(libraries, lambda: member_guest_loans(guest, libraries.beta))
    assert [(entry.loan_id, entry.lending_name) for entry in shown] == [(loan.pk, libraries.alpha.name)]
    assert shown[0].title.pk == item.title_id
    # Other libraries do not.
    assert member_guest_loans(guest, libraries.gamma) == []

    # Checkin ends the loan and removes it from the index.
    take_back(desk, item, now=at(2026, 12, 5))
    assert not GuestLoan.objects.exists()
    assert in_beta(libraries, lambda: member_guest_loans(guest, libraries.beta)) == []
    loan.refresh_from_db()
    assert loan.ended_at is not None


def test_blocked_guest_refused(desk, guest, libraries):
    in_beta(libraries, lambda: block_add(actor=Actor.system("test"), member=guest, reason="Boeken niet teruggebracht"))
    [item] = desk.items()
    error = refused(lambda: lend(desk, item, card=GUEST_CARD), item)
    assert codes(error) == ["borrower.blocked_at_home"]
    assert error.messages[0].startswith(f"Bij de eigen bibliotheek ({libraries.beta.name}): ")
    assert error.refusals[0].params["reason_code"] == "member.blocked_by_library"
    # Only the category reaches the lending desk, never the home library's own words (issue 14).
    assert error.refusals[0].params["category"] == "guest.blocked_by_home"
    assert error.messages[0].endswith("geblokkeerd door de eigen bibliotheek.")
    assert "Boeken niet teruggebracht" not in error.messages[0]
    assert not GuestLoan.objects.exists()


def test_guest_rules_apply(desk, guest, member_defaults):
    make_rule(loan_days=28)  # members
    guests_rule = make_rule(for_guests=True, loan_days=7)
    [item, other] = desk.items(count=2)
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    assert loan.rule_id == guests_rule.pk
    assert loan.due_on == D(2026, 12, 8)
    assert lend(desk, other, now=at(2026, 12, 1)).loan.due_on == D(2026, 12, 29)


def test_without_a_guest_rule_guests_borrow_under_the_members_rule(desk, guest):
    # Issue 12, item 6: the library's own rules, never LSB's unlimited default (tests/circulation/test_guest_rules.py).
    rule = make_rule(loan_days=3)
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    assert loan.rule_id == rule.pk and loan.due_on == D(2026, 12, 4)


def test_guest_limit_counts_their_guest_loans(desk, guest):
    make_rule(for_guests=True, max_loans_total=1)
    [first, second] = desk.items(count=2)
    lend(desk, first, card=GUEST_CARD)
    error = refused(lambda: lend(desk, second, card=GUEST_CARD), second)
    assert codes(error) == ["checkout.limit_total"]
    # An own member is not limited by the guests' rule.
    lend(desk, second)


def test_guest_fine_charged_on_their_account_in_beta(desk, guest, libraries):
    make_rule(for_guests=True, loan_days=21, fine_per_day_cents=30)
    [item] = desk.items()
    lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1))
    alpha_entries = LedgerEntry.objects.count()
    result = take_back(desk, item, now=at(2026, 12, 24))
    assert result.fine_cents == 60  # the desk shows the fine at once
    assert LedgerEntry.objects.count() == alpha_entries  # nothing on anyone's account in alpha

    def fines():
        return in_beta(libraries, lambda: list(
            LedgerEntry.objects.filter(member=guest, charge_type=LedgerEntry.ChargeType.FINE)
            .values_list("amount_cents", "reference")
        ))

    # The checkin asked beta for the charge; it is on the account once the step has run.
    message = OutboxMessage.objects.get()
    assert (message.source_id, message.target_id, message.kind, message.state) == (
        libraries.alpha.pk, libraries.beta.pk, "members.guest_charge", "pending")
    assert message.payload == {"member": guest.pk, "charge_type": "fine", "amount_cents": 60,
                               "description": message.payload["description"],
                               "reference": f"loan:{result.loan.pk}:fine:2026-12-24"}
    assert fines() == []
    assert [delivery.state for delivery in outbox_deliver_all()] == ["done"]
    assert fines() == [(60, f"loan:{result.loan.pk}:fine:2026-12-24")]
    # Delivered again (a task sent twice): charged once.
    from tenants.outbox import deliver

    assert deliver(message.pk).state == "done"
    assert fines() == [(60, f"loan:{result.loan.pk}:fine:2026-12-24")]
    assert LedgerEntry.objects.count() == alpha_entries


def test_guest_loan_fee_and_lost_item_charged_in_beta(desk, guest, libraries):
    make_rule(for_guests=True, loan_fee_cents=100)
    [item] = desk.items(price_cents=1500)
    loan = lend(desk, item, card=GUEST_CARD).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    assert len(outbox_deliver_all()) == 2
    charges = in_beta(libraries, lambda: sorted(
        LedgerEntry.objects.filter(member=guest).values_list("charge_type", "amount_cents")
    ))
    assert charges == [(LedgerEntry.ChargeType.LOAN_FEE, 100), (LedgerEntry.ChargeType.LOST_ITEM, 1500)]
    assert not GuestLoan.objects.exists()


def test_guest_renewal_updates_the_index(desk, guest):
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    renewed = renew(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 10))
    assert renewed.due_on == D(2026, 12, 31)
    assert GuestLoan.objects.get().due_on == D(2026, 12, 31)
    # Scanning it again later is a renewal too.
    result = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 20))
    assert result.renewed and GuestLoan.objects.get().due_on == D(2027, 1, 11)


def test_guest_blocked_at_home_cannot_renew(desk, guest, libraries):
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    in_beta(libraries, lambda: block_add(actor=Actor.system("test"), member=guest, reason="Verhuisd"))
    error = refused(lambda: renew(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 10)), item)
    assert codes(error) == ["borrower.blocked_at_home"]


def test_guest_cannot_take_an_own_members_item(desk, guest):
    [item] = desk.items()
    lend(desk, item)
    assert codes(refused(lambda: lend(desk, item, card=GUEST_CARD), item)) == ["checkout.on_loan_to_other"]


def test_replaced_guest_card_refused(desk, guest, libraries):
    in_beta(libraries, lambda: member_card_replace(actor=Actor.system("test"), member=guest,
                                                  new_card_number="B2000002", reason="gestolen"))
    [item] = desk.items()
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card=GUEST_CARD)
    assert "geblokkeerd door" in caught.value.messages[0]
    assert error_codes(caught.value) == ["borrower.card_blocked_at_home"]
    assert not Loan.objects.exists()
    assert lend(desk, item, card="B2000002").loan.guest_card_number == "B2000002"


def test_card_of_an_inactive_library_refused(desk, libraries):
    with tenant_context(libraries.dormant):
        make_member(card_number="D3000001", paid_until=PAID_UNTIL)
    [item] = desk.items()
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card="D3000001")
    assert caught.value.messages == [
        f"{libraries.dormant.name} doet (nog) niet mee aan LSB; deze pas kan hier niet lenen."
    ]
    assert not Loan.objects.exists() and not GuestLoan.objects.exists()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.AVAILABLE


def test_guest_who_replaced_their_card_still_pays_the_fine_at_home(desk, guest, libraries):
    """The loan keeps the card it was lent on; the charge must still reach the
    member in beta after beta replaced that card."""
    make_rule(for_guests=True, loan_days=21, fine_per_day_cents=30)
    [item] = desk.items(price_cents=1200)
    [lost] = desk.items(price_cents=1500)
    lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1))
    lost_loan = lend(desk, lost, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    in_beta(libraries, lambda: member_card_replace(actor=Actor.system("test"), member=guest,
                                                  new_card_number="B2000003", reason="verloren"))
    # Beta still shows the loans (lent on the former card).
    assert len(in_beta(libraries, lambda: member_guest_loans(guest, libraries.beta))) == 2
    result = take_back(desk, item, now=at(2026, 12, 24))
    assert result.fine_cents == 60
    loan_mark_lost(actor=desk.actor(), loan_id=lost_loan.pk, today=D(2026, 12, 22))
    assert [delivery.state for delivery in outbox_deliver_all()] == ["done", "done"]
    charges = in_beta(libraries, lambda: sorted(
        LedgerEntry.objects.filter(member=guest).values_list("charge_type", "amount_cents")
    ))
    assert charges == [(LedgerEntry.ChargeType.FINE, 60), (LedgerEntry.ChargeType.LOST_ITEM, 1500)]
    assert not GuestLoan.objects.exists()


def test_guest_whose_home_record_was_merged_can_return_and_pays_on_the_kept_record(desk, guest, libraries):
    """Beta merges the guest's record (a duplicate) into another record of the
    same person: the item can still be checked in at alpha, and the fine goes to
    the kept record."""
    from members.services.registration import member_merge

    make_rule(for_guests=True, loan_days=21, fine_per_day_cents=30)
    [item] = desk.items()
    lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1))

    def merge():
        kept = make_member(card_number="B2000009", first_name="Bram", last_name="Bakker", paid_until=PAID_UNTIL)
        member_merge(actor=Actor.system("test"), keep=kept, duplicate=guest)
        return kept

    kept = in_beta(libraries, merge)
    result = take_back(desk, item, now=at(2026, 12, 24))
    assert result.fine_cents == 60 and result.route == "shelf"
    assert not GuestLoan.objects.exists()
    assert [delivery.state for delivery in outbox_deliver_all()] == ["done"]
    fines = in_beta(libraries, lambda: list(
        LedgerEntry.objects.filter(charge_type=LedgerEntry.ChargeType.FINE).values_list("member_id", "amount_cents")
    ))
    assert fines == [(kept.pk, 60)]


def test_home_library_cannot_erase_a_member_with_a_loan_elsewhere(desk, guest, libraries, staff):
    """Erasure waits until nothing is open, also loans at other libraries (the
    national index): else the loan would be left without anyone to answer for it."""
    from members.services.privacy import member_erase

    [item] = desk.items()
    lend(desk, item, card=GUEST_CARD)

    def erase():
        member_erase(actor=Actor.staff(staff.beta_desk, libraries.beta), member_id=guest.pk)

    with pytest.raises(ValidationError) as caught:
        in_beta(libraries, erase)
    assert any(libraries.alpha.name in message for message in caught.value.messages), caught.value.messages
    assert "erasure.loans_elsewhere" in error_codes(caught.value)
    assert in_beta(libraries, lambda: Member.objects.get(pk=guest.pk).erased_at) is None
    take_back(desk, item)
    in_beta(libraries, erase)
    assert in_beta(libraries, lambda: Member.objects.get(pk=guest.pk).erased_at) is not None


def test_guest_loan_renews_after_the_card_was_replaced_at_home(desk, guest, libraries):
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    in_beta(libraries, lambda: member_card_replace(actor=Actor.system("test"), member=guest,
                                                  new_card_number="B2000004", reason="verloren"))
    renewed = renew(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 10))
    assert renewed.renewals == 1 and renewed.due_on == D(2026, 12, 31)
    assert GuestLoan.objects.get().due_on == D(2026, 12, 31)
    # A block at home still counts.
    in_beta(libraries, lambda: block_add(actor=Actor.system("test"), member=guest, reason="Verhuisd"))
    error = refused(lambda: renew(actor=desk.actor(), loan_id=loan.pk, today=D(2026, 12, 20)), item)
    assert codes(error) == ["borrower.blocked_at_home"]


def test_guest_charge_asked_before_a_merge_at_home_reaches_the_kept_record(desk, guest, libraries):
    """The step runs later than the checkin: beta merged the record in between, and
    the charge still lands on the record beta kept."""
    from members.services.registration import member_merge

    make_rule(for_guests=True, loan_days=21, fine_per_day_cents=30)
    [item] = desk.items()
    lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1))
    take_back(desk, item, now=at(2026, 12, 24))

    def merge():
        kept = make_member(card_number="B2000010", first_name="Bram", last_name="Bakker", paid_until=PAID_UNTIL)
        member_merge(actor=Actor.system("test"), keep=kept, duplicate=guest)
        return kept

    kept = in_beta(libraries, merge)
    assert [delivery.state for delivery in outbox_deliver_all()] == ["done"]
    fines = in_beta(libraries, lambda: list(
        LedgerEntry.objects.filter(charge_type=LedgerEntry.ChargeType.FINE).values_list("member_id", "amount_cents")
    ))
    assert fines == [(kept.pk, 60)]


def test_refused_guest_checkout_asks_nothing_of_the_home_library(desk, guest, libraries):
    make_rule(for_guests=True, loan_fee_cents=100, max_loans_total=0)
    [item] = desk.items()
    refused(lambda: lend(desk, item, card=GUEST_CARD), item)
    assert not OutboxMessage.objects.exists()
