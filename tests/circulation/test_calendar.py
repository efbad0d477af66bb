"""The branch calendar: due dates move off closed days (closed weekdays, closed
dates, Dutch public holidays, but not Good Friday); a branch without opening
hours is open every day; overdue days count only open days.

The desk fixture's branches are open Monday to Saturday."""

import datetime

import pytest

from tenants import calendar
from tenants.models import ClosedDate, OpeningPeriod

pytestmark = pytest.mark.django_db

D = datetime.date


def due(branch, nominal, loan_days=21):
    """The due date of a loan whose period ends on `nominal`."""
    return calendar.due_date(branch.pk, start=nominal - datetime.timedelta(days=loan_days), loan_days=loan_days)


def test_open_day_is_kept(desk):
    assert D(2026, 12, 7).weekday() == 0
    assert due(desk.main, D(2026, 12, 7)) == D(2026, 12, 7)
    assert due(desk.main, D(2026, 12, 5)) == D(2026, 12, 5)  # Saturday: open


def test_loan_period_counts_from_start(desk):
    assert calendar.due_date(desk.main.pk, start=D(2026, 11, 16), loan_days=21) == D(2026, 12, 7)
    assert calendar.due_date(desk.main.pk, start=D(2026, 11, 16), loan_days=1) == D(2026, 11, 17)


def test_closed_weekday_moves_to_next_open_day(desk):
    assert D(2026, 12, 6).weekday() == 6
    assert due(desk.main, D(2026, 12, 6)) == D(2026, 12, 7)


def test_closed_date_of_the_branch(desk):
    ClosedDate.objects.create(branch=desk.main, date=D(2026, 12, 7), reason="Verbouwing")
    ClosedDate.objects.create(branch=desk.main, date=D(2026, 12, 8), reason="Verbouwing")
    assert due(desk.main, D(2026, 12, 6)) == D(2026, 12, 9)
    assert due(desk.main, D(2026, 12, 7)) == D(2026, 12, 9)
    # Only that branch is closed.
    assert due(desk.other, D(2026, 12, 7)) == D(2026, 12, 7)


@pytest.mark.parametrize(
    "nominal, expected",
    [
        (D(2026, 4, 27), D(2026, 4, 28)),  # Koningsdag (Monday)
        (D(2027, 4, 27), D(2027, 4, 28)),  # Koningsdag (Tuesday)
        (D(2026, 12, 25), D(2026, 12, 28)),  # Christmas Fri, Boxing Day Sat, Sunday closed
        (D(2026, 12, 26), D(2026, 12, 28)),
        (D(2027, 1, 1), D(2027, 1, 2)),  # New Year's Day (Friday)
        (D(2026, 4, 6), D(2026, 4, 7)),  # Easter Monday
        (D(2026, 5, 14), D(2026, 5, 15)),  # Ascension Day
        (D(2026, 5, 25), D(2026, 5, 26)),  # Whit Monday
        (D(2026, 4, 3), D(2026, 4, 3)),  # Good Friday: deliberately open
        (D(2026, 12, 24), D(2026, 12, 24)),  # Christmas Eve: an ordinary day
    ],
)
def test_dutch_public_holidays(desk, nominal, expected):
    assert due(desk.main, nominal) == expected


def test_is_public_holiday():
    assert calendar.is_public_holiday(D(2026, 4, 27))
    assert calendar.is_public_holiday(D(2026, 12, 25))
    assert not calendar.is_public_holiday(D(2026, 4, 3))  # Good Friday
    assert not calendar.is_public_holiday(D(2026, 12, 7))


@pytest.mark.parametrize("language", ["nl", "de", "en"])
def test_the_holidays_do_not_depend_on_the_machines_language(monkeypatch, language):
    # A server set to Dutch (LANGUAGE=nl) got Dutch names from the holidays package,
    # and Good Friday closed every branch there.
    monkeypatch.setenv("LANGUAGE", language)
    monkeypatch.setenv("LANG", f"{language}_NL.UTF-8")
    calendar._dutch_holidays.cache_clear()
    try:
        assert not calendar.is_public_holiday(D(2026, 4, 3))  # Good Friday
        assert calendar.is_public_holiday(D(2026, 4, 6))  # Easter Monday
        assert ("Goede vrijdag" not in dict(calendar.public_holidays([2026])).values()
                and "Tweede paasdag" in dict(calendar.public_holidays([2026])).values())
    finally:
        calendar._dutch_holidays.cache_clear()


def test_branch_without_opening_hours_is_open_every_day(desk):
    OpeningPeriod.objects.filter(branch=desk.other).delete()
    assert due(desk.other, D(2026, 12, 6)) == D(2026, 12, 6)  # Sunday
    # Public holidays and closed dates still count.
    assert due(desk.other, D(2026, 12, 25)) == D(2026, 12, 27)
    ClosedDate.objects.create(branch=desk.other, date=D(2026, 12, 27), reason="Inventarisatie")
    assert due(desk.other, D(2026, 12, 25)) == D(2026, 12, 28)
    assert calendar.overdue_open_days(desk.other.pk, due_on=D(2026, 12, 4), returned_on=D(2026, 12, 7)) == 3


def test_branch_open_on_few_days(desk):
    OpeningPeriod.objects.filter(branch=desk.other).delete()
    OpeningPeriod.objects.create(branch=desk.other, weekday=2, opens="13:00", closes="17:00")  # Wednesday only
    assert due(desk.other, D(2026, 12, 3)) == D(2026, 12, 9)
    assert due(desk.other, D(2026, 12, 9)) == D(2026, 12, 9)
    assert calendar.overdue_open_days(desk.other.pk, due_on=D(2026, 12, 2), returned_on=D(2026, 12, 15)) == 1


def test_overdue_open_days_count_only_open_days(desk):
    # Due Saturday 5 December, back Tuesday 8 December: Sunday closed, Monday and Tuesday count.
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 5), returned_on=D(2026, 12, 8)) == 2
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 5), returned_on=D(2026, 12, 6)) == 0
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 5), returned_on=D(2026, 12, 5)) == 0
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 5), returned_on=D(2026, 12, 1)) == 0
    # Over Christmas: 24 Thu, (25, 26 holidays, 27 Sunday), 28 Mon, 29 Tue.
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 23), returned_on=D(2026, 12, 29)) == 3
    ClosedDate.objects.create(branch=desk.main, date=D(2026, 12, 28), reason="Personeelsdag")
    assert calendar.overdue_open_days(desk.main.pk, due_on=D(2026, 12, 23), returned_on=D(2026, 12, 29)) == 2


def test_a_due_date_closed_later_moves_the_fine_count_to_the_next_open_day(desk):
    """A closed day added after the loan was made, on its due date: returning on
    the next open day is on time; a day later counts one open day."""
    due = datetime.date(2030, 9, 24)  # a Tuesday
    ClosedDate.objects.create(branch=desk.main, date=due, reason="Stroomstoring")
    day = datetime.timedelta(days=1)
    assert calendar.overdue_open_days(desk.main.pk, due_on=due, returned_on=due + day) == 0
    assert calendar.overdue_open_days(desk.main.pk, due_on=due, returned_on=due + 2 * day) == 1
