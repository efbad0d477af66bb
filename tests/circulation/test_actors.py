"""Who may do what in circulation (core.actors), decided inside the services so
that the OPAC, the API and SIP2 get the desk's answers: an actor of another
library is refused before anything is read, a member acts only on their own
loans and holds, staff-only work needs the role, and the card at any edge is
cleaned up the same way. Every refusal has its code and changes nothing; every
change records who made it (actor_ref)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Hold, HoldStatus, Loan, Transfer
from circulation.services import holds as hold_services
from circulation.services.loans import (
    checkin,
    checkout,
    loan_claims_returned,
    loan_mark_lost,
    may_override,
    renew,
    renew_all,
)
from collection.models import ItemEvent, ItemStatus
from core.actors import Actor
from core.errors import error_codes
from members.services.ledger import block_add
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .helpers import at, lend, snapshot

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def other(desk):
    return make_member(card_number="A1000002", first_name="Otto", last_name="Ander", paid_until=PAID_UNTIL)


@pytest.fixture
def machine(desk):
    """Self-service machine 3, standing at the main branch."""
    return Actor.machine(3, desk.main.pk, desk.library)


def holds_state():
    return sorted(Hold.objects.values_list("pk", "status", "pickup_branch_id", "suspended_until", "queue_at"))


def refused_with(code, call, *items):
    """The call is refused with `code` and leaves items, loans, ledger, events and holds as they were."""
    before = snapshot(*items), holds_state()
    with pytest.raises(ValidationError) as caught:
        call()
    assert error_codes(caught.value) == [code], caught.value.messages
    assert (snapshot(*items), holds_state()) == before, "a refused call changed something"
    return caught.value


# --- an actor of another library ---------------------------------------------------------

def test_every_write_refuses_an_actor_of_another_library(desk, libraries, staff, other):
    """Called in alpha's schema with beta's desk: refused before anything is read."""
    [item, held] = desk.items(count=2)
    loan = lend(desk, item).loan
    hold = hold_services.hold_place(actor=desk.actor(), member=other, title_id=item.title_id,
                                    pickup_branch_id=desk.main.pk)
    beta_desk = Actor.staff(staff.beta_desk, libraries.beta, branch_id=libraries.beta.branches.first().pk)
    calls = [
        lambda: checkout(actor=beta_desk, card_number=desk.member.card_number, barcode=held.barcode),
        lambda: checkin(actor=beta_desk, barcode=item.barcode),
        lambda: renew(actor=beta_desk, loan_id=loan.pk),
        lambda: renew_all(actor=beta_desk, card_number=desk.member.card_number),
        lambda: loan_mark_lost(actor=beta_desk, loan_id=loan.pk, replacement_cents=100),
        lambda: loan_claims_returned(actor=beta_desk, loan_id=loan.pk),
        lambda: hold_services.hold_place(actor=beta_desk, member=desk.member, title_id=held.title_id,
                                         pickup_branch_id=desk.main.pk),
        lambda: hold_services.hold_cancel(actor=beta_desk, hold_id=hold.pk),
        lambda: hold_services.hold_suspend(actor=beta_desk, hold_id=hold.pk,
                                           until=datetime.date.today() + datetime.timedelta(days=10)),
        lambda: hold_services.hold_resume(actor=beta_desk, hold_id=hold.pk),
        lambda: hold_services.hold_change_pickup(actor=beta_desk, hold_id=hold.pk, pickup_branch_id=desk.other.pk),
        lambda: hold_services.hold_queue_move(actor=beta_desk, hold_id=hold.pk, before_hold_id=hold.pk, reason="x"),
        lambda: hold_services.holds_expire(actor=Actor.system("nightly", libraries.beta)),
    ]
    for call in calls:
        refused_with("actor.other_library", call, item, held)
    loan.refresh_from_db()
    assert (loan.ended_at, loan.renewals) == (None, 0)


# --- a member acts on their own things only -------------------------------------------------

def test_a_member_cannot_renew_someone_elses_loan(desk, other):
    [mine, theirs] = desk.items(count=2)
    my_loan = lend(desk, mine, now=at(2026, 12, 1)).loan
    their_loan = lend(desk, theirs, other, now=at(2026, 12, 1)).loan
    member = Actor.member(desk.member.pk, desk.library)
    refused_with("actor.not_owner", lambda: renew(actor=member, loan_id=their_loan.pk, today=D(2026, 12, 10)),
                 mine, theirs)
    refused_with("actor.not_owner", lambda: renew_all(actor=member, card_number=other.card_number,
                                                      today=D(2026, 12, 10)), mine, theirs)
    # Their own loan they may renew (the OPAC), and it says who renewed it nowhere but in what it changed.
    assert renew(actor=member, loan_id=my_loan.pk, today=D(2026, 12, 10)).renewals == 1
    [outcome] = renew_all(actor=member, card_number=desk.member.card_number, today=D(2026, 12, 20))
    assert outcome.renewed and outcome.loan.pk == my_loan.pk
    assert Loan.objects.get(pk=their_loan.pk).renewals == 0


def test_a_member_cannot_touch_someone_elses_hold(desk, other):
    [item] = desk.items()
    lend(desk, item)
    theirs = hold_services.hold_place(actor=desk.actor(), member=other, title_id=item.title_id,
                                      pickup_branch_id=desk.main.pk)
    member = Actor.member(desk.member.pk, desk.library)
    later = datetime.date.today() + datetime.timedelta(days=20)
    for call in (
        lambda: hold_services.hold_cancel(actor=member, hold_id=theirs.pk, reason="weg ermee"),
        lambda: hold_services.hold_suspend(actor=member, hold_id=theirs.pk, until=later),
        lambda: hold_services.hold_resume(actor=member, hold_id=theirs.pk),
        lambda: hold_services.hold_change_pickup(actor=member, hold_id=theirs.pk, pickup_branch_id=desk.other.pk),
    ):
        refused_with("actor.not_owner", call, item)
    theirs.refresh_from_db()
    assert (theirs.status, theirs.pickup_branch_id, theirs.suspended_until) == (HoldStatus.WAITING, desk.main.pk,
                                                                                None)
    # Nor place one in someone else's name.
    [another] = desk.items()
    refused_with("actor.not_owner", lambda: hold_services.hold_place(
        actor=member, member=other, title_id=another.title_id, pickup_branch_id=desk.main.pk), another)


def test_a_member_acts_on_their_own_holds(desk, other):
    """The OPAC's hold actions: place, suspend, resume, change pickup, cancel, each
    recorded as the member's."""
    [item] = desk.items()
    lend(desk, item, other)
    member = Actor.member(desk.member.pk, desk.library)
    hold = hold_services.hold_place(actor=member, member=desk.member, title_id=item.title_id,
                                    pickup_branch_id=desk.main.pk)
    assert (hold.placed_by_id, hold.actor_ref) == (None, f"member:{desk.member.pk}")
    later = datetime.date.today() + datetime.timedelta(days=20)
    hold_services.hold_suspend(actor=member, hold_id=hold.pk, until=later)
    hold_services.hold_resume(actor=member, hold_id=hold.pk)
    hold_services.hold_change_pickup(actor=member, hold_id=hold.pk, pickup_branch_id=desk.other.pk)
    hold_services.hold_cancel(actor=member, hold_id=hold.pk, reason="Zelf gekocht")
    hold.refresh_from_db()
    assert (hold.status, hold.pickup_branch_id) == (HoldStatus.CANCELLED, desk.other.pk)
    events = CirculationEvent.objects.filter(hold=hold)
    assert events.count() == 5
    assert set(events.values_list("actor_ref", "staff_user_id")) == {(f"member:{desk.member.pk}", None)}


def test_a_member_cannot_borrow_on_someone_elses_card(desk, other):
    [item] = desk.items()
    member = Actor.member(desk.member.pk, desk.library, branch_id=desk.main.pk)
    refused_with("actor.not_owner", lambda: checkout(actor=member, card_number=other.card_number,
                                                     barcode=item.barcode), item)


# --- staff-only work -------------------------------------------------------------------------

def test_lost_claims_returned_and_queue_order_are_staff_work(desk, staff, other, machine):
    [item] = desk.items(price_cents=1000)
    loan = lend(desk, item).loan
    waiting = [hold_services.hold_place(actor=desk.actor(), member=member, title_id=item.title_id,
                                        pickup_branch_id=desk.main.pk)
               for member in (other, make_member(card_number="A1000003", paid_until=PAID_UNTIL))]
    collection = Actor.staff(staff.alpha_collection, desk.library, branch_id=desk.main.pk)  # no desk role
    own = Actor.member(desk.member.pk, desk.library)
    for actor, code in ((collection, "actor.no_role"), (machine, "actor.no_role"), (own, "actor.no_role")):
        refused_with(code, lambda: loan_mark_lost(actor=actor, loan_id=loan.pk), item)
        refused_with(code, lambda: loan_claims_returned(actor=actor, loan_id=loan.pk), item)
        refused_with(code, lambda: hold_services.hold_queue_move(
            actor=actor, hold_id=waiting[1].pk, before_hold_id=waiting[0].pk, reason="Voorrang"), item)
    loan.refresh_from_db()
    assert loan.ended_at is None
    # The desk may.
    hold_services.hold_queue_move(actor=desk.actor(), hold_id=waiting[1].pk, before_hold_id=waiting[0].pk,
                                  reason="Voorrang")
    loan_claims_returned(actor=desk.actor(), loan_id=loan.pk)
    assert Loan.objects.get(pk=loan.pk).ending == Loan.Ending.CLAIMS_RETURNED


def test_only_a_desk_coordinator_overrides_never_a_machine_or_member(desk, staff, machine):
    block_add(actor=desk.actor(), member=desk.member, reason="Geblokkeerd")
    [item] = desk.items()
    assert may_override(Actor.staff(staff.alpha_desk_supervisor, desk.library))
    assert may_override(Actor.staff(staff.alpha_library_admin, desk.library))
    assert not may_override(desk.actor())
    assert not may_override(machine)
    assert not may_override(Actor.member(desk.member.pk, desk.library))
    assert not may_override(Actor.system("nightly", desk.library))
    error = refused_with("member.blocked_by_library", lambda: lend(desk, item, actor=machine), item)
    assert error.overridable
    with pytest.raises(ValidationError) as caught:
        lend(desk, item, actor=machine, override_reason="Ik ben een automaat")
    assert error_codes(caught.value) == ["member.blocked_by_library", "checkout.override_not_allowed"]
    assert not Loan.objects.exists()


# --- a machine at its branch ---------------------------------------------------------------

def test_a_self_service_machine_lends_and_takes_back_at_its_branch(desk, machine):
    [item] = desk.items()
    loan = lend(desk, item, actor=machine).loan
    assert (loan.branch_id, loan.created_by_id, loan.actor_ref) == (desk.main.pk, None, f"machine:3@{desk.main.pk}")
    assert ItemEvent.objects.filter(item=item).latest("pk").actor_ref == f"machine:3@{desk.main.pk}"
    at_other = Actor.machine(4, desk.other.pk, desk.library)
    result = checkin(actor=at_other, barcode=item.barcode)
    assert result.route == "transit"
    transfer = Transfer.objects.get(item=item)
    assert (transfer.from_branch_id, transfer.sent_by_id, transfer.actor_ref) == (desk.other.pk, None,
                                                                                  f"machine:4@{desk.other.pk}")
    assert Loan.objects.get(pk=loan.pk).ended_branch_id == desk.other.pk


def test_an_actor_without_a_branch_cannot_lend(desk):
    [item] = desk.items()
    nowhere = Actor.staff(desk.staff, desk.library)  # no branch chosen
    refused_with("branch.choose", lambda: checkout(actor=nowhere, card_number=desk.member.card_number,
                                                   barcode=item.barcode), item)


# --- the card as any edge sends it ---------------------------------------------------------

@pytest.mark.parametrize("typed", [" A100 0001 ", "a1000001", "\ta 1000001\n"])
def test_the_card_is_cleaned_up_in_the_lookup_for_every_edge(desk, machine, typed):
    """Spaces and lower case, as a SIP2 machine or an API client may send them:
    the same member as at the desk."""
    [first, second] = desk.items(count=2)
    assert lend(desk, first, card=typed, actor=machine).loan.member_id == desk.member.pk
    assert lend(desk, second, card=typed).loan.member_id == desk.member.pk
    outcomes = renew_all(actor=machine, card_number=typed, today=D(2099, 1, 1))
    assert sorted(outcome.loan.pk for outcome in outcomes) == sorted(Loan.objects.values_list("pk", flat=True))


def test_the_desk_screen_cleans_up_the_card_the_same_way(client, desk):
    from tests.circulation.test_desk_views import ALPHA

    [item] = desk.items()
    client.force_login(desk.staff)
    response = client.post("/uitlening/uitlenen/scan/", {"pas": " a100 0001 ", "barcode": item.barcode},
                           HTTP_HOST=ALPHA)
    assert response.status_code == 200
    with tenant_context(desk.library):
        assert Loan.objects.get(item=item).member_id == desk.member.pk


def test_a_member_account_does_not_take_copies_back(desk):
    [item] = desk.items()
    lend(desk, item)
    member = Actor.member(desk.member.pk, desk.library, branch_id=desk.main.pk)
    refused_with("actor.not_allowed", lambda: checkin(actor=member, barcode=item.barcode), item)
    assert Loan.objects.get(item=item).ended_at is None
