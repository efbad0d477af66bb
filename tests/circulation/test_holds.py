"""Holds: placing (and every refusal), the queue, filling at checkin (hold shelf or
transit to the pickup branch), the hold-ready notice, renewal refused while
someone waits, cancel / suspend / change pickup / queue override, expiry, and
the expected availability date."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from circulation.expected import PICKUP_DAYS
from circulation.models import CirculationEvent, Hold, HoldStatus, Transfer
from circulation.selectors import hold_shelf, pick_list, title_queue
from circulation.services import holds as hold_services
from circulation.services.loans import CirculationRefused, checkin, checkout, renew
from collection.models import ItemStatus
from core.actors import Actor
from core.errors import error_codes
from members.models import LedgerEntry
from members.services.ledger import block_add
from notices.models import Notice
from tenants.calendar import open_days_later
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule


def lend(desk, item, member=None, **kwargs):
    member = member or desk.member
    return checkout(actor=desk.actor(), card_number=member.card_number, barcode=item.barcode, **kwargs).loan


def take_back(desk, item, branch=None, **kwargs):
    return checkin(actor=desk.actor(branch=branch), barcode=item.barcode, **kwargs)


def place(desk, member, *, title_id=None, item_barcode=None, pickup=None, actor=None):
    return hold_services.hold_place(actor=actor or desk.actor(), member=member, title_id=title_id,
                                    item_barcode=item_barcode, pickup_branch_id=(pickup or desk.main).pk)


@pytest.fixture
def others(desk):
    return [make_member(first_name=name, last_name="Wachter", paid_until=PAID_UNTIL) for name in ("Bas", "Cor")]


# --- placing -------------------------------------------------------------------------

def test_place_hold_on_a_title_whose_copy_is_out(desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], title_id=item.title_id)
    assert hold.status == HoldStatus.WAITING
    assert hold.expected_position == 1
    assert hold.expected_on is not None


def test_refusals_change_nothing(desk, others, libraries):
    item, = desk.items()
    lend(desk, item)
    place(desk, others[0], title_id=item.title_id)
    before = Hold.objects.count()
    cases = [
        (lambda: place(desk, others[0], title_id=item.title_id), "al gereserveerd", "hold.duplicate"),
        (lambda: place(desk, desk.member, title_id=item.title_id), "nu al geleend", "hold.already_on_loan"),
        (lambda: place(desk, others[1], item_barcode="ONBEKEND1"), "onbekend", "scan.item_unknown"),
        (lambda: place(desk, others[1], title_id=item.title_id, pickup=libraries.beta.branches.first()),
         "hoort niet bij", "branch.other_library"),
        (lambda: place(desk, others[1]), "Kies een titel of een exemplaar", "hold.title_missing"),
    ]
    for attempt, text, code in cases:
        with pytest.raises(ValidationError) as error:
            attempt()
        assert text in " ".join(error.value.messages)
        assert error_codes(error.value) == [code]
    assert Hold.objects.count() == before


def test_no_holdable_copies_refused(desk, others):
    withdrawn_only, = desk.items(item_type="dvd")
    make_rule(item_type="dvd", holdable=False)
    with pytest.raises(ValidationError) as error:
        place(desk, others[0], title_id=withdrawn_only.title_id)
    assert "geen exemplaren die gereserveerd kunnen worden" in error.value.messages[0]
    assert error_codes(error.value) == ["hold.no_holdable_copies"]
    assert not Hold.objects.exists()


def test_blocked_member_cannot_reserve(desk, others):
    item, = desk.items()
    block_add(actor=desk.actor(), member=others[0], reason="Boek beschadigd teruggebracht")
    with pytest.raises(ValidationError) as error:
        place(desk, others[0], title_id=item.title_id)
    assert "kan nu niet reserveren" in error.value.messages[0]
    assert error_codes(error.value) == ["hold.member_may_not_reserve", "member.blocked_by_library"]
    assert "Boek beschadigd teruggebracht" in error.value.messages[1]


def test_hold_fee_is_charged(desk, others):
    item, = desk.items()
    make_rule(hold_fee_cents=100)
    hold = place(desk, others[0], title_id=item.title_id)
    fee = LedgerEntry.objects.get(member=others[0], charge_type=LedgerEntry.ChargeType.RESERVATION_FEE)
    assert fee.amount_cents == 100 and fee.reference == f"hold:{hold.pk}"
    assert fee.created_by_id == desk.staff.pk
    assert (hold.placed_by_id, hold.actor_ref) == (desk.staff.pk, f"staff:{desk.staff.pk}")


# --- filling -------------------------------------------------------------------------

def test_checkin_at_pickup_branch_puts_copy_on_hold_shelf_and_notifies_once(desk, others):
    item, = desk.items()
    lend(desk, item)
    first = place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)
    assert [hold.pk for hold in title_queue(item.title_id)] == [first.pk, second.pk]

    result = take_back(desk, item)
    assert result.route == "hold_shelf" and result.message == "RESERVERINGSPLANK"
    assert [note.code for note in result.notes] == ["checkin.hold_ready"]
    item.refresh_from_db()
    first.refresh_from_db()
    assert item.status == ItemStatus.ON_HOLD_SHELF
    assert first.status == HoldStatus.READY and first.assigned_item_id == item.pk
    # Seven days on the hold shelf the pickup branch is open (issue 12, item 8).
    assert first.shelf_until == open_days_later(desk.main.pk, start=timezone.localdate(), days=7)
    assert hold_shelf(desk.main.pk)["ready"][0].pk == first.pk
    notices = Notice.objects.filter(member=others[0], kind="hold_ready")
    assert notices.count() == 1
    # Scanning it again changes nothing and sends nothing more.
    again = take_back(desk, item)
    assert again.route == "hold_shelf"
    assert Notice.objects.filter(member=others[0], kind="hold_ready").count() == 1
    second.refresh_from_db()
    # First in the waiting line now that the copy is on the shelf for the first member.
    assert second.status == HoldStatus.WAITING and second.expected_position == 1


def test_checkin_elsewhere_sends_copy_to_pickup_branch(desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], title_id=item.title_id, pickup=desk.other)
    result = take_back(desk, item, branch=desk.main)
    assert result.route == "hold_transit"
    assert desk.other.name.upper() in result.message
    hold.refresh_from_db()
    assert hold.status == HoldStatus.IN_TRANSIT
    transfer = Transfer.objects.get(item=item, received_at__isnull=True)
    assert (transfer.to_branch_id, transfer.hold_id) == (desk.other.pk, hold.pk)
    assert hold_shelf(desk.other.pk)["incoming"][0].pk == hold.pk

    arrived = take_back(desk, item, branch=desk.other)
    assert arrived.route == "hold_shelf"
    hold.refresh_from_db()
    assert hold.status == HoldStatus.READY
    transfer.refresh_from_db()
    assert transfer.received_at is not None


def test_member_picks_up_their_hold(desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], title_id=item.title_id)
    take_back(desk, item)
    # Someone else cannot take the copy from the hold shelf.
    with pytest.raises(CirculationRefused) as refused:
        lend(desk, item, member=others[1])
    assert "ligt klaar voor een ander lid" in refused.value.messages[0]
    assert refused.value.codes == ["checkout.held_for_other"]
    loan = lend(desk, item, member=others[0])
    hold.refresh_from_db()
    assert hold.status == HoldStatus.FULFILLED
    assert loan.member_id == others[0].pk


def test_available_copy_appears_on_pick_list_and_is_trapped_when_scanned(desk, others):
    item, = desk.items()
    hold = place(desk, others[0], title_id=item.title_id, pickup=desk.other)
    rows = pick_list(desk.main.pk)
    assert [row.pk for row in rows] == [hold.pk]
    assert rows[0].copies[0].pk == item.pk
    result = take_back(desk, item, branch=desk.main)
    assert result.route == "hold_transit"
    assert pick_list(desk.main.pk) == []


def test_item_level_hold_waits_for_its_own_copy(desk, others):
    first, second = desk.items(count=2)
    lend(desk, first)
    lend(desk, second, member=others[1])
    hold = place(desk, others[0], item_barcode=first.barcode)
    result = take_back(desk, second)
    assert result.route == "shelf"  # the other copy does not fill an item-level hold
    hold.refresh_from_db()
    assert hold.status == HoldStatus.WAITING
    assert take_back(desk, first).route == "hold_shelf"


def test_suspended_hold_keeps_place_but_is_skipped(desk, others):
    item, = desk.items()
    lend(desk, item)
    first = place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)
    hold_services.hold_suspend(actor=desk.actor(), hold_id=first.pk,
                               until=timezone.localdate() + datetime.timedelta(days=30))
    take_back(desk, item)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == HoldStatus.READY
    assert first.status == HoldStatus.WAITING and first.expected_position == 1
    assert first.expected_on >= timezone.localdate() + datetime.timedelta(days=30)


def test_renewal_refused_while_someone_waits(desk, others):
    item, = desk.items()
    loan = lend(desk, item, now=timezone.now() - datetime.timedelta(days=20))
    place(desk, others[0], title_id=item.title_id)
    with pytest.raises(CirculationRefused) as refused:
        renew(actor=desk.actor(), loan_id=loan.pk)
    assert any("gereserveerd" in message for message in refused.value.messages)
    assert refused.value.codes == ["loan.held_for_other"]


# --- changing ------------------------------------------------------------------------

def test_cancel_change_pickup_and_queue_override(desk, others):
    item, = desk.items()
    lend(desk, item)
    first = place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)

    with pytest.raises(ValidationError) as error:
        hold_services.hold_queue_move(actor=desk.actor(), hold_id=second.pk, before_hold_id=first.pk, reason="")
    assert error_codes(error.value) == ["hold.queue_reason_missing"]
    hold_services.hold_queue_move(actor=desk.actor(), hold_id=second.pk, before_hold_id=first.pk,
                                  reason="Leesclub: afspraak met de bibliotheek")
    assert [hold.pk for hold in title_queue(item.title_id)] == [second.pk, first.pk]
    assert CirculationEvent.objects.filter(kind=CirculationEvent.Kind.QUEUE, hold=second).exists()

    hold_services.hold_change_pickup(actor=desk.actor(), hold_id=first.pk, pickup_branch_id=desk.other.pk)
    first.refresh_from_db()
    assert first.pickup_branch_id == desk.other.pk
    with pytest.raises(ValidationError) as error:
        hold_services.hold_change_pickup(actor=desk.actor(), hold_id=first.pk, pickup_branch_id=desk.other.pk)
    assert error_codes(error.value) == ["hold.pickup_unchanged"]
    assert error.value.messages == [f"De reservering wordt al opgehaald in {desk.other.name}."]

    hold_services.hold_cancel(actor=desk.actor(), hold_id=second.pk, reason="Niet meer nodig")
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.status == HoldStatus.CANCELLED
    assert first.expected_position == 1
    with pytest.raises(ValidationError) as error:
        hold_services.hold_cancel(actor=desk.actor(), hold_id=second.pk)
    assert error_codes(error.value) == ["hold.closed"]


def test_expired_hold_passes_copy_to_next_in_line(desk, others):
    item, = desk.items()
    lend(desk, item)
    first = place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)
    take_back(desk, item)
    first.refresh_from_db()
    later = first.shelf_until + datetime.timedelta(days=1)
    expired = hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later)
    assert [hold.pk for hold in expired] == [first.pk]
    assert CirculationEvent.objects.get(hold=first, detail__startswith="Niet opgehaald").actor_ref == "system:nightly"
    assert hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later) == []  # idempotent
    # The next member picks up here too: the copy is ready for them at once (issue 12, item 3).
    second.refresh_from_db()
    assert second.status == HoldStatus.READY and second.assigned_item_id == item.pk
    assert hold_shelf(desk.main.pk, today=later)["expired"] == []
    assert [hold.pk for hold in hold_shelf(desk.main.pk, today=later)["ready"]] == [second.pk]
    # Scanned at checkin it stays on the hold shelf for them.
    assert take_back(desk, item).route == "hold_shelf"


# --- expected dates ------------------------------------------------------------------

def test_expected_dates_in_a_simple_queue(desk, others):
    """One copy on loan, due in 21 days (moved off Sundays), no lateness observed
    yet, pickup where it was lent: the first waits until the due date; the second
    until the first has picked it up, read it for a loan period and returned it."""
    item, = desk.items()
    loan = lend(desk, item)
    first = place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.expected_on == loan.due_on
    assert second.expected_on == loan.due_on + datetime.timedelta(days=PICKUP_DAYS + 21)
    assert (first.expected_position, second.expected_position) == (1, 2)


def test_expected_dates_with_two_copies_and_transfer(desk, others):
    near, far = desk.items(count=2)
    near_loan = lend(desk, near)
    far_loan = lend(desk, far, member=others[1], now=timezone.now() - datetime.timedelta(days=10))
    hold = place(desk, others[0], title_id=near.title_id, pickup=desk.other)
    hold.refresh_from_db()
    # The copy due first fills it, then travels (2 days by default) to the pickup branch.
    assert hold.expected_on == min(near_loan.due_on, far_loan.due_on) + datetime.timedelta(days=2)


def test_expected_dates_never_in_the_past_in_a_busy_queue(desk):
    items = desk.items(count=3)
    long_ago = timezone.now() - datetime.timedelta(days=60)
    borrowers = [make_member(first_name=f"Lener{n}", last_name="Druk", paid_until=PAID_UNTIL) for n in range(3)]
    for item, borrower in zip(items, borrowers):
        lend(desk, item, member=borrower, now=long_ago)  # all long overdue
    waiting = [make_member(first_name=f"Wacht{n}", last_name="Rij", paid_until=PAID_UNTIL) for n in range(8)]
    for member in waiting:
        place(desk, member, title_id=items[0].title_id)
    holds = title_queue(items[0].title_id)
    today = timezone.localdate()
    dates = [hold.expected_on for hold in holds]
    assert all(date >= today for date in dates)
    assert dates == sorted(dates)
    assert [hold.expected_position for hold in holds] == list(range(1, 9))
    # Three copies: the first three wait about as long; the fourth a loan cycle more.
    assert dates[3] > dates[2]


def test_a_longer_loan_period_moves_expected_dates_once_the_rules_change(desk, others, django_capture_on_commit_callbacks):
    """Second in line waits a loan period after the first: a rule with a longer loan
    period moves that date when the change is committed (the task's work, run here)."""
    from circulation.services.reminders import holds_expected_refresh_all
    from circulation.services.rules import loan_rule_save

    item, = desk.items()
    loan = lend(desk, item)
    place(desk, others[0], title_id=item.title_id)
    second = place(desk, others[1], title_id=item.title_id)
    assert second.expected_on == loan.due_on + datetime.timedelta(days=PICKUP_DAYS + 21)
    with django_capture_on_commit_callbacks() as callbacks:
        loan_rule_save(actor=desk.actor(desk.supervisor), loan_days=42, max_renewals=2, hold_shelf_days=7,
                       holdable=True)
    assert len(callbacks) == 1  # the recompute is sent once the change is committed
    assert holds_expected_refresh_all(actor=Actor.system("nightly", desk.library), today=timezone.localdate()) == 1
    second.refresh_from_db()
    assert second.expected_on == loan.due_on + datetime.timedelta(days=PICKUP_DAYS + 42)
