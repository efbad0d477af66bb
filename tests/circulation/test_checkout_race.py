"""Desks racing: each desk is a thread with its own database connection and its
own transaction, as at a real library.

- Two desks lending the same copy at the same moment: exactly one loan, the
  other desk gets a clear refusal.
- One member at two desks against a limit of one loan: only one loan.
- Checkin and checkout of the same copy racing: the item's status and its loans
  never disagree (on loan <=> exactly one open loan).

The desks' connections cannot see a test's uncommitted transaction, so the data
is written on a connection of its own, which commits, and deleted afterwards
(a transactional test would flush the once-per-run test libraries). The test's
own (rolled-back) transaction only reads."""

import datetime
import itertools
import threading
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation.models import CirculationEvent, Hold, Loan, Transfer
from circulation.services import loans as loan_services
from circulation.services.loans import CirculationRefused, checkin, checkout
from collection.models import Item, ItemStatus
from collection.services import item_add
from core.actors import Actor
from members.models import AuditEntry, Block, LedgerEntry, Member, MemberCategory, SubscriptionType
from staff.models import StaffUser
from tenants.models import LibraryOrganisation
from tests.concurrency import in_thread, on_own_connection
from tests.factories import TitleFactory, collection_actor

pytestmark = pytest.mark.django_db

CODE = "circ-race"
_runs = itertools.count(1)




@pytest.fixture
def committed():
    run = next(_runs)

    def create():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        main, other = list(alpha.branches.order_by("name"))[:2]
        desk_user = StaffUser.objects.get(username="alpha.desk")
        title = TitleFactory(title="Wedloop")
        barcodes = [f"CRACE{run:03d}{number:03d}" for number in range(1, 6)]
        with tenant_context(alpha):
            subscription, _ = SubscriptionType.objects.get_or_create(
                code=CODE, defaults={"name": "Race-abonnement", "annual_fee_cents": 0, "max_loans": 1})
            category, _ = MemberCategory.objects.get_or_create(
                code=CODE, defaults={"name": "Race", "min_age": 18, "default_subscription": subscription})
            members = [
                Member.objects.create(card_number=f"CRM{run:03d}{number:03d}", first_name="Race",
                                      last_name=f"Lid {number}", category=category, subscription=subscription,
                                      expires_on=datetime.date(2099, 1, 1))
                for number in range(1, 4)
            ]
            items = item_add(actor=collection_actor(alpha), title_id=title.pk, barcodes=barcodes,
                             branch_id=main.pk)
        return SimpleNamespace(alpha=alpha, main=main, other=other, user=desk_user, title=title, members=members,
                               items=items)

    def remove(data):
        with tenant_context(data.alpha):
            item_ids = [item.pk for item in data.items]
            member_ids = [member.pk for member in data.members]
            CirculationEvent.objects.filter(item_id_ref__in=item_ids).delete()
            Transfer.objects.filter(item_id__in=item_ids).delete()
            Hold.objects.filter(title_id=data.title.pk).delete()
            Loan.objects.filter(item_id__in=item_ids).delete()
            Item.objects.filter(pk__in=item_ids).delete()  # and their events
            LedgerEntry.objects.filter(member_id__in=member_ids, kind=LedgerEntry.Kind.WAIVER).delete()
            LedgerEntry.objects.filter(member_id__in=member_ids).delete()
            Block.objects.filter(member_id__in=member_ids).delete()
            AuditEntry.objects.filter(member_id_ref__in=member_ids).delete()
            Member.objects.filter(pk__in=member_ids).delete()
            if not Member.objects.filter(category__code=CODE).exists():
                MemberCategory.objects.filter(code=CODE).delete()
                SubscriptionType.objects.filter(code=CODE).delete()
        Holding.objects.filter(title=data.title).delete()
        data.title.delete()

    data = on_own_connection(create)
    try:
        yield data
    finally:
        on_own_connection(lambda: remove(data))


def lend(data, member, item):
    def work():
        with tenant_context(data.alpha):
            return checkout(actor=Actor.staff(data.user, data.alpha, branch_id=data.main.pk),
                            card_number=member.card_number, barcode=item.barcode)
    return work


def take_back(data, item):
    def work():
        with tenant_context(data.alpha):
            return checkin(actor=Actor.staff(data.user, data.alpha, branch_id=data.main.pk), barcode=item.barcode)
    return work


def assert_consistent(data, item):
    """On loan <=> exactly one open loan (read committed, from the test's connection)."""
    with tenant_context(data.alpha):
        status = Item.objects.get(pk=item.pk).status
        open_loans = Loan.objects.filter(item_id=item.pk, ended_at__isnull=True).count()
    assert open_loans <= 1
    assert (status == ItemStatus.ON_LOAN) == (open_loans == 1), (status, open_loans)
    return status, open_loans


def run_paused(monkeypatch, work_a, work_b, *, after="_desk_context"):
    """Run desk A until it has done `after` (a lock, held in its open transaction),
    then start desk B and give it two seconds while A waits. Returns whether B
    finished meanwhile (it must not: it waits for A's lock) and both outcomes."""
    original = getattr(loan_services, after)
    a_locked, b_done = threading.Event(), threading.Event()
    observed = {}

    def pausing(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.current_thread().name == "desk-a" and not a_locked.is_set():
            a_locked.set()
            observed["b_finished_meanwhile"] = b_done.wait(timeout=2)
        return result

    monkeypatch.setattr(loan_services, after, pausing)
    outcomes = {}

    def desk(name, work, done=None):
        try:
            outcomes[name] = ("result", work())
        except Exception as error:  # reported to the test
            outcomes[name] = ("error", error)
        finally:
            if done is not None:
                done.set()
            connection.close()

    a = threading.Thread(target=desk, args=("a", work_a), name="desk-a")
    b = threading.Thread(target=desk, args=("b", work_b, b_done), name="desk-b")
    a.start()
    assert a_locked.wait(timeout=10)
    b.start()
    a.join(timeout=30)
    b.join(timeout=30)
    assert not a.is_alive() and not b.is_alive()
    return observed["b_finished_meanwhile"], outcomes["a"], outcomes["b"]


def run_together(*works):
    """Start every desk at the same moment (a barrier); return their outcomes."""
    barrier = threading.Barrier(len(works))

    def wrap(work):
        def run():
            barrier.wait(timeout=10)
            return work()
        return run

    threads = [in_thread(wrap(work)) for work in works]
    for thread, _ in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    return [outcome for _, outcome in threads]


# --- the same copy at two desks ------------------------------------------------------------

def test_same_copy_at_two_desks_one_loan_and_a_clear_refusal(committed, monkeypatch):
    data = committed
    item = data.items[0]
    first, second = data.members[0], data.members[1]
    b_finished_meanwhile, a, b = run_paused(monkeypatch, lend(data, first, item), lend(data, second, item))
    assert not b_finished_meanwhile, "desk B lent the copy while desk A had it locked"
    assert a[0] == "result", a
    assert b[0] == "error" and isinstance(b[1], CirculationRefused), b
    assert [refusal.code for refusal in b[1].refusals] == ["checkout.on_loan_to_other"]
    assert "al uitgeleend" in b[1].messages[0]
    with tenant_context(data.alpha):
        loans = list(Loan.objects.filter(item_id=item.pk))
        assert [(loan.member_id, loan.ended_at) for loan in loans] == [(first.pk, None)]
        fresh = Item.objects.get(pk=item.pk)
        assert fresh.status == ItemStatus.ON_LOAN and fresh.loan_count == 1
    assert_consistent(data, item)


def test_same_copy_at_three_desks_at_once(committed):
    data = committed
    item = data.items[1]
    outcomes = run_together(*(lend(data, member, item) for member in data.members))
    successes = [outcome for outcome in outcomes if "result" in outcome]
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    assert len(successes) == 1, outcomes
    assert len(errors) == 2
    for error in errors:
        assert isinstance(error, CirculationRefused), error
        assert [refusal.code for refusal in error.refusals] == ["checkout.on_loan_to_other"]
    with tenant_context(data.alpha):
        assert Loan.objects.filter(item_id=item.pk, ended_at__isnull=True).count() == 1
        assert Item.objects.get(pk=item.pk).loan_count == 1
    assert_consistent(data, item)


# --- one member at two desks ---------------------------------------------------------------

def test_one_member_two_desks_limit_of_one(committed, monkeypatch):
    data = committed
    member = data.members[0]  # subscription: at most one loan
    one, two = data.items[0], data.items[1]
    b_finished_meanwhile, a, b = run_paused(monkeypatch, lend(data, member, one), lend(data, member, two),
                                            after="_lock_borrower")
    assert not b_finished_meanwhile, "desk B counted the member's loans while desk A had the member locked"
    assert a[0] == "result", a
    assert b[0] == "error" and isinstance(b[1], CirculationRefused), b
    assert [refusal.code for refusal in b[1].refusals] == ["checkout.limit_total"]
    with tenant_context(data.alpha):
        assert Loan.objects.filter(member_id=member.pk, ended_at__isnull=True).count() == 1
        assert Item.objects.get(pk=two.pk).status == ItemStatus.AVAILABLE
    assert_consistent(data, one)
    assert_consistent(data, two)


def test_one_member_at_three_desks_at_once(committed):
    data = committed
    member = data.members[1]
    outcomes = run_together(*(lend(data, member, item) for item in data.items[2:5]))
    assert sum("result" in outcome for outcome in outcomes) == 1, outcomes
    for outcome in outcomes:
        if "error" in outcome:
            assert isinstance(outcome["error"], CirculationRefused)
            assert [refusal.code for refusal in outcome["error"].refusals] == ["checkout.limit_total"]
    with tenant_context(data.alpha):
        assert Loan.objects.filter(member_id=member.pk, ended_at__isnull=True).count() == 1
    for item in data.items[2:5]:
        assert_consistent(data, item)


# --- checkin and checkout of the same copy ------------------------------------------------

def test_checkin_first_then_the_waiting_checkout_lends(committed, monkeypatch):
    data = committed
    item = data.items[0]
    first, second = data.members[0], data.members[1]
    on_own_connection(lend(data, first, item))
    b_finished_meanwhile, a, b = run_paused(monkeypatch, take_back(data, item), lend(data, second, item))
    assert not b_finished_meanwhile
    assert a[0] == "result" and a[1].loan is not None
    assert b[0] == "result", b  # it waited for the checkin and then lent the copy
    with tenant_context(data.alpha):
        open_loan = Loan.objects.get(item_id=item.pk, ended_at__isnull=True)
        assert open_loan.member_id == second.pk
    assert assert_consistent(data, item) == (ItemStatus.ON_LOAN, 1)


def test_checkout_first_is_refused_then_the_checkin_ends_the_loan(committed, monkeypatch):
    data = committed
    item = data.items[0]
    first, second = data.members[0], data.members[1]
    on_own_connection(lend(data, first, item))
    b_finished_meanwhile, a, b = run_paused(monkeypatch, lend(data, second, item), take_back(data, item))
    assert not b_finished_meanwhile
    assert a[0] == "error" and isinstance(a[1], CirculationRefused)
    assert [refusal.code for refusal in a[1].refusals] == ["checkout.on_loan_to_other"]
    assert b[0] == "result" and b[1].loan.member_id == first.pk
    assert assert_consistent(data, item) == (ItemStatus.AVAILABLE, 0)


def test_checkins_and_checkouts_racing_never_disagree(committed):
    data = committed
    item = data.items[0]
    members = data.members
    for round_number in range(8):
        member = members[round_number % 2]  # first and second: each has a limit of one
        outcomes = run_together(take_back(data, item), lend(data, member, item), take_back(data, item),
                                lend(data, members[2], item))
        for outcome in outcomes:
            if "error" in outcome:
                assert isinstance(outcome["error"], ValidationError), outcome["error"]
        assert_consistent(data, item)
    with tenant_context(data.alpha):
        # Every loan that was made is accounted for: at most one open, and loan_count counts them all.
        fresh = Item.objects.get(pk=item.pk)
        assert fresh.loan_count == Loan.objects.filter(item_id=item.pk).count()


# --- a block set while the member is at another desk ---------------------------------------

def test_a_block_being_set_at_another_desk_counts(committed):
    """Desk A blocks the member (its transaction still open, holding the member
    row); desk B scans the member's card meanwhile. B must wait for A and then
    see the block, not lend on what it read before A committed."""
    from django.db import transaction

    from members.services.ledger import block_add

    data = committed
    member, item = data.members[2], data.items[3]
    blocked, release = threading.Event(), threading.Event()

    def block_desk():
        with tenant_context(data.alpha), transaction.atomic():
            block_add(actor=Actor.staff(data.user, data.alpha), member=member, reason="Pas misbruikt")
            blocked.set()
            release.wait(10)

    a, first = in_thread(block_desk)
    assert blocked.wait(10)
    b, second = in_thread(lend(data, member, item))
    b.join(timeout=2)
    assert b.is_alive(), "the checkout must wait for the member lock"
    release.set()
    a.join(timeout=30)
    b.join(timeout=30)
    assert "error" not in first, first
    assert isinstance(second.get("error"), CirculationRefused), second
    assert [refusal.code for refusal in second["error"].refusals] == ["member.blocked_by_library"]
    assert "Pas misbruikt" in second["error"].messages[0]
    with tenant_context(data.alpha):
        assert not Loan.objects.filter(item_id=item.pk).exists()
    assert_consistent(data, item)
