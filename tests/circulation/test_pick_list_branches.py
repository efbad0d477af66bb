"""Issue 12, item 9: one hold on one pick list. A waiting hold is offered first to
the pickup branch's own copies on the shelf; only when it has none, to one other
branch at a time: the one whose transport to the pickup branch is shortest (the
measured transfers, else the library's default). A copy is offered to one hold
only, and only copies the hold's borrower may hold count. When the branch cannot
find the copy ("niet gevonden": the copy is marked missing) the hold moves on to
the next branch; once a copy is pulled (checked in) the hold is on no list."""

import datetime

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from circulation.models import Transfer
from circulation.selectors import pick_list
from circulation.services import holds as hold_services
from collection.models import Item, ItemStatus
from core.errors import error_codes
from tenants.models import Branch
from tests.factories import TitleFactory
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import lend, take_back

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"


@pytest.fixture
def far(desk):
    return Branch.objects.create(organisation=desk.library, code="ver", name="Alpha vestiging Ver",
                                 street="Lange weg 1", postcode="3511AA", city="Utrecht")


@pytest.fixture
def reader(desk):
    return make_member(first_name="Roos", last_name="Reserveert", paid_until=PAID_UNTIL)


def listed(branch):
    return [hold.pk for hold in pick_list(branch.pk)]


def place(desk, member, title, pickup):
    return hold_services.hold_place(actor=desk.actor(), member=member, title_id=title.pk, pickup_branch_id=pickup.pk)


def measured_transfers(desk, from_branch, to_branch, days, count=20):
    """`count` transfers between two branches that took `days` days (their measured median)."""
    [item] = desk.items(branch=from_branch)  # another title: it plays no part in the holds
    now = timezone.now()
    for index in range(count):
        sent = now - datetime.timedelta(days=30 + index)
        Transfer.objects.create(item=item, from_branch_id=from_branch.pk, to_branch_id=to_branch.pk,
                                reason=Transfer.Reason.HOME, sent_at=sent,
                                received_at=sent + datetime.timedelta(days=days), received_branch_id=to_branch.pk)
    cache.delete(f"circulation:transfer-days:{connection.schema_name}:{timezone.localdate().isoformat()}")


def test_the_pickup_branchs_own_copy_first(desk, reader):
    title = TitleFactory()
    desk.items(title=title, branch=desk.main)
    desk.items(title=title, branch=desk.other)
    hold = place(desk, reader, title, desk.main)
    assert listed(desk.main) == [hold.pk]
    assert listed(desk.other) == []  # nobody elsewhere pulls a copy for it


def test_otherwise_one_branch_the_nearest(desk, reader, far):
    title = TitleFactory()
    [near_copy] = desk.items(title=title, branch=desk.other)
    [far_copy] = desk.items(title=title, branch=far)
    measured_transfers(desk, desk.other, desk.main, days=1)
    measured_transfers(desk, far, desk.main, days=4)
    hold = place(desk, reader, title, desk.main)
    assert (listed(desk.other), listed(far), listed(desk.main)) == ([hold.pk], [], [])

    # Not on the shelf after all: marked missing from the pick list, the next branch gets the hold.
    hold_services.pick_list_copy_missing(actor=desk.actor(branch=desk.other), barcode=near_copy.barcode)
    assert Item.objects.get(pk=near_copy.pk).status == ItemStatus.MISSING
    assert (listed(desk.other), listed(far)) == ([], [hold.pk])
    # Pulled and checked in: on nobody's list any more.
    take_back(desk, far_copy, branch=far)
    assert (listed(desk.other), listed(far), listed(desk.main)) == ([], [], [])


def test_a_copy_is_offered_to_one_hold_only(desk, far):
    title = TitleFactory()
    desk.items(title=title, branch=desk.other)
    desk.items(title=title, branch=far)
    first, second = (make_member(first_name=name, last_name="Wacht", paid_until=PAID_UNTIL) for name in "AB")
    hold_one = place(desk, first, title, desk.main)
    hold_two = place(desk, second, title, desk.main)
    lists = {branch.pk: listed(branch) for branch in (desk.other, far)}
    assert sorted(lists[desk.other.pk] + lists[far.pk]) == sorted([hold_one.pk, hold_two.pk])
    assert lists[desk.other.pk] and lists[far.pk]  # each branch pulls its own copy, for a different hold


def test_copies_the_borrower_may_not_hold_are_not_offered(desk, reader):
    title = TitleFactory()
    make_rule(item_type="magazine", holdable=False)
    desk.items(title=title, branch=desk.main, item_type="magazine")
    [book] = desk.items(title=title, branch=desk.main)
    lend(desk, book)
    place(desk, reader, title, desk.main)
    assert listed(desk.main) == []


def test_only_an_available_copy_can_be_reported_missing(desk):
    [item] = desk.items()
    lend(desk, item)
    with pytest.raises(ValidationError) as error:
        hold_services.pick_list_copy_missing(actor=desk.actor(), barcode=item.barcode)
    assert error_codes(error.value) == ["hold.pick_copy_not_on_shelf"]


def test_the_pick_list_screen_reports_a_copy_not_found(client, desk, reader):
    title = TitleFactory()
    [copy] = desk.items(title=title, branch=desk.main)
    place(desk, reader, title, desk.main)
    client.force_login(desk.staff)
    page = client.get("/reserveringen/picklijst/", {"vestiging": desk.main.pk}, HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="not-found"' in page
    response = client.post("/reserveringen/picklijst/niet-gevonden/",
                           {"barcode": copy.barcode, "vestiging": desk.main.pk}, HTTP_HOST=ALPHA)
    assert response.status_code == 302
    assert Item.objects.get(pk=copy.pk).status == ItemStatus.MISSING
