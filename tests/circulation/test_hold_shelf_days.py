"""Issue 12, item 8: the last pickup day of a hold on the shelf. The rule's days on
the hold shelf are days the pickup branch is open (not Sundays here, not public
holidays, not the branch's own closed days), so the last day never falls on a day
the member cannot come."""

import datetime

import pytest

from circulation.models import HoldStatus
from circulation.services.holds import hold_place
from tenants.calendar import open_days_later
from tenants.models import ClosedDate
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, lend, take_back

pytestmark = pytest.mark.django_db

D = datetime.date


def ready_on(desk, moment, *, pickup=None):
    [item] = desk.items()
    lend(desk, item, now=moment - datetime.timedelta(days=10))
    reader = make_member(first_name="Pien", last_name="Ophaal", paid_until=PAID_UNTIL)
    hold = hold_place(actor=desk.actor(), member=reader, title_id=item.title_id,
                      pickup_branch_id=(pickup or desk.main).pk)
    take_back(desk, item, branch=pickup, now=moment)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.READY
    return hold


def test_christmas_and_sundays_do_not_count(desk):
    make_rule(hold_shelf_days=7)
    hold = ready_on(desk, at(2026, 12, 18))  # a Friday
    # Open: Sa 19, Mo 21, Tu 22, We 23, Th 24, (Christmas 25 and 26, Sunday 27 closed), Mo 28, Tu 29.
    assert hold.shelf_until == D(2026, 12, 29)


def test_the_last_day_is_never_a_closed_day(desk):
    make_rule(hold_shelf_days=1)
    hold = ready_on(desk, at(2026, 12, 5))  # Saturday: the next day is a Sunday
    assert hold.shelf_until == D(2026, 12, 7)


def test_the_pickup_branchs_own_closed_days_count_as_closed(desk):
    make_rule(hold_shelf_days=2)
    ClosedDate.objects.create(branch=desk.other, date=D(2027, 1, 12), reason="Verbouwing")
    hold = ready_on(desk, at(2027, 1, 9), pickup=desk.other)  # Saturday; Monday 11, (Tuesday 12 closed), Wed 13
    assert hold.shelf_until == D(2027, 1, 13)


def test_open_days_later(desk):
    assert open_days_later(desk.main.pk, start=D(2026, 12, 24), days=1) == D(2026, 12, 28)
    assert open_days_later(desk.main.pk, start=D(2026, 12, 24), days=0) == D(2026, 12, 24)
