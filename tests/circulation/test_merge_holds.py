"""Issue 12, item 10: merging two records of one person keeps the best place in
every queue. Both records hold a title: the kept record keeps the better of the
two (a copy ready or on its way before a waiting hold, else the earlier place in
the queue), whichever record placed it; the other is cancelled. Everything goes
through the hold services: each change is logged on the hold and the queue's
positions and expected dates are recomputed."""

import datetime

import pytest
from django.utils import timezone

from circulation.models import CirculationEvent, Hold, HoldStatus
from circulation.services import holds as hold_services
from core.actors import Actor
from members.services.registration import member_merge
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .helpers import lend, take_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(desk):
    kept = make_member(card_number="HOUD00012", first_name="Kees", last_name="Dubbel", paid_until=PAID_UNTIL)
    duplicate = make_member(card_number="DUBB00012", first_name="Kees", last_name="Dubbel", paid_until=PAID_UNTIL)
    other = make_member(card_number="ANDR00012", first_name="Ans", last_name="Ander", paid_until=PAID_UNTIL)
    return kept, duplicate, other


def place(desk, member, item):
    return hold_services.hold_place(actor=desk.actor(), member=member, title_id=item.title_id,
                                    pickup_branch_id=desk.main.pk)


def merge(desk, kept, duplicate):
    return member_merge(actor=desk.actor(), keep=kept, duplicate=duplicate)


def active(member, item):
    return Hold.objects.get(member=member, title_id=item.title_id, status__in=["waiting", "in_transit", "ready"])


def test_the_kept_record_keeps_the_duplicates_first_place(desk, people):
    kept, duplicate, other = people
    [item] = desk.items()
    lend(desk, item)
    first = place(desk, duplicate, item)  # position 1
    place(desk, other, item)  # position 2
    third = place(desk, kept, item)  # position 3
    merge(desk, kept, duplicate)

    hold = active(kept, item)
    assert hold.pk == first.pk and hold.expected_position == 1
    third.refresh_from_db()
    assert third.status == HoldStatus.CANCELLED and "samenvoegen" in third.cancel_reason
    assert CirculationEvent.objects.filter(hold=first, detail__contains="samengevoegd").exists()
    assert CirculationEvent.objects.filter(hold=third, detail__startswith="Geannuleerd").exists()
    assert [h.expected_position for h in Hold.objects.filter(title_id=item.title_id, status="waiting")
            .order_by("queue_at")] == [1, 2]


def test_a_hold_only_the_duplicate_had_moves_with_its_place(desk, people):
    kept, duplicate, other = people
    [item] = desk.items()
    lend(desk, item)
    place(desk, other, item)
    moved = place(desk, duplicate, item)
    merge(desk, kept, duplicate)
    moved.refresh_from_db()
    assert moved.member_id == kept.pk and moved.status == HoldStatus.WAITING and moved.expected_position == 2
    assert CirculationEvent.objects.filter(hold=moved, detail__contains="samengevoegd").exists()


def test_a_ready_hold_beats_an_earlier_waiting_one(desk, people):
    kept, duplicate, other = people
    first_copy, second_copy = desk.items(count=2)
    lend(desk, first_copy)
    lend(desk, second_copy, member=other)
    waiting = place(desk, kept, first_copy)
    ready = place(desk, duplicate, first_copy)
    hold_services.hold_suspend(actor=desk.actor(), hold_id=waiting.pk,
                               until=timezone.localdate() + datetime.timedelta(days=300))
    take_back(desk, first_copy)  # fills the duplicate's hold (the kept one is suspended)
    ready.refresh_from_db()
    assert ready.status == HoldStatus.READY
    merge(desk, kept, duplicate)
    ready.refresh_from_db()
    waiting.refresh_from_db()
    assert ready.member_id == kept.pk and ready.status == HoldStatus.READY
    assert waiting.status == HoldStatus.CANCELLED
    # The kept member picks it up with their own card.
    assert lend(desk, first_copy, member=kept).loan.member_id == kept.pk
