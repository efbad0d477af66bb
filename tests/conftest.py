"""Test tenants are provisioned once per run, committed, and shared by all tests;
each test runs in a transaction that is rolled back."""

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection

from staff.models import Role
from tenants.models import OpeningPeriod, Poi
from tenants.services import registry_reference_load

from .factories import PoiAdministratorFactory, StaffUserFactory, make_library, staff_with_role


# The browser fixtures (Chromium, live server) for tests/browser and the screens of other suites.
pytest_plugins = ["tests.browser_fixtures"]


def pytest_configure(config):
    """Staff passwords and member PINs are hashed with a fast hasher in this test
    process (Django's own advice for test speed): PBKDF2 costs 0.2 s per hash and
    per check, and the suite makes and signs in well over a thousand accounts
    (full run 665 s -> 361 s on the 2-core machine). The hashing code paths are
    the same; processes the tests start (gunicorn, Celery, seed_demo for the
    pooler) keep the production hashers."""
    from django.conf import settings
    from django.contrib.auth import hashers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        forget_routing_cache()
        registry_reference_load()
        alpha = make_library(slug="alpha", province="UT")  # BiSC
        beta = make_library(slug="beta", province="UT")  # BiSC
        gamma = make_library(slug="gamma", province="ZH")  # Probiblio
        dormant = make_library(slug="dormant", province="GE", is_active=False)  # Rijnbrink
        first_branch = alpha.branches.order_by("name").first()
        for weekday in range(7):
            OpeningPeriod.objects.create(branch=first_branch, weekday=weekday, opens="09:00", closes="17:00")
        for role in Role.values:
            staff_with_role(alpha, role, username=f"alpha.{role}")
        staff_with_role(beta, Role.DESK, username="beta.desk")
        staff_with_role(gamma, Role.LIBRARY_ADMIN, username="gamma.library_admin")
        PoiAdministratorFactory(user=StaffUserFactory(username="bisc.poi", is_staff=True), poi=Poi.objects.get(code="bisc"))
        PoiAdministratorFactory(
            user=StaffUserFactory(username="probiblio.poi", is_staff=True), poi=Poi.objects.get(code="probiblio")
        )
        StaffUserFactory(username="national", is_staff=True, is_superuser=True)
        connection.set_schema_to_public()
    yield


@pytest.fixture
def libraries(db):
    from tenants.models import LibraryOrganisation

    by_slug = {o.slug: o for o in LibraryOrganisation.objects.select_related("province__poi")}
    return SimpleNamespace(**by_slug)


@pytest.fixture
def staff(db):
    from staff.models import StaffUser

    return SimpleNamespace(**{u.username.replace(".", "_"): u for u in StaffUser.objects.all()})


@pytest.fixture(autouse=True)
def back_to_public_schema():
    """A request through the tenant middleware leaves the connection in that tenant's schema."""
    yield
    connection.set_schema_to_public()
    forget_routing_cache()


def forget_routing_cache():
    """The host-routing cache outlives each test's rolled-back transaction; drop it
    (only it: the same Redis database carries the Celery broker's queues)."""
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter("*tenants:host:*"):
        client.delete(key)


def host_client(client, slug):
    """A test client whose requests go to a library's host."""
    client.defaults["HTTP_HOST"] = f"{slug}.localhost"
    return client


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup):
    """A real Celery worker process on the real Redis broker, using the test database.

    Work it does is committed, so tests that need it must commit too."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.conf import settings

    from lsb.celery import app

    database = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "lsb", "worker", "--pool", "solo", "-n", "test-worker@%h", "-l", "warning"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )
    deadline = time.monotonic() + 30
    while not app.control.ping(timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            pytest.fail("The Celery worker did not start")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
    # Wait until the broker no longer lists it, so later tests see no worker.
    deadline = time.monotonic() + 10
    while app.control.ping(timeout=0.5) and time.monotonic() < deadline:
        pass


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory):
    """A folder the Celery worker's mail goes to (the file backend), set in the
    environment before the worker starts: see celery_worker_mailing."""
    import os

    path = tmp_path_factory.mktemp("mail")
    saved = {name: os.environ.get(name) for name in ("EMAIL_BACKEND", "EMAIL_FILE_PATH")}
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    os.environ["EMAIL_FILE_PATH"] = str(path)
    yield path
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def celery_worker_mailing(mail_dir, celery_worker_process):
    """The real worker of celery_worker_process, started after mail_dir has pointed
    its mail at files (ask for this one first in a module)."""
    return celery_worker_process


def mails_in(folder):
    """All mail the file backend wrote to `folder`, as one text."""
    from pathlib import Path

    return "".join(path.read_text() for path in Path(folder).iterdir())
