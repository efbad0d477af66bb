"""What a self-service visit on the day of the loan cannot show (test_sip2_visit.py
lends and renews on the same day, so every renewal there is refused): successful
renewals over SIP2 (29, 65, and 11 of a copy the patron already has) of loans
made days ago; a hold's pickup branch changed (15, mode '*'); the patron
information's item lists (63: hold items AS, overdue items AT, charged items AU,
fine items AV, unavailable holds CD) with only the patron's own; and the idle
timeout of a logged-in connection. Real socket, `sip2` package client."""

import datetime
import time

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Hold, HoldStatus, Loan
from circulation.services.loans import checkin, checkout
from core.actors import Actor
from members.models import LedgerEntry
from members.services.ledger import ledger_charge
from tests.concurrency import on_own_connection

from .conftest import PIN, Machine, fields_of, running_sip2_server

pytestmark = pytest.mark.django_db

# The fixed part of a 64 answer: '64', 14 status, 3 language, 18 date, then six counts of 4.
COUNTS = 2 + 14 + 3 + 18
HOLDS_READY, OVERDUE, CHARGED, FINES, RECALL, UNAVAILABLE = (slice(COUNTS + 4 * n, COUNTS + 4 * n + 4)
                                                              for n in range(6))
LONG_AGO = 60  # days: overdue under any loan period of these tests' rules
DAYS_AGO = 10  # days: not overdue, and a renewal today moves the due date


@pytest.fixture(scope="module")
def lent(world, django_db_blocker):
    """Loans made days ago through the checkout service (its `now`), committed, so
    that the machines can renew them today; a fee and a charge for the fine lists;
    bert's hold made ready by checking its copy in."""
    def create():
        with tenant_context(world.alpha):
            desk = Actor.system("test", world.alpha, branch_id=world.main.pk)
            members, items = world.members, world.items

            def lend(member, item, days_ago=0):
                return checkout(actor=desk, card_number=members[member].card_number, barcode=item.barcode,
                                now=timezone.now() - datetime.timedelta(days=days_ago)).loan.pk

            loans = {
                "anna": lend("anna", items[0], DAYS_AGO),
                "bert": lend("bert", items[1], DAYS_AGO),
                "erik_old_1": lend("erik", items[2], DAYS_AGO),
                "erik_old_2": lend("erik", items[3], DAYS_AGO),
                "erik_today": lend("erik", items[4]),
                "erik_dvd": lend("erik", world.dvds[1], 3),  # its rule: 7 days, 1.00 per loan and renewal
                "fien_overdue": lend("fien", items[5], LONG_AGO),
                "fien_dvd": lend("fien", world.dvds[0]),  # a loan fee on her account
                "cora_overdue": lend("cora", items[6], LONG_AGO),
            }
            ledger_charge(actor=desk, member=members["anna"], charge_type=LedgerEntry.ChargeType.OTHER,
                          amount_cents=250, description="Kapotte hoes")
            # fien's copy of bert's title comes back: on the hold shelf for bert (ready).
            checkin(actor=desk, barcode=world.hold_here[0].barcode)
            return loans

    with django_db_blocker.unblock():
        return on_own_connection(create)


def loan_of(world, loan_id):
    with tenant_context(world.alpha):
        return Loan.objects.select_related("item").get(pk=loan_id)


def visit(machine_for, world, member):
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(world.members[member].card_number, PIN)
    return machine


def sip_due(day):
    return f"{day:%Y%m%d}    235959"


# --- renewals ---------------------------------------------------------------------------------

def test_renew_a_loan_made_days_ago(world, lent, machine_for):
    before = loan_of(world, lent["anna"])
    machine = visit(machine_for, world, "anna")
    answer = machine.send(machine.client.sip_renew_request(before.item.barcode))
    assert answer.startswith("301YNY"), answer  # ok, renewal, no magnetic media, desensitize
    after = loan_of(world, lent["anna"])
    assert after.renewals == 1 and after.due_on > before.due_on and after.ended_at is None
    assert fields_of(answer, "AH") == [sip_due(after.due_on)]
    assert fields_of(answer, "AJ") == [world.titles[0].title]
    assert fields_of(answer, "AF") == [f"Verlengd tot {after.due_on:%d-%m-%Y}."]
    # Asked again the same day: the service's reason, and the loan stays as it is.
    again = machine.send(machine.client.sip_renew_request(before.item.barcode))
    assert again.startswith("300"), again
    assert fields_of(again, "AF") and fields_of(again, "AH") == [""]
    assert loan_of(world, lent["anna"]).renewals == 1
    # Another member's loan cannot be renewed from anna's card.
    theirs = loan_of(world, lent["bert"])
    refused = machine.send(machine.client.sip_renew_request(theirs.item.barcode))
    assert refused.startswith("300"), refused
    assert loan_of(world, lent["bert"]).renewals == 0


def test_checkout_of_a_copy_the_patron_has_renews_it(world, lent, machine_for):
    before = loan_of(world, lent["bert"])
    # Another patron scanning bert's copy gets it neither lent nor renewed.
    other = visit(machine_for, world, "anna")
    refused = other.send(other.client.sip_checkout_request(before.item.barcode, scRenewalPolicy="Y"))
    assert refused[2:4] == "0N", refused
    assert loan_of(world, lent["bert"]).renewals == 0
    machine = visit(machine_for, world, "bert")
    answer = machine.send(machine.client.sip_checkout_request(before.item.barcode, scRenewalPolicy="Y"))
    assert answer[2:6] == "1YNY", answer  # ok, renewal ok, no magnetic media, desensitize
    after = loan_of(world, lent["bert"])
    assert after.renewals == 1 and after.due_on > before.due_on
    assert fields_of(answer, "AH") == [sip_due(after.due_on)]
    assert fields_of(answer, "AF") == [f"Verlengd tot {after.due_on:%d-%m-%Y}."]
    with tenant_context(world.alpha):
        assert Loan.objects.filter(item=before.item).count() == 1  # the same loan, no new one


def test_renew_all_renews_what_may_be_renewed_and_asks_for_the_fee(world, lent, machine_for):
    erik = world.members["erik"]
    barcodes = {key: loan_of(world, lent[key]).item.barcode
                for key in ("erik_old_1", "erik_old_2", "erik_today", "erik_dvd")}
    with tenant_context(world.alpha):
        fees_before = LedgerEntry.objects.filter(member=erik, charge_type=LedgerEntry.ChargeType.LOAN_FEE).count()
    machine = visit(machine_for, world, "erik")
    # Without the fee acknowledged: the two old loans renewed; today's loan too early, the DVD's fee not agreed.
    first = machine.send(machine.client.sip_renew_all_request())
    assert first.startswith("661" + "0002" + "0002"), first
    assert fields_of(first, "BM") == [barcodes["erik_old_1"], barcodes["erik_old_2"]]
    assert sorted(fields_of(first, "BN")) == sorted([barcodes["erik_today"], barcodes["erik_dvd"]])
    assert fields_of(first, "AF")[-1] == "2 verlengd, 2 niet verlengd."
    assert [loan_of(world, lent[key]).renewals for key in ("erik_old_1", "erik_old_2", "erik_today", "erik_dvd")] \
        == [1, 1, 0, 0]
    # The fee agreed: now the DVD is renewed (and its fee charged); the others are renewed today already.
    second = machine.send(machine.client.sip_renew_all_request(feeAcknowledged="Y"))
    assert second.startswith("661" + "0001" + "0003"), second
    assert fields_of(second, "BM") == [barcodes["erik_dvd"]]
    dvd = loan_of(world, lent["erik_dvd"])
    assert dvd.renewals == 1
    with tenant_context(world.alpha):
        fees = LedgerEntry.objects.filter(member=erik, charge_type=LedgerEntry.ChargeType.LOAN_FEE)
        assert fees.count() == fees_before + 1
        renewal_fee = fees.get(reference=f"loan:{dvd.pk}:fee:1")
        assert renewal_fee.amount_cents == 100
        assert renewal_fee.actor_ref == f"machine:{world.machine.account.pk}@{world.main.pk}"
    # Nothing of another member in the lists.
    others = {loan_of(world, lent[key]).item.barcode for key in ("anna", "bert", "fien_overdue", "cora_overdue")}
    assert not others & set(fields_of(first, "BM") + fields_of(first, "BN") + fields_of(second, "BM")
                            + fields_of(second, "BN"))


# --- hold: change the pickup branch ---------------------------------------------------------------

def cora_hold(world):
    with tenant_context(world.alpha):
        return Hold.objects.get(member=world.members["cora"], title_id=world.hold_there[0].title_id,
                                status__in=["waiting", "ready", "in_transit"])


def test_hold_change_pickup_branch(world, lent, machine_for):
    copy = world.hold_there[0]  # on loan to fien; cora waits for its title, pickup at the other branch
    assert cora_hold(world).pickup_branch_id == world.other.pk
    # Anna has no hold on that title: nothing of cora's changes.
    anna = visit(machine_for, world, "anna")
    refused = anna.send(anna.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                      pickupLocation=world.main.code))
    assert refused.startswith("160"), refused
    assert cora_hold(world).pickup_branch_id == world.other.pk
    machine = visit(machine_for, world, "cora")
    unknown = machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                            pickupLocation="GEEN-VESTIGING"))
    assert unknown.startswith("160") and fields_of(unknown, "AF"), unknown
    assert cora_hold(world).pickup_branch_id == world.other.pk
    # To the main branch: changed, the answer names its code, the change logged as this machine.
    moved = machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                          pickupLocation=world.main.code))
    assert moved.startswith("161"), moved
    assert fields_of(moved, "BS") == [world.main.code]
    assert fields_of(moved, "AJ") == [world.titles[3].title]
    hold = cora_hold(world)
    assert hold.pickup_branch_id == world.main.pk and hold.status == HoldStatus.WAITING
    with tenant_context(world.alpha):
        assert CirculationEvent.objects.filter(
            hold=hold, actor_ref=f"machine:{world.machine.account.pk}@{world.main.pk}",
            detail__contains="Ophaalvestiging gewijzigd").exists()
    # The same branch again: the service's reason.
    same = machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                         pickupLocation=world.main.code))
    assert same.startswith("160") and fields_of(same, "AF"), same
    # Without a pickup location: the machine's own branch (already so), refused the same way.
    assert machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode)).startswith("160")
    # Back to the other branch.
    back = machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                         pickupLocation=world.other.code))
    assert back.startswith("161") and fields_of(back, "BS") == [world.other.code], back
    assert cora_hold(world).pickup_branch_id == world.other.pk


def test_a_ready_hold_cannot_move(world, lent, machine_for):
    copy = world.hold_here[0]  # on the hold shelf here for bert
    machine = visit(machine_for, world, "bert")
    answer = machine.send(machine.client.sip_hold_request("*", itemIdentifier=copy.barcode,
                                                           pickupLocation=world.other.code))
    assert answer.startswith("160") and fields_of(answer, "AF"), answer
    with tenant_context(world.alpha):
        hold = Hold.objects.get(member=world.members["bert"], title_id=copy.title_id, status="ready")
    assert hold.pickup_branch_id == world.main.pk


# --- patron information: the item lists -----------------------------------------------------------

def information(machine_for, world, member, kind, start="1", end="5"):
    machine = visit(machine_for, world, member)
    answer = machine.send(machine.client.sip_patron_information_request(kind, start, end))
    assert answer.startswith("64"), answer
    assert fields_of(answer, "CQ") == ["Y"]
    return answer


def test_patron_information_hold_items(world, lent, machine_for):
    bert = information(machine_for, world, "bert", "hold")
    assert fields_of(bert, "AS") == [world.hold_here[0].barcode]
    assert bert[HOLDS_READY] == "0001" and bert[UNAVAILABLE] == "0000"
    # Cora's hold still waits (its copy is on loan): no hold item, one unavailable hold.
    cora = information(machine_for, world, "cora", "hold")
    assert fields_of(cora, "AS") == []
    assert cora[HOLDS_READY] == "0000" and cora[UNAVAILABLE] == "0001"


def test_patron_information_unavailable_holds(world, lent, machine_for):
    cora = information(machine_for, world, "cora", "unavail")
    assert fields_of(cora, "CD") == [world.titles[3].title]
    assert fields_of(cora, "AS") == []  # one list per message
    bert = information(machine_for, world, "bert", "unavail")
    assert fields_of(bert, "CD") == []


def test_patron_information_overdue_items(world, lent, machine_for):
    fien = information(machine_for, world, "fien", "overdue")
    assert fields_of(fien, "AT") == [loan_of(world, lent["fien_overdue"]).item.barcode]
    assert fien[OVERDUE] == "0001"
    # Her loans: the overdue copy, cora's title's copy and the DVD (bert's copy came back).
    assert fien[CHARGED] == "0003"
    assert fields_of(fien, "AU") == []  # only the list asked for
    cora = information(machine_for, world, "cora", "overdue")
    assert fields_of(cora, "AT") == [loan_of(world, lent["cora_overdue"]).item.barcode]
    # Loans made days ago but not due yet are no overdue items.
    erik = information(machine_for, world, "erik", "overdue")
    assert fields_of(erik, "AT") == [] and erik[OVERDUE] == "0000"


def test_patron_information_charged_items_range(world, lent, machine_for):
    every = information(machine_for, world, "fien", "charged", "1", "20")
    charged = fields_of(every, "AU")
    assert sorted(charged) == sorted([loan_of(world, lent["fien_overdue"]).item.barcode,
                                      loan_of(world, lent["fien_dvd"]).item.barcode, world.hold_there[0].barcode])
    # BP..BQ: the second and third only.
    part = information(machine_for, world, "fien", "charged", "2", "3")
    assert fields_of(part, "AU") == charged[1:3]


def test_patron_information_fine_items(world, lent, machine_for):
    fien = information(machine_for, world, "fien", "fine")
    assert fields_of(fien, "AV") == [f"1.00 EUR Leengeld: {world.titles[4].title}"]
    assert fien[FINES] == "0001" and fields_of(fien, "BV") == ["1.00"]
    anna = information(machine_for, world, "anna", "fine")
    assert fields_of(anna, "AV") == ["2.50 EUR Kapotte hoes"]
    assert anna[FINES] == "0001"
    # Nobody's fine items show another member's charges.
    assert "Kapotte hoes" not in fien and "Leengeld" not in anna


# --- the idle timeout after login ----------------------------------------------------------------------

@pytest.fixture
def short_idle_server(django_db_blocker):
    """A server of its own whose logged-in connections time out after 4 s of silence
    and whose login timeout (1.5 s) is shorter still."""
    with running_sip2_server(django_db_blocker, threads=2, idle_timeout=4, login_timeout=1.5) as server:
        yield server


def test_idle_timeout_after_login(world, short_idle_server):
    machine = Machine(short_idle_server.port)
    try:
        assert machine.login(world.machine.account.login, world.machine.password)["fixed"]["Ok"] == "1"
        # Past the login timeout, and past one idle period since the login, but never 4 s silent: still served.
        for _ in range(3):
            time.sleep(1.8)
            assert machine.send(machine.client.sip_sc_status_request()).startswith("98Y")
        # Then silence: closed after the idle timeout, not before.
        sock = machine.client._socket
        sock.settimeout(20)
        silent = time.monotonic()
        assert sock.recv(100) == b""
        assert 3.5 < time.monotonic() - silent < 12
    finally:
        machine.close()
