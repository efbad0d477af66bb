"""When will a waiting hold be ready? An estimate per hold, from what this library
knows now.

The waiting holds of a title are served in queue order by the copies that can
fill them. Each copy becomes free at a moment:
- on the shelf: today;
- on loan: its due date shifted by the typical lateness observed in this library
  (the median of return date minus due date over recent returns, which is
  negative when members usually return early), never before tomorrow;
- in transit home: today plus the transfer time;
- already filling a hold (in transit or on a hold shelf): when that member will
  have picked it up, borrowed it for a loan period and returned it.
Each hold in turn takes the copy that is free first (an item-level hold only its
own copy); it is ready that day plus the transfer time when the copy is at
another branch than the pickup branch. The copy is then free again after the
member has picked it up, borrowed it for the loan period and returned it with
the typical lateness. A suspended hold's estimate is not before the day it
resumes. Estimates are never in the past.
"""

import datetime
import heapq

from django.core.cache import cache
from django.db import connection

from collection.models import Item, ItemStatus

from .models import Hold, HoldStatus, Loan, Transfer
from .rules import loan_rule_choose

STATISTICS_CACHE_SECONDS = 3600
STATISTICS_WINDOW_DAYS = 180
MIN_SAMPLES = 20
# Members pick a ready hold up after this many days, typically (until measured).
PICKUP_DAYS = 2
MAX_LATENESS_DAYS = 30


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


def expected_dates_for_title(*, title_id, holds, today):
    """{hold id: expected date or None} for the waiting `holds` of a title, given in
    queue order. None when no copy can ever fill it."""
    from .services.loans import circulation_settings_get

    lateness, measured_transfer = library_statistics(today)
    transfer_days = measured_transfer if measured_transfer is not None else circulation_settings_get().transfer_days
    day = datetime.timedelta(days=1)

    items = list(
        Item.objects.filter(title_id=title_id, not_for_loan=False, ibl_owner_id__isnull=True).filter(
            status__in=[ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF]
        )
    )
    if not items:
        return {hold.pk: None for hold in holds}
    due = dict(Loan.objects.filter(item__in=items, ended_at__isnull=True).values_list("item_id", "due_on"))
    busy_holds = {
        hold.assigned_item_id: hold
        for hold in Hold.objects.filter(assigned_item__in=items, status__in=[HoldStatus.IN_TRANSIT, HoldStatus.READY])
    }
    in_transit_to = dict(
        Transfer.objects.filter(item__in=items, received_at__isnull=True).values_list("item_id", "to_branch_id")
    )

    def loan_days(item):
        return loan_rule_choose(for_guests=False, member_category_id=None, item_type=item.item_type,
                                branch_id=item.owning_branch_id).rule.loan_days

    periods = {item.item_type: loan_days(item) for item in items}

    def cycle(item, start):
        """When a copy handed to a member on `start` is back."""
        return start + day * (PICKUP_DAYS + periods[item.item_type] + lateness)

    free = {}  # item id -> (free date, branch where it will be)
    for item in items:
        if item.pk in busy_holds:
            other = busy_holds[item.pk]
            ready = other.ready_at.date() if other.ready_at else today + day * transfer_days
            free[item.pk] = (max(cycle(item, ready), today + day), other.pickup_branch_id)
        elif item.pk in due:
            free[item.pk] = (max(due[item.pk] + day * lateness, today + day), item.owning_branch_id)
        elif item.status == ItemStatus.IN_TRANSIT:
            free[item.pk] = (today + day * transfer_days, in_transit_to.get(item.pk, item.owning_branch_id))
        else:
            free[item.pk] = (today, item.current_branch_id)
    by_id = {item.pk: item for item in items}

    heap = [(when, item_id) for item_id, (when, _branch) in free.items()]
    heapq.heapify(heap)
    estimates = {}
    for hold in holds:
        if hold.item_id is not None:
            if hold.item_id not in free:
                estimates[hold.pk] = None
                continue
            item_id = hold.item_id
            when, branch_id = free[item_id]
            heap = [(w, i) for (w, i) in heap if i != item_id]
            heapq.heapify(heap)
        else:
            if not heap:
                estimates[hold.pk] = None
                continue
            when, item_id = heapq.heappop(heap)
            branch_id = free[item_id][1]
        if hold.suspended_until and hold.suspended_until > when:
            when = hold.suspended_until
        ready = when + (day * transfer_days if branch_id != hold.pickup_branch_id else datetime.timedelta(0))
        estimates[hold.pk] = max(ready, today)
        back = cycle(by_id[item_id], ready)
        free[item_id] = (back, by_id[item_id].owning_branch_id)
        heapq.heappush(heap, (back, item_id))
    return estimates
