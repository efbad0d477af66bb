"""Issue 12, item 4: lending a copy that a waiting hold could fill, to somebody who
is not first in line, asks the desk to confirm (Koha does the same): a refusal
(checkout.waiting_hold) that desk staff may confirm, and a coordinator may override;
confirmed, the loan is made and the confirmation logged. No question when the
borrower is first in line, or when no waiting hold could take this copy now
(suspended, on another copy, not holdable for them). A machine cannot confirm."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Hold, HoldStatus, Loan
from circulation.services import holds as hold_services
from core.actors import Actor
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import codes, lend, refused

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"


@pytest.fixture
def waiter(desk):
    return make_member(card_number="A1000077", first_name="Willem", last_name="Wacht", paid_until=PAID_UNTIL)


def place(desk, member, **kwargs):
    kwargs.setdefault("pickup_branch_id", desk.main.pk)
    return hold_services.hold_place(actor=desk.actor(), member=member, **kwargs)


def checkout(desk, item, *, actor=None, confirmed=(), member=None, override_reason=""):
    from circulation.services.loans import checkout as service

    return service(actor=actor or desk.actor(), card_number=(member or desk.member).card_number, barcode=item.barcode,
                   confirmed=confirmed, override_reason=override_reason)


def test_lending_a_copy_someone_waits_for_asks_to_confirm(desk, waiter):
    [item] = desk.items()
    hold = place(desk, waiter, title_id=item.title_id)
    error = refused(lambda: checkout(desk, item), item)
    assert codes(error) == ["checkout.waiting_hold"]
    assert error.confirmable and error.overridable
    assert "wacht een reservering" in error.messages[0]

    result = checkout(desk, item, confirmed=["checkout.waiting_hold"])
    assert result.loan.member_id == desk.member.pk
    assert [reason.code for reason in result.confirmed] == ["checkout.waiting_hold"]
    event = CirculationEvent.objects.get(loan=result.loan, kind=CirculationEvent.Kind.OVERRIDE)
    assert event.detail.startswith("Bevestigd aan de balie") and event.actor_ref == f"staff:{desk.staff.pk}"
    hold.refresh_from_db()
    assert hold.status == HoldStatus.WAITING


def test_first_in_line_borrows_without_a_question(desk, waiter):
    [item] = desk.items()
    hold = place(desk, waiter, title_id=item.title_id)
    loan = checkout(desk, item, member=waiter).loan
    assert loan.member_id == waiter.pk
    hold.refresh_from_db()
    assert hold.status == HoldStatus.FULFILLED


def test_second_in_line_is_asked(desk, waiter):
    [item] = desk.items()
    place(desk, waiter, title_id=item.title_id)
    place(desk, desk.member, title_id=item.title_id)
    error = refused(lambda: checkout(desk, item), item)
    assert codes(error) == ["checkout.waiting_hold"]


def test_no_question_when_no_waiting_hold_could_take_this_copy(desk, waiter):
    copy, other_copy = desk.items(count=2)
    suspended = place(desk, waiter, title_id=copy.title_id)
    hold_services.hold_suspend(actor=desk.actor(), hold_id=suspended.pk,
                               until=timezone.localdate() + datetime.timedelta(days=20))
    someone = make_member(first_name="Iris", last_name="Item", paid_until=PAID_UNTIL)
    place(desk, someone, item_barcode=other_copy.barcode)  # only that other copy
    assert checkout(desk, copy).loan.member_id == desk.member.pk

    dvd, = desk.items(item_type="dvd")
    place(desk, waiter, title_id=dvd.title_id)
    make_rule(item_type="dvd", holdable=False)  # the library no longer lets dvds be held
    assert checkout(desk, dvd).loan.member_id == desk.member.pk


def test_a_machine_cannot_confirm_and_a_coordinator_may_override(desk, waiter):
    [item] = desk.items()
    place(desk, waiter, title_id=item.title_id)
    machine = Actor.machine(3, desk.main.pk, desk.library)
    error = refused(lambda: checkout(desk, item, actor=machine, confirmed=["checkout.waiting_hold"]), item)
    assert codes(error) == ["checkout.waiting_hold"]
    result = checkout(desk, item, actor=desk.actor(desk.supervisor), override_reason="Leesclub vanavond")
    assert [reason.code for reason in result.overridden] == ["checkout.waiting_hold"]


def test_the_desk_screen_asks_and_lends_when_confirmed(client, desk, waiter):
    with tenant_context(desk.library):
        [item] = desk.items()
        place(desk, waiter, title_id=item.title_id)
    client.force_login(desk.staff)
    scan = {"pas": "A1000001", "barcode": item.barcode}
    response = client.post("/uitlening/uitlenen/scan/", scan, HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 422
    assert "wacht een reservering" in page
    assert 'data-testid="confirm"' in page and 'name="confirm" value="checkout.waiting_hold"' in page
    assert 'data-testid="override"' not in page  # a desk user, not a coordinator: confirming is enough
    with tenant_context(desk.library):
        assert not Loan.objects.filter(item=item).exists()
    response = client.post("/uitlening/uitlenen/scan/", {**scan, "confirm": "checkout.waiting_hold"}, HTTP_HOST=ALPHA)
    assert response.status_code == 200 and "Uitgeleend" in response.content.decode()
    with tenant_context(desk.library):
        assert Loan.objects.get(item=item).member_id == desk.member.pk
        assert Hold.objects.get(member=waiter).status == HoldStatus.WAITING
