"""Whole self-service visits over a real TCP socket with the `sip2` package's client:
login, status, patron information, checkout, checkin with the sorting routing,
renew, fee paid, hold, end session; what the services recorded is checked in
the database (committed by the server's own connections)."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import Hold, HoldStatus, Loan
from collection.models import Item, ItemStatus
from members.models import AuditEntry, LedgerEntry

from .conftest import PIN, fields_of

pytestmark = pytest.mark.django_db


def open_loan(library, barcode):
    with tenant_context(library):
        return Loan.objects.filter(item__barcode=barcode, ended_at__isnull=True).first()


def test_login_and_status(world, machine_for):
    machine = machine_for(world.machine.account.login, world.machine.password)
    answer = machine.send(machine.client.sip_sc_status_request())
    assert answer.startswith("98Y")
    assert fields_of(answer, "AO") == [world.alpha.isil]
    assert fields_of(answer, "AM") == [world.alpha.name]
    assert fields_of(answer, "AN") == [world.main.code]
    supported = fields_of(answer, "BX")[0]
    assert supported == "YYYNYYYYYYYNNYYY"


def test_wrong_machine_password_is_refused_and_nothing_else_answers(world, machine_for):
    machine = machine_for()
    answer = machine.login(world.machine.account.login, "not-the-password")
    assert answer["fixed"]["Ok"] == "0"
    # Not logged in: a checkout is not even looked at (resend request), the status says off-line.
    machine.patron(world.members["anna"].card_number, PIN)
    assert machine.send(machine.client.sip_checkout_request(world.items[5].barcode)).startswith("96")
    assert machine.send(machine.client.sip_sc_status_request()).startswith("98N")
    assert open_loan(world.alpha, world.items[5].barcode) is None


def test_a_whole_visit(world, machine_for):
    anna = world.members["anna"]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(anna.card_number, PIN)

    # Patron status: valid, right PIN, her name (audited as this machine).
    status = machine.send(machine.client.sip_patron_status_request())
    assert status.startswith("24" + " " * 14)
    assert fields_of(status, "BL") == ["Y"] and fields_of(status, "CQ") == ["Y"]
    assert fields_of(status, "AE") == [anna.full_name]
    machine_ref = f"machine:{world.machine.account.pk}@{world.main.pk}"
    with tenant_context(world.alpha):
        assert AuditEntry.objects.filter(member_id_ref=anna.pk, actor_ref=machine_ref,
                                         detail__screen="sip2_patron_status").exists()

    # Checkout: ok, desensitize, due date in the SIP2 format.
    item = world.items[0]
    answer = machine.send(machine.client.sip_checkout_request(item.barcode))
    assert answer[2:6] == "1NNY", answer
    loan = open_loan(world.alpha, item.barcode)
    assert loan is not None and loan.member_id == anna.pk and loan.actor_ref == machine_ref
    assert fields_of(answer, "AH") == [f"{loan.due_on:%Y%m%d}    235959"]
    assert fields_of(answer, "AJ") == [world.titles[0].title]

    # Patron information with the charged items.
    info = machine.send(machine.client.sip_patron_information_request("charged"))
    assert info.startswith("64")
    assert info[37 + 8:37 + 12] == "0001"  # charged items count
    assert fields_of(info, "AU") == [item.barcode]

    # Checkout again with renewal allowed: a renewal (renewal ok Y) -- not possible on the same day
    # (the due date would not move), so the machine gets the service's reason.
    again = machine.send(machine.client.sip_checkout_request(item.barcode, scRenewalPolicy="Y"))
    assert again[2:4] == "0Y"
    assert fields_of(again, "AF")
    # Without the renewal policy the machine is told it already has it.
    again = machine.send(machine.client.sip_checkout_request(item.barcode, scRenewalPolicy="N"))
    assert again[2] == "0"
    assert "al" in fields_of(again, "AF")[0]

    # Renew (29): the same reason the desk gets.
    renewal = machine.send(machine.client.sip_renew_request(item.barcode))
    assert renewal.startswith("300")
    assert fields_of(renewal, "AF")

    # Checkin at its home branch: back on the shelf, resensitize, no alert.
    back = machine.send(machine.client.sip_checkin_request(item.barcode))
    assert back[2:6] == "1YNN", back
    assert fields_of(back, "CL") == ["shelf"]
    assert fields_of(back, "CT") == [world.main.code]
    assert open_loan(world.alpha, item.barcode) is None

    # End the session: the next message needs the PIN again (it is not remembered).
    end = machine.send(machine.client.sip_end_patron_session_request())
    assert end.startswith("36Y")


def test_checkin_routing_for_the_sorting_machine(world, machine_for):
    machine = machine_for(world.machine_nopin.account.login, world.machine_nopin.password)
    # Owned by the other branch: transit home (alert 04, destination the other branch).
    other = world.other_items[0]
    answer = machine.send(machine.client.sip_checkin_request(other.barcode))
    assert answer[2] == "1" and answer[5] == "Y", answer
    assert fields_of(answer, "CL") == ["transit"]
    assert fields_of(answer, "CV") == ["04"]
    assert fields_of(answer, "CT") == [world.other.code]
    # A title bert holds for pickup here: the hold shelf here (alert 01), his card for the slip.
    here = world.hold_here[0]
    answer = machine.send(machine.client.sip_checkin_request(here.barcode))
    assert fields_of(answer, "CL") == ["hold_shelf"]
    assert fields_of(answer, "CV") == ["01"]
    assert fields_of(answer, "CT") == [world.main.code]
    assert fields_of(answer, "CY") == [world.members["bert"].card_number]
    assert world.members["bert"].full_name not in answer  # no name on a machine
    # A title cora holds for pickup at the other branch: transit to it (alert 02).
    there = world.hold_there[0]
    answer = machine.send(machine.client.sip_checkin_request(there.barcode))
    assert fields_of(answer, "CL") == ["hold_transit"]
    assert fields_of(answer, "CV") == ["02"]
    assert fields_of(answer, "CT") == [world.other.code]
    with tenant_context(world.alpha):
        assert Item.objects.get(pk=here.pk).status == ItemStatus.ON_HOLD_SHELF
        assert Item.objects.get(pk=there.pk).status == ItemStatus.IN_TRANSIT
        assert Hold.objects.get(member=world.members["bert"], title_id=here.title_id).status == HoldStatus.READY
    # Item information of the copy on the hold shelf: status 08, the queue, the pickup date.
    info = machine.send(machine.client.sip_item_information_request(here.barcode))
    assert info[2:4] == "08"
    assert fields_of(info, "CF") == ["1"]
    assert fields_of(info, "CM")


def test_wrong_pin_and_lock_out(world, machine_for):
    cora = world.members["cora"]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(cora.card_number, "9999")
    status = machine.send(machine.client.sip_patron_status_request())
    assert fields_of(status, "BL") == ["Y"] and fields_of(status, "CQ") == ["N"]
    assert fields_of(status, "AE") == [""]  # no name without the right PIN
    assert status[2:6] == "YYYY"
    refused = machine.send(machine.client.sip_checkout_request(world.items[1].barcode))
    assert refused[2] == "0"
    assert open_loan(world.alpha, world.items[1].barcode) is None
    for _ in range(4):
        machine.send(machine.client.sip_patron_status_request())
    # Locked now: the right PIN is refused too, as in the OPAC.
    machine.patron(cora.card_number, PIN)
    locked = machine.send(machine.client.sip_patron_status_request())
    assert fields_of(locked, "CQ") == ["N"]
    assert any("geblokkeerd" in text or "vergrendeld" in text or "tot" in text for text in fields_of(locked, "AF"))


def test_fee_acknowledged_and_fee_paid(world, machine_for):
    erik = world.members["erik"]
    dvd = world.dvds[0]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(erik.card_number, PIN)
    first = machine.send(machine.client.sip_checkout_request(dvd.barcode, feeAcknowledged="N"))
    assert first[2] == "0"
    assert fields_of(first, "BT") == ["06"] and fields_of(first, "BV") == ["1.00"]
    assert open_loan(world.alpha, dvd.barcode) is None
    second = machine.send(machine.client.sip_checkout_request(dvd.barcode, feeAcknowledged="Y"))
    assert second[2] == "1", second
    assert fields_of(second, "BV") == ["1.00"]
    with tenant_context(world.alpha):
        assert LedgerEntry.objects.filter(member=erik, kind=LedgerEntry.Kind.CHARGE,
                                          charge_type=LedgerEntry.ChargeType.LOAN_FEE).count() == 1
    info = machine.send(machine.client.sip_patron_information_request("fine"))
    assert fields_of(info, "BV") == ["1.00"]
    assert len(fields_of(info, "AV")) == 1
    # Pay it (cash); sent twice with the same transaction id, recorded once.
    message = machine.client.sip_fee_paid_request(6, 0, "1.00", transactionId="KASSA-77")
    paid = machine.send(message)
    assert paid.startswith("38Y"), paid
    assert machine.send(machine.client.sip_fee_paid_request(6, 0, "1.00", transactionId="KASSA-77"))[2] == "Y"
    with tenant_context(world.alpha):
        payments = LedgerEntry.objects.filter(member=erik, kind=LedgerEntry.Kind.PAYMENT)
        assert payments.count() == 1
        assert payments.get().actor_ref.startswith(f"machine:{world.machine.account.pk}@")
    # A bad amount is refused and records nothing.
    bad = machine.send(machine.client.sip_fee_paid_request(6, 0, "1,0x", transactionId="KASSA-78"))
    assert bad.startswith("38N")
    machine.send(machine.client.sip_checkin_request(dvd.barcode))


def test_hold_place_and_cancel(world, machine_for):
    anna = world.members["anna"]
    copy = world.holdable[0]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(anna.card_number, PIN)
    placed = machine.send(machine.client.sip_hold_request("+", itemIdentifier=copy.barcode))
    assert placed.startswith("161"), placed
    with tenant_context(world.alpha):
        hold = Hold.objects.get(member=anna, title_id=copy.title_id, status__in=["waiting", "ready", "in_transit"])
        assert hold.pickup_branch_id == world.main.pk
    again = machine.send(machine.client.sip_hold_request("+", itemIdentifier=copy.barcode))
    assert again.startswith("160")  # already reserved: the service's reason
    cancelled = machine.send(machine.client.sip_hold_request("-", itemIdentifier=copy.barcode))
    assert cancelled.startswith("161")
    with tenant_context(world.alpha):
        assert Hold.objects.get(pk=hold.pk).status == HoldStatus.CANCELLED


def test_blocked_member_status_bits(world, machine_for):
    dirk = world.members["dirk"]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(dirk.card_number, PIN)
    status = machine.send(machine.client.sip_patron_status_request())
    assert status[2:6] == "YYYY"
    assert fields_of(status, "BL") == ["Y"]
    assert any("Boek kwijt" in text for text in fields_of(status, "AF"))
    refused = machine.send(machine.client.sip_checkout_request(world.items[2].barcode))
    assert refused[2] == "0"
    assert open_loan(world.alpha, world.items[2].barcode) is None


def test_offline_checkin_uses_the_return_date(world, machine_for):
    bert = world.members["bert"]
    item = world.items[3]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(bert.card_number, PIN)
    assert machine.send(machine.client.sip_checkout_request(item.barcode))[2] == "1"
    returned = timezone.now() - datetime.timedelta(hours=2)
    answer = machine.send(machine.client.sip_checkin_request(item.barcode, returnDate=returned.timestamp(),
                                                             noBlock="Y"))
    assert answer[2] == "1"
    with tenant_context(world.alpha):
        loan = Loan.objects.filter(item__barcode=item.barcode).order_by("-pk").first()
    assert abs((loan.ended_at - returned).total_seconds()) < 2


def test_a_retransmitted_message_is_answered_again_not_done_twice(world, machine_for):
    """A machine that missed an answer sends the same message (same sequence number) again."""
    bert = world.members["bert"]
    item = world.items[6]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(bert.card_number, PIN)
    message = machine.client.sip_checkout_request(item.barcode, scRenewalPolicy="Y").encode()
    first = machine.raw(message)
    second = machine.raw(message)
    assert first == second and first[2:3] == b"1"
    with tenant_context(world.alpha):
        loans = Loan.objects.filter(item__barcode=item.barcode)
        assert loans.count() == 1 and loans.get().renewals == 0
    message = machine.client.sip_fee_paid_request(6, 0, "0.50", transactionId="").encode()
    assert machine.raw(message) == machine.raw(message)
    with tenant_context(world.alpha):
        assert LedgerEntry.objects.filter(member=bert, kind=LedgerEntry.Kind.PAYMENT).count() == 1
    machine.send(machine.client.sip_checkin_request(item.barcode))


def test_renew_all_resend_and_cr_lf(world, machine_for):
    anna = world.members["anna"]
    item = world.items[7]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(anna.card_number, PIN)
    lent = machine.send(machine.client.sip_checkout_request(item.barcode))
    assert lent[2] == "1"
    # 97: the last answer again, as it was.
    assert machine.send(machine.client.sip_sc_resend_request()) == lent
    # 65: every loan on its own; lent today, so none can be renewed yet (the service's reason).
    everything = machine.send(machine.client.sip_renew_all_request())
    assert everything.startswith("661" + "0000") and everything[7:11] == "0001", everything
    assert fields_of(everything, "BN") == [item.barcode]
    # CR LF ends a message as well as CR.
    status = machine.raw(machine.client.sip_sc_status_request().encode() + b"\n")
    assert status.startswith(b"98Y")
    machine.send(machine.client.sip_checkin_request(item.barcode))


def test_no_block_checkout_of_an_offline_loan(world, machine_for):
    """A loan the machine made while LSB was out of reach (no block, with its due date):
    recorded even though the member is blocked now, the refusal logged as an exception."""
    dirk = world.members["dirk"]
    item = world.items[2]
    machine = machine_for(world.machine.account.login, world.machine.password)
    machine.patron(dirk.card_number, PIN)
    due = (timezone.localdate() + datetime.timedelta(days=14))
    due_moment = timezone.make_aware(datetime.datetime.combine(due, datetime.time(12, 0)))
    answer = machine.send(machine.client.sip_checkout_request(item.barcode, nbDueDate=due_moment.timestamp(),
                                                              noBlock="Y"))
    assert answer[2] == "1", answer
    with tenant_context(world.alpha):
        from circulation.models import CirculationEvent

        loan = Loan.objects.get(item__barcode=item.barcode, ended_at__isnull=True)
        assert loan.member_id == dirk.pk and loan.due_on == due and loan.override_reason
        assert CirculationEvent.objects.filter(loan=loan, kind=CirculationEvent.Kind.OVERRIDE).exists()
    assert machine.send(machine.client.sip_checkin_request(item.barcode))[2] == "1"
