"""Two copies of a title checked in at the same moment at two desks, while one
member waits for it: one copy fills the hold, the other goes to the shelf. Each
desk has its own database connection, so the data is committed (and removed)."""

import threading
from types import SimpleNamespace

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalogue.models import Holding, Title
from circulation.models import CirculationEvent, Hold, HoldStatus, Loan, Transfer
from circulation.services.holds import hold_place
from circulation.services.loans import checkin, checkout
from collection.models import Item, ItemEvent, ItemStatus
from core.actors import Actor
from notices.models import Notice
from staff.models import StaffUser
from tenants.models import CardIndex, LibraryOrganisation
from tests.concurrency import in_thread, on_own_connection
from tests.members.factories import make_member
from tests.members.ledger_helpers import money_cleanup

from .conftest import PAID_UNTIL
from .factories import make_items

pytestmark = pytest.mark.django_db




@pytest.fixture
def committed():
    def create():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        branch = alpha.branches.order_by("name").first()
        staff = StaffUser.objects.get(username="alpha.desk")
        with tenant_context(alpha):
            reader = make_member(first_name="Race", last_name="Lezer", paid_until=PAID_UNTIL)
            waiting = make_member(first_name="Race", last_name="Wachter", paid_until=PAID_UNTIL)
            items = make_items(alpha, branch=branch, count=2)
            for item in items:
                checkout(actor=Actor.staff(staff, alpha, branch_id=branch.pk), card_number=reader.card_number,
                         barcode=item.barcode)
            hold = hold_place(actor=Actor.staff(staff, alpha), member=waiting, title_id=items[0].title_id,
                              pickup_branch_id=branch.pk)
        connection.set_schema_to_public()
        return SimpleNamespace(alpha=alpha, branch=branch, staff=staff, members=[reader, waiting], items=items,
                               hold=hold)

    def remove(data):
        with tenant_context(data.alpha):
            member_ids = [member.pk for member in data.members]
            item_ids = [item.pk for item in data.items]
            Notice.objects.filter(member_id__in=member_ids).delete()
            CirculationEvent.objects.filter(hold__member_id__in=member_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Hold.objects.filter(member_id__in=member_ids).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            ItemEvent.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()
            money_cleanup(member_ids)
        CardIndex.objects.filter(card_number__in=[member.card_number for member in data.members]).delete()
        Holding.objects.filter(title_id=data.items[0].title_id).delete()
        # The title too: later tests count the (shared) catalogue's titles.
        Title.objects.filter(pk__in={item.title_id for item in data.items}).delete()
        connection.set_schema_to_public()

    data = on_own_connection(create)
    try:
        yield data
    finally:
        on_own_connection(lambda: remove(data))


def test_two_copies_checked_in_at_once_fill_one_hold(committed):
    data = committed
    barrier = threading.Barrier(2)

    def desk(item):
        def work():
            with tenant_context(data.alpha):
                barrier.wait(timeout=10)
                return checkin(actor=Actor.staff(data.staff, data.alpha, branch_id=data.branch.pk),
                               barcode=item.barcode).route
        return work

    started = [in_thread(desk(item)) for item in data.items]
    for thread, _outcome in started:
        thread.join(timeout=60)
    outcomes = [outcome for _thread, outcome in started]
    assert all("error" not in outcome for outcome in outcomes), outcomes
    assert sorted(outcome["result"] for outcome in outcomes) == ["hold_shelf", "shelf"]

    def check():
        with tenant_context(data.alpha):
            hold = Hold.objects.get(pk=data.hold.pk)
            statuses = sorted(Item.objects.filter(pk__in=[item.pk for item in data.items]).values_list("status", flat=True))
            notices = Notice.objects.filter(member_id=data.members[1].pk, kind="hold_ready").count()
            open_loans = Loan.objects.filter(item_id__in=[item.pk for item in data.items], ended_at__isnull=True).count()
        connection.set_schema_to_public()
        return hold, statuses, notices, open_loans

    hold, statuses, notices, open_loans = on_own_connection(check)
    assert hold.status == HoldStatus.READY
    assert hold.assigned_item_id in [item.pk for item in data.items]
    assert statuses == sorted([ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF])
    assert notices == 1
    assert open_loans == 0
