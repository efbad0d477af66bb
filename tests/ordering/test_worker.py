"""The daily late-lines run from Celery beat's task, on a real Celery worker and
the real broker: a late line is flagged once, also when the task runs twice. The
worker uses the test database, so the data here is committed, and removed afterwards."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from lsb.celery import app
from ordering import models, tasks
from ordering.services import funds, orders, suppliers
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.concurrency import wait_for
from tests.factories import TitleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def late_order(celery_worker_process, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        title = TitleFactory(title="Laat boek", isbns=["9789047508670"])
        with tenant_context(alpha):
            actor = Actor.staff(StaffUser.objects.get(username="alpha.acquisitions"), alpha)
            supplier = suppliers.supplier_save(actor=actor, code="LAAT", name="Trage leverancier", delivery_days=5)
            fund = funds.fund_save(actor=actor, year=timezone.localdate().year, code="LAAT", name="Laat",
                                   allocated_cents=10_000)
            order = orders.order_list_create(actor=actor, supplier_id=supplier.pk)
            orders.order_line_add(actor=actor, order_id=order.pk, title_id=title.pk, list_price_cents=1000,
                                  fund_id=fund.pk, copies=[{"branch_id": alpha.branches.first().pk, "quantity": 1}])
            orders.order_send(actor=actor, order_id=order.pk)
            line = order.lines.get()
            models.OrderLine.objects.filter(pk=line.pk).update(
                expected_on=timezone.localdate() - datetime.timedelta(days=30))
        connection.set_schema_to_public()
    yield alpha, line
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            for model in ("FundEntry", "EdiMessage", "LineCopies", "OrderLine", "Order", "Fund", "Supplier",
                          "OrderingSettings"):
                getattr(models, model).objects.all().delete()
        connection.set_schema_to_public()
        title.delete()


def test_beat_schedules_the_late_lines_run():
    entry = app.conf.beat_schedule["ordering-late-lines"]
    assert entry["task"] == "ordering.tasks.late_lines_all_libraries"


def test_late_lines_are_flagged_once_by_a_real_worker(late_order):
    alpha, line = late_order
    today = timezone.localdate().isoformat()

    def flagged():
        with tenant_context(alpha):
            return models.OrderLine.objects.filter(pk=line.pk, claim_flagged_on__isnull=False).exists()

    tasks.late_lines_all_libraries.apply_async(kwargs={"today": today})
    assert wait_for(flagged)
    with tenant_context(alpha):
        first = models.OrderLine.objects.get(pk=line.pk).claim_flagged_on
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    tasks.late_lines_library.apply_async(kwargs={"today": tomorrow}, headers={"_schema_name": alpha.schema_name})

    def flagged_again():
        with tenant_context(alpha):
            return models.OrderLine.objects.get(pk=line.pk).claim_flagged_on != first

    assert not wait_for(flagged_again, timeout=6)  # a rerun leaves the flagged line as it is
    connection.set_schema_to_public()
