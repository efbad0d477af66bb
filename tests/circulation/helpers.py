"""Helpers for the circulation service tests: fixed moments, and a snapshot of
everything a refused checkout must leave as it was."""

import datetime

import pytest
from django.utils import timezone

from circulation.models import CirculationEvent, Loan
from circulation.services.loans import CirculationRefused
from collection.models import Item
from members.models import LedgerEntry
from tenants.models import GuestLoan, OutboxMessage


def at(year, month, day, hour=11, minute=0):
    """An aware moment in the library's time zone."""
    return timezone.make_aware(datetime.datetime(year, month, day, hour, minute))


def snapshot(*items):
    """What a refused checkout must not change: the items, loans, ledger, events, guest
    loans, steps asked of other libraries (outbox)."""
    rows = []
    for item in items:
        fresh = Item.objects.get(pk=item.pk)
        rows.append((fresh.barcode, fresh.status, fresh.current_branch_id, fresh.loan_count, fresh.last_loaned_at))
    return {
        "items": rows,
        "loans": sorted(Loan.objects.values_list("pk", "ended_at", "due_on", "renewals")),
        "ledger": LedgerEntry.objects.count(),
        "events": CirculationEvent.objects.count(),
        "guest_loans": GuestLoan.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }


def refused(call, *items):
    """Run a checkout (or renewal) that must be refused; check nothing changed and
    return the CirculationRefused."""
    before = snapshot(*items)
    with pytest.raises(CirculationRefused) as caught:
        call()
    assert snapshot(*items) == before, "a refused call changed something"
    return caught.value


def codes(error):
    return [refusal.code for refusal in error.refusals]


def lend(desk, item=None, member=None, *, barcode=None, card=None, user=None, actor=None, now=None, override_reason="",
         branch=None):
    """Checkout at the desk (the main branch, the desk user, the desk's member unless given; or as `actor`)."""
    from circulation.services.loans import checkout

    return checkout(
        actor=actor or desk.actor(user, branch),
        card_number=card if card is not None else (member or desk.member).card_number,
        barcode=barcode if barcode is not None else item.barcode, override_reason=override_reason, now=now,
    )


def take_back(desk, item, *, branch=None, user=None, actor=None, now=None):
    """Checkin at the desk (the main branch unless given; or as `actor`)."""
    from circulation.services.loans import checkin

    return checkin(actor=actor or desk.actor(user, branch), barcode=item.barcode, now=now)
