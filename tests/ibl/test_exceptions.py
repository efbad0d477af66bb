"""What goes wrong between libraries, through the services: bad requests refused
(nothing changed), a lender that declines or does not answer (the next is asked,
its hold withdrawn), nobody left (the member is told, once), cancelling before and
after sending, a copy never collected, lost or damaged (which leg, whose cost), a
lender's recall, a parcel at the wrong hub or the wrong library, unknown parcels
and scans out of order, a lender's schema unreachable mid-step."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import Hold, HoldStatus, Loan
from circulation.services.holds import holds_expire
from circulation.services.loans import checkin, checkout, renew
from collection.models import Item, ItemStatus
from core.actors import Actor
from core.errors import error_codes
from ibl import outbox as ibl_outbox
from ibl.models import Ask, IblRequest, Leg, RequestState, Scan, Settlement
from ibl.services.arrival import ibl_receive
from ibl.services.exceptions import ibl_recall, ibl_report_loss
from ibl.services.requests import asks_expire, ibl_decline, ibl_request_cancel, ibl_request_create
from ibl.services.sending import ibl_send
from ibl.services.transport import hub_scan
from members.models import Block
from notices.models import Notice
from tenants.models import OutboxMessage
from tests.circulation.factories import make_items
from tests.members.factories import make_member
from tests.outbox import outbox_deliver_all

from .conftest import PAID_UNTIL, first_branch

pytestmark = pytest.mark.django_db


def ask(world, member=None, *, actor=None, override_reason="", title=None):
    member = member or world.member
    with tenant_context(world.alpha):
        request = ibl_request_create(actor=actor or Actor.member(member.pk, world.alpha), member_id=member.pk,
                                     title_id=(title or world.title).pk, pickup_branch_id=first_branch(world.alpha).pk,
                                     override_reason=override_reason)
    connection.set_schema_to_public()
    return IblRequest.objects.get(pk=request.pk)


def refused(call):
    before = (IblRequest.objects.count(), OutboxMessage.objects.count())
    with pytest.raises(ValidationError) as caught:
        call()
    # (The public tables are read from a library's schema too: it stays where it is.)
    assert (IblRequest.objects.count(), OutboxMessage.objects.count()) == before
    return error_codes(caught.value)


def gamma_copy(world):
    with tenant_context(world.gamma):
        [copy] = make_items(world.gamma, branch=first_branch(world.gamma), title=world.title)
    connection.set_schema_to_public()
    return copy


def sent(world, request=None):
    request = request or ask(world)
    world.deliver()
    with tenant_context(world.beta):
        ibl_send(actor=world.desk(world.beta), barcode=world.beta_copy.barcode)
    world.deliver()
    request.refresh_from_db()
    return request


def arrived(world):
    request = sent(world)
    with tenant_context(world.alpha):
        ibl_receive(actor=world.desk(world.alpha), barcode=world.beta_copy.barcode)
    connection.set_schema_to_public()
    request.refresh_from_db()
    return request


# --- requests refused ------------------------------------------------------------------

def test_bad_requests_are_refused_and_change_nothing(ibl_world):
    world = ibl_world
    with tenant_context(world.alpha):
        blocked = make_member(card_number="IBLA0009", paid_until=PAID_UNTIL)
        Block.objects.create(member=blocked, kind=Block.Kind.MANUAL, reason="Boek beschadigd")
    codes = refused(lambda: ask(world, blocked))
    assert codes[0] == "ibl.member_may_not_request" and "member.blocked_by_library" in codes

    from tests.factories import TitleFactory

    nobody = TitleFactory(title="Niemand heeft dit")
    assert refused(lambda: ask(world, title=nobody)) == ["ibl.no_lender"]
    ask(world)
    assert refused(lambda: ask(world)) == ["ibl.duplicate"]

    # A title alpha holds itself: the member reserves it; the desk may ask anyway, with a reason.
    with tenant_context(world.alpha):
        make_items(world.alpha, branch=first_branch(world.alpha), title=nobody)
        other = make_member(card_number="IBLA0010", paid_until=PAID_UNTIL)
    assert refused(lambda: ask(world, other, title=nobody)) == ["ibl.own_copy_holdable"]
    desk = world.desk(world.alpha)
    assert refused(lambda: ask(world, other, title=nobody, actor=desk)) == ["ibl.own_copy_holdable"]
    # (beta holds no copy of it: still nobody to lend.)
    assert refused(lambda: ask(world, other, title=nobody, actor=desk, override_reason="Eigen exemplaar kwijt")) == [
        "ibl.no_lender"]
    with tenant_context(world.beta):
        make_items(world.beta, branch=first_branch(world.beta), title=nobody)
    connection.set_schema_to_public()
    assert refused(lambda: ask(world, other, title=nobody, override_reason="wil het echt")) == [
        "ibl.override_not_allowed"]
    made = ask(world, other, title=nobody, actor=desk, override_reason="Eigen exemplaar kwijt")
    assert made.override_reason == "Eigen exemplaar kwijt" and made.lender_id == world.beta.pk


# --- lenders that cannot or do not answer ------------------------------------------------

def test_a_decline_moves_the_request_to_the_next_lender(ibl_world):
    world = ibl_world
    gamma_copy(world)
    request = ask(world)
    assert request.lender_id == world.beta.pk  # in the province first
    world.deliver()
    with tenant_context(world.beta):
        assert refused(lambda: ibl_decline(actor=world.desk(world.beta), request_id=request.pk,
                                           reason="robot")) == ["ibl.decline_reason_unknown"]
        ibl_decline(actor=world.desk(world.beta), request_id=request.pk, reason=Ask.Reason.DAMAGED)
        assert not Hold.objects.filter(borrowing_library_ref=request.reference, status="waiting").exists()
    world.deliver()
    request.refresh_from_db()
    assert (request.state, request.lender_id) == (RequestState.ASKED, world.gamma.pk)
    assert list(request.asks.order_by("pk").values_list("lender__slug", "outcome", "reason")) == [
        ("beta", "declined", "damaged"), ("gamma", "pending", "")]
    with tenant_context(world.gamma):
        assert Hold.objects.get(borrowing_library_ref=request.reference).status == HoldStatus.WAITING
    connection.set_schema_to_public()
    # Beta cannot send it any more.
    with tenant_context(world.beta):
        assert refused(lambda: ibl_send(actor=world.desk(world.beta), barcode=world.beta_copy.barcode)) == [
            "ibl.send_no_request"]


def test_a_lender_that_does_not_answer_in_time_is_passed_over_and_its_hold_withdrawn(ibl_world):
    world = ibl_world
    gamma_copy(world)
    request = ask(world)
    world.deliver()
    assert asks_expire() == []  # not yet
    later = timezone.now() + datetime.timedelta(days=10)
    assert asks_expire(now=later) == [request.pk]
    assert asks_expire(now=later) == []  # once
    world.deliver()
    request.refresh_from_db()
    assert request.lender_id == world.gamma.pk
    assert Ask.objects.get(request=request, lender=world.beta).outcome == Ask.Outcome.TIMED_OUT
    with tenant_context(world.beta):
        assert Hold.objects.get(borrowing_library_ref=request.reference).status == HoldStatus.CANCELLED


def test_with_no_lender_left_the_member_is_told_once(ibl_world):
    world = ibl_world
    request = ask(world)
    world.deliver()
    with tenant_context(world.beta):
        ibl_decline(actor=world.desk(world.beta), request_id=request.pk, reason=Ask.Reason.NOT_ON_SHELF)
    world.deliver()
    world.deliver()
    request.refresh_from_db()
    assert request.state == RequestState.UNFILLED and request.ended_at is not None
    with tenant_context(world.alpha):
        notices = list(Notice.objects.filter(member=world.member, kind="ibl_unfilled"))
        assert len(notices) == 1 and "Het verre boek" in notices[0].body


def test_cancelled_before_sending_the_lenders_hold_is_withdrawn_after_sending_it_is_too_late(ibl_world):
    world = ibl_world
    request = ask(world)
    world.deliver()
    with tenant_context(world.alpha):
        ibl_request_cancel(actor=Actor.member(world.member.pk, world.alpha), request_id=request.pk)
    world.deliver()
    with tenant_context(world.beta):
        assert Hold.objects.get(borrowing_library_ref=request.reference).status == HoldStatus.CANCELLED
    connection.set_schema_to_public()
    second = sent(world, ask(world))
    with tenant_context(world.alpha):
        assert refused(lambda: ibl_request_cancel(actor=Actor.member(world.member.pk, world.alpha),
                                                  request_id=second.pk)) == ["ibl.cancel_too_late"]


def test_a_lenders_schema_unreachable_mid_step_is_tried_again_and_done_once(ibl_world, monkeypatch):
    world = ibl_world
    calls = []
    real = ibl_outbox.lender_hold

    def flaky(*, actor, payload):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real(actor=actor, payload=payload)

    from tenants import outbox as tenants_outbox

    monkeypatch.setitem(tenants_outbox._HANDLERS, "ibl.lender_hold",
                        tenants_outbox.Handler("ibl.lender_hold", flaky, "test"))
    request = ask(world)
    first = outbox_deliver_all()
    assert first[0].state == "pending" and first[0].retry_in
    message = OutboxMessage.objects.get(dedupe_key=f"ibl:{request.pk}:hold:{world.beta.pk}")
    OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())
    outbox_deliver_all()
    outbox_deliver_all()
    with tenant_context(world.beta):
        assert Hold.objects.filter(borrowing_library_ref=request.reference).count() == 1
    connection.set_schema_to_public()
    assert OutboxMessage.objects.get(pk=message.pk).state == "done"


# --- at the requesting library ------------------------------------------------------------

def test_a_copy_never_collected_goes_home(ibl_world):
    world = ibl_world
    request = arrived(world)
    with tenant_context(world.alpha):
        hold = Hold.objects.get(member=world.member, status=HoldStatus.READY)
        holds_expire(actor=Actor.system("nightly", world.alpha), today=hold.shelf_until + datetime.timedelta(days=1))
        result = checkin(actor=world.desk(world.alpha), barcode=world.beta_copy.barcode)
        assert result.route == "ibl_return"
        assert "Niet opgehaald" in " ".join(result.note_texts)
    connection.set_schema_to_public()
    request.refresh_from_db()
    assert (request.state, request.not_collected) == (RequestState.RETURNING, True)


def test_a_recall_shortens_the_members_loan_and_stops_renewals(ibl_world):
    world = ibl_world
    request = arrived(world)
    with tenant_context(world.alpha):
        loan = checkout(actor=world.desk(world.alpha), card_number=world.member.card_number,
                        barcode=world.beta_copy.barcode).loan
    with tenant_context(world.beta):
        ibl_recall(actor=world.desk(world.beta), request_id=request.pk, reason="Eigen lid wacht")
        assert refused(lambda: ibl_recall(actor=world.desk(world.beta), request_id=request.pk)) == [
            "ibl.recall_already"]
    world.deliver()
    with tenant_context(world.alpha):
        shortened = Loan.objects.get(pk=loan.pk)
        assert shortened.due_on <= timezone.localdate() + datetime.timedelta(days=7) < loan.due_on
        with pytest.raises(ValidationError) as caught:
            renew(actor=Actor.member(world.member.pk, world.alpha), loan_id=loan.pk,
                  today=shortened.due_on - datetime.timedelta(days=1))
        assert error_codes(caught.value) == ["ibl.renewal_recalled"]


# --- lost and damaged: on which leg, whose cost ---------------------------------------------

def test_lost_with_the_night_carrier_the_carrier_pays_and_the_lenders_loan_ends_lost(ibl_world):
    world = ibl_world
    with tenant_context(world.gamma):
        member = make_member(card_number="IBLG0002", paid_until=PAID_UNTIL)
        request = ibl_request_create(actor=Actor.member(member.pk, world.gamma), member_id=member.pk,
                                     title_id=world.title.pk, pickup_branch_id=first_branch(world.gamma).pk)
    request = sent(world, IblRequest.objects.get(pk=request.pk))
    bisc = world.hubs["bisc"]
    crate = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=world.beta_copy.barcode).crate
    hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=crate.code)  # with the carrier now
    probiblio = world.hubs["probiblio"]
    settlement = ibl_report_loss(actor=world.hub_actor(probiblio), request_id=request.pk, kind="lost",
                                 note="Niet in de krat bij aankomst")
    assert (settlement.payer_party, settlement.payee_id, settlement.amount_cents) == ("carrier", world.beta.pk, 2500)
    request.refresh_from_db()
    assert request.state == RequestState.LOST
    assert list(request.legs.order_by("sequence").values_list("state", flat=True)) == [
        Leg.State.ARRIVED, Leg.State.LOST, Leg.State.CANCELLED]
    world.deliver()
    with tenant_context(world.beta):
        loan = Loan.objects.get(pk=request.lender_loan_id)
        assert loan.ending == Loan.Ending.LOST
        assert Item.objects.get(barcode=world.beta_copy.barcode).status == ItemStatus.MISSING
    connection.set_schema_to_public()
    # Reporting it again is refused: it is no longer on its way.
    assert refused(lambda: ibl_report_loss(actor=world.hub_actor(probiblio), request_id=request.pk,
                                           kind="lost")) == ["ibl.loss_not_now"]


def test_damaged_at_the_requesting_library_it_pays_and_the_stand_in_leaves(ibl_world):
    world = ibl_world
    request = arrived(world)
    # Another library's staff may not report it.
    with tenant_context(world.gamma):
        assert refused(lambda: ibl_report_loss(actor=world.desk(world.gamma), request_id=request.pk,
                                               kind="damaged")) == ["ibl.loss_not_allowed"]
    with tenant_context(world.alpha):
        settlement = ibl_report_loss(actor=world.desk(world.alpha), request_id=request.pk, kind="damaged",
                                     note="Waterschade")
    assert (settlement.payer_party, settlement.payer_id) == (Settlement.Party.LIBRARY, world.alpha.pk)
    world.deliver()
    with tenant_context(world.alpha):
        assert Item.objects.get(barcode=world.beta_copy.barcode).status == ItemStatus.WITHDRAWN
        assert Hold.objects.get(member=world.member, item__barcode=world.beta_copy.barcode).status == "cancelled"


# --- wrong places, unknown parcels ---------------------------------------------------------

def test_a_parcel_at_the_wrong_hub_is_rerouted_and_logged(ibl_world):
    world = ibl_world
    request = sent(world)
    probiblio = world.hubs["probiblio"]
    result = hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=world.beta_copy.barcode)
    assert result.code == "ibl.sign_crate_rerouted"
    legs = list(request.legs.order_by("sequence"))
    assert legs[0].state == Leg.State.REROUTED and "Verkeerd" in legs[0].note
    assert legs[1].from_hub_id == probiblio.pk and legs[1].to_hub_id == world.hubs["bisc"].pk
    assert legs[-1].to_branch_id == first_branch(world.alpha).pk
    assert "Verkeerd sorteercentrum" in " ".join(request.events.values_list("detail", flat=True))


def test_unknown_parcels_and_copies_out_of_order_are_refused_and_recorded(ibl_world):
    world = ibl_world
    bisc = world.hubs["bisc"]
    assert refused(lambda: hub_scan(actor=world.hub_actor(bisc), hub=bisc, code="ONBEKEND01")) == [
        "ibl.scan_unknown"]
    assert Scan.objects.filter(hub=bisc, code="ONBEKEND01", outcome="ibl.scan_unknown").exists()
    request = arrived(world)  # at alpha's hold shelf: not in transport
    assert refused(lambda: hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=world.beta_copy.barcode)) == [
        "ibl.scan_not_in_transport"]
    assert request.legs.filter(state=Leg.State.ARRIVED).count() == 2


def test_a_copy_handed_in_at_the_wrong_library_says_whose_it_is(ibl_world):
    world = ibl_world
    request = sent(world)
    with tenant_context(world.gamma):
        codes = refused(lambda: ibl_receive(actor=world.desk(world.gamma), barcode=world.beta_copy.barcode))
        assert codes == ["ibl.receive_wrong_library"]
        with pytest.raises(ValidationError) as caught:
            checkin(actor=world.desk(world.gamma), barcode=world.beta_copy.barcode)
        assert error_codes(caught.value) == ["scan.item_of_other_library"]
        assert world.beta.name in caught.value.messages[0]
    connection.set_schema_to_public()
    assert Scan.objects.filter(request=request, outcome="ibl.receive_wrong_library").exists()
