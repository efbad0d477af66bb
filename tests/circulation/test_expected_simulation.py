"""Issue 12, item 7: expected availability dates that come true. The queue of a
title is estimated, and then played for real, day by day, with the services the
desk uses (checkin on the due date, the copy trapped or sent, received at the
pickup branch, picked up two days after it is ready, lent under the member's own
rule, returned on the due date): every hold must be ready on the day that was
expected. The queue has what used to go wrong: a suspended hold ahead (skipped
while suspended), a copy on the shelf that may not be held (it never counts), a
young member whose loan period is shorter, a pickup branch elsewhere (transfer,
and the dates on days that branch is open)."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from circulation.expected import PICKUP_DAYS
from circulation.models import Hold, HoldStatus, Loan, Transfer
from circulation.selectors import pick_list
from circulation.services import holds as hold_services
from circulation.services.loans import checkin, checkout
from members.models import MemberCategory
from tenants.calendar import BranchCalendar
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
TRANSFER_DAYS = 2  # CirculationSettings' default (no measured transfers here)


def moment(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def test_expected_dates_come_true(desk):
    today = timezone.localdate()
    cache.delete(f"circulation:expected-stats:{connection.schema_name}:{today.isoformat()}")
    youth_category = MemberCategory.objects.get(code="jeugd")
    make_rule(loan_days=28)
    make_rule(member_category=youth_category, loan_days=14)
    make_rule(item_type="magazine", holdable=False)
    make_rule(member_category=youth_category, item_type="magazine", holdable=False)

    copy_a, copy_c = desk.items(count=2)
    [not_holdable] = desk.items(title=_title(copy_a), item_type="magazine")  # on the shelf, never for a hold
    lenders = [make_member(first_name=f"Lener{n}", last_name="Eerder", paid_until=PAID_UNTIL) for n in range(2)]
    checkout(actor=desk.actor(), card_number=lenders[0].card_number, barcode=copy_a.barcode,
             now=timezone.now() - 10 * DAY)
    checkout(actor=desk.actor(), card_number=lenders[1].card_number, barcode=copy_c.barcode,
             now=timezone.now() - 3 * DAY)

    twelve = today.replace(year=today.year - 12) - 30 * DAY
    suspended = make_member(first_name="Sam", last_name="Later", paid_until=PAID_UNTIL)
    young = make_member(first_name="Jet", last_name="Jong", date_of_birth=twelve, guardian_id=suspended.pk)
    elsewhere = make_member(first_name="Eva", last_name="Elders", paid_until=PAID_UNTIL)
    last = make_member(first_name="Lot", last_name="Laatst", paid_until=PAID_UNTIL)
    assert young.category_id == youth_category.pk

    def place(member, pickup):
        return hold_services.hold_place(actor=desk.actor(), member=member, title_id=copy_a.title_id,
                                        pickup_branch_id=pickup.pk)

    holds = [place(suspended, desk.main), place(young, desk.main), place(elsewhere, desk.other),
             place(last, desk.main)]
    hold_services.hold_suspend(actor=desk.actor(), hold_id=holds[0].pk, until=today + 30 * DAY)
    expected = {hold.pk: Hold.objects.get(pk=hold.pk).expected_on for hold in holds}
    assert all(expected.values()), expected

    ready_on = _play(desk, holds, start=today, until=today + 200 * DAY)
    assert ready_on == expected, _explain(holds, expected, ready_on)
    # The copy that may not be held stayed where it was, for nobody.
    assert not Hold.objects.filter(assigned_item=not_holdable).exists()


def _title(item):
    from catalogue.models import Title

    return Title.objects.get(pk=item.title_id)


def _explain(holds, expected, ready_on):
    names = ["opgeschort", "jong", "elders", "laatst"]
    return {name: (expected[hold.pk], ready_on.get(hold.pk)) for name, hold in zip(names, holds)}


def _play(desk, holds, *, start, until):
    """Run the queue day by day with the desk's services; {hold id: day it was ready}."""
    calendars = {branch.pk: BranchCalendar(branch.pk, start=start, end=until + 60 * DAY)
                 for branch in (desk.main, desk.other)}
    ids = [hold.pk for hold in holds]
    ready_on = {}
    day = start
    while day <= until and len(ready_on) < len(ids):
        # Copies in transit arrive: received at the pickup branch on its first open day after the trip.
        for transfer in Transfer.objects.filter(received_at__isnull=True).select_related("item").order_by("item_id"):
            arrival = calendars[transfer.to_branch_id].first_open_day_from(
                timezone.localdate(transfer.sent_at) + TRANSFER_DAYS * DAY)
            if arrival == day:
                checkin(actor=desk.actor(branch=_branch(desk, transfer.to_branch_id)), barcode=transfer.item.barcode,
                        now=moment(day, 10))
        # Borrowers return on the due date, where they borrowed.
        for loan in Loan.objects.filter(ended_at__isnull=True, due_on=day).select_related("item").order_by("item_id"):
            checkin(actor=desk.actor(branch=_branch(desk, loan.branch_id)), barcode=loan.item.barcode,
                    now=moment(day, 11))
        # Members pick a ready hold up PICKUP_DAYS after it is ready (on an open day).
        for hold in Hold.objects.filter(status=HoldStatus.READY).select_related("member", "assigned_item"):
            pickup_day = calendars[hold.pickup_branch_id].first_open_day_from(
                timezone.localdate(hold.ready_at) + PICKUP_DAYS * DAY)
            if pickup_day == day:
                checkout(actor=desk.actor(branch=_branch(desk, hold.pickup_branch_id)),
                         card_number=hold.member.card_number, barcode=hold.assigned_item.barcode,
                         now=moment(day, 12))
        # Staff pull what the pick lists name (a hold that resumed while a copy waited on the shelf).
        for branch in (desk.main, desk.other):
            if calendars[branch.pk].is_open(day):
                for row in pick_list(branch.pk, today=day):
                    if row.pk in ids:
                        checkin(actor=desk.actor(branch=branch), barcode=row.copies[0].barcode, now=moment(day, 13))
        for hold in Hold.objects.filter(pk__in=ids, ready_at__isnull=False):
            ready_on.setdefault(hold.pk, timezone.localdate(hold.ready_at))
        day += DAY
    return ready_on


def _branch(desk, branch_id):
    return desk.main if branch_id == desk.main.pk else desk.other
