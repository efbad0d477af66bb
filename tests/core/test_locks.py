"""The one lock order: a lock against it fails in the tests instead of deadlocking desks."""

import pytest
from django.db import transaction
from django.test import override_settings

from core import locks
from core.locks import LockOrderError, lock_rows, note_lock
from tenants.models import Province

from ..concurrency import on_own_connection


@override_settings(LSB_STRICT_LOCK_ORDER=True)
def test_locks_in_order_pass_and_against_the_order_raise(db):
    with transaction.atomic():
        note_lock(locks.ITEM)
        note_lock(locks.BORROWER)
        note_lock(locks.BORROWER)  # several rows of one rank
        note_lock(locks.HOLD)
        with pytest.raises(LockOrderError, match="loan row locked after a hold row"):
            note_lock(locks.LOAN)


@override_settings(LSB_STRICT_LOCK_ORDER=True)
def test_each_transaction_starts_over(db):
    on_own_connection(_transactions_one_after_another)


def _transactions_one_after_another():
    # Real transactions on a connection of their own (the test's own is one long transaction).
    with transaction.atomic():
        note_lock(locks.HOLDINGS)
    with transaction.atomic():
        note_lock(locks.ITEM)  # a new transaction: no order to keep with the last one
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            note_lock(locks.HOLDINGS)
            raise RuntimeError("rolled back")
    with transaction.atomic():
        note_lock(locks.ITEM)


@override_settings(LSB_STRICT_LOCK_ORDER=False)
def test_production_logs_instead_of_raising(db, caplog):
    with transaction.atomic():
        note_lock(locks.HOLD)
        note_lock(locks.ITEM)
    assert "item row locked after a hold row" in caplog.text


def test_a_lock_outside_a_transaction_is_refused(db):
    def outside():
        with pytest.raises(LockOrderError, match="outside a transaction"):
            note_lock(locks.ITEM)

    on_own_connection(outside)


@override_settings(LSB_STRICT_LOCK_ORDER=True)
def test_lock_rows_locks_in_primary_key_order(db):
    with transaction.atomic():
        rows = lock_rows(locks.HOLD, Province.objects.order_by("-code"))
    assert [row.pk for row in rows] == sorted(row.pk for row in rows)
    assert len(rows) == 12


@override_settings(LSB_STRICT_LOCK_ORDER=True)
def test_in_a_test_each_outermost_block_of_the_code_starts_over(db):
    """A test is one long transaction: two services called one after another (each in
    its own atomic block) are two transactions in production, so the second's locks
    start over; within one block the order still counts."""
    with transaction.atomic():
        note_lock(locks.HOLDINGS)
    with transaction.atomic():
        note_lock(locks.ITEM)
        with transaction.atomic():  # a nested block is the same transaction
            note_lock(locks.HOLD)
            with pytest.raises(LockOrderError, match="loan row locked after a hold row"):
                note_lock(locks.LOAN)
