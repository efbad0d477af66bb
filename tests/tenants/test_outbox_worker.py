"""The outbox on a real Celery worker and the real broker, with committed data: a
step asked in a committed transaction is carried out by the worker without help; a
worker killed (SIGKILL) in the middle of a step loses nothing, and a new worker
does the step exactly once; two deliveries of one message at once do it once.

The worker imports the test handlers (tests/tenants/outbox_handlers.py) with -I.
Everything is committed here and removed afterwards."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from core.actors import Actor
from members.models import LedgerEntry
from tenants import outbox
from tenants.models import LibraryOrganisation, OutboxMessage
from tenants.outbox import deliver, enqueue, sweep
from tests.concurrency import in_thread, on_own_connection, wait_for
from tests.members.ledger_helpers import money_cleanup, money_member

from . import outbox_handlers  # noqa: F401 (registers the test handlers here too)

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
KEY = "worker-test:"


class Worker:
    """One solo-pool worker process at a time, that the test may kill."""

    def __init__(self, folder):
        self.folder = folder
        self.process = None

    def start(self):
        from lsb.celery import app

        database = settings.DATABASES["default"]
        env = dict(os.environ)
        env["DATABASE_URL"] = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        env["LSB_OUTBOX_TEST_DIR"] = str(self.folder)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lsb", "worker", "--pool", "solo", "-n", "outbox-test@%h",
             "-l", "warning", "-I", "tests.tenants.outbox_handlers"],
            cwd=REPO, env=env,
        )
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail("The Celery worker did not start")

    def kill(self):
        """SIGKILL: no warm shutdown, no acknowledgement, no rollback by the worker."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        from lsb.celery import app

        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        deadline = time.monotonic() + 10
        while app.control.ping(timeout=0.5) and time.monotonic() < deadline:
            pass


@pytest.fixture(scope="module")
def worker(tmp_path_factory, django_db_setup):
    folder = tmp_path_factory.mktemp("outbox")
    saved = os.environ.get("LSB_OUTBOX_TEST_DIR")
    os.environ["LSB_OUTBOX_TEST_DIR"] = str(folder)  # for deliveries in this process too
    running = Worker(folder)
    running.start()
    yield running
    running.stop()
    if saved is None:
        os.environ.pop("LSB_OUTBOX_TEST_DIR", None)
    else:
        os.environ["LSB_OUTBOX_TEST_DIR"] = saved


@pytest.fixture(scope="module")
def committed(worker, django_db_blocker):
    """A member of beta (committed); alpha asks beta for charges on their account."""
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        beta = LibraryOrganisation.objects.get(slug="beta")
        with tenant_context(beta):
            member = money_member()
        connection.set_schema_to_public()
    yield SimpleNamespace(alpha=alpha, beta=beta, member=member)
    with django_db_blocker.unblock():
        OutboxMessage.objects.filter(source=alpha, dedupe_key__startswith=KEY).delete()
        with tenant_context(beta):
            money_cleanup([member.pk])
        connection.set_schema_to_public()


@pytest.fixture
def folder(worker):
    for path in worker.folder.iterdir():
        path.unlink()
    return worker.folder


def ask(data, key, *, kind="tests.charge", commit=True):
    """Alpha asks beta for a charge of 125 cents, on a connection of its own that
    commits (or rolls back). Returns the message id."""

    class RolledBack(Exception):
        pass

    def work():
        with tenant_context(data.alpha):
            with transaction.atomic():
                message = enqueue(actor=Actor.system("circulation"), target=data.beta, kind=kind,
                                  payload={"member": data.member.pk, "amount_cents": 125, "reference": key},
                                  dedupe_key=KEY + key)
                if not commit:
                    raise RolledBack()
        return message.pk

    try:
        return on_own_connection(work)
    except RolledBack:
        return None


def charges(data, key):
    def read():
        with tenant_context(data.beta):
            return list(LedgerEntry.objects.filter(reference=key).values_list("member_id", "amount_cents"))

    return on_own_connection(read)


def message_of(message_id):
    return on_own_connection(lambda: OutboxMessage.objects.get(pk=message_id))


def row_free(message_id):
    """Can another transaction lock the message row now (nobody holds it)?"""

    def probe():
        try:
            with transaction.atomic():
                return OutboxMessage.objects.select_for_update(nowait=True).filter(pk=message_id).exists()
        except DatabaseError:
            return False

    return on_own_connection(probe)


def test_a_committed_step_is_carried_out_by_the_worker_and_a_rolled_back_one_asks_nothing(committed, folder):
    assert ask(committed, "rolled-back", commit=False) is None
    assert not on_own_connection(lambda: OutboxMessage.objects.filter(dedupe_key=KEY + "rolled-back").exists())

    message_id = ask(committed, "committed")
    # No sweep runs here (no beat): the task sent on commit did it.
    assert wait_for(lambda: message_of(message_id).state == "done")
    assert charges(committed, "committed") == [(committed.member.pk, 125)]
    assert charges(committed, "rolled-back") == []
    assert message_of(message_id).attempts == 1


def test_a_worker_killed_in_the_middle_of_a_step_loses_nothing_and_the_step_is_done_once(worker, committed,
                                                                                       folder):
    (folder / "hold").write_text("")
    message_id = ask(committed, "killed", kind="tests.charge_then_wait")
    # The worker is inside the step: the charge is written in beta, not committed.
    assert wait_for(lambda: (folder / "started-1").exists())
    assert int((folder / "started-1").read_text()) == worker.process.pid
    assert charges(committed, "killed") == []
    assert not row_free(message_id)
    message = message_of(message_id)
    assert (message.state, message.attempts) == ("pending", 1)  # the attempt is counted

    worker.kill()
    # PostgreSQL rolls the dead worker's transaction back: the row is free, no charge, still pending.
    assert wait_for(lambda: row_free(message_id), timeout=20)
    assert charges(committed, "killed") == []
    assert message_of(message_id).state == "pending"

    (folder / "hold").unlink()
    worker.start()
    # The killed task is not acknowledged, but the broker gives it back only after its visibility
    # timeout (an hour): the beat sweep sends it again once its attempt's backoff is over.
    assert sweep(now=timezone.now()) == []  # not yet: the attempt's backoff runs
    assert message_id in sweep(now=timezone.now() + timedelta(hours=2))
    assert wait_for(lambda: message_of(message_id).state == "done")
    assert (folder / "started-2").exists() and not (folder / "started-3").exists()
    assert charges(committed, "killed") == [(committed.member.pk, 125)]
    message = message_of(message_id)
    assert (message.attempts, message.last_error) == (2, "")

    # The lost task delivered after all (the broker's redelivery, a second sweep): nothing more.
    outbox.send(message_id)
    sweep(now=timezone.now() + timedelta(hours=3))
    time.sleep(3)
    assert charges(committed, "killed") == [(committed.member.pk, 125)]
    assert not (folder / "started-3").exists()
    assert message_of(message_id).attempts == 2


def test_two_deliveries_of_one_message_at_once_do_the_step_once(committed, folder, monkeypatch):
    """Here in this process, not on the worker: two threads deliver one message."""
    monkeypatch.setattr(outbox, "send", lambda message_id, countdown=None: None)  # the worker stays out of it
    (folder / "hold").write_text("")
    message_id = ask(committed, "twice", kind="tests.charge_then_wait")
    first, first_outcome = in_thread(lambda: deliver(message_id))
    assert wait_for(lambda: (folder / "started-1").exists())
    second = on_own_connection(lambda: deliver(message_id))
    assert second == outbox.Delivery("busy")  # held by the first: left alone, not counted
    (folder / "hold").unlink()
    first.join(timeout=30)
    assert first_outcome == {"result": outbox.Delivery("done")}
    assert charges(committed, "twice") == [(committed.member.pk, 125)]
    assert message_of(message_id).attempts == 1
    assert connection.schema_name == get_public_schema_name()
