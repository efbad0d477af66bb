"""A desk charging a member while another erases them: the member row lock
serialises them, so erasure never goes through over a charge it did not see.

Threads use their own database connections, so the data is committed (module
fixture) and removed afterwards."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.errors import error_codes
from members.models import LedgerEntry, Member
from members.services.ledger import ledger_charge
from members.services.privacy import member_erase
from tenants.models import CardIndex, LibraryOrganisation

from .test_privacy import privacy_cleanup, privacy_member

from tests.concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        with tenant_context(alpha):
            member = privacy_member(alpha, "RACE0001")
        connection.set_schema_to_public()
    yield alpha, member
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            privacy_cleanup(member)
        connection.set_schema_to_public()


def test_erasure_waits_for_a_charge_in_progress_and_then_refuses(committed, django_db_blocker):
    alpha, member = committed
    charged = threading.Event()
    release = threading.Event()

    def desk_charging():
        with tenant_context(alpha), transaction.atomic():
            entry = ledger_charge(member=member, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=90,
                                  actor=Actor.system("test"))
            charged.set()
            release.wait(10)  # keep the transaction (and the member lock) open
            return entry

    def desk_erasing():
        with tenant_context(alpha):
            return member_erase(member_id=member.pk, actor=Actor.system("test"))

    with django_db_blocker.unblock():
        one, first = in_thread(desk_charging)
        assert charged.wait(10)
        two, second = in_thread(desk_erasing)
        two.join(0.5)
        assert two.is_alive(), "erasure must wait for the member lock"
        release.set()
        one.join(10)
        two.join(10)
        assert "error" not in first
        assert isinstance(second.get("error"), ValidationError)
        assert "€ 0,90" in second["error"].messages[0]
        assert error_codes(second["error"]) == ["erasure.balance_open"]
        with tenant_context(alpha):
            survivor = Member.objects.get(pk=member.pk)
            assert survivor.erased_at is None and survivor.last_name == "Jansen"
        assert CardIndex.objects.filter(card_number="RACE0001").exists()
