"""What a checkout or checkin needs to know about the item, the desk's branch and
the library, read in one statement while locking the item.

A desk scan must answer in a fraction of a second and the desks of a large
library scan hundreds of items a minute, so the reads that every scan makes
(the item and its open loan, whether anyone holds its title, the branch and its
opening days, the circulation settings, a fingerprint of the loan-rule matrix and
the national cap on a card's loans) are two round trips instead of nine. Every loan write locks the item
first, so its open loan needs no lock of its own.
"""

import datetime
from dataclasses import dataclass

from django.db import connection

from catalogue.models import Title
from collection.models import Item
from core import locks
from tenants.calendar import MAX_SEARCH_DAYS, BranchCalendar
from tenants.models import Branch, ClosedDate, NationalSettings, OpeningPeriod

from .models import CirculationSettings, Hold, Loan, LoanRule

# Closed dates loaded around today: enough for a due date (the longest loan period
# plus the search for an open day) without asking again.
CALENDAR_AHEAD_DAYS = 366 + MAX_SEARCH_DAYS

_ITEM_COLUMNS = [field.column for field in Item._meta.concrete_fields]

# With the title's text: every answer to a scan names the title (the desk's row,
# SIP2's AJ, the API's body), so it comes along instead of in a statement of its own.
_LOCK_SQL = ("SELECT {item_columns}, (SELECT title FROM {title} WHERE id = item.title_id) AS title_text "
             "FROM {item} AS item WHERE item.barcode = %(barcode)s FOR UPDATE OF item")

# Read after the lock, in a fresh snapshot: when this desk had to wait for another
# desk's lock, it sees what that desk committed (a subquery in the locking
# statement itself would still see the snapshot from before the wait).
_LOAN_COLUMNS = [field.column for field in Loan._meta.concrete_fields]

_CONTEXT_SQL = """
    SELECT
        {loan_columns},
        EXISTS (SELECT 1 FROM {hold} WHERE title_id = %(title)s
                  AND status IN ('waiting', 'in_transit', 'ready')) AS title_has_holds,
        (SELECT json_build_array(organisation_id, is_active, name) FROM {branch} WHERE id = %(branch)s) AS branch,
        (SELECT coalesce(array_agg(DISTINCT weekday), '{{}}') FROM {opening} WHERE branch_id = %(branch)s)
            AS open_weekdays,
        (SELECT coalesce(array_agg(date), '{{}}') FROM {closed} WHERE branch_id = %(branch)s
                AND date BETWEEN %(start)s AND %(end)s) AS closed_dates,
        (SELECT json_build_array(floating_item_types, transfer_days) FROM {settings} WHERE id = 1) AS settings,
        (SELECT count(*)::text || '/' || coalesce(max(updated_at)::text, '') FROM {rule}) AS rules_fingerprint,
        (SELECT max_loans_per_card FROM {national} WHERE id = 1) AS national_max_loans_per_card
    FROM (SELECT 1) AS one
    LEFT JOIN {loan} AS loan ON loan.item_id = %(item)s AND loan.ended_at IS NULL
"""


@dataclass
class DeskContext:
    item: Item
    open_loan: Loan | None
    title_has_holds: bool
    branch: Branch | None  # None when the id is no branch at all
    calendar: BranchCalendar
    floating_item_types: list
    transfer_days: int
    rules_fingerprint: str
    # The national cap on a card's open loans in all libraries together (None: none).
    national_max_loans_per_card: int | None


def desk_context_lock(*, barcode, branch_id, today):
    """Lock the item with `barcode` and read the scan's context; None when no item
    has that barcode. Two statements."""
    start = today - datetime.timedelta(days=CALENDAR_AHEAD_DAYS)
    end = today + datetime.timedelta(days=CALENDAR_AHEAD_DAYS)
    locks.note_lock(locks.ITEM)  # the first lock of a scan (core.locks' order)
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_SQL.format(item_columns=", ".join(f"item.{column}" for column in _ITEM_COLUMNS),
                             item=Item._meta.db_table, title=Title._meta.db_table),
            {"barcode": barcode},
        )
        row = cursor.fetchone()
        if row is None:
            return None
        item = Item.from_db(connection.alias, [field.attname for field in Item._meta.concrete_fields], row[:-1])
        # The scanned copy's title text travels with it (CheckoutResult.loan.item, CheckinResult.item).
        item.title_text = row[-1] or ""
        cursor.execute(
            _CONTEXT_SQL.format(
                loan_columns=", ".join(f"loan.{column}" for column in _LOAN_COLUMNS),
                loan=Loan._meta.db_table, hold=Hold._meta.db_table, branch=Branch._meta.db_table,
                opening=OpeningPeriod._meta.db_table, closed=ClosedDate._meta.db_table,
                settings=CirculationSettings._meta.db_table, rule=LoanRule._meta.db_table,
                national=NationalSettings._meta.db_table,
            ),
            {"item": item.pk, "title": item.title_id, "branch": branch_id, "start": start, "end": end},
        )
        row = cursor.fetchone()
    loan_values, rest = row[:len(_LOAN_COLUMNS)], row[len(_LOAN_COLUMNS):]
    title_has_holds, branch, weekdays, closed, settings, fingerprint, national_max = rest
    open_loan = None
    if loan_values[0] is not None:
        open_loan = Loan.from_db(connection.alias, [field.attname for field in Loan._meta.concrete_fields],
                                 loan_values)
        open_loan.item = item  # the locked copy itself, not a second read of it
    branch_obj = None
    if branch is not None:
        organisation_id, is_active, name = branch
        branch_obj = Branch(pk=branch_id, organisation_id=organisation_id, is_active=is_active, name=name)
    floating, transfer_days = settings if settings is not None else ([], CirculationSettings().transfer_days)
    return DeskContext(
        item=item, open_loan=open_loan, title_has_holds=title_has_holds, branch=branch_obj,
        calendar=BranchCalendar.preloaded(branch_id, start=start, end=end, open_weekdays=set(weekdays),
                                          closed_dates=set(closed)),
        floating_item_types=list(floating), transfer_days=transfer_days, rules_fingerprint=fingerprint,
        national_max_loans_per_card=national_max,
    )
