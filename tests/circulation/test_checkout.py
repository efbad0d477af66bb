"""Checkout at the desk: every refusal (with nothing changed), the renewal by
scanning an item the borrower has, overrides by a desk coordinator, the loan
fee, the item's loan statistics and the national holdings index."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from catalogue.models import Holding
from circulation.models import CirculationEvent, Hold, HoldStatus, Loan, Transfer
from circulation.services.holds import hold_place
from circulation.services.loans import CirculationRefused
from collection.models import Item, ItemStatus
from core.actors import Actor
from core.errors import error_codes
from collection.services import item_status_change, item_withdraw
from tests.collection.helpers import set_status_as_circulation
from members.models import LedgerEntry, MemberRules, SubscriptionType
from members.services.ledger import block_add, ledger_charge
from members.services.privacy import member_erase
from members.services.registration import member_card_replace
from tests.factories import collection_actor
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, codes, lend, refused, snapshot, take_back

pytestmark = pytest.mark.django_db


def member(card_number, **fields):
    return make_member(card_number=card_number, paid_until=PAID_UNTIL, **fields)


def fresh(item):
    return Item.objects.get(pk=item.pk)


# --- a plain checkout ----------------------------------------------------------------

def test_checkout_lends_the_item(desk):
    [item] = desk.items()
    now = at(2026, 12, 1)
    result = lend(desk, item, now=now)
    loan = result.loan
    assert not result.renewed and result.fee_cents == 0 and result.overridden == []
    loan.refresh_from_db()
    assert loan.member_id == desk.member.pk and loan.guest_card_number == ""
    assert loan.item_id == item.pk and loan.title_id == item.title_id
    assert loan.branch_id == desk.main.pk and loan.loaned_at == now and loan.created_by_id == desk.staff.pk
    assert loan.due_on == datetime.date(2026, 12, 22)  # 21 days (the default rule), a Tuesday
    assert loan.rule_id is None  # the default rule
    assert loan.ended_at is None
    item = fresh(item)
    assert item.status == ItemStatus.ON_LOAN
    assert item.current_branch_id == desk.main.pk
    assert item.last_loaned_at == now and item.loan_count == 1
    assert not LedgerEntry.objects.filter(member=desk.member).exists()


def test_due_date_from_the_rule_and_the_lending_branch_calendar(desk):
    rule = make_rule(loan_days=5)
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan  # Tuesday + 5 = Sunday: closed
    assert loan.due_on == datetime.date(2026, 12, 7)
    assert loan.rule_id == rule.pk


def test_loan_count_and_last_loaned_accumulate(desk):
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    take_back(desk, item, now=at(2026, 12, 2))
    second = at(2026, 12, 3)
    lend(desk, item, now=second)
    item = fresh(item)
    assert item.loan_count == 2 and item.last_loaned_at == second
    assert Loan.objects.filter(item=item).count() == 2
    assert Loan.objects.filter(item=item, ended_at__isnull=True).count() == 1


def test_holdings_index_follows_checkout_and_checkin(desk):
    items = desk.items(count=2)
    title_id = items[0].title_id

    def available():
        row = Holding.objects.get(title_id=title_id, organisation=desk.library, branch=desk.main)
        return row.total, row.available

    assert available() == (2, 2)
    lend(desk, items[0])
    assert available() == (2, 1)
    lend(desk, items[1])
    assert available() == (2, 0)
    take_back(desk, items[0])
    assert available() == (2, 1)
    # Back at another branch: in transit home, not available yet.
    take_back(desk, items[1], branch=desk.other)
    assert available() == (2, 1)
    take_back(desk, items[1])  # received at home
    assert available() == (2, 2)


def test_loan_fee_charged_at_checkout_and_renewal(desk):
    from circulation.services.loans import renew

    make_rule(loan_fee_cents=150)
    [item] = desk.items()
    result = lend(desk, item, now=at(2026, 12, 1))
    assert result.fee_cents == 150
    fees = LedgerEntry.objects.filter(member=desk.member, charge_type=LedgerEntry.ChargeType.LOAN_FEE)
    assert [(fee.amount_cents, fee.reference) for fee in fees] == [(150, f"loan:{result.loan.pk}:fee:0")]
    assert fees[0].kind == LedgerEntry.Kind.CHARGE and fees[0].created_by_id == desk.staff.pk
    renew(actor=desk.actor(), loan_id=result.loan.pk, today=datetime.date(2026, 12, 10))
    assert sorted(fees.values_list("reference", flat=True)) == [f"loan:{result.loan.pk}:fee:0",
                                                                 f"loan:{result.loan.pk}:fee:1"]


# --- borrower refusals -----------------------------------------------------------------

def test_manual_block_refused(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Boek met koffievlekken")
    [item] = desk.items()
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["member.blocked_by_library"]
    assert "Boek met koffievlekken" in error.messages[0]
    assert error.overridable


def test_balance_over_limit_refused(desk):
    MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 1000})
    ledger_charge(actor=Actor.system("test"), member=desk.member, charge_type=LedgerEntry.ChargeType.OTHER,
                  amount_cents=1250)
    [item] = desk.items()
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["member.balance_too_high"]
    assert "Openstaand saldo" in error.messages[0]


def test_expired_membership_refused(desk):
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    type(desk.member).objects.filter(pk=desk.member.pk).update(expires_on=yesterday)
    [item] = desk.items()
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["member.membership_expired"]
    assert "verlopen" in error.messages[0]


def test_subscription_limit_refused(desk):
    SubscriptionType.objects.filter(pk=desk.member.subscription_id).update(max_loans=2)
    items = desk.items(count=3)
    lend(desk, items[0])
    lend(desk, items[1])
    error = refused(lambda: lend(desk, items[2]), *items)
    assert codes(error) == ["checkout.limit_total"]
    assert error.messages == ["Het maximum van 2 exemplaren tegelijk is bereikt."]
    # Handing one in makes room.
    take_back(desk, items[0])
    lend(desk, items[2])


def test_rule_total_limit_replaces_the_subscription_limit(desk):
    SubscriptionType.objects.filter(pk=desk.member.subscription_id).update(max_loans=1)
    make_rule(max_loans_total=2)
    items = desk.items(count=3)
    lend(desk, items[0])
    lend(desk, items[1])  # the rule allows two, although the subscription says one
    error = refused(lambda: lend(desk, items[2]), *items)
    assert codes(error) == ["checkout.limit_total"]
    assert "maximum van 2" in error.messages[0]


def test_rule_total_limit_lower_than_subscription(desk):
    make_rule(max_loans_total=1)
    items = desk.items(count=2)
    lend(desk, items[0])
    assert codes(refused(lambda: lend(desk, items[1]), *items)) == ["checkout.limit_total"]


def test_per_type_limit(desk):
    make_rule(item_type="dvd", max_loans_of_type=1)
    dvds = desk.items(count=2, item_type="dvd")
    [book] = desk.items()
    lend(desk, dvds[0])
    error = refused(lambda: lend(desk, dvds[1]), *dvds)
    assert codes(error) == ["checkout.limit_type"]
    assert error.messages == ["Het maximum van 1 exemplaren van de soort dvd is bereikt."]
    lend(desk, book)  # other types are not limited by it


def test_other_members_loans_do_not_count(desk):
    make_rule(max_loans_total=1)
    other = member("A1000002")
    items = desk.items(count=2)
    lend(desk, items[0], other)
    lend(desk, items[1])
    # Each has one loan: the other member's loan did not count against the limit of one.
    assert Loan.objects.filter(member=desk.member, ended_at__isnull=True).count() == 1
    assert Loan.objects.filter(member=other, ended_at__isnull=True).count() == 1


def test_refusals_are_all_listed(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Nog niet betaald")
    [item] = desk.items(not_for_loan=True)
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["member.blocked_by_library", "checkout.not_for_loan"]


# --- item refusals -------------------------------------------------------------------

def test_not_for_loan_refused(desk):
    [item] = desk.items(not_for_loan=True)
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.not_for_loan"]
    assert error.messages == [f"Exemplaar {item.barcode} is niet uitleenbaar."]
    assert error.overridable


@pytest.mark.parametrize(
    "status, code, overridable",
    [
        (ItemStatus.MISSING, "checkout.missing", True),
        (ItemStatus.DAMAGED, "checkout.damaged", True),
        (ItemStatus.IN_TRANSIT, "checkout.in_transit", True),
        (ItemStatus.IN_PROCESSING, "checkout.in_processing", True),
        (ItemStatus.ON_INTERLIBRARY_LOAN, "checkout.on_interlibrary_loan", False),
    ],
)
def test_item_status_refused(desk, status, code, overridable):
    [item] = desk.items()
    if status in (ItemStatus.IN_TRANSIT, ItemStatus.ON_INTERLIBRARY_LOAN):  # circulation's own statuses
        set_status_as_circulation(desk.library, item.barcode, status)
    else:
        item_status_change(actor=collection_actor(desk.library), barcode=item.barcode, to_status=status)
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == [code]
    assert error.messages[0].startswith(f"Exemplaar {item.barcode} ")
    assert error.overridable is overridable


def test_withdrawn_refused_even_for_a_coordinator(desk):
    [item] = desk.items()
    item_withdraw(actor=collection_actor(desk.library), barcodes=[item.barcode], reason="worn")
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.withdrawn"]
    assert "afgeschreven" in error.messages[0]
    assert not error.overridable
    error = refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="Toch meegeven"), item)
    assert codes(error) == ["checkout.withdrawn"]


def test_on_loan_to_another_member_refused(desk):
    [item] = desk.items()
    other = member("A1000002")
    loan = lend(desk, item, other).loan
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.on_loan_to_other"]
    assert "al uitgeleend aan een ander lid" in error.messages[0]
    # Not even a coordinator can lend a copy that is out.
    refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="Dringend"), item)
    loan.refresh_from_db()
    assert loan.member_id == other.pk and loan.ended_at is None


def test_on_the_hold_shelf_for_another_member(desk):
    [item] = desk.items()
    waiting = member("A1000002")
    hold = hold_place(actor=desk.actor(), member=waiting, title_id=item.title_id,
                      pickup_branch_id=desk.main.pk)
    result = take_back(desk, item)
    assert result.route == "hold_shelf"
    assert fresh(item).status == ItemStatus.ON_HOLD_SHELF
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.held_for_other"]
    assert not error.overridable
    refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="Toch"), item)
    # The member it waits for takes it: the hold is fulfilled.
    lend(desk, item, waiting)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.FULFILLED
    assert fresh(item).status == ItemStatus.ON_LOAN


# --- scan errors ---------------------------------------------------------------------

def test_unknown_barcode(desk):
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        lend(desk, barcode="ONBEKEND123")
    assert caught.value.messages == ["Exemplaar ONBEKEND123 is onbekend in deze bibliotheek."]
    assert error_codes(caught.value) == ["scan.item_unknown"]
    assert not isinstance(caught.value, CirculationRefused)
    assert snapshot() == before


def test_member_card_scanned_as_item(desk):
    other = member("A1000002")
    with pytest.raises(ValidationError) as caught:
        lend(desk, barcode=other.card_number)
    assert "is een pasnummer, geen exemplaar" in caught.value.messages[0]
    assert error_codes(caught.value) == ["scan.card_not_item"]
    assert not Loan.objects.exists()


@pytest.mark.parametrize("barcode", ["ab", "ABC 1234", "", "   ", "X" * 21])
def test_invalid_barcode(desk, barcode):
    with pytest.raises(ValidationError) as caught:
        lend(desk, barcode=barcode)
    assert "barcode" in caught.value.messages[0].lower()
    assert error_codes(caught.value) in (["scan.no_barcode"], ["item.barcode_invalid"])
    assert not Loan.objects.exists()


def test_item_barcode_scanned_as_card(desk):
    [item, other] = desk.items(count=2)
    with pytest.raises(ValidationError) as caught:
        lend(desk, other, card=item.barcode)
    assert "is de barcode van een exemplaar, geen pas" in caught.value.messages[0]
    assert error_codes(caught.value) == ["borrower.card_is_item"]
    assert fresh(other).status == ItemStatus.AVAILABLE and not Loan.objects.exists()


def test_unknown_card(desk):
    [item] = desk.items()
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card="Z9999999")
    assert caught.value.messages == [
        "Pas Z9999999 is onbekend: niet van deze bibliotheek en niet in de landelijke pasindex."
    ]
    assert error_codes(caught.value) == ["borrower.card_unknown"]
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card="")
    assert caught.value.messages == ["Scan eerst de pas van het lid."]
    assert error_codes(caught.value) == ["borrower.no_card"]
    assert fresh(item).status == ItemStatus.AVAILABLE and not Loan.objects.exists()


def test_replaced_card_refused_new_card_lends(desk):
    [item] = desk.items()
    old = desk.member.card_number
    member_card_replace(actor=desk.actor(), member=desk.member, new_card_number="A1000099", reason="verloren")
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card=old)
    assert "is vervangen (verloren)" in caught.value.messages[0]
    assert error_codes(caught.value) == ["borrower.card_replaced"]
    assert fresh(item).status == ItemStatus.AVAILABLE and not Loan.objects.exists()
    loan = lend(desk, item, card="A1000099").loan
    assert loan.member_id == desk.member.pk


def test_erased_member_refused(desk):
    [item] = desk.items()
    erased = member("A1000002")
    member_erase(actor=desk.actor(desk.supervisor), member_id=erased.pk)
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card="A1000002")
    assert not isinstance(caught.value, CirculationRefused)
    assert fresh(item).status == ItemStatus.AVAILABLE and not Loan.objects.exists()
    erased.refresh_from_db()
    # The record keeps a "gewist-" placeholder card: that is refused as well.
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, card=erased.card_number)
    assert "gewist" in caught.value.messages[0]
    assert error_codes(caught.value) == ["borrower.erased"]
    assert not Loan.objects.exists()


def test_branch_of_another_library_refused(desk, libraries):
    [item] = desk.items()
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, branch=libraries.beta.branches.first())
    assert "hoort niet bij" in caught.value.messages[0]
    assert error_codes(caught.value) == ["branch.other_library"]
    assert not Loan.objects.exists()


# --- renewal by scanning ----------------------------------------------------------------

def test_same_member_scanning_an_item_they_have_renews_it(desk):
    [item] = desk.items()
    first = lend(desk, item, now=at(2026, 12, 1)).loan
    result = lend(desk, item, now=at(2026, 12, 10))
    assert result.renewed
    assert result.loan.pk == first.pk
    loan = Loan.objects.get(pk=first.pk)
    assert loan.renewals == 1
    assert loan.due_on == datetime.date(2026, 12, 31)
    assert Loan.objects.filter(item=item).count() == 1
    assert fresh(item).loan_count == 1


def test_scanning_again_the_same_day_gives_no_later_date(desk):
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    error = refused(lambda: lend(desk, item, now=at(2026, 12, 1, 15)), item)
    assert codes(error) == ["loan.renewal_too_early"]


# --- overrides ------------------------------------------------------------------------

def test_coordinator_overrides_a_blocked_member_with_a_reason(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Boete openstaand")
    [item] = desk.items()
    result = lend(desk, item, user=desk.supervisor, override_reason="  Betaalt morgen  ")
    assert [refusal.code for refusal in result.overridden] == ["member.blocked_by_library"]
    loan = Loan.objects.get(pk=result.loan.pk)
    assert loan.override_reason == "Betaalt morgen"
    assert fresh(item).status == ItemStatus.ON_LOAN
    event = CirculationEvent.objects.get(kind=CirculationEvent.Kind.OVERRIDE)
    assert event.loan_id == loan.pk and event.item_id_ref == item.pk and event.staff_user_id == desk.supervisor.pk
    assert event.detail.startswith("Betaalt morgen") and "Boete openstaand" in event.detail
    assert event.actor_ref == f"staff:{desk.supervisor.pk}"


def test_desk_supervisor_role_may_override(desk, staff):
    [item] = desk.items(not_for_loan=True)
    result = lend(desk, item, user=staff.alpha_desk_supervisor, override_reason="Voor de tentoonstelling")
    assert [refusal.code for refusal in result.overridden] == ["checkout.not_for_loan"]
    assert CirculationEvent.objects.filter(kind=CirculationEvent.Kind.OVERRIDE, loan=result.loan).exists()


def test_desk_user_may_not_override(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Geblokkeerd")
    [item] = desk.items()
    error = refused(lambda: lend(desk, item, override_reason="Ik vind het goed"), item)
    assert codes(error) == ["member.blocked_by_library", "checkout.override_not_allowed"]
    assert "baliecoördinator" in error.messages[-1]


def test_override_needs_a_reason(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Geblokkeerd")
    [item] = desk.items()
    assert codes(refused(lambda: lend(desk, item, user=desk.supervisor), item)) == ["member.blocked_by_library"]
    assert codes(refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="   "), item)) == [
        "member.blocked_by_library"
    ]


def test_one_non_overridable_refusal_stops_the_override(desk):
    block_add(actor=desk.actor(), member=desk.member, reason="Geblokkeerd")
    [item] = desk.items()
    item_withdraw(actor=collection_actor(desk.library), barcodes=[item.barcode], reason="worn")
    error = refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="Toch"), item)
    assert codes(error) == ["member.blocked_by_library", "checkout.withdrawn"]
    assert not error.overridable


def test_override_of_limits(desk):
    make_rule(max_loans_total=1, item_type="", max_loans_of_type=None)
    items = desk.items(count=2)
    lend(desk, items[0])
    result = lend(desk, items[1], user=desk.supervisor, override_reason="Vakantie")
    assert [refusal.code for refusal in result.overridden] == ["checkout.limit_total"]
    assert Loan.objects.filter(member=desk.member, ended_at__isnull=True).count() == 2


def test_override_of_a_missing_item_found_at_the_desk(desk):
    [item] = desk.items()
    item_status_change(actor=collection_actor(desk.library), barcode=item.barcode,
                       to_status=ItemStatus.MISSING)
    result = lend(desk, item, user=desk.supervisor, override_reason="Lag achter de balie")
    assert fresh(item).status == ItemStatus.ON_LOAN
    assert result.loan.override_reason == "Lag achter de balie"


def test_override_of_an_item_in_transit_receives_the_transfer(desk):
    [item] = desk.items()
    lend(desk, item)
    take_back(desk, item, branch=desk.other)  # in transit home to main
    transfer = Transfer.objects.get(item=item, received_at__isnull=True)
    other = member("A1000002")
    result = lend(desk, item, other, user=desk.supervisor, override_reason="Lid wacht aan de balie")
    transfer.refresh_from_db()
    assert transfer.received_at is not None and transfer.received_branch_id == desk.main.pk
    assert fresh(item).status == ItemStatus.ON_LOAN
    assert result.loan.member_id == other.pk
    assert not Hold.objects.exists()


def test_an_item_in_transit_for_another_members_hold_is_not_lent_even_with_an_override(desk):
    """A copy on its way to fill someone else's hold is as taken as one on the hold
    shelf: a coordinator's override must not lend it (the hold would wait for a
    copy that is out)."""
    [item] = desk.items()
    waiting = member("A1000002")
    hold = hold_place(actor=desk.actor(), member=waiting, title_id=item.title_id,
                      pickup_branch_id=desk.other.pk)
    assert take_back(desk, item).route == "hold_transit"
    error = refused(lambda: lend(desk, item, user=desk.supervisor, override_reason="Lid wacht"), item)
    assert "checkout.travels_for_other" in codes(error)
    assert not error.overridable
    hold.refresh_from_db()
    assert hold.status == HoldStatus.IN_TRANSIT and hold.assigned_item_id == item.pk
    # The member it travels for may take it where they are (the override of "in transit").
    result = lend(desk, item, waiting, user=desk.supervisor, override_reason="Lid staat aan de balie")
    assert [refusal.code for refusal in result.overridden] == ["checkout.in_transit"]
    hold.refresh_from_db()
    assert hold.status == HoldStatus.FULFILLED
