"""Issue 12, item 3: a ready hold that is cancelled or expires frees its copy at
once. When the next hold in line is picked up where the copy lies, it is ready for
them straight away (with their notice); otherwise the copy is listed to be taken
off the hold shelf, and until then it may be lent at the desk like any copy (the
loan passes it on: nobody's hold is left pointing at it)."""

import datetime

import pytest
from django.utils import timezone

from circulation.models import Hold, HoldStatus, Loan
from circulation.selectors import hold_shelf
from circulation.services import holds as hold_services
from collection.models import Item, ItemStatus
from core.actors import Actor
from notices.models import Notice
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .helpers import lend, take_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(desk):
    return [make_member(first_name=name, last_name="Lezer", paid_until=PAID_UNTIL) for name in ("Els", "Fred", "Gea")]


def place(desk, member, item, pickup=None):
    return hold_services.hold_place(actor=desk.actor(), member=member, title_id=item.title_id,
                                    pickup_branch_id=(pickup or desk.main).pk)


def ready_copy(desk, member, pickup=None):
    """A copy on the main branch's hold shelf for `member`."""
    [item] = desk.items()
    hold = place(desk, member, item, pickup)
    take_back(desk, item)  # trapped from the shelf
    hold.refresh_from_db()
    assert hold.status == HoldStatus.READY and Item.objects.get(pk=item.pk).status == ItemStatus.ON_HOLD_SHELF
    return item, hold


def test_a_copy_whose_ready_hold_was_cancelled_can_be_lent_at_the_desk(desk, readers):
    item, hold = ready_copy(desk, readers[0])
    hold_services.hold_cancel(actor=Actor.member(readers[0].pk, desk.library), hold_id=hold.pk, reason="Al gekocht")
    # Listed to be taken off the hold shelf...
    assert [row.pk for row in hold_shelf(desk.main.pk)["expired"]] == [hold.pk]
    # ...and meanwhile another member takes it at the desk.
    result = lend(desk, item, member=readers[1])
    assert result.loan.member_id == readers[1].pk
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN
    assert hold_shelf(desk.main.pk)["expired"] == []
    assert not Hold.objects.filter(assigned_item=item, status__in=["ready", "in_transit"]).exists()


def test_the_next_in_line_at_the_same_branch_gets_it_at_once(desk, readers):
    item, first = ready_copy(desk, readers[0])
    second = place(desk, readers[1], item)
    hold_services.hold_cancel(actor=desk.actor(), hold_id=first.pk, reason="Lid belde af")
    second.refresh_from_db()
    assert second.status == HoldStatus.READY and second.assigned_item_id == item.pk
    assert second.shelf_until is not None and second.shelf_until > timezone.localdate()
    assert Notice.objects.filter(member=readers[1], kind="hold_ready").count() == 1
    assert [row.pk for row in hold_shelf(desk.main.pk)["ready"]] == [second.pk]
    assert hold_shelf(desk.main.pk)["expired"] == []
    # It is theirs now: somebody else is refused, they may take it.
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_HOLD_SHELF
    assert lend(desk, item, member=readers[1]).loan.member_id == readers[1].pk
    second.refresh_from_db()
    assert second.status == HoldStatus.FULFILLED


def test_an_expired_hold_frees_the_copy_too(desk, readers):
    item, first = ready_copy(desk, readers[0])
    second = place(desk, readers[1], item, pickup=desk.other)  # picked up elsewhere: the copy must travel
    later = first.shelf_until + datetime.timedelta(days=1)
    hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == HoldStatus.EXPIRED and second.status == HoldStatus.WAITING
    assert [row.pk for row in hold_shelf(desk.main.pk, today=later)["expired"]] == [first.pk]
    # Taken off the shelf and checked in, it travels to the next member's branch.
    result = take_back(desk, item)
    assert result.route == "hold_transit"
    second.refresh_from_db()
    assert second.status == HoldStatus.IN_TRANSIT and second.assigned_item_id == item.pk


def test_lending_a_freed_copy_to_a_member_with_a_hold_on_it_fulfils_that_hold(desk, readers):
    item, first = ready_copy(desk, readers[0])
    second = place(desk, readers[1], item, pickup=desk.other)
    hold_services.hold_cancel(actor=desk.actor(), hold_id=first.pk, reason="Lid belde af")
    lend(desk, item, member=readers[1])  # they happen to be at this desk
    second.refresh_from_db()
    assert second.status == HoldStatus.FULFILLED
    assert Loan.objects.get(item=item, ended_at__isnull=True).member_id == readers[1].pk
