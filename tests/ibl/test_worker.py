"""Leg planning on a real Celery worker and the real broker, with committed rows: a
copy sent in a committed transaction gets its legs from the worker without help; a
worker killed (SIGKILL) in the middle of planning loses nothing and duplicates
nothing (its transaction rolls back), and the sweep has a new worker plan them
exactly once; planning again changes nothing.

The worker imports tests/ibl/worker_hooks.py (-I), which can make legs_plan wait
after its first leg. Everything committed here is removed afterwards."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from ibl.models import IblEvent, IblRequest, Leg, RequestState
from ibl.services.transport import legs_plan_missing, send_task
from ibl.tasks import legs_plan, legs_plan_sweep
from tests.concurrency import on_own_connection, wait_for
from tests.factories import TitleFactory

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, folder):
        self.folder = folder
        self.process = None

    def start(self):
        from lsb.celery import app

        database = settings.DATABASES["default"]
        env = dict(os.environ)
        env["DATABASE_URL"] = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        env["LSB_IBL_TEST_DIR"] = str(self.folder)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lsb", "worker", "--pool", "solo", "-n", "ibl-test@%h",
             "-l", "warning", "-I", "tests.ibl.worker_hooks"],
            cwd=REPO, env=env,
        )
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail("The Celery worker did not start")

    def kill(self):
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
    running = Worker(tmp_path_factory.mktemp("ibl-worker"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def folder(worker):
    for path in worker.folder.iterdir():
        path.unlink()
    return worker.folder


def sent_request():
    """A committed request just sent by beta for alpha (its legs not planned yet)."""

    def make():
        from tenants.models import LibraryOrganisation

        alpha = LibraryOrganisation.objects.get(slug="alpha")
        beta = LibraryOrganisation.objects.get(slug="beta")
        title = TitleFactory()
        return IblRequest.objects.create(
            requesting_organisation=alpha, pickup_branch=alpha.branches.order_by("name").first(), member_id=999_999,
            title=title, state=RequestState.SENT, lender=beta, lending_branch=beta.branches.order_by("name").first(),
            item_barcode="WORKER0001", sent_at=timezone.now(),
        ).pk

    return on_own_connection(make)


def legs_of(request_id):
    return on_own_connection(lambda: list(Leg.objects.filter(request_id=request_id).order_by("sequence")
                                          .values_list("sequence", "state")))


@pytest.fixture
def cleanup():
    made = []
    yield made

    def remove():
        for request_id in made:
            title_id = IblRequest.objects.get(pk=request_id).title_id
            Leg.objects.filter(request_id=request_id).delete()
            IblEvent.objects.filter(request_id=request_id).delete()
            IblRequest.objects.filter(pk=request_id).delete()
            from catalogue.models import Title

            Title.objects.filter(pk=title_id).delete()

    on_own_connection(remove)


def test_a_sent_copy_gets_its_legs_from_the_worker(worker, folder, cleanup):
    request_id = sent_request()
    cleanup.append(request_id)
    send_task(legs_plan, request_id)
    assert wait_for(lambda: len(legs_of(request_id)) == 2)
    assert legs_of(request_id) == [(1, Leg.State.IN_TRANSIT), (2, Leg.State.PLANNED)]
    # Sent again (the broker delivers twice, the sweep): nothing more.
    send_task(legs_plan, request_id)
    time.sleep(2)
    assert len(legs_of(request_id)) == 2


def test_a_worker_killed_while_planning_loses_and_duplicates_nothing(worker, folder, cleanup):
    (folder / "hold").write_text("")
    request_id = sent_request()
    cleanup.append(request_id)
    send_task(legs_plan, request_id)
    # The worker has written the first leg, inside its transaction, and waits.
    assert wait_for(lambda: (folder / "started-1").exists())
    assert int((folder / "started-1").read_text()) == worker.process.pid
    assert legs_of(request_id) == []

    worker.kill()
    assert legs_of(request_id) == []  # rolled back with the dead worker's connection
    assert wait_for(lambda: request_id in on_own_connection(
        lambda: legs_plan_missing(older_than=timezone.timedelta(0))))

    (folder / "hold").unlink()
    worker.start()
    # The beat sweep sends the planning of every sent copy without legs again.
    assert legs_plan_sweep.apply(kwargs={"older_than_seconds": 0}).get() >= 1
    assert wait_for(lambda: len(legs_of(request_id)) == 2)
    send_task(legs_plan, request_id)
    time.sleep(2)
    assert legs_of(request_id) == [(1, Leg.State.IN_TRANSIT), (2, Leg.State.PLANNED)]
    assert (folder / "started-2").exists() and not (folder / "started-3").exists()
