"""Issue 12, item 1: a manual status change (the collection screen) applies only to
copies in the building. A copy that is out (on loan, on the hold shelf, in transit,
lent to another library) keeps its loan, hold or transfer: the change is refused
with what to do instead, and nothing changes (the national holdings index
included). Circulation's own statuses are never set by hand. "Damaged" reported
while the copy is on loan is remembered: the loan stays open, and at checkin the
loan ends, the copy becomes damaged and goes to the collection staff instead of
the shelf or a waiting hold."""

import pytest
from django.core.exceptions import ValidationError

from catalogue.models import Holding
from circulation.models import Hold, HoldStatus, Loan, Transfer
from circulation.services.holds import hold_place
from collection.models import Item, ItemStatus
from collection.services import item_status_change
from core.errors import error_codes
from tests.factories import collection_actor
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .helpers import lend, take_back

pytestmark = pytest.mark.django_db


def fresh(item):
    return Item.objects.get(pk=item.pk)


def holdings(item):
    row = Holding.objects.filter(title_id=item.title_id, branch_id=item.owning_branch_id).first()
    return (row.total, row.available)


def change(desk, item, status, detail=""):
    return item_status_change(actor=collection_actor(desk.library), barcode=item.barcode, to_status=status,
                              detail=detail)


def refused_change(desk, item, status):
    before = (fresh(item).status, holdings(item), list(Loan.objects.values_list("pk", "ended_at")),
              list(Hold.objects.values_list("pk", "status")), list(Transfer.objects.values_list("pk", "received_at")),
              fresh(item).events.count())
    with pytest.raises(ValidationError) as caught:
        change(desk, item, status)
    after = (fresh(item).status, holdings(item), list(Loan.objects.values_list("pk", "ended_at")),
             list(Hold.objects.values_list("pk", "status")), list(Transfer.objects.values_list("pk", "received_at")),
             fresh(item).events.count())
    assert after == before, "a refused status change changed something"
    return caught.value


@pytest.mark.parametrize("status", [ItemStatus.AVAILABLE, ItemStatus.MISSING, ItemStatus.IN_PROCESSING])
def test_a_copy_on_loan_cannot_be_set_by_hand(desk, status):
    [item] = desk.items()
    loan = lend(desk, item).loan
    error = refused_change(desk, item, status)
    assert error_codes(error) == ["item.status_out_on_loan"]
    assert "neem het eerst in" in error.messages[0]
    assert Loan.objects.get(pk=loan.pk).ended_at is None


def test_a_copy_on_the_hold_shelf_or_in_transit_cannot_be_set_by_hand(desk):
    on_shelf, travelling = desk.items(count=2)
    reader = make_member(first_name="Ria", last_name="Reserveert", paid_until=PAID_UNTIL)
    hold_place(actor=desk.actor(), member=reader, item_barcode=on_shelf.barcode, pickup_branch_id=desk.main.pk)
    take_back(desk, on_shelf)  # trapped: on this branch's hold shelf
    assert fresh(on_shelf).status == ItemStatus.ON_HOLD_SHELF
    lend(desk, travelling)
    take_back(desk, travelling, branch=desk.other)  # in transit home
    assert fresh(travelling).status == ItemStatus.IN_TRANSIT
    for status in (ItemStatus.AVAILABLE, ItemStatus.DAMAGED, ItemStatus.MISSING):
        assert error_codes(refused_change(desk, on_shelf, status)) == ["item.status_out_on_hold_shelf"]
        assert error_codes(refused_change(desk, travelling, status)) == ["item.status_out_in_transit"]
    assert Hold.objects.get(member=reader).status == HoldStatus.READY


@pytest.mark.parametrize("status", [ItemStatus.ON_LOAN, ItemStatus.ON_HOLD_SHELF, ItemStatus.IN_TRANSIT,
                                    ItemStatus.ON_INTERLIBRARY_LOAN])
def test_circulation_statuses_are_never_set_by_hand(desk, status):
    [item] = desk.items()
    error = refused_change(desk, item, status)
    assert error_codes(error) == ["item.status_by_circulation"]


def test_damage_reported_while_on_loan_is_kept_at_checkin(desk):
    [item] = desk.items()
    loan = lend(desk, item).loan
    counts = holdings(item)
    changed = change(desk, item, ItemStatus.DAMAGED, detail="Lid belde: koffie over het boek")
    assert changed.status == ItemStatus.ON_LOAN and changed.damage_reported_at is not None
    assert Loan.objects.get(pk=loan.pk).ended_at is None  # the member still has it
    assert holdings(item) == counts
    assert fresh(item).events.filter(detail__contains="koffie").exists()
    # Somebody waits for the title: the damaged copy must not go to them.
    reader = make_member(first_name="Wim", last_name="Wacht", paid_until=PAID_UNTIL)
    hold = hold_place(actor=desk.actor(), member=reader, title_id=item.title_id, pickup_branch_id=desk.main.pk)

    result = take_back(desk, item)
    assert (result.route, result.code) == ("keep", "route.keep_damaged")
    assert [note.code for note in result.notes] == ["checkin.damage_reported"]
    assert Loan.objects.get(pk=loan.pk).ending == Loan.Ending.RETURNED
    item = fresh(item)
    assert item.status == ItemStatus.DAMAGED and item.damage_reported_at is None
    hold.refresh_from_db()
    assert hold.status == HoldStatus.WAITING and hold.assigned_item_id is None
    assert holdings(item) == counts  # on loan -> damaged: still not available


def test_damage_reported_twice_is_refused_as_unchanged(desk):
    [item] = desk.items()
    lend(desk, item)
    change(desk, item, ItemStatus.DAMAGED)
    error = refused_change(desk, item, ItemStatus.DAMAGED)
    assert error_codes(error) == ["item.damage_already_reported"]


def test_on_the_shelf_the_manual_changes_still_work(desk):
    [item] = desk.items()
    change(desk, item, ItemStatus.DAMAGED)
    assert holdings(item)[1] == 0
    change(desk, item, ItemStatus.AVAILABLE)
    assert fresh(item).status == ItemStatus.AVAILABLE and holdings(item)[1] == 1
