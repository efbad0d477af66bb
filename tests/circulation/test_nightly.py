"""The nightly circulation work: automatic renewal (and the member told what was
and was not renewed), due-soon reminders and overdue notices 1-2-3, each sent
once however often the work runs."""

import datetime

import pytest
from django.utils import timezone

from circulation.models import Loan
from circulation.services import holds as hold_services
from circulation.services.loans import checkout
from circulation.services.reminders import due_soon_reminders, loans_auto_renew, overdue_notices
from core.actors import Actor
from notices.models import Notice
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule

LEVEL_DAYS = (7, 21, 42)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def nightly(desk):
    return Actor.system("nightly", desk.library)


def lend(desk, item, member=None):
    member = member or desk.member
    return checkout(actor=desk.actor(), card_number=member.card_number, barcode=item.barcode).loan


def due(loan, on):
    Loan.objects.filter(pk=loan.pk).update(due_on=on)
    loan.refresh_from_db()
    return loan


def test_auto_renewal_renews_what_it_may_and_tells_the_member_once(desk, today, nightly):
    make_rule(auto_renew=True, max_renewals=2)
    free, wanted = desk.items(count=1)[0], desk.items(count=1)[0]
    free_loan = due(lend(desk, free), today)
    wanted_loan = due(lend(desk, wanted), today)
    waiting = make_member(first_name="Wil", last_name="Lezen", paid_until=PAID_UNTIL)
    hold_services.hold_place(actor=desk.actor(), member=waiting, title_id=wanted.title_id,
                             pickup_branch_id=desk.main.pk)

    assert loans_auto_renew(actor=nightly, today=today) == (1, 1)
    free_loan.refresh_from_db()
    wanted_loan.refresh_from_db()
    assert free_loan.renewals == 1 and free_loan.due_on > today
    assert wanted_loan.renewals == 0 and wanted_loan.due_on == today

    notice = Notice.objects.get(member=desk.member, kind="auto_renewal")
    assert notice.actor_ref == "system:nightly"
    assert "verlengd tot en met" in notice.body
    assert "niet verlengd" in notice.body and "gereserveerd" in notice.body

    # A second run (a retried task) renews nothing more and sends nothing more.
    assert loans_auto_renew(actor=nightly, today=today) == (0, 1)
    assert Notice.objects.filter(member=desk.member, kind="auto_renewal").count() == 1
    free_loan.refresh_from_db()
    assert free_loan.renewals == 1


def test_no_automatic_renewal_where_the_rule_says_no(desk, today, nightly):
    make_rule(auto_renew=False)
    item, = desk.items()
    loan = due(lend(desk, item), today)
    assert loans_auto_renew(actor=nightly, today=today) == (0, 0)
    loan.refresh_from_db()
    assert loan.renewals == 0
    assert not Notice.objects.filter(kind="auto_renewal").exists()


def test_auto_renewal_stops_at_the_maximum(desk, today, nightly):
    make_rule(auto_renew=True, max_renewals=1)
    item, = desk.items()
    loan = lend(desk, item)
    Loan.objects.filter(pk=loan.pk).update(renewals=1, due_on=today)
    assert loans_auto_renew(actor=nightly, today=today) == (0, 1)
    assert "maximum" in Notice.objects.get(kind="auto_renewal").body


def test_due_soon_reminder_once_per_due_date(desk, today, nightly):
    first, second = desk.items(count=2)
    due(lend(desk, first), today + datetime.timedelta(days=3))
    due(lend(desk, second), today + datetime.timedelta(days=3))
    assert due_soon_reminders(actor=nightly, today=today, days_before=3) == 1
    assert due_soon_reminders(actor=nightly, today=today, days_before=3) == 1  # the same notice
    notice = Notice.objects.get(kind="due_soon")
    assert notice.body.count("inleverdatum") >= 2  # both titles listed
    assert Notice.objects.filter(kind="due_soon").count() == 1


def test_overdue_notices_one_two_three(desk, today, nightly):
    item, = desk.items()
    make_rule(fine_per_day_cents=25, fine_max_cents=500)
    loan = due(lend(desk, item), today - datetime.timedelta(days=8))

    assert overdue_notices(actor=nightly, today=today, level_days=LEVEL_DAYS) == {3: 0, 2: 0, 1: 1}
    assert overdue_notices(actor=nightly, today=today, level_days=LEVEL_DAYS) == {3: 0, 2: 0, 1: 0}
    loan.refresh_from_db()
    assert loan.overdue_level == 1
    notice = Notice.objects.get(kind="overdue_1")
    assert "8 dagen te laat" in notice.body

    later = today + datetime.timedelta(days=14)  # 22 days overdue
    assert overdue_notices(actor=nightly, today=later, level_days=LEVEL_DAYS)[2] == 1
    much_later = today + datetime.timedelta(days=40)  # 48 days overdue
    assert overdue_notices(actor=nightly, today=much_later, level_days=LEVEL_DAYS)[3] == 1
    assert list(Notice.objects.filter(member=desk.member).order_by("kind").values_list("kind", flat=True)) == [
        "overdue_1", "overdue_2", "overdue_3"]


def test_a_missed_run_sends_only_the_level_reached(desk, today, nightly):
    item, = desk.items()
    due(lend(desk, item), today - datetime.timedelta(days=30))
    assert overdue_notices(actor=nightly, today=today, level_days=LEVEL_DAYS) == {3: 0, 2: 1, 1: 0}
    assert not Notice.objects.filter(kind="overdue_1").exists()


def test_holds_expire_title_by_title(desk, nightly, monkeypatch):
    """Each title's expiry is its own short transaction: a failure on one title
    leaves the titles done before it expired (and the run can simply be repeated)."""
    from circulation.models import CirculationEvent, Hold, HoldStatus
    from circulation.services.loans import checkin

    waiting = make_member(first_name="Wil", last_name="Wachten", paid_until=PAID_UNTIL)
    items = [desk.items()[0], desk.items()[0]]
    holds = []
    for item in items:
        holds.append(hold_services.hold_place(actor=desk.actor(), member=waiting, title_id=item.title_id,
                                              pickup_branch_id=desk.main.pk))
        checkin(actor=desk.actor(), barcode=item.barcode)  # on the hold shelf for them
    Hold.objects.filter(pk__in=[hold.pk for hold in holds]).update(shelf_until=datetime.date(2026, 12, 1))
    first, second = sorted(holds, key=lambda hold: hold.title_id)
    real_refresh = hold_services.holds_expected_refresh_for_title

    def refresh(title_id, **kwargs):
        if title_id == second.title_id:
            raise RuntimeError("the database went away")
        return real_refresh(title_id, **kwargs)

    monkeypatch.setattr(hold_services, "holds_expected_refresh_for_title", refresh)
    with pytest.raises(RuntimeError):
        hold_services.holds_expire(actor=nightly, today=datetime.date(2026, 12, 5))
    assert dict(Hold.objects.values_list("pk", "status")) == {first.pk: HoldStatus.EXPIRED,
                                                              second.pk: HoldStatus.READY}
    monkeypatch.setattr(hold_services, "holds_expected_refresh_for_title", real_refresh)
    assert [hold.pk for hold in hold_services.holds_expire(actor=nightly, today=datetime.date(2026, 12, 5))] == [
        second.pk]
    assert set(CirculationEvent.objects.filter(detail__startswith="Niet opgehaald").values_list(
        "actor_ref", flat=True)) == {"system:nightly"}
