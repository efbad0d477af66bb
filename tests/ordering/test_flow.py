"""The acquisitions flow through the services: order list -> send (commitments,
EDIFACT ORDERS) -> order response -> partial receipt into items in processing ->
available and lendable at the desk -> invoice registered and approved (committed
moves to spent) -> journal."""

import pytest
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation.services.loans import checkout
from collection.models import Item, ItemStatus
from collection.services import item_processing_done
from core.actors import Actor
from ordering import edifact, selectors
from ordering.models import EdiMessage, FundEntry, OrderStatus, SupplierStatus
from ordering.services import edi, invoices, receipt
from tests.circulation.factories import make_rule
from tests.members.factories import make_member

from .conftest import BUYER_EAN, SUPPLIER_EAN, edifact_sample, fund_amounts, standard_order, today_plus

pytestmark = pytest.mark.django_db


def test_sending_commits_each_line_on_its_fund_and_writes_the_orders_message(acq):
    order = standard_order(acq, send=False)
    assert order.status == OrderStatus.DRAFT
    lines = selectors.order_lines(order)
    # 25 % off, rounded half up to the cent: 20.00 -> 15.00, 24.99 -> 18.74, 12.50 -> 9.38
    assert [line.unit_cost_cents for line in lines] == [1500, 1874, 938]
    assert selectors.order_total_cents(lines) == 3 * 1500 + 2 * 1874 + 938
    assert fund_amounts(acq.adult) == (300_000, 0, 0)

    from ordering.services.orders import order_send

    order_send(actor=acq.actor, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.ORDERED and order.expected_on == acq.today + __import__("datetime").timedelta(
        days=14)
    assert fund_amounts(acq.adult) == (300_000, 3 * 1500 + 2 * 1874, 0)
    assert fund_amounts(acq.youth) == (100_000, 938, 0)
    assert FundEntry.objects.filter(kind="commit").count() == 3

    message = EdiMessage.objects.get(order=order, kind="ORDERS")
    assert message.file_name == f"ORDERS_{order.number}.edi"
    text = message.content
    assert text.startswith("UNA:+.? '")
    assert f"UNB+UNOC:3+{BUYER_EAN}:14+{SUPPLIER_EAN}:14+" in text
    assert "UNH+ME" in text and "ORDERS:D:96A:UN:EAN008'" in text
    assert f"BGM+220+{order.number}+9'" in text
    assert f"NAD+BY+{BUYER_EAN}::9'" in text and f"NAD+SU+{SUPPLIER_EAN}::9'" in text
    assert "LIN+1++9789021416939:EN'" in text and "PIA+5+9789021416939:IB'" in text
    assert "IMD+L+050+:::De avonden'" in text and "IMD+L+009+:::Reve?, Gerard'" not in text
    assert "IMD+L+009+:::Reve, Gerard'" in text and "IMD+L+109+:::De Bezige Bij'" in text
    assert "QTY+21:3'" in text
    assert f"GIR+001+2:LQT+{acq.main.code}:LLO+VOLW:LFN+Romans:LSQ+book:LST'" in text
    assert f"GIR+002+1:LQT+{acq.other.code}:LLO+VOLW:LFN+Romans:LSQ+book:LST'" in text
    assert "PRI+AAE:20.00:CA'" in text and "PRI+AAE:24.99:CA'" in text
    assert f"RFF+LI:{order.number}/1'" in text and f"RFF+LI:{order.number}/3'" in text
    assert "UNS+S'" in text and "CNT+2:3'" in text and text.rstrip().endswith(f"UNZ+1+{order.pk:014d}'")


def test_the_orders_message_is_well_formed_edifact(acq):
    """The ORDERS message read back through pydifact and LSB's own strict reader:
    envelope, segment count in UNT, every line with its reference."""
    order = standard_order(acq)
    text = EdiMessage.objects.get(order=order).content
    from pydifact.segmentcollection import Interchange

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = Interchange.from_str(text)
    (message,) = list(interchange.get_messages())
    assert message.type == "ORDERS"
    unt = [segment for segment in interchange.segments if segment.tag == "UNT"][0]
    assert int(unt.elements[0]) == len(message.segments) + 2
    read = edifact.read_interchange(text, expected="ORDERS")
    assert [line.reference for line in read.documents[0].lines] == [f"{order.number}/{n}" for n in (1, 2, 3)]
    assert read.documents[0].supplier_id == SUPPLIER_EAN and read.documents[0].buyer_id == BUYER_EAN


def test_round_trip_order_response_receipt_items_lendable_invoice_approved(acq):
    order = standard_order(acq)
    committed_adult = fund_amounts(acq.adult)[1]
    lines = {line.line_number: line for line in selectors.order_lines(order)}

    # The supplier answers: line 1 accepted, line 2 back-ordered until 15 April, line 3 out of print.
    message = edi.ordrsp_read(actor=acq.actor, supplier_id=acq.supplier.pk, file_name="r.edi",
                              text=edifact_sample("lsb_ordrsp.edi", ORDER=order.number, SUPPLIER=SUPPLIER_EAN,
                                                  BUYER=BUYER_EAN))
    assert "1 geaccepteerd, 1 in nalevering, 1 geannuleerd" in message.summary
    assert message.order == order  # kept with the order it answers (its page, the inbox's link)
    for line in lines.values():
        line.refresh_from_db()
    assert lines[1].supplier_status == SupplierStatus.ACCEPTED
    assert lines[2].supplier_status == SupplierStatus.BACKORDERED
    assert str(lines[2].expected_on) == "2026-04-15" and lines[2].supplier_status_code == "NP"
    assert lines[3].supplier_status == SupplierStatus.CANCELLED and lines[3].quantity_cancelled == 1
    assert lines[3].supplier_status_text == "Uitverkocht bij de uitgever"
    assert fund_amounts(acq.youth)[1] == 0  # the cancelled copy's commitment released

    # A partial delivery: 2 of the 3 copies of line 1 (to their planned branches).
    delivery = receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk, reference="PB-1",
                                        copies=[(lines[1].pk, "ACQ0000001", None), (lines[1].pk, "ACQ0000002", None)])
    assert delivery.copies.count() == 2
    items = {item.barcode: item for item in Item.objects.filter(barcode__in=["ACQ0000001", "ACQ0000002"])}
    assert {item.status for item in items.values()} == {ItemStatus.IN_PROCESSING}
    assert {item.owning_branch_id for item in items.values()} == {acq.main.pk}
    assert {item.price_cents for item in items.values()} == {1500}
    assert all(order.number in item.notes and "VOLW" in item.notes for item in items.values())
    assert {item.acquired_on for item in items.values()} == {acq.today}
    holding = Holding.objects.get(organisation=acq.library, title=acq.titles[0], branch=acq.main)
    assert (holding.total, holding.available) == (2, 0)
    lines[1].refresh_from_db()
    assert (lines[1].quantity_received, lines[1].quantity_open) == (2, 1)
    assert fund_amounts(acq.adult)[1] == committed_adult  # received is still committed until invoiced

    # Processed: available, the national index follows, and the desk lends it.
    item_processing_done(actor=acq.actor, barcodes="ACQ0000001 ACQ0000002")
    holding.refresh_from_db()
    assert (holding.total, holding.available) == (2, 2)
    make_rule()
    member = make_member(card_number="A7000001", paid_until=today_plus(365))
    checkout(actor=Actor.staff(acq.staff.alpha_desk, acq.library, branch_id=acq.main.pk),
             card_number=member.card_number, barcode="ACQ0000001")
    assert Item.objects.get(barcode="ACQ0000001").status == ItemStatus.ON_LOAN

    # The last copy of line 1 arrives; the INVOIC for line 1 (3 copies, 45.00 incl. 9 % VAT) is read.
    receipt.receipt_by_scan(actor=acq.actor, supplier_id=acq.supplier.pk, line_id=lines[1].pk,
                            barcodes="ACQ0000003", branch_id=acq.other.pk)
    ((invoice, delivery),) = edi.invoic_read(
        actor=acq.actor, supplier_id=acq.supplier.pk,
        text=edifact_sample("lsb_invoic.edi", ORDER=order.number, SUPPLIER=SUPPLIER_EAN, BUYER=BUYER_EAN))
    assert delivery is None
    assert (invoice.number, invoice.total_cents, str(invoice.invoice_date)) == ("F2026-0042", 4500, "2026-03-10")
    (row,) = selectors.invoice_lines(invoice)
    assert (row.quantity, row.amount_cents, row.vat_cents) == (3, 4500, 372)

    invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    # 3 x 15.00 moved from committed to spent; line 2 (2 x 18.74) stays committed.
    assert fund_amounts(acq.adult) == (300_000, 2 * 1874, 4500)
    journal = selectors.journal_rows(acq.today)
    assert [(row["fund"].code, row["amount"], row["vat"], row["net"]) for row in journal] == [
        ("VOLW", 4500, 372, 4128)]
    assert selectors.fund_totals_check() == []


def test_shelf_ready_delivery_is_received_in_one_scan(acq):
    order = standard_order(acq)
    line = selectors.order_lines(order)[0]
    ((invoice, delivery),) = edi.invoic_read(
        actor=acq.actor, supplier_id=acq.supplier.pk,
        text=edifact_sample("lsb_invoic_shelfready.edi", ORDER=order.number, SUPPLIER=SUPPLIER_EAN,
                            BUYER=BUYER_EAN, BRANCH=acq.other.code, BRANCH2=acq.main.code))
    assert delivery.reference == "F2026-0043" and delivery.status == "announced"
    # Not received yet: the invoice cannot be approved.
    from tests.refusals import refused

    with refused("invoice.not_received"):
        invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    receipt.receipt_announced(actor=acq.actor, reference="F2026-0043")
    items = list(Item.objects.filter(barcode__in=["SR0000001", "SR0000002"]).order_by("barcode"))
    assert [(item.status, item.owning_branch_id) for item in items] == [
        (ItemStatus.IN_PROCESSING, acq.other.pk), (ItemStatus.IN_PROCESSING, acq.main.pk)]
    line.refresh_from_db()
    assert line.quantity_received == 2
    with refused("receipt.delivery_done"):
        receipt.receipt_announced(actor=acq.actor, reference="F2026-0043")
    invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    assert fund_amounts(acq.adult)[2] == 3000
    assert selectors.fund_totals_check() == []


def test_another_librarys_acquisitions_staff_is_refused_and_sees_nothing(acq, libraries, staff, client):
    from tests.conftest import host_client
    from tests.factories import staff_with_role
    from tests.refusals import refused

    order = standard_order(acq)
    beta_user = staff_with_role(libraries.beta, "acquisitions", username="beta.inkoop")
    beta_actor = Actor.staff(beta_user, libraries.beta)
    with refused("actor.other_library"):
        receipt.receipt_register(actor=beta_actor, supplier_id=acq.supplier.pk,
                                 copies=[(selectors.order_lines(order)[0].pk, "BETA00001", None)])
    with tenant_context(libraries.beta):
        from ordering.models import Order

        assert not Order.objects.filter(number=order.number).exists()
    client.force_login(beta_user)
    response = host_client(client, "beta").get(f"/inkoop/bestellingen/{order.pk}/")
    assert response.status_code == 404
    # Alpha's staff without the acquisitions role get the refusal page.
    client.force_login(staff.alpha_desk)
    assert host_client(client, "alpha").get("/inkoop/").status_code == 403
