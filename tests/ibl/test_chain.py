"""The whole interlibrary-loan chain through the services, inside a province (alpha
asks beta, both BiSC) and between provinces (gamma, Probiblio, asks beta): request,
the lender chosen from the holdings index and asked through the outbox, sent
(a loan to the requesting library in the lender's schema), the legs scanned at
the hubs, received onto the member's hold shelf with the notice, lent, renewed
(the lender answers at once and renews its own loan), taken back, the return legs,
home at the lender: the request complete and the copy available again."""

import datetime

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation.models import Hold, HoldStatus, Loan
from circulation.services.loans import checkin, checkout, renew
from collection.models import Item, ItemStatus
from core.actors import Actor
from ibl.models import Ask, IblRequest, Leg, RequestState, RunKind, Scope
from ibl.services.arrival import ibl_receive
from ibl.services.requests import ibl_request_create
from ibl.services.sending import ibl_send
from ibl.services.transport import hub_scan
from members.models import LedgerEntry
from notices.models import Notice
from tenants.models import ItemIndex

from .conftest import first_branch

pytestmark = pytest.mark.django_db


def request_for(world, requester, member):
    with tenant_context(requester):
        return ibl_request_create(actor=Actor.member(member.pk, requester), member_id=member.pk,
                                  title_id=world.title.pk, pickup_branch_id=first_branch(requester).pk)


def test_a_request_inside_the_province_goes_all_the_way_and_back(ibl_world):
    world = ibl_world
    alpha, beta = world.alpha, world.beta
    barcode = world.beta_copy.barcode
    assert ItemIndex.objects.filter(barcode=barcode, organisation=beta).exists()

    request = request_for(world, alpha, world.member)
    request.refresh_from_db()
    assert (request.state, request.lender_id, request.scope) == (RequestState.ASKED, beta.pk, Scope.PROVINCE)
    assert request.expected_on is not None
    world.deliver()
    with tenant_context(beta):
        hold = Hold.objects.get(borrowing_library_id=alpha.pk, borrowing_library_ref=request.reference)
        assert hold.status == HoldStatus.WAITING

        sent = ibl_send(actor=world.desk(beta), barcode=barcode)
        loan = Loan.objects.get(pk=sent.loan.pk)
        assert (loan.borrower_kind, loan.borrowing_library_id, loan.borrowing_library_ref) == (
            "library", alpha.pk, request.reference)
        assert Item.objects.get(barcode=barcode).status == ItemStatus.ON_INTERLIBRARY_LOAN
        assert Hold.objects.get(pk=hold.pk).status == HoldStatus.FULFILLED
    connection.set_schema_to_public()
    world.deliver()
    request.refresh_from_db()
    assert request.state == RequestState.SENT
    legs = list(request.legs.order_by("sequence"))
    hub = world.hubs["bisc"]
    assert [(leg.mode, leg.from_branch_id, leg.to_hub_id, leg.from_hub_id, leg.to_branch_id) for leg in legs] == [
        (RunKind.VAN, sent.loan.branch_id, hub.pk, None, None),
        (RunKind.VAN, None, None, hub.pk, first_branch(alpha).pk),
    ]
    assert legs[0].state == Leg.State.IN_TRANSIT and legs[0].scanned_out_at is not None
    assert request.expected_on == legs[-1].planned_arrival_on
    assert Ask.objects.get(request=request).outcome == Ask.Outcome.SENT

    # At the hub: in, sorted into the crate for alpha, the crate out.
    sorted_ = hub_scan(actor=world.hub_actor(hub), hub=hub, code=barcode)
    assert sorted_.code == "ibl.sign_crate" and alpha.name.upper() in sorted_.message
    crate = sorted_.crate
    out = hub_scan(actor=world.hub_actor(hub), hub=hub, code=crate.code)
    assert (out.code, out.count) == ("ibl.sign_crate_sent", 1)
    legs = list(request.legs.order_by("sequence"))
    assert [leg.state for leg in legs] == [Leg.State.ARRIVED, Leg.State.IN_TRANSIT]

    # The requesting desk receives it: on the hold shelf for the member, with the notice and the fee.
    with tenant_context(alpha):
        received = ibl_receive(actor=world.desk(alpha), barcode=barcode)
        assert received.route == "hold_shelf"
        standin = Item.objects.get(barcode=barcode)
        assert standin.ibl_owner_id == beta.pk and standin.status == ItemStatus.ON_HOLD_SHELF
        ready = Hold.objects.get(member=world.member, item=standin)
        assert ready.status == HoldStatus.READY
        assert Notice.objects.filter(member=world.member, kind="hold_ready").count() == 1
        assert not Holding.objects.filter(organisation=alpha, title=world.title).exists()

        lent = checkout(actor=world.desk(alpha), card_number=world.member.card_number, barcode=barcode)
        assert lent.fee_cents == 0
        request.refresh_from_db()
        assert request.state == RequestState.LENT
        assert lent.loan.due_on < request.lender_due_on

        # Two weeks on, the member renews: the lender answers at once by its rules.
        later = lent.loan.due_on - datetime.timedelta(days=2)
        renewed = renew(actor=Actor.member(world.member.pk, alpha), loan_id=lent.loan.pk, today=later)
        assert renewed.due_on > lent.loan.due_on
    connection.set_schema_to_public()
    world.deliver()
    with tenant_context(beta):
        assert Loan.objects.get(pk=sent.loan.pk).renewals == 1
    with tenant_context(alpha):
        back = checkin(actor=world.desk(alpha), barcode=barcode)
        assert back.route == "ibl_return"
        assert beta.name.upper() in back.message
        assert Item.objects.get(barcode=barcode).status == ItemStatus.WITHDRAWN
    connection.set_schema_to_public()
    world.deliver()
    request.refresh_from_db()
    assert request.state == RequestState.RETURNING
    back_legs = list(request.legs.filter(direction=Leg.Direction.BACK).order_by("sequence"))
    assert [leg.to_branch_id for leg in back_legs] == [None, sent.loan.branch_id]

    sorted_ = hub_scan(actor=world.hub_actor(hub), hub=hub, code=barcode)
    hub_scan(actor=world.hub_actor(hub), hub=hub, code=sorted_.crate.code)
    with tenant_context(beta):
        home = ibl_receive(actor=world.desk(beta), barcode=barcode)
        assert "afgerond" in " ".join(home.note_texts)
        copy = Item.objects.get(barcode=barcode)
        assert copy.status == ItemStatus.AVAILABLE
        assert Loan.objects.get(pk=sent.loan.pk).ended_at is not None
    connection.set_schema_to_public()
    request.refresh_from_db()
    assert request.state == RequestState.COMPLETED
    assert all(leg.state == Leg.State.ARRIVED for leg in request.legs.all())
    assert Holding.objects.get(organisation=beta, title=world.title).available == 1


def test_between_provinces_the_night_carrier_takes_it_from_hub_to_hub(ibl_world):
    world = ibl_world
    gamma, beta = world.gamma, world.beta
    with tenant_context(gamma):
        from tests.members.factories import make_member

        from .conftest import PAID_UNTIL

        member = make_member(card_number="IBLG0001", paid_until=PAID_UNTIL)
    request = request_for(world, gamma, member)
    request.refresh_from_db()
    assert (request.lender_id, request.scope) == (beta.pk, Scope.OTHER_PROVINCE)
    world.deliver()
    with tenant_context(beta):
        ibl_send(actor=world.desk(beta), barcode=world.beta_copy.barcode)
    connection.set_schema_to_public()
    world.deliver()
    legs = list(IblRequest.objects.get(pk=request.pk).legs.order_by("sequence"))
    bisc, probiblio = world.hubs["bisc"], world.hubs["probiblio"]
    assert [(leg.mode, leg.from_hub_id, leg.to_hub_id) for leg in legs] == [
        (RunKind.VAN, None, bisc.pk), (RunKind.CARRIER, bisc.pk, probiblio.pk), (RunKind.VAN, probiblio.pk, None)]
    assert legs[1].planned_arrival_on > legs[1].planned_on

    code = world.beta_copy.barcode
    first = hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=code)
    assert first.crate.to_hub_id == probiblio.pk
    hub_scan(actor=world.hub_actor(bisc), hub=bisc, code=first.crate.code)
    arrived = hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=first.crate.code)
    assert arrived.code == "ibl.sign_crate_arrived"
    second = hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=code)
    assert second.crate.to_branch_id == first_branch(gamma).pk
    hub_scan(actor=world.hub_actor(probiblio), hub=probiblio, code=second.crate.code)
    with tenant_context(gamma):
        received = ibl_receive(actor=world.desk(gamma), barcode=code)
        assert received.hold.member_id == member.pk
    connection.set_schema_to_public()
    assert [leg.state for leg in IblRequest.objects.get(pk=request.pk).legs.order_by("sequence")] == [
        Leg.State.ARRIVED] * 3


def test_the_member_pays_the_requesting_librarys_ibl_fee_when_it_arrives(ibl_world):
    from ibl.models import IblTerms

    world = ibl_world
    IblTerms.objects.create(organisation=world.alpha, request_fee_cents=350)
    request = request_for(world, world.alpha, world.member)
    assert request.fee_cents == 350
    world.deliver()
    with tenant_context(world.beta):
        ibl_send(actor=world.desk(world.beta), barcode=world.beta_copy.barcode)
    world.deliver()
    with tenant_context(world.alpha):
        ibl_receive(actor=world.desk(world.alpha), barcode=world.beta_copy.barcode)
        entries = list(LedgerEntry.objects.filter(member=world.member, reference=f"{request.reference}:fee")
                       .values_list("amount_cents", "charge_type"))
        assert entries == [(350, "reservation_fee")]
