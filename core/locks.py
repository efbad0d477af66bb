"""One lock policy: row locks are taken in one documented order.

Two actors that lock the same rows in different orders deadlock; PostgreSQL then
kills one of them (an error at a desk). Every service takes its row locks through
`lock_rows` (or reports a lock it took in its own SQL with `note_lock`), naming
the rank of what it locks. Within one transaction the ranks must not go down:

    item  →  borrower (member row, or a guest card's advisory lock)  →  loan
          →  holds (by primary key)  →  holdings row (national index)
          →  interlibrary-loan request (ibl, public schema)

Several rows of one rank are locked in primary-key order. Rows outside
circulation (a branch's week, a stocktake, a fund) are locked alone, so they need
no rank. With LSB_STRICT_LOCK_ORDER (on in the tests) a lock taken out of order
raises at once, so a wrong order fails in CI instead of deadlocking in a library;
in production it is logged.

Nightly and bulk work take one short transaction per member or per title, never
one library-wide transaction that makes the desk wait.
"""

import logging

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)

ITEM = 10
BORROWER = 20
LOAN = 30
HOLD = 40
HOLDINGS = 50
# An interlibrary-loan request (ibl): last, so a desk scan that lends, takes back or
# sends a copy locks the request after circulation's rows, and the IBL services that
# call circulation lock it after them too.
IBL_REQUEST = 60

RANK_NAMES = {ITEM: "item", BORROWER: "borrower", LOAN: "loan", HOLD: "hold", HOLDINGS: "holdings",
              IBL_REQUEST: "interlibrary-loan request"}


class LockOrderError(RuntimeError):
    pass


def note_lock(rank):
    """Record that this transaction now holds a lock of `rank` (checks the order)."""
    if not connection.in_atomic_block:
        raise LockOrderError(f"a {RANK_NAMES[rank]} row lock outside a transaction is released at once")
    marker = _transaction_marker()
    state = getattr(connection, "_lsb_lock_state", None)
    if state is None or state[0] is not marker:
        state = (marker, [0])
        connection._lsb_lock_state = state
    highest = state[1]
    if rank < highest[0]:
        message = (f"lock order: a {RANK_NAMES[rank]} row locked after a {RANK_NAMES[highest[0]]} row "
                   f"(order is {' -> '.join(RANK_NAMES[r] for r in sorted(RANK_NAMES))})")
        if getattr(settings, "LSB_STRICT_LOCK_ORDER", False):
            raise LockOrderError(message)
        logger.warning(message)
    highest[0] = max(highest[0], rank)


def _transaction_marker():
    """What identifies the transaction a lock is taken in, without a query.

    The list of on-commit hooks is replaced when a transaction ends (commit or
    rollback). Inside a Django TestCase every test is one long transaction: there
    the outermost atomic block the code itself entered (a service's) stands for the
    transaction it has in production, identified by its savepoint (a new one each
    time a block is entered), so two services called one after another in a test
    each start over, as they do in production."""
    for depth, block in enumerate(connection.atomic_blocks):
        if not getattr(block, "_from_testcase", False):
            if depth and connection.savepoint_ids[depth - 1] is not None:
                return connection.savepoint_ids[depth - 1]
            break
    return connection.run_on_commit


def lock_rows(rank, queryset, *, of=None):
    """Lock the rows of `queryset` (ranked `rank`) in primary-key order and return them."""
    note_lock(rank)
    locked = queryset.select_for_update(of=of or ()) if of else queryset.select_for_update()
    return list(locked.order_by("pk"))


def lock_row(rank, queryset):
    """Lock at most one row (or None)."""
    rows = lock_rows(rank, queryset)
    if len(rows) > 1:
        raise LockOrderError("lock_row matched several rows")
    return rows[0] if rows else None
