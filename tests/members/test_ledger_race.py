"""Two desks booking on the same member at once: the member row lock serialises
them, so waivers cannot over-cancel a charge and the balance stays exact.

Threads use their own database connections, so the data is committed (module
fixture) and removed afterwards."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from core.actors import Actor
from members.models import LedgerEntry, MemberRules
from members.selectors.ledger import member_balance_cents
from members.services.ledger import ledger_charge, ledger_payment, ledger_waive
from tenants.models import LibraryOrganisation

from .ledger_helpers import money_cleanup, money_member

from tests.concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        with tenant_context(alpha):
            rules_existed = MemberRules.objects.filter(pk=1).exists()
            MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 1000})
            member = money_member()
            charge = ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=2000,
                                   actor=Actor.system("test"))
        connection.set_schema_to_public()
    yield alpha, member, charge
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            money_cleanup([member.pk])
            if not rules_existed:
                MemberRules.objects.filter(pk=1).delete()
        connection.set_schema_to_public()


def test_a_second_waiver_waits_for_the_first_and_sees_it(committed, django_db_blocker):
    alpha, member, charge = committed
    first_done = threading.Event()
    release = threading.Event()

    def first_desk():
        with tenant_context(alpha), transaction.atomic():
            waiver = ledger_waive(charge=charge, amount_cents=2000, reason="Balie 1", actor=Actor.system("test"))
            first_done.set()
            release.wait(10)  # keep the transaction (and the member lock) open
            return waiver

    def second_desk():
        with tenant_context(alpha):
            return ledger_waive(charge=charge, amount_cents=2000, reason="Balie 2", actor=Actor.system("test"))

    with django_db_blocker.unblock():
        one, first = in_thread(first_desk)
        assert first_done.wait(10)
        two, second = in_thread(second_desk)
        time.sleep(0.5)
        assert two.is_alive(), "the second waiver must wait for the member lock"
        release.set()
        one.join(10)
        two.join(10)
        assert "error" not in first
        assert isinstance(second.get("error"), ValidationError)
        assert "al helemaal kwijtgescholden" in second["error"].messages[0]
        assert second["error"].code == "waiver.already_waived"
        with tenant_context(alpha):
            assert member_balance_cents(member) == 0
            assert LedgerEntry.objects.filter(waives=charge).count() == 1
        connection.set_schema_to_public()


def test_concurrent_payments_and_charges_add_up_exactly(committed, django_db_blocker):
    alpha, member, _ = committed

    def desk(number):
        def book():
            with tenant_context(alpha):
                ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.LOAN_FEE, amount_cents=333,
                              actor=Actor.system("test"))
                ledger_payment(member=member, amount_cents=111 * number, method=LedgerEntry.PaymentMethod.CASH,
                               actor=Actor.system("test"))
        return book

    with django_db_blocker.unblock():
        with tenant_context(alpha):
            before = member_balance_cents(member)
        threads = [in_thread(desk(number)) for number in range(1, 9)]
        for thread, _ in threads:
            thread.join(30)
        assert all("error" not in outcome for _, outcome in threads), [o.get("error") for _, o in threads]
        with tenant_context(alpha):
            expected = before + 8 * 333 - 111 * sum(range(1, 9))
            assert member_balance_cents(member) == expected
            # One balance block at most, consistent with the final balance (threshold EUR 10).
            active = member.blocks.filter(kind="balance", lifted_at__isnull=True).count()
            assert active == (1 if expected >= 1000 else 0)
        connection.set_schema_to_public()
