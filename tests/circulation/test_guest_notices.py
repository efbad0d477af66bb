"""Issue 12, item 5: guests get their notices. The lending library's nightly run
asks the guest's home library (which holds the address) to send the due-soon
reminder and the overdue notices 1-2-3, through the outbox: the payload names the
member by their id at home, the titles and dates, and the lending library; never a
name, address or card number. At home it is an ordinary notice, with the lending
library as the library to bring the books back to; each is sent once however
often the run goes."""

import datetime

import pytest
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.services.reminders import due_soon_reminders, overdue_notices
from core.actors import Actor
from notices.models import Notice
from tenants.models import OutboxMessage
from tests.members.factories import make_member
from tests.outbox import outbox_deliver_all

from .conftest import PAID_UNTIL
from .helpers import at, lend

pytestmark = pytest.mark.django_db

GUEST_CARD = "B2000061"
LEVEL_DAYS = (7, 21, 42)


@pytest.fixture
def guest(desk, libraries):
    with tenant_context(libraries.beta):
        return make_member(card_number=GUEST_CARD, first_name="Greetje", last_name="Gastvrij",
                           email="greetje@example.nl", paid_until=PAID_UNTIL)


def notices_at_home(libraries, guest, kind):
    with tenant_context(libraries.beta):
        return list(Notice.objects.filter(member_id=guest.pk, kind=kind))


def test_a_guest_gets_the_due_soon_reminder_from_home(desk, guest, libraries):
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    nightly = Actor.system("nightly", desk.library)
    today = loan.due_on - datetime.timedelta(days=3)
    assert due_soon_reminders(actor=nightly, today=today, days_before=3) == 1
    assert due_soon_reminders(actor=nightly, today=today, days_before=3) == 1  # asked once (same step)
    message = OutboxMessage.objects.get(kind="notices.guest_notice")
    assert message.target_id == libraries.beta.pk
    text = str(message.payload)
    assert GUEST_CARD not in text and "Greetje" not in text and "Gastvrij" not in text and "example.nl" not in text
    assert not Notice.objects.exists()  # nothing sent from the lending library

    outbox_deliver_all()
    outbox_deliver_all()
    [notice] = notices_at_home(libraries, guest, "due_soon")
    assert notice.to_address == "greetje@example.nl"
    assert f"terugbrengen naar {libraries.alpha.name}" in notice.body  # where to bring it back
    assert f"{loan.due_on:%d-%m-%Y}" in notice.body or loan.due_on.strftime("%-d") in notice.body


def test_a_guest_gets_overdue_notices_one_two_three_once(desk, guest, libraries):
    [item] = desk.items()
    loan = lend(desk, item, card=GUEST_CARD, now=at(2026, 12, 1)).loan
    nightly = Actor.system("nightly", desk.library)
    first_day = loan.due_on + datetime.timedelta(days=LEVEL_DAYS[0])
    assert overdue_notices(actor=nightly, today=first_day, level_days=LEVEL_DAYS) == {3: 0, 2: 0, 1: 1}
    assert overdue_notices(actor=nightly, today=first_day, level_days=LEVEL_DAYS) == {3: 0, 2: 0, 1: 0}
    assert Loan.objects.get(pk=loan.pk).overdue_level == 1
    second_day = loan.due_on + datetime.timedelta(days=LEVEL_DAYS[1])
    assert overdue_notices(actor=nightly, today=second_day, level_days=LEVEL_DAYS)[2] == 1
    outbox_deliver_all()
    assert len(notices_at_home(libraries, guest, "overdue_1")) == 1
    [second] = notices_at_home(libraries, guest, "overdue_2")
    assert libraries.alpha.name in second.body and "Greetje" in second.body


def test_an_own_member_is_still_told_here(desk, guest, libraries):
    [mine, theirs] = desk.items(count=2)
    own = lend(desk, mine, now=at(2026, 12, 1)).loan
    lend(desk, theirs, card=GUEST_CARD, now=at(2026, 12, 1))
    nightly = Actor.system("nightly", desk.library)
    assert due_soon_reminders(actor=nightly, today=own.due_on - datetime.timedelta(days=2), days_before=3) == 2
    assert Notice.objects.filter(member=desk.member, kind="due_soon").count() == 1
    assert OutboxMessage.objects.filter(kind="notices.guest_notice").count() == 1
