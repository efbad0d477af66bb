"""Issue 12, item 11: what a library sets for reservations. A maximum of holds per
member (in the loan rules, so per category); a "not needed after" date on a hold
(after it the hold is not filled and ends by itself); a notice when a hold
expires unfetched or the library cancels it; a no-show fee as the library sets."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from circulation.models import Hold, HoldStatus
from circulation.selectors import pick_list
from circulation.services import holds as hold_services
from core.actors import Actor
from core.errors import error_codes
from members.models import LedgerEntry, MemberCategory
from notices.models import Notice
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import lend, take_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(desk):
    return make_member(first_name="Hanna", last_name="Houdt", email="hanna@example.nl", paid_until=PAID_UNTIL)


def place(desk, member, item, actor=None, **kwargs):
    return hold_services.hold_place(actor=actor or desk.actor(), member=member, title_id=item.title_id,
                                    pickup_branch_id=desk.main.pk, **kwargs)


def test_a_maximum_of_holds_per_category(desk, reader):
    adult = MemberCategory.objects.get(code="volwassene")
    make_rule(member_category=adult, max_holds=2)
    items = [desk.items()[0] for _ in range(3)]  # three titles
    for item in items:
        lend(desk, item)
    place(desk, reader, items[0])
    place(desk, reader, items[1])
    before = Hold.objects.count()
    with pytest.raises(ValidationError) as error:
        place(desk, reader, items[2])
    assert error_codes(error.value) == ["hold.limit"] and error.value.params == {"max": 2}
    assert Hold.objects.count() == before
    # Another category's members are not limited by it.
    twelve = timezone.localdate().replace(year=timezone.localdate().year - 12)
    young = make_member(first_name="Kim", last_name="Klein", date_of_birth=twelve, guardian_id=reader.pk)
    for item in items:
        place(desk, young, item)


def test_not_needed_after_a_date(desk, reader):
    [item] = desk.items()
    lend(desk, item)
    today = timezone.localdate()
    with pytest.raises(ValidationError) as error:
        place(desk, reader, item, not_needed_after=today)
    assert error_codes(error.value) == ["hold.not_needed_after_past"]
    hold = place(desk, reader, item, not_needed_after=today + datetime.timedelta(days=3))
    assert hold.not_needed_after == today + datetime.timedelta(days=3)
    # Too late: the nightly run ends it, and a copy coming in then goes to the shelf.
    later = today + datetime.timedelta(days=4)
    hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.CANCELLED and "Niet meer nodig" in hold.cancel_reason
    assert not Notice.objects.filter(member=reader).exclude(kind="hold_ready").exists()  # the member chose it


def test_a_copy_is_not_trapped_nor_picked_for_a_hold_past_its_date(desk, reader):
    [item] = desk.items()
    today = timezone.localdate()
    hold = place(desk, reader, item, not_needed_after=today + datetime.timedelta(days=2))
    assert [row.pk for row in pick_list(desk.main.pk)] == [hold.pk]
    assert [row.pk for row in pick_list(desk.main.pk, today=today + datetime.timedelta(days=3))] == []
    result = take_back(desk, item, now=timezone.now() + datetime.timedelta(days=3))
    assert result.route == "shelf"
    hold.refresh_from_db()
    assert hold.status == HoldStatus.WAITING and hold.assigned_item_id is None


def test_unfetched_hold_expires_with_a_notice_and_a_no_show_fee(desk, reader):
    make_rule(no_show_fee_cents=150)
    [item] = desk.items()
    hold = place(desk, reader, item)
    take_back(desk, item)
    hold.refresh_from_db()
    later = hold.shelf_until + datetime.timedelta(days=1)
    hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later)
    hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=later)  # once only
    notice = Notice.objects.get(member=reader, kind="hold_expired")
    assert "niet opgehaald" in notice.body.lower()
    fee = LedgerEntry.objects.get(member=reader, reference=f"hold:{hold.pk}:no_show")
    assert fee.amount_cents == 150 and fee.actor_ref == "system:nightly"


def test_a_hold_the_library_cancels_is_told_one_the_member_cancels_is_not(desk, reader):
    [first], [second] = desk.items(), desk.items()
    lend(desk, first)
    lend(desk, second)
    by_library = place(desk, reader, first)
    by_member = place(desk, reader, second)
    hold_services.hold_cancel(actor=desk.actor(), hold_id=by_library.pk, reason="Titel uit de collectie")
    hold_services.hold_cancel(actor=Actor.member(reader.pk, desk.library), hold_id=by_member.pk, reason="Gekocht")
    [notice] = Notice.objects.filter(member=reader, kind="hold_cancelled")
    assert "Titel uit de collectie" in notice.body


def test_the_desk_places_a_hold_with_a_last_day(client, desk, reader):
    [item] = desk.items()
    lend(desk, item)
    client.force_login(desk.staff)
    url = f"/reserveringen/lid/{reader.pk}/nieuw/"
    assert 'name="not_needed_after"' in client.get(url, HTTP_HOST="alpha.localhost").content.decode()
    day = timezone.localdate() + datetime.timedelta(days=40)
    data = {"title_id": item.title_id, "pickup_branch": desk.main.pk}
    response = client.post(url, {**data, "not_needed_after": "31-02-2027"}, HTTP_HOST="alpha.localhost")
    assert response.status_code == 400 and "Vul een geldige datum in" in response.content.decode()
    response = client.post(url, {**data, "not_needed_after": day.isoformat()}, HTTP_HOST="alpha.localhost")
    assert response.status_code == 302
    assert Hold.objects.get(member=reader).not_needed_after == day
