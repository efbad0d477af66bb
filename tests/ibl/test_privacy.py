"""Personal data never leaves the requesting library's schema: after a whole
interlibrary loan (asked, sent, through the hub, received, lent, renewed, taken
back, home) and a second request lost on its way, every row of the shared schema's
IBL tables (with the outbox messages and the national item index) and every row of
every table in the lender's schema is read as text, and none holds the member's
name, card number, address or e-mail. The requesting library does hold them (the
scan finds them there, so it would find them elsewhere)."""

import datetime

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from circulation.services.loans import checkin, checkout, renew
from core.actors import Actor
from ibl.services.arrival import ibl_receive
from ibl.services.exceptions import ibl_report_loss
from ibl.services.requests import ibl_request_create
from ibl.services.sending import ibl_send
from ibl.services.transport import hub_scan
from tests.circulation.factories import make_items
from tests.factories import TitleFactory

from .conftest import first_branch

pytestmark = pytest.mark.django_db


def rows_as_text(schema, table_filter):
    """Every row of the matching tables of `schema` as JSON text."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_type = 'BASE TABLE'", [schema])
        tables = [name for (name,) in cursor.fetchall() if table_filter(name)]
        texts = []
        for table in tables:
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" AS t')
            texts.extend(f"{table}: {row}" for (row,) in cursor.fetchall())
    return tables, texts


def personal(member):
    return [member.first_name, member.last_name, member.card_number, member.street, member.postcode,
            member.email, member.full_name]


def test_no_personal_data_in_the_shared_ibl_tables_nor_at_the_lender(ibl_world):
    world = ibl_world
    alpha, beta = world.alpha, world.beta
    member = world.member
    pickup = first_branch(alpha).pk
    with tenant_context(alpha):
        request = ibl_request_create(actor=Actor.member(member.pk, alpha), member_id=member.pk,
                                     title_id=world.title.pk, pickup_branch_id=pickup)
    world.deliver()
    with tenant_context(beta):
        ibl_send(actor=world.desk(beta), barcode=world.beta_copy.barcode)
    world.deliver()
    hub = world.hubs["bisc"]
    crate = hub_scan(actor=world.hub_actor(hub), hub=hub, code=world.beta_copy.barcode).crate
    hub_scan(actor=world.hub_actor(hub), hub=hub, code=crate.code)
    with tenant_context(alpha):
        ibl_receive(actor=world.desk(alpha), barcode=world.beta_copy.barcode)
        loan = checkout(actor=world.desk(alpha), card_number=member.card_number, barcode=world.beta_copy.barcode).loan
        renew(actor=Actor.member(member.pk, alpha), loan_id=loan.pk, today=loan.due_on - datetime.timedelta(days=1))
    world.deliver()
    with tenant_context(alpha):
        checkin(actor=world.desk(alpha), barcode=world.beta_copy.barcode)
    world.deliver()
    crate = hub_scan(actor=world.hub_actor(hub), hub=hub, code=world.beta_copy.barcode).crate
    hub_scan(actor=world.hub_actor(hub), hub=hub, code=crate.code)
    with tenant_context(beta):
        ibl_receive(actor=world.desk(beta), barcode=world.beta_copy.barcode)
    # A second request, lost on its way (settlement, the lender's loan ended as lost).
    other_title = TitleFactory(title="Het zoekgeraakte boek")
    with tenant_context(beta):
        [copy] = make_items(beta, branch=first_branch(beta), title=other_title)
    with tenant_context(alpha):
        lost = ibl_request_create(actor=world.desk(alpha), member_id=member.pk, title_id=other_title.pk,
                                  pickup_branch_id=pickup)
    world.deliver()
    with tenant_context(beta):
        ibl_send(actor=world.desk(beta), barcode=copy.barcode)
    world.deliver()
    hub_scan(actor=world.hub_actor(hub), hub=hub, code=copy.barcode)
    ibl_report_loss(actor=world.hub_actor(hub), request_id=lost.pk, kind="lost")
    world.deliver()
    connection.set_schema_to_public()
    request.refresh_from_db()
    assert request.state == "completed"

    needles = personal(member)
    shared_tables, shared = rows_as_text("public", lambda name: name.startswith("ibl_")
                                         or name in ("tenants_outboxmessage", "tenants_itemindex"))
    assert {"ibl_iblrequest", "ibl_leg", "ibl_iblevent", "ibl_ask", "ibl_scan", "ibl_settlement",
            "tenants_outboxmessage"} <= set(shared_tables)
    assert len(shared) > 30
    found = [(needle, row) for needle in needles for row in shared if needle and needle in row]
    assert found == []

    lender_tables, lender = rows_as_text(beta.schema_name, lambda name: True)
    assert {"circulation_loan", "circulation_hold", "collection_item"} <= set(lender_tables)
    assert any(request.reference in row for row in lender)  # the lender knows the request, not the member
    found = [(needle, row) for needle in needles for row in lender if needle and needle in row]
    assert found == []

    # The scan does find them where they belong: at the requesting library.
    _tables, requester = rows_as_text(alpha.schema_name, lambda name: name == "members_member")
    assert any(member.card_number in row and member.street in row for row in requester)
