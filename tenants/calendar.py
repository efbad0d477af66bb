"""When a branch is open: the one calendar of the branch registry. Due dates fall
on an open day, fines count only open days, days on the hold shelf are open days
of the pickup branch (circulation), and the desk home shows today's hours or
"gesloten" (staff) from it.

A day is open when the branch has opening hours on that weekday, the day is not
one of the branch's closed dates, and it is not a Dutch public holiday. A branch
without any opening hours entered yet counts every weekday as open (so a new
branch lends before its hours are filled in); closed dates and holidays still
count.
"""

import datetime
from functools import lru_cache

import holidays
from django.utils import timezone

from .models import ClosedDate, OpeningPeriod

# Searching for an open day stops after this many days: a branch closed for
# longer than that (renovation) gets the due date the loan period gives.
MAX_SEARCH_DAYS = 90

# Good Friday is in the holidays package's list but is no general day off in the
# Netherlands; libraries are usually open. Names are asked in one fixed language:
# without `language` the package follows the process's LANG/LANGUAGE, and Good
# Friday would close every branch on a machine set to Dutch.
_NAMES_LANGUAGE = "en_US"
_NOT_CLOSING = {"Good Friday"}


@lru_cache(maxsize=64)
def _dutch_holidays(year):
    return frozenset(
        day for day, name in holidays.country_holidays("NL", years=year, language=_NAMES_LANGUAGE).items()
        if name not in _NOT_CLOSING
    )


def is_public_holiday(day):
    return day in _dutch_holidays(day.year)


def public_holidays(years):
    """[(date, Dutch name)] of the Dutch public holidays in `years` on which every
    branch is closed (is_public_holiday decides, so Good Friday is left out)."""
    names = holidays.country_holidays("NL", years=list(years), language="nl")
    return sorted((day, name) for day, name in names.items() if is_public_holiday(day))


class BranchCalendar:
    """The open days of one branch, loaded once for a range of dates."""

    def __init__(self, branch_id, *, start, end):
        self.branch_id = branch_id
        self.start = start
        self.end = end
        weekdays = set(OpeningPeriod.objects.filter(branch_id=branch_id).values_list("weekday", flat=True))
        self.open_weekdays = weekdays or set(range(7))
        self.closed_dates = set(
            ClosedDate.objects.filter(branch_id=branch_id, date__gte=start, date__lte=end).values_list("date", flat=True)
        )

    @classmethod
    def preloaded(cls, branch_id, *, start, end, open_weekdays, closed_dates):
        """A calendar from data already read (the desk scan reads it with the item: circulation.desk_context)."""
        calendar = cls.__new__(cls)
        calendar.branch_id = branch_id
        calendar.start = start
        calendar.end = end
        calendar.open_weekdays = open_weekdays or set(range(7))
        calendar.closed_dates = closed_dates
        return calendar

    def due_date(self, *, start, loan_days):
        """The loan period from `start`, moved forward to the first open day."""
        return self.first_open_day_from(start + datetime.timedelta(days=loan_days))

    def is_open(self, day):
        if not self.start <= day <= self.end:
            raise ValueError(f"{day} is outside the loaded range {self.start}..{self.end}")
        return day.weekday() in self.open_weekdays and day not in self.closed_dates and not is_public_holiday(day)

    def first_open_day_from(self, day):
        """`day` itself when open, else the next open day (or `day` after MAX_SEARCH_DAYS)."""
        for offset in range(MAX_SEARCH_DAYS + 1):
            candidate = day + datetime.timedelta(days=offset)
            if candidate > self.end:
                break
            if self.is_open(candidate):
                return candidate
        return day

    def open_day_later(self, start, days):
        """The `days`-th open day after `start` (`start` itself for 0); the loan
        period's plain date when the branch is not open that often within the range."""
        if days <= 0:
            return start
        day, counted = start, 0
        while day < self.end:
            day += datetime.timedelta(days=1)
            if self.is_open(day):
                counted += 1
                if counted == days:
                    return day
        return start + datetime.timedelta(days=days)

    def open_days_after(self, after, upto):
        """The number of open days d with after < d <= upto."""
        count = 0
        day = after + datetime.timedelta(days=1)
        while day <= upto:
            if self.is_open(day):
                count += 1
            day += datetime.timedelta(days=1)
        return count


def due_date(branch_id, *, start, loan_days):
    """The due date of a loan (or renewal) from `start` at this branch: the loan
    period, moved forward to the first day the branch is open."""
    nominal = start + datetime.timedelta(days=loan_days)
    calendar = BranchCalendar(
        branch_id, start=nominal, end=nominal + datetime.timedelta(days=MAX_SEARCH_DAYS)
    )
    return calendar.due_date(start=start, loan_days=loan_days)


def open_days_later(branch_id, *, start, days):
    """The `days`-th day after `start` on which the branch is open: the last day a
    hold may be picked up (days on the hold shelf count open days only)."""
    calendar = BranchCalendar(branch_id, start=start, end=start + datetime.timedelta(days=days * 7 + MAX_SEARCH_DAYS))
    return calendar.open_day_later(start, days)


def overdue_open_days(branch_id, *, due_on, returned_on):
    """How many days the branch was open after the due date up to and including
    the day of return: the days a fine counts."""
    if returned_on <= due_on:
        return 0
    calendar = BranchCalendar(
        branch_id, start=due_on, end=max(returned_on, due_on + datetime.timedelta(days=MAX_SEARCH_DAYS))
    )
    # A due date the branch closed on later (a closed day added after the loan)
    # moves to the next open day: returning then is on time.
    effective_due = calendar.first_open_day_from(due_on)
    if returned_on <= effective_due:
        return 0
    return calendar.open_days_after(effective_due, returned_on)


def opening_today(branch, today=None):
    """Today's opening periods, or [] when the branch is closed today (a weekday
    without hours, one of its closed dates, or a public holiday)."""
    today = today or timezone.localdate()
    if not BranchCalendar(branch.pk, start=today, end=today).is_open(today):
        return []
    return list(OpeningPeriod.objects.filter(branch_id=branch.pk, weekday=today.weekday()).order_by("opens"))
