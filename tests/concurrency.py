"""Helpers for race tests and for tests with a real worker: work on a thread with
its own database connection (as a second desk would have), reporting its result
or error to the test; waiting for something another process does."""

import threading
import time

from django.db import connection


def in_thread(target):
    """Start `target` on a new thread; returns (thread, outcome) where outcome gets
    'result' or 'error' once the thread is joined."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def on_own_connection(work, timeout=60):
    """Run `work` on a thread of its own, hence on a database connection of its own
    that commits (outside the test's transaction); return its result or raise its error."""
    thread, outcome = in_thread(work)
    thread.join(timeout=timeout)
    assert not thread.is_alive(), "the work on its own connection did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def wait_for(condition, timeout=40):
    """Poll `condition` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False
