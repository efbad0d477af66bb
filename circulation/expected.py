"""When will a waiting hold be ready? An estimate per hold, from what this library
knows now: the queue played forward, the way the services will fill it.

The copies that can fill the title's holds (holdable, not a copy of another
library here on interlibrary loan) each become free at a moment and a branch:
- on the shelf (or on a hold shelf for nobody): today, where it is;
- on loan: its due date shifted by the typical lateness observed in this library
  (the median of return date minus due date over recent returns, which is
  negative when members usually return early), never before tomorrow, at the
  branch that lent it;
- in transit home: today plus the transfer time, at its destination;
- already filling a hold (in transit or on a hold shelf): when that member will
  have picked it up, borrowed it and returned it, at their pickup branch.
Copies are handed out in the order they become free. A free copy goes, as a
checkin does (holds.hold_trap), to the first hold in queue order that it can fill
on that day: not suspended then (a suspended hold is skipped while suspended and
gets a copy once it resumes), on its title or on this very copy, and holdable for
its borrower under the loan rules, still wanted then (its not-needed-after date
not passed). When no hold can take it that day it waits
until one resumes. The hold is ready that day at the pickup branch, or the
transfer time later when the copy is elsewhere, on an open day of the pickup
branch. That member picks it up PICKUP_DAYS later (an open day), borrows it for
the loan period of the rule they will get (their category, the item type, the
pickup branch; the due date on an open day) and returns it with the typical
lateness; then the copy is free again at the pickup branch. Estimates are never
in the past; a hold no copy can fill gets none.
"""

import datetime
import heapq

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from collection.models import Item, ItemStatus
from members.models import Member
from tenants.calendar import BranchCalendar

from .models import Hold, HoldStatus, Loan, Transfer
from .rules import loan_rule_choose_in, loan_rules_matrix, rule_dimensions

STATISTICS_CACHE_SECONDS = 3600
STATISTICS_WINDOW_DAYS = 180
MIN_SAMPLES = 20
# Members pick a ready hold up after this many days, typically (until measured).
PICKUP_DAYS = 2
MAX_LATENESS_DAYS = 30
# How far ahead the branches' calendars are read (a busy queue reaches further: then plain dates).
CALENDAR_DAYS = 730


def _median(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        value, samples = cursor.fetchone()
    return value, samples


def library_statistics(today):
    """(typical lateness in days, typical transfer days or None), cached per library."""
    key = f"circulation:expected-stats:{connection.schema_name}:{today.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return tuple(cached)
    since = today - datetime.timedelta(days=STATISTICS_WINDOW_DAYS)
    lateness, samples = _median(
        f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY (ended_at::date - due_on)), count(*)"
        f" FROM {Loan._meta.db_table} WHERE ending = 'returned' AND ended_at >= %s",
        [since],
    )
    lateness_days = 0
    if samples >= MIN_SAMPLES and lateness is not None:
        lateness_days = max(-MAX_LATENESS_DAYS, min(MAX_LATENESS_DAYS, round(lateness)))
    transfer, transfer_samples = _median(
        f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - sent_at) / 86400),"
        f" count(*) FROM {Transfer._meta.db_table} WHERE received_at >= %s AND received_branch_id = to_branch_id",
        [since],
    )
    transfer_days = None
    if transfer_samples >= MIN_SAMPLES and transfer is not None:
        transfer_days = max(0, round(transfer))
    cache.set(key, [lateness_days, transfer_days], STATISTICS_CACHE_SECONDS)
    return lateness_days, transfer_days


def transfer_days_between(today):
    """A function (from branch id, to branch id) -> typical days in transit between
    two branches: the median of the measured transfers between them (recent, at
    least MIN_SAMPLES), else of all measured transfers, else the library's setting.
    Cached per library and day."""
    from .services.loans import circulation_settings_get

    key = f"circulation:transfer-days:{connection.schema_name}:{today.isoformat()}"
    pairs = cache.get(key)
    if pairs is None:
        since = today - datetime.timedelta(days=STATISTICS_WINDOW_DAYS)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT from_branch_id, to_branch_id,"
                f" percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - sent_at) / 86400)"
                f" FROM {Transfer._meta.db_table} WHERE received_at >= %s AND received_branch_id = to_branch_id"
                f" GROUP BY from_branch_id, to_branch_id HAVING count(*) >= %s",
                [since, MIN_SAMPLES],
            )
            pairs = [[source, target, max(0, round(days))] for source, target, days in cursor.fetchall()]
        cache.set(key, pairs, STATISTICS_CACHE_SECONDS)
    measured = {(source, target): days for source, target, days in pairs}
    _lateness, overall = library_statistics(today)
    default = overall if overall is not None else circulation_settings_get().transfer_days

    def days(from_branch_id, to_branch_id):
        if from_branch_id == to_branch_id:
            return 0
        return measured.get((from_branch_id, to_branch_id), default)

    return days


def expected_dates_for_title(*, title_id, holds, today):
    """{hold id: expected date or None} for the waiting `holds` of a title, given in
    queue order. None when no copy can ever fill it."""
    from .services.loans import circulation_settings_get

    lateness, measured_transfer = library_statistics(today)
    transfer = datetime.timedelta(
        days=measured_transfer if measured_transfer is not None else circulation_settings_get().transfer_days)
    day = datetime.timedelta(days=1)

    items = list(
        Item.objects.filter(title_id=title_id, not_for_loan=False, ibl_owner_id__isnull=True).filter(
            status__in=[ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF]
        )
    )
    estimates = {hold.pk: None for hold in holds}
    if not items:
        return estimates
    matrix = loan_rules_matrix()
    categories = dict(Member.objects.filter(pk__in={hold.member_id for hold in holds if hold.member_id})
                      .values_list("pk", "category_id"))
    busy = {hold.assigned_item_id: hold for hold in Hold.objects.filter(
        assigned_item__in=items, status__in=[HoldStatus.IN_TRANSIT, HoldStatus.READY])}
    categories.update(Member.objects.filter(pk__in={hold.member_id for hold in busy.values() if hold.member_id})
                      .values_list("pk", "category_id"))
    loans = {loan.item_id: loan for loan in Loan.objects.filter(item__in=items, ended_at__isnull=True)}
    in_transit_to = dict(
        Transfer.objects.filter(item__in=items, received_at__isnull=True).values_list("item_id", "to_branch_id")
    )
    calendars = {}

    def open_from(branch_id, date):
        """`date`, or the first day after it the branch is open."""
        calendar = calendars.get(branch_id)
        if calendar is None:
            calendar = calendars[branch_id] = BranchCalendar(branch_id, start=today,
                                                             end=today + datetime.timedelta(days=CALENDAR_DAYS))
        return calendar.first_open_day_from(date) if today <= date <= calendar.end else date

    def rule(hold, item, branch_id):
        return loan_rule_choose_in(matrix, **rule_dimensions(hold.borrower_kind, categories.get(hold.member_id)),
                                   item_type=item.item_type, branch_id=branch_id).rule

    def back_after_loan(hold, item, ready):
        """When a copy ready for `hold` on `ready` is free again: picked up, lent under
        the rule that member gets at the pickup branch, returned with the lateness."""
        picked_up = open_from(hold.pickup_branch_id, ready + day * PICKUP_DAYS)
        due = open_from(hold.pickup_branch_id, picked_up + day * rule(hold, item, hold.pickup_branch_id).loan_days)
        return max(due + day * lateness, today + day)

    free = []  # (when, item id, branch where it will be), handed out in this order
    for item in items:
        if item.pk in busy:
            other = busy[item.pk]
            ready = (timezone.localdate(other.ready_at) if other.ready_at and other.status == HoldStatus.READY
                     else open_from(other.pickup_branch_id, today + transfer))
            free.append((back_after_loan(other, item, ready), item.pk, other.pickup_branch_id))
        elif item.pk in loans:
            loan = loans[item.pk]
            free.append((max(loan.due_on + day * lateness, today + day), item.pk, loan.branch_id))
        elif item.status == ItemStatus.IN_TRANSIT:
            free.append((today + transfer, item.pk, in_transit_to.get(item.pk, item.owning_branch_id)))
        else:
            free.append((today, item.pk, item.current_branch_id))
    heapq.heapify(free)
    by_id = {item.pk: item for item in items}
    waiting = list(holds)  # queue order; served ones leave

    def can_fill(hold, item, when):
        return (hold.item_id in (None, item.pk) and rule(hold, item, item.owning_branch_id).holdable
                and (hold.not_needed_after is None or hold.not_needed_after >= when))

    while free and waiting:
        when, item_id, branch_id = heapq.heappop(free)
        item = by_id[item_id]
        candidates = [hold for hold in waiting if can_fill(hold, item, when)]
        if not candidates:
            continue  # nobody waiting can ever have this copy
        active = next((hold for hold in candidates
                       if hold.suspended_until is None or hold.suspended_until <= when), None)
        if active is None:  # everyone it could go to is suspended: it waits until the first resumes
            heapq.heappush(free, (min(hold.suspended_until for hold in candidates), item_id, branch_id))
            continue
        arrives = when if branch_id == active.pickup_branch_id else when + transfer
        ready = max(open_from(active.pickup_branch_id, arrives), today)
        estimates[active.pk] = ready
        waiting.remove(active)
        heapq.heappush(free, (back_after_loan(active, item, ready), item_id, active.pickup_branch_id))
    return estimates
