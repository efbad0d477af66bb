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
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_for(condition, timeout=40):
    """Poll `condition` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False
