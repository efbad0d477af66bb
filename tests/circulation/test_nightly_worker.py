"""The nightly circulation run from Celery beat's task, on a real Celery worker and
the real broker: automatic renewal and an overdue notice, each mailed exactly
once even when the task runs twice. The worker uses the test database, so the
data here is committed, and removed afterwards."""

import datetime
import time

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation import tasks
from circulation.models import CirculationEvent, Loan, LoanRule
from circulation.services.loans import checkout
from collection.models import Item, ItemEvent
from core.actors import Actor
from notices.models import Notice
from staff.models import StaffUser
from tenants.models import CardIndex, LibraryOrganisation
from tests.concurrency import wait_for
from tests.conftest import mails_in
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup

from .conftest import PAID_UNTIL
from .factories import make_items

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def committed(celery_worker_mailing, django_db_setup, django_db_blocker):
    """In alpha: a member with one loan due today (renewable) and one 8 days overdue."""
    today = timezone.localdate()
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.order_by("name").first()
        staff = StaffUser.objects.get(username="alpha.desk")
        with tenant_context(alpha):
            rule = LoanRule.objects.create(auto_renew=True, max_renewals=2, loan_days=21)
            member = make_member(first_name="Nacht", last_name="Werker", email="nacht@example.nl",
                                 paid_until=PAID_UNTIL)
            renewable, overdue = make_items(alpha, branch=branch, count=2)
            loans = [
                checkout(actor=Actor.staff(staff, alpha, branch_id=branch.pk), card_number=member.card_number,
                         barcode=item.barcode).loan
                for item in (renewable, overdue)
            ]
            Loan.objects.filter(pk=loans[0].pk).update(due_on=today)
            Loan.objects.filter(pk=loans[1].pk).update(due_on=today - datetime.timedelta(days=8))
        connection.set_schema_to_public()
    yield alpha, member, loans, today
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            Notice.objects.filter(member_id=member.pk).delete()
            CirculationEvent.objects.filter(loan__member_id=member.pk).delete()
            Loan.objects.filter(member_id=member.pk).delete()
            titles = list(Item.objects.filter(pk__in=[renewable.pk, overdue.pk]).values_list("title_id", flat=True))
            ItemEvent.objects.filter(item_id__in=[renewable.pk, overdue.pk]).delete()
            Item.objects.filter(pk__in=[renewable.pk, overdue.pk]).delete()
            rule.delete()
            money_cleanup([member.pk])
        CardIndex.objects.filter(card_number=member.card_number).delete()
        Holding.objects.filter(title_id__in=titles).delete()
        connection.set_schema_to_public()


def test_beat_schedules_the_nightly_run():
    from lsb.celery import app

    assert any(entry["task"] == "circulation.tasks.nightly_all_libraries" for entry in app.conf.beat_schedule.values())


def test_nightly_run_on_a_real_worker_renews_and_sends_each_notice_once(mail_dir, committed):
    alpha, member, loans, today = committed
    tasks.nightly_all_libraries.delay(today=today.isoformat())

    def sent(kind):
        with tenant_context(alpha):
            return Notice.objects.filter(member_id=member.pk, kind=kind, status="sent").count()

    assert wait_for(lambda: sent("auto_renewal") == 1 and sent("overdue_1") == 1)
    with tenant_context(alpha):
        renewed = Loan.objects.get(pk=loans[0].pk)
        assert renewed.renewals == 1 and renewed.due_on > today
        assert Loan.objects.get(pk=loans[1].pk).overdue_level == 1

    # The task again (beat twice, or a retry after a crash): nothing more happens.
    tasks.nightly_all_libraries.delay(today=today.isoformat())
    tasks.nightly_library.apply_async(kwargs={"today": today.isoformat()}, headers={"_schema_name": alpha.schema_name})
    time.sleep(4)

    def mails():
        return mails_in(mail_dir)

    assert mails().count("To: nacht@example.nl") == 2  # one renewal notice, one overdue notice
    with tenant_context(alpha):
        assert Notice.objects.filter(member_id=member.pk).count() == 2
        assert Loan.objects.get(pk=loans[0].pk).renewals == 1
