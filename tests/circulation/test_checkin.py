"""Checkin: the loan ends (with a fine when late), and the item is routed: its
home branch's shelf, in transit home (a Transfer, received at home), staying
where it is for floating types; items that were not on loan are repaired or
left aside."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from circulation.models import CirculationEvent, Loan, Transfer
from circulation.services.holds import hold_place
from circulation.services.loans import loan_claims_returned, loan_mark_lost
from circulation.services.rules import circulation_settings_update
from collection.models import Item, ItemStatus
from collection.services import item_status_change, item_withdraw
from tests.collection.helpers import set_status_as_circulation
from core.errors import error_codes
from members.models import LedgerEntry
from tests.factories import collection_actor
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, lend, snapshot, take_back

pytestmark = pytest.mark.django_db


def fresh(item):
    return Item.objects.get(pk=item.pk)


def test_checkin_at_home_ends_the_loan_back_on_the_shelf(desk):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    back = at(2026, 12, 8, 14)
    result = take_back(desk, item, now=back)
    assert result.route == "shelf" and result.code == "route.shelf"
    assert result.message == "TERUG IN DE KAST"
    assert result.destination_branch_id == desk.main.pk
    assert result.loan.pk == loan.pk and result.fine_cents == 0 and result.notes == []
    loan.refresh_from_db()
    assert loan.ended_at == back and loan.ending == Loan.Ending.RETURNED and loan.ended_branch_id == desk.main.pk
    item = fresh(item)
    assert item.status == ItemStatus.AVAILABLE and item.current_branch_id == desk.main.pk
    assert not Transfer.objects.exists()


def test_late_checkin_charges_a_fine_on_time_does_not(desk):
    make_rule(fine_per_day_cents=25, fine_max_cents=500)
    late, on_time = desk.items(count=2)
    lend(desk, late, now=at(2026, 12, 1))  # due Tuesday 22 December
    lend(desk, on_time, now=at(2026, 12, 1))
    result = take_back(desk, on_time, now=at(2026, 12, 22, 16))
    assert result.fine_cents == 0
    assert not LedgerEntry.objects.filter(charge_type=LedgerEntry.ChargeType.FINE).exists()
    result = take_back(desk, late, now=at(2026, 12, 24))  # 23 and 24 December
    assert result.fine_cents == 50
    assert [(note.code, note.params) for note in result.notes] == [("checkin.late_fine", {"fine": "€ 0,50"})]
    assert result.note_texts == ["Te laat ingeleverd: € 0,50 boete op de rekening gezet."]
    fine = LedgerEntry.objects.get(charge_type=LedgerEntry.ChargeType.FINE)
    assert fine.member_id == desk.member.pk and fine.amount_cents == 50
    assert fine.reference == f"loan:{result.loan.pk}:fine:2026-12-24"
    assert Loan.objects.get(pk=result.loan.pk).fine_cents == 50


def test_checkin_at_another_branch_sends_it_home(desk):
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    sent = at(2026, 12, 5)
    result = take_back(desk, item, branch=desk.other, now=sent)
    assert result.route == "transit"
    assert (result.code, result.params) == ("route.transit", {"branch": desk.main.name})
    assert result.message == f"TRANSPORT NAAR {desk.main.name.upper()}"
    assert result.destination_branch_id == desk.main.pk
    transfer = Transfer.objects.get(item=item)
    assert (transfer.from_branch_id, transfer.to_branch_id, transfer.reason) == (desk.other.pk, desk.main.pk,
                                                                                  Transfer.Reason.HOME)
    assert transfer.sent_at == sent and transfer.received_at is None and transfer.sent_by_id == desk.staff.pk
    assert transfer.actor_ref == f"staff:{desk.staff.pk}"
    item = fresh(item)
    assert item.status == ItemStatus.IN_TRANSIT and item.current_branch_id == desk.other.pk
    assert item.owning_branch_id == desk.main.pk
    assert Loan.objects.get(item=item).ended_branch_id == desk.other.pk

    # Received at home: the transfer closes and the item is back on the shelf.
    arrived = at(2026, 12, 7)
    result = take_back(desk, item, now=arrived)
    assert result.route == "shelf" and result.loan is None
    transfer.refresh_from_db()
    assert transfer.received_at == arrived and transfer.received_branch_id == desk.main.pk
    item = fresh(item)
    assert item.status == ItemStatus.AVAILABLE and item.current_branch_id == desk.main.pk
    assert not Transfer.objects.filter(received_at__isnull=True).exists()


def test_floating_item_types_stay_where_they_are_returned(desk):
    circulation_settings_update(actor=desk.actor(desk.supervisor), floating_item_types=["dvd"], transfer_days=2)
    [dvd] = desk.items(item_type="dvd")
    [book] = desk.items()
    lend(desk, dvd)
    lend(desk, book)
    result = take_back(desk, dvd, branch=desk.other)
    assert result.route == "shelf" and result.destination_branch_id == desk.other.pk
    assert [note.code for note in result.notes] == ["checkin.floating"]
    assert "Zwevende collectie" in result.note_texts[0]
    dvd = fresh(dvd)
    assert dvd.status == ItemStatus.AVAILABLE and dvd.current_branch_id == desk.other.pk
    assert dvd.owning_branch_id == desk.main.pk
    # Other types still go home.
    assert take_back(desk, book, branch=desk.other).route == "transit"
    assert Transfer.objects.filter(item=dvd).count() == 0


def test_settings_refuse_unknown_item_types(desk):
    with pytest.raises(ValidationError) as caught:
        circulation_settings_update(actor=desk.actor(desk.supervisor), floating_item_types=["vinyl"], transfer_days=2)
    assert error_codes(caught.value) == ["circulation_settings.floating_type_unknown"]


def test_item_not_on_loan_is_available_with_a_note(desk):
    [item] = desk.items()
    result = take_back(desk, item)
    assert result.route == "shelf" and result.loan is None
    assert [note.code for note in result.notes] == ["checkin.not_on_loan"]
    assert result.note_texts == ["Was niet uitgeleend."]
    assert fresh(item).status == ItemStatus.AVAILABLE
    assert not Loan.objects.exists()


def test_missing_item_found_is_repaired_and_logged(desk):
    [item] = desk.items()
    item_status_change(actor=collection_actor(desk.library), barcode=item.barcode,
                       to_status=ItemStatus.MISSING)
    result = take_back(desk, item)
    assert result.route == "shelf"
    assert result.note_texts == ["Stond als vermist geregistreerd; teruggevonden."]
    assert fresh(item).status == ItemStatus.AVAILABLE
    event = CirculationEvent.objects.get(kind=CirculationEvent.Kind.CHECKIN_REPAIR)
    assert event.item_id_ref == item.pk and event.staff_user_id == desk.staff.pk
    assert event.actor_ref == f"staff:{desk.staff.pk}"


def test_missing_item_found_at_another_branch_goes_home(desk):
    [item] = desk.items()
    item_status_change(actor=collection_actor(desk.library), barcode=item.barcode,
                       to_status=ItemStatus.MISSING)
    result = take_back(desk, item, branch=desk.other)
    assert result.route == "transit"
    assert fresh(item).status == ItemStatus.IN_TRANSIT


def test_withdrawn_item_is_kept_aside_and_nothing_changes(desk):
    [item] = desk.items()
    item_withdraw(actor=collection_actor(desk.library), barcodes=[item.barcode], reason="worn")
    before = snapshot(item)
    result = take_back(desk, item, branch=desk.other)
    assert result.route == "keep"
    assert (result.code, [note.code for note in result.notes]) == ("route.keep", ["checkin.withdrawn"])
    assert result.message == "AFGESCHREVEN — LEG APART"
    assert snapshot(item) == before
    assert fresh(item).status == ItemStatus.WITHDRAWN
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("status", [ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING, ItemStatus.ON_INTERLIBRARY_LOAN])
def test_other_items_left_aside(desk, status):
    [item] = desk.items()
    if status == ItemStatus.ON_INTERLIBRARY_LOAN:  # circulation's own status
        set_status_as_circulation(desk.library, item.barcode, status)
    else:
        item_status_change(actor=collection_actor(desk.library), barcode=item.barcode, to_status=status)
    before = snapshot(item)
    result = take_back(desk, item)
    assert result.route == "keep"
    if status == ItemStatus.ON_INTERLIBRARY_LOAN:
        assert result.code == "route.keep_interlibrary_loan" and result.message == "IBL — NAAR DE IBL-BAK"
    else:
        assert result.code == "route.keep" and result.message == f"{status.label.upper()} — LEG APART"
    assert snapshot(item) == before


def test_lost_then_found(desk):
    [item] = desk.items(price_cents=1995)
    loan = lend(desk, item).loan
    loan_mark_lost(actor=desk.actor(), loan_id=loan.pk)
    entries = LedgerEntry.objects.count()
    result = take_back(desk, item)
    assert result.loan is None and result.route == "shelf"
    assert result.notes[0].code == "checkin.found_after_ending"
    assert "Was als verloren gemeld; teruggevonden" in result.note_texts[0]
    assert fresh(item).status == ItemStatus.AVAILABLE
    # The replacement charge is credited back (tests/circulation/test_lost_found.py).
    assert LedgerEntry.objects.count() == entries + 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WAIVER, amount_cents=1995).exists()
    assert CirculationEvent.objects.filter(kind=CirculationEvent.Kind.CHECKIN_REPAIR).count() == 1


def test_claimed_returned_then_found(desk):
    [item] = desk.items()
    loan = lend(desk, item).loan
    loan_claims_returned(actor=desk.actor(), loan_id=loan.pk)
    result = take_back(desk, item)
    assert "Was als volgens lid ingeleverd gemeld" in result.note_texts[0]
    assert fresh(item).status == ItemStatus.AVAILABLE


def test_checkin_twice(desk):
    [item] = desk.items()
    lend(desk, item)
    first = take_back(desk, item)
    second = take_back(desk, item)
    assert first.loan is not None and second.loan is None
    assert second.note_texts == ["Was niet uitgeleend."]
    assert Loan.objects.filter(item=item).count() == 1


def test_unknown_and_invalid_barcodes(desk):
    with pytest.raises(ValidationError) as caught:
        take_back(desk, Item(barcode="ONBEKEND99"))
    assert caught.value.messages == ["Exemplaar ONBEKEND99 is onbekend in deze bibliotheek."]
    assert error_codes(caught.value) == ["scan.item_unknown"]
    with pytest.raises(ValidationError) as caught:
        take_back(desk, Item(barcode="a b"))
    assert error_codes(caught.value) == ["item.barcode_invalid"]
    with pytest.raises(ValidationError) as caught:
        take_back(desk, Item(barcode=""))
    assert error_codes(caught.value) == ["scan.no_barcode"]
    with pytest.raises(ValidationError) as caught:
        take_back(desk, Item(barcode=desk.member.card_number))
    assert "pasnummer" in caught.value.messages[0]
    assert error_codes(caught.value) == ["scan.card_not_item"]


def test_checkin_with_a_hold_for_pickup_elsewhere(desk):
    [item] = desk.items()
    lend(desk, item)
    waiting = make_member(card_number="A1000002", paid_until=PAID_UNTIL)
    hold_place(actor=desk.actor(), member=waiting, title_id=item.title_id, pickup_branch_id=desk.other.pk)
    result = take_back(desk, item)
    assert result.route == "hold_transit"
    assert (result.code, result.params) == ("route.hold_transit", {"branch": desk.other.name})
    assert result.message == f"RESERVERING — TRANSPORT NAAR {desk.other.name.upper()}"
    assert result.note_texts == [f"Gereserveerd door pas A1000002; ophalen in {desk.other.name}."]
    assert result.destination_branch_id == desk.other.pk
    transfer = Transfer.objects.get(item=item, received_at__isnull=True)
    assert transfer.reason == Transfer.Reason.HOLD and transfer.to_branch_id == desk.other.pk
    result = take_back(desk, item, branch=desk.other)
    assert result.route == "hold_shelf"
    assert fresh(item).status == ItemStatus.ON_HOLD_SHELF
    assert fresh(item).current_branch_id == desk.other.pk


def test_a_very_late_checkin_ends_the_loan_at_the_time_given(desk):
    [item] = desk.items()
    lend(desk, item, now=at(2026, 12, 1))
    result = take_back(desk, item, now=at(2027, 3, 1))
    assert result.loan.ended_at == at(2027, 3, 1)
    assert result.loan.due_on == datetime.date(2026, 12, 22)


def test_routing_is_a_code_the_edge_renders_in_its_language(desk):
    """The service returns the code and values; the sentence is made when shown:
    Dutch at the desk, English for an edge that asks for it."""
    from django.utils import translation

    [item] = desk.items()
    lend(desk, item)
    result = take_back(desk, item, branch=desk.other)
    assert (result.code, result.params) == ("route.transit", {"branch": desk.main.name})
    with translation.override("en"):
        assert result.message == f"TRANSIT TO {desk.main.name.upper()}"
    with translation.override("nl"):
        assert result.message == f"TRANSPORT NAAR {desk.main.name.upper()}"
