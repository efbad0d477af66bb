"""The desk home's "today" and the due dates read one calendar (tenants.calendar):
a day a loan cannot fall due on is a day the desk home shows as closed.

Alpha's first branch is open every day 09:00-17:00 (tests/conftest.py)."""

import datetime

import pytest

from tenants.calendar import BranchCalendar, due_date, opening_today
from tenants.models import ClosedDate, OpeningPeriod

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def branch(libraries):
    return libraries.alpha.branches.order_by("name").first()


def hours(periods):
    return [(period.opens.strftime("%H:%M"), period.closes.strftime("%H:%M")) for period in periods]


def is_open(branch, day):
    return BranchCalendar(branch.pk, start=day, end=day).is_open(day)


def test_a_working_day_shows_its_hours(branch):
    working_day = D(2030, 9, 25)  # a Wednesday, no public holiday
    assert hours(opening_today(branch, working_day)) == [("09:00", "17:00")]
    assert is_open(branch, working_day)
    assert due_date(branch.pk, start=working_day - datetime.timedelta(days=21), loan_days=21) == working_day


def test_a_public_holiday_is_closed_at_the_desk_as_for_due_dates(branch):
    christmas = D(2030, 12, 25)  # a Wednesday: the branch has hours that weekday
    assert OpeningPeriod.objects.filter(branch=branch, weekday=christmas.weekday()).exists()
    assert opening_today(branch, christmas) == []
    assert not is_open(branch, christmas)
    assert due_date(branch.pk, start=christmas - datetime.timedelta(days=21), loan_days=21) == D(2030, 12, 27)


def test_good_friday_stays_open(branch):
    good_friday = D(2030, 4, 19)
    assert hours(opening_today(branch, good_friday)) == [("09:00", "17:00")]
    assert is_open(branch, good_friday)


def test_a_closed_date_is_closed(branch):
    day = D(2030, 10, 7)
    ClosedDate.objects.create(branch=branch, date=day, reason="Studiedag")
    assert opening_today(branch, day) == []
    assert not is_open(branch, day)
    assert hours(opening_today(branch, day + datetime.timedelta(days=1))) == [("09:00", "17:00")]


def test_a_weekday_without_hours_is_closed(branch):
    sunday = D(2030, 10, 6)
    OpeningPeriod.objects.filter(branch=branch, weekday=sunday.weekday()).delete()
    assert opening_today(branch, sunday) == []
    assert not is_open(branch, sunday)
    assert hours(opening_today(branch, sunday + datetime.timedelta(days=1))) == [("09:00", "17:00")]
