"""Sending with a real Celery worker on the real broker: queueing a notice (committed)
starts the send task for its library, which mails it through the settings' backend
(here the file backend, set for the worker through EMAIL_BACKEND/EMAIL_FILE_PATH).
The worker uses the test database, so everything here is committed and removed."""

import time
from unittest import mock

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from members.models import AuditEntry
from notices import services, tasks
from notices.models import Notice
from tenants.models import LibraryOrganisation
from tests.concurrency import wait_for
from tests.conftest import mails_in
from tests.members.ledger_helpers import money_cleanup

from .conftest import notice_member, system_actor, titles_context

pytestmark = pytest.mark.django_db


def test_beat_sends_every_five_minutes_for_every_active_library(libraries):
    from lsb.celery import app

    entry = next(e for e in app.conf.beat_schedule.values()
                 if e["task"] == "notices.tasks.notices_send_pending_all_libraries")
    assert entry["schedule"] == 300
    with mock.patch.object(tasks.notices_send_pending_library, "apply_async") as send:
        tasks.notices_send_pending_all_libraries()
    sent = sorted(call.kwargs["headers"]["_schema_name"] for call in send.call_args_list)
    assert sent == sorted(LibraryOrganisation.objects.filter(is_active=True).values_list("schema_name", flat=True))
    assert libraries.dormant.schema_name not in sent


def test_the_task_does_nothing_in_an_inactive_library(libraries):
    with tenant_context(libraries.dormant):
        with mock.patch("notices.services.notices_send_pending") as send:
            assert tasks.notices_send_pending_library() is None
    send.assert_not_called()


@pytest.fixture(scope="module")
def queued(celery_worker_mailing, libraries_committed, django_db_blocker):
    """A member with e-mail in alpha and a notice queued for them, committed (outside
    any test transaction, so the queueing's on_commit sends the task at once)."""
    alpha = libraries_committed
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            member = notice_member(email="worker-test@example.nl")
            notice = services.notice_queue(actor=system_actor(), member=member, kind="due_soon",
                                           dedupe_key="worker-test:1", context=titles_context())
        connection.set_schema_to_public()
    yield alpha, notice
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            Notice.objects.filter(member_id=member.pk).delete()
            AuditEntry.objects.filter(member_id_ref=member.pk).delete()
            money_cleanup([member.pk])
        connection.set_schema_to_public()


@pytest.fixture(scope="module")
def libraries_committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return LibraryOrganisation.objects.get(slug="alpha")


def test_a_queued_notice_is_sent_by_the_worker(mail_dir, queued):
    alpha, notice = queued
    with tenant_context(alpha):
        def status():
            return Notice.objects.get(pk=notice.pk).status

        assert wait_for(lambda: status() == "sent"), status()

        def mails():
            return mails_in(mail_dir)

        assert mails().count("To: worker-test@example.nl") == 1
        assert "De avonden" in mails() and notice.subject in mails()
        # The beat run (and a second send task) later find nothing more to send.
        tasks.notices_send_pending_all_libraries.delay()
        tasks.notices_send_pending_library.apply_async(headers={"_schema_name": alpha.schema_name})
        time.sleep(3)
        assert mails().count("To: worker-test@example.nl") == 1
        assert Notice.objects.get(pk=notice.pk).attempts == 1
