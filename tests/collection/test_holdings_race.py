"""Two desks changing items of the same title and branch at the same moment,
each on its own database connection, must leave the right counts in the national
holdings index.

These tests need committed data (the desks' connections cannot see a test's
uncommitted transaction), so they write their rows on a connection of their own,
which commits, and delete them after. (A transactional test would flush the
tables, and with them the once-per-run test libraries.)"""

import threading
from types import SimpleNamespace

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from collection import services
from collection.models import Item
from core.actors import Actor
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.concurrency import on_own_connection
from tests.factories import TitleFactory


# The test database is set up for these tests; the test's own (rolled-back)
# transaction is only used to read.
pytestmark = pytest.mark.django_db




@pytest.fixture
def committed():
    def create():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        v1, v2 = alpha.branches.order_by("code")
        user = StaffUser.objects.get(username="alpha.collection")
        title = TitleFactory(title="Race")
        with tenant_context(alpha):
            services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk,
                              barcodes=["RACE00001", "RACE00002"], branch_id=v1.pk)
            services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk,
                              barcodes=["RACE00003"], branch_id=v2.pk)
        return SimpleNamespace(alpha=alpha, v1=v1, v2=v2, user=user, title=title)

    def remove(data):
        with tenant_context(data.alpha):
            Item.objects.filter(title_id=data.title.pk).delete()  # and their events
        Holding.objects.filter(title=data.title).delete()
        data.title.delete()

    data = on_own_connection(create)
    try:
        yield data
    finally:
        on_own_connection(lambda: remove(data))


def counts(data, branch):
    row = Holding.objects.filter(title=data.title, organisation=data.alpha, branch=branch).first()
    return (row.total, row.available) if row else None


def run_desks(monkeypatch, data, work_a, work_b):
    """Run desk A until it has counted a holding (holding its row lock), then start
    desk B and give it two seconds to finish while A waits. With correct locking B
    cannot finish then: it waits for A's holding lock. Returns whether B finished
    while A was still in its transaction, and any errors."""
    original = services.holding_refresh
    a_counted, b_done = threading.Event(), threading.Event()
    observed = {}
    errors = []

    def refresh_with_pause(**kwargs):
        # Desk A pauses after locking and counting its holding row, inside its transaction.
        result = original(**kwargs)
        if threading.current_thread().name == "desk-a" and not a_counted.is_set():
            a_counted.set()
            observed["b_finished_meanwhile"] = b_done.wait(timeout=2)
        return result

    monkeypatch.setattr(services, "holding_refresh", refresh_with_pause)

    def desk(work, done=None):
        try:
            with tenant_context(data.alpha):
                work()
        except Exception as error:  # reported to the test
            errors.append(error)
        finally:
            if done:
                done.set()
            connection.close()

    a = threading.Thread(target=desk, args=(work_a,), name="desk-a")
    b = threading.Thread(target=desk, args=(work_b, b_done), name="desk-b")
    a.start()
    assert a_counted.wait(timeout=10)
    b.start()
    a.join(timeout=20)
    b.join(timeout=20)
    assert not a.is_alive() and not b.is_alive()
    return observed["b_finished_meanwhile"], errors


def test_concurrent_status_changes_leave_the_right_counts(committed, monkeypatch):
    data = committed
    assert counts(data, data.v1) == (2, 2)

    def mark_missing(barcode):
        return lambda: services.item_status_change(actor=Actor.staff(data.user, data.alpha), barcode=barcode,
                                                   to_status="missing")

    b_finished_meanwhile, errors = run_desks(monkeypatch, data, mark_missing("RACE00001"), mark_missing("RACE00002"))
    assert errors == []
    assert not b_finished_meanwhile, "desk B refreshed the holding while desk A held its lock"
    assert counts(data, data.v1) == (2, 0)


def test_crossing_moves_between_two_branches_do_not_deadlock(committed, monkeypatch):
    data = committed

    def move(barcode, branch):
        return lambda: services.item_move(actor=Actor.staff(data.user, data.alpha), barcodes=[barcode],
                                          branch_id=branch.pk, shelf_location="Verhuisd")

    b_finished_meanwhile, errors = run_desks(monkeypatch, data, move("RACE00001", data.v2),
                                             move("RACE00003", data.v1))
    assert errors == []
    assert not b_finished_meanwhile
    assert counts(data, data.v1) == (2, 2)
    assert counts(data, data.v2) == (1, 1)
    with tenant_context(data.alpha):
        assert Item.objects.get(barcode="RACE00001").owning_branch_id == data.v2.pk
        assert Item.objects.get(barcode="RACE00003").owning_branch_id == data.v1.pk
