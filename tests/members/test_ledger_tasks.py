"""The daily member tasks: one task per active library, each in its own schema
and transaction; with a real Celery worker on the real broker. The worker uses
the test database, so what it must see is committed here and removed afterwards."""

import datetime
import time
from unittest import mock

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from members import tasks
from members.models import Block, LedgerEntry, MemberRules
from members.services.ledger import ledger_charge
from tenants.models import LibraryOrganisation
from tests.concurrency import wait_for

from .ledger_helpers import money_cleanup, money_member

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 1)


def test_beat_tasks_are_scheduled_daily():
    from lsb.celery import app

    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"members.tasks.members_age_transition_all_libraries", "members.tasks.members_expire_all_libraries",
            "members.tasks.loan_history_anonymise_all_libraries"} <= scheduled


@pytest.mark.parametrize("beat, per_library", [
    (tasks.members_expire_all_libraries, tasks.members_expire_library),
    (tasks.members_age_transition_all_libraries, tasks.members_age_transition_library),
    (tasks.loan_history_anonymise_all_libraries, tasks.loan_history_anonymise_library),
])
def test_beat_task_sends_one_task_per_active_library_with_the_day(libraries, beat, per_library):
    with mock.patch.object(per_library, "apply_async") as send:
        beat(today="2026-06-01")
    sent = sorted(call.kwargs["headers"]["_schema_name"] for call in send.call_args_list)
    active = sorted(LibraryOrganisation.objects.filter(is_active=True).values_list("schema_name", flat=True))
    assert sent == active
    assert libraries.dormant.schema_name not in sent
    assert all(call.kwargs["kwargs"] == {"today": "2026-06-01"} for call in send.call_args_list)


def test_per_library_task_does_nothing_for_an_inactive_library(libraries):
    with tenant_context(libraries.dormant):
        with mock.patch("members.services.ledger.members_blocks_refresh_all") as refresh:
            assert tasks.member_blocks_refresh_library() is None
    refresh.assert_not_called()


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """Per active test library a member whose membership ran out yesterday; in alpha
    also one who owes EUR 8, below the threshold of EUR 50 when charged, above the
    EUR 5 it is then lowered to."""
    made = {}
    with django_db_blocker.unblock():
        organisations = {o.slug: o for o in LibraryOrganisation.objects.filter(slug__in=["alpha", "beta", "dormant"])}
        for slug, organisation in organisations.items():
            with tenant_context(organisation):
                rules_existed = MemberRules.objects.filter(pk=1).exists()
                MemberRules.objects.update_or_create(pk=1, defaults={"balance_block_cents": 5000})
                expired = money_member(expires_on=TODAY - datetime.timedelta(days=1))
                ids = [expired.pk]
                owes = None
                if slug == "alpha":
                    owes = money_member(expires_on=datetime.date.today() + datetime.timedelta(days=365))
                    ledger_charge(member=owes, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=800,
                                  actor=Actor.system("test"))
                    ids.append(owes.pk)
                    # The rules change (committed, so the worker sees it) without the refresh it sends.
                    MemberRules.objects.filter(pk=1).update(balance_block_cents=500)
                made[slug] = {"organisation": organisation, "expired": expired, "owes": owes, "ids": ids,
                              "rules_existed": rules_existed}
        connection.set_schema_to_public()
    yield made
    with django_db_blocker.unblock():
        for entry in made.values():
            with tenant_context(entry["organisation"]):
                money_cleanup(entry["ids"])
                if not entry["rules_existed"]:
                    MemberRules.objects.filter(pk=1).delete()
        connection.set_schema_to_public()


def active_kinds(entry, member):
    with tenant_context(entry["organisation"]):
        kinds = sorted(Block.objects.filter(member_id=member.pk, lifted_at__isnull=True).values_list("kind", flat=True))
    connection.set_schema_to_public()
    return kinds


def test_daily_expiry_runs_in_every_active_library_with_a_real_worker(
    committed, celery_worker_process, django_db_blocker
):
    with django_db_blocker.unblock():
        tasks.members_expire_all_libraries.delay(today=TODAY.isoformat())
        alpha, beta, dormant = committed["alpha"], committed["beta"], committed["dormant"]
        assert wait_for(lambda: active_kinds(alpha, alpha["expired"]) == ["expired"]
                        and active_kinds(beta, beta["expired"]) == ["expired"])
        # Not the inactive library; not the member who has not expired.
        assert active_kinds(dormant, dormant["expired"]) == []
        assert active_kinds(alpha, alpha["owes"]) == []
        # Idempotent: a second run sets nothing twice.
        tasks.members_expire_all_libraries.delay(today=TODAY.isoformat())
        time.sleep(2)
        with tenant_context(alpha["organisation"]):
            assert Block.objects.filter(member_id=alpha["expired"].pk, kind="expired").count() == 1
        connection.set_schema_to_public()


def test_rules_change_refresh_runs_in_the_worker(committed, celery_worker_process, django_db_blocker):
    alpha = committed["alpha"]
    with django_db_blocker.unblock():
        assert active_kinds(alpha, alpha["owes"]) == []
        with tenant_context(alpha["organisation"]):
            tasks.member_blocks_refresh_library.apply_async(headers={"_schema_name": alpha["organisation"].schema_name})
        connection.set_schema_to_public()
        assert wait_for(lambda: active_kinds(alpha, alpha["owes"]) == ["balance"])
