"""Browser fixtures: a real headless Chromium against a live server on the test
database. Browser tests read the once-per-run test tenants and staff (committed),
so they need no database fixture of their own.

Loaded once for the whole run by tests/conftest.py (pytest_plugins): a
session fixture imported into two test modules would be two fixtures, and the
second Playwright would start inside the first one's event loop."""

import os

import pytest
from django.db import connection
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server_port(django_db_setup, django_db_blocker):
    django_db_blocker.unblock()  # the server thread's requests use the real (test) database
    server = LiveServerThread("127.0.0.1", _StaticFilesHandler, connections_override={}, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield server.port
    server.terminate()
    # The server's request threads may leave a connection behind; the test
    # database can only be dropped at the end of the run without it.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    django_db_blocker.restore()


@pytest.fixture(scope="session")
def browser(live_server_port):
    # Playwright's sync API keeps an event loop on the main thread; the database
    # work of the fixtures in this thread is still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def library_url(live_server_port):
    """The address of a test library's screens, e.g. library_url('alpha', '/balie/')."""
    return lambda slug, path="/": f"http://{slug}.localhost:{live_server_port}{path}"
