"""The database connection dies in the middle of a checkout scan (a real
pg_terminate_backend, not a mock): the desk gets 503 with a clear Dutch message,
the service's transaction left nothing half done, and the next scan works.

The desk works on a connection of its own (a thread), so the killed connection is
not the test's; the data is committed (module fixture) and removed afterwards."""

import threading
import time

import psycopg
import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.services import loans as loan_services
from collection.models import Item, ItemStatus
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.concurrency import on_own_connection
from tests.factories import TitleFactory
from tests.members.ledger_helpers import money_cleanup, money_member

from .factories import make_items

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.filter(is_active=True).order_by("name").first()
        title = TitleFactory(title="Database weg")
        with tenant_context(alpha):
            member = money_member()
            (item,) = make_items(alpha, branch=branch, title=title)
        connection.set_schema_to_public()
    yield alpha, member, item
    with django_db_blocker.unblock():
        connection.close()  # whatever state the test left it in
        with tenant_context(alpha):
            Loan.objects.filter(item=item).delete()
            Item.objects.filter(pk=item.pk).delete()
            money_cleanup([member.pk])
        title.delete()
        connection.set_schema_to_public()


def kill_own_connection():
    """Terminate this connection's server process from a second connection and
    wait until it is gone."""
    pid = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):
            if not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.02)
    raise AssertionError("the backend did not go away")




def test_connection_killed_during_checkout_answers_503_and_changes_nothing(client, committed, monkeypatch):
    alpha, member, item = committed
    original = loan_services.desk_context_lock
    killed = []

    def context_after_kill(*args, **kwargs):
        if threading.current_thread().name != "MainThread" and not killed:
            # The first query inside the checkout's transaction meets a dead connection.
            kill_own_connection()
            killed.append(True)
        return original(*args, **kwargs)

    monkeypatch.setattr(loan_services, "desk_context_lock", context_after_kill)
    scan = {"pas": member.card_number, "barcode": item.barcode}

    def state():
        with tenant_context(alpha):
            fresh = Item.objects.get(pk=item.pk)
            return list(Loan.objects.filter(item=item).values_list("ended_at", flat=True)), fresh.status, \
                fresh.loan_count

    def desk():
        client.force_login(StaffUser.objects.get(username="alpha.desk"))
        try:
            failed = client.post("/uitlening/uitlenen/scan/", scan, HTTP_HOST=ALPHA)
            connection.close()  # as the next request would find it: gone
            between = state()
            again = client.post("/uitlening/uitlenen/scan/", scan, HTTP_HOST=ALPHA)
            return failed, between, again
        finally:
            client.logout()

    failed, between, again = on_own_connection(desk)
    assert killed
    assert failed.status_code == 503
    page = failed.content.decode()
    assert "De database is even niet bereikbaar; er is niets gewijzigd. Scan opnieuw." in page
    assert f'name="pas" value="{member.card_number}"' in page  # the card stays at the desk
    assert between == ([], ItemStatus.AVAILABLE, 0)  # nothing half done
    # Scanning again works: one loan, lent once.
    assert again.status_code == 200
    assert on_own_connection(state) == ([None], ItemStatus.ON_LOAN, 1)
