"""Outbox handlers for the outbox tests only (tests/tenants/test_outbox*.py). The
real worker of the kill test imports this module too (celery worker -I ...).

    tests.charge            a charge on the payload's member, noting the schema it ran in
    tests.flaky             fails while FAILING["on"] is set (in this process)
    tests.charge_then_wait  a charge, then "started-<n>" in $LSB_OUTBOX_TEST_DIR, then
                            waits inside the open transaction while the file "hold" is there
    tests.wander            a charge, then leaves the target's schema (must be rolled back)
"""

import os
import time
from pathlib import Path

from django.db import connection

from members.models import LedgerEntry, Member
from members.services.ledger import ledger_charge
from tenants.outbox import outbox_handler

SEEN = []
FAILING = {"on": True}


def _charge(actor, payload):
    return ledger_charge(actor=actor, member=Member.objects.get(pk=payload["member"]),
                         charge_type=LedgerEntry.ChargeType.OTHER, amount_cents=payload["amount_cents"],
                         reference=payload.get("reference", ""))


@outbox_handler("tests.charge", label="Test: kosten")
def charge(*, actor, payload):
    SEEN.append((connection.schema_name, actor.ref, actor.organisation.schema_name, dict(payload)))
    return _charge(actor, payload)


@outbox_handler("tests.flaky", label="Test: wisselvallig")
def flaky(*, actor, payload):
    if FAILING["on"]:
        raise RuntimeError("het doel is even niet bereikbaar")
    return _charge(actor, payload)


@outbox_handler("tests.charge_then_wait", label="Test: kosten, dan wachten")
def charge_then_wait(*, actor, payload):
    _charge(actor, payload)
    folder = Path(os.environ["LSB_OUTBOX_TEST_DIR"])
    started = len(list(folder.glob("started-*"))) + 1
    (folder / f"started-{started}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 120
    while (folder / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@outbox_handler("tests.wander", label="Test: verlaat het schema")
def wander(*, actor, payload):
    """Charges, then switches the connection to gamma's schema and stays there."""
    from tenants.models import LibraryOrganisation

    _charge(actor, payload)
    connection.set_tenant(LibraryOrganisation.objects.get(slug="gamma"))
