"""Every refusal of acquisitions: a clear code (and Dutch sentence), nothing changed."""

import pytest

from collection.models import Item
from ordering import selectors
from ordering.models import EdiMessage, FundEntry, Order, OrderLine
from ordering.services import edi, funds, invoices, orders, receipt, suppliers
from tests.refusals import refused

from .conftest import BUYER_EAN, SUPPLIER_EAN, edifact_sample, fund_amounts, make_order, standard_order

pytestmark = pytest.mark.django_db


def snapshot():
    return (list(OrderLine.objects.order_by("pk").values_list(
        "quantity_cancelled", "quantity_received", "quantity_invoiced", "supplier_status", "unit_cost_cents")),
        FundEntry.objects.count(), Item.objects.count(), EdiMessage.objects.count())


def test_price_zero_or_negative_and_bad_quantities_are_refused(acq):
    order = orders.order_list_create(actor=acq.actor, supplier_id=acq.supplier.pk)
    for price in (0, -100, "12,50", None):
        with refused("line.price_invalid", match="meer dan € 0,00"):
            orders.order_line_add(actor=acq.actor, order_id=order.pk, title_id=acq.titles[0].pk,
                                  list_price_cents=price, fund_id=acq.adult.pk,
                                  copies=[{"branch_id": acq.main.pk, "quantity": 1}])
    with refused("line.quantity_invalid", "line.fund_missing", "line.title_unknown"):
        orders.order_line_add(actor=acq.actor, order_id=order.pk, title_id=999999999, list_price_cents=100,
                              fund_id=None, copies=[{"branch_id": acq.main.pk, "quantity": -2}])
    with refused("line.discount_invalid"):
        orders.order_line_add(actor=acq.actor, order_id=order.pk, title_id=acq.titles[0].pk, list_price_cents=100,
                              fund_id=acq.adult.pk, discount="100", copies=[{"branch_id": acq.main.pk, "quantity": 1}])
    assert not OrderLine.objects.exists()
    with refused("order.empty"):
        orders.order_send(actor=acq.actor, order_id=order.pk)


def test_overspending_a_fund_warns_and_is_refused_without_the_administrations_permission(acq):
    # 20 copies of 15.00 on 'PRENT' (allocated 200.00): 300.00 needed.
    order = make_order(acq, (acq.titles[0], 2000, [(acq.main, 20)], acq.picture))
    shortfalls = orders.fund_shortfalls(order)
    assert [(fund.code, left, needed) for fund, left, needed in shortfalls] == [("PRENT", 20_000, 30_000)]
    with refused("fund.overspent", match="Alleen bibliotheekbeheer"):
        orders.order_send(actor=acq.actor, order_id=order.pk, allow_overspend=True)
    order.refresh_from_db()
    assert order.status == "draft" and fund_amounts(acq.picture) == (20_000, 0, 0)
    with refused("fund.overspent"):
        orders.order_send(actor=acq.admin, order_id=order.pk)  # the administration must say so
    orders.order_send(actor=acq.admin, order_id=order.pk, allow_overspend=True)
    assert fund_amounts(acq.picture) == (20_000, 30_000, 0)
    assert selectors.fund_report(acq.year)[0][0].fund.code == "JEUGD"  # parent first, with its child
    youth_row = selectors.fund_report(acq.year)[0][0]
    assert (youth_row.allocated, youth_row.committed, youth_row.left) == (120_000, 30_000, 90_000)


def test_receiving_more_than_ordered_is_refused_and_changes_nothing(acq):
    order = standard_order(acq)
    line = selectors.order_lines(order)[2]  # 1 copy
    before = snapshot()
    with refused("receipt.more_than_ordered", match="2 ontvangen, maar er staan nog 1 open"):
        receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk,
                                 copies=[(line.pk, "MORE00001", None), (line.pk, "MORE00002", None)])
    with refused("receipt.barcode_twice"):
        receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk,
                                 copies=[(line.pk, "MORE00001", None), (line.pk, "MORE00001", None)])
    with refused("item.barcode_invalid"):
        receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk, copies=[(line.pk, "x!", None)])
    assert snapshot() == before


def test_invoicing_what_was_not_received_or_not_ordered_is_refused(acq):
    order = standard_order(acq)
    first = selectors.order_lines(order)[0]
    before = snapshot()
    with refused("invoice.more_than_ordered"):
        invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F1",
                                  invoice_date=acq.today, lines=[(first.pk, 4, 6000, None)])
    with refused("invoice.amount_invalid"):
        invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F1",
                                  invoice_date=acq.today, lines=[(first.pk, 1, 0, None)])
    with refused("invoice.total_mismatch"):
        invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F1",
                                  invoice_date=acq.today, lines=[(first.pk, 1, 1500, None)], total_cents=1600)
    invoice = invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F1",
                                        invoice_date=acq.today, lines=[(first.pk, 2, 3000, None)])
    with refused("invoice.number_taken"):
        invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F1",
                                  invoice_date=acq.today, lines=[(first.pk, 1, 1500, None)])
    with refused("invoice.more_than_ordered"):  # 2 on F1 still registered, 2 more is more than 3
        invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F2",
                                  invoice_date=acq.today, lines=[(first.pk, 2, 3000, None)])
    receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk, copies=[(first.pk, "RCV000001", None)])
    with refused("invoice.not_received", match="2 gefactureerd maar 1 ontvangen"):
        invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    assert fund_amounts(acq.adult)[2] == 0 and before[1] == FundEntry.objects.count()
    receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk, copies=[(first.pk, "RCV000002", None)])
    invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    with refused("invoice.already_approved"):
        invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
    assert selectors.fund_totals_check() == []


@pytest.mark.parametrize("mutate, codes, match", [
    (lambda t: "", ["edifact.empty"], None),
    (lambda t: "Dit is geen EDIFACT", ["edifact.syntax"], "begint niet met UNA of UNB"),
    (lambda t: t.replace("UNT+28+R0001", "UNT+27+R0001"), ["edifact.refused"], "Segment 29 \\(UNT\\)"),
    (lambda t: t.replace("ORDRSP:D:96A", "DESADV:D:96A"), ["edifact.unknown_type"], "DESADV"),
    (lambda t: t.replace("NAD+SU+8711234500007::9", "NAD+SU+5013546025078::9"), ["edifact.other_supplier"],
     "Segment 7 "),
    (lambda t: t.replace("/3'", "/9'"), ["edifact.unknown_line"], "Segment 26 "),
    (lambda t: t.replace("DTM+44:20260415", "DTM+44:20261345"), ["edifact.bad_value"], "Segment 18 "),
    (lambda t: t.replace("LIN+2+24", "LIN+2+77"), ["edifact.bad_value"], "actiecode"),
    (lambda t: t.replace("UNZ+1+RSP000000001'", ""), ["edifact.segment_missing"], "UNZ"),
    (lambda t: t.replace("CUX+2:EUR:9", "CUX+2:GBP:9"), ["edifact.refused"], "GBP"),
    # Digits that are no ASCII digits, and dates in year 1 or 9999 (issue 14, finding 11).
    (lambda t: t.replace("QTY+21:3'", "QTY+21:٣'"), ["edifact.bad_value"], "aantal"),
    (lambda t: t.replace("PRI+AAE:24.99:CA", "PRI+AAE:٢٤.٩٩:CA"), ["edifact.bad_value"], "prijs"),
    (lambda t: t.replace("PRI+AAE:24.99:CA", "PRI+AAE:2499999.99:CA"), ["edifact.bad_value"], "prijs"),
    (lambda t: t.replace("DTM+44:20260415", "DTM+44:٢٠٢٦٠٤١٥"), ["edifact.bad_value"], "datum"),
    (lambda t: t.replace("DTM+44:20260415", "DTM+44:00010101"), ["edifact.bad_value"], "00010101"),
    (lambda t: t.replace("DTM+44:20260415", "DTM+44:99991231"), ["edifact.bad_value"], "99991231"),
])
def test_malformed_or_unknown_order_responses_are_refused_with_segment_and_reason(acq, mutate, codes, match):
    order = standard_order(acq)
    text = edifact_sample("lsb_ordrsp.edi", ORDER=order.number, SUPPLIER=SUPPLIER_EAN, BUYER=BUYER_EAN)
    before = snapshot()
    with refused(*codes, match=match):
        edi.ordrsp_read(actor=acq.actor, supplier_id=acq.supplier.pk, text=mutate(text))
    assert snapshot() == before


def test_a_real_supplier_message_about_lines_we_never_ordered_is_refused(acq):
    """Koha's ORDRSP sample (GBP, references P28837...): parsed fine, but not ours."""
    supplier = suppliers.supplier_save(actor=acq.actor, code="KOHA", name="Sample", edi_enabled=True,
                                       edi_id="4012345000094", buyer_edi_id="5412345000176", default_discount="0")
    before = snapshot()
    with refused("edifact.refused", match="GBP"):
        edi.ordrsp_read(actor=acq.actor, supplier_id=supplier.pk, text=edifact_sample("koha_ordrsp1.CEA"))
    text = edifact_sample("koha_ordrsp1.CEA").replace("CUX+2:GBP:9", "CUX+2:EUR:9")
    with refused("edifact.unknown_line", match="P28837"):
        edi.ordrsp_read(actor=acq.actor, supplier_id=supplier.pk, text=text)
    assert snapshot() == before


def test_funds_refuse_bad_input(acq):
    with refused("fund.code_taken"):
        funds.fund_save(actor=acq.actor, year=acq.year, code="jeugd", name="Nog eens", allocated_cents=0)
    with refused("fund.amount_invalid", "fund.name_missing", "fund.year_invalid"):
        funds.fund_save(actor=acq.actor, year="x", code="X", name="", allocated_cents=-5)
    with refused("fund.parent_cycle"):
        funds.fund_save(actor=acq.actor, fund_id=acq.youth.pk, year=acq.year, code="JEUGD", name="Jeugd",
                        allocated_cents=100_000, parent_id=acq.picture.pk)
    standard_order(acq)
    with refused("fund.allocation_below_use"):
        funds.fund_save(actor=acq.actor, fund_id=acq.adult.pk, year=acq.year, code="VOLW", name="Volwassenen",
                        allocated_cents=100)
    with refused("supplier.code_taken"):
        suppliers.supplier_save(actor=acq.actor, code="nbdb", name="Dubbel")
    with refused("supplier.discount_invalid", "supplier.edi_id_missing"):
        suppliers.supplier_save(actor=acq.actor, code="X1", name="X", default_discount="120", edi_enabled=True)


def test_only_acquisitions_staff_act(acq, staff):
    from core.actors import Actor

    desk = Actor.staff(staff.alpha_desk, acq.library)
    with refused("actor.no_role"):
        orders.order_list_create(actor=desk, supplier_id=acq.supplier.pk)
    assert not Order.objects.exists()


@pytest.mark.parametrize("mutate, code, match", [
    (lambda t: t.replace("MOA+203:41.28", "MOA+203:٤١.٢٨"), "edifact.bad_value", "bedrag"),
    (lambda t: t.replace("QTY+47:3'", "QTY+47:３'"), "edifact.bad_value", "aantal"),
    (lambda t: t.replace("DTM+137:20260310:102", "DTM+137:99991231:102"), "edifact.bad_value", "99991231"),
    (lambda t: t.replace("MOA+9:45.00", "MOA+9:45,00,00"), "edifact.bad_value", "bedrag"),
    (lambda t: t.replace("UNT+22+I0001", "UNT+21+I0001"), "edifact.refused", "UNT"),
])
def test_malformed_invoices_are_refused_and_book_nothing(acq, mutate, code, match):
    """An INVOIC with amounts in other digits, a date in year 9999 or a wrong count:
    refused with the segment and reason, no invoice, no fund touched."""
    from ordering.models import Invoice

    order = standard_order(acq)
    text = edifact_sample("lsb_invoic.edi", ORDER=order.number, SUPPLIER=SUPPLIER_EAN, BUYER=BUYER_EAN)
    assert mutate(text) != text
    before = snapshot(), Invoice.objects.count(), fund_amounts(acq.adult)
    with refused(code, match=match):
        edi.invoic_read(actor=acq.actor, supplier_id=acq.supplier.pk, text=mutate(text))
    assert (snapshot(), Invoice.objects.count(), fund_amounts(acq.adult)) == before


def test_invoice_dates_and_percentages_must_be_plausible(acq):
    import datetime

    from ordering.services.common import percent_bp

    order = standard_order(acq)
    [line] = selectors.order_lines(order)[:1]
    for day in (datetime.date(1, 1, 1), datetime.date(9999, 12, 31)):
        with refused("input.date_out_of_range", match="factuurdatum"):
            invoices.invoice_register(actor=acq.actor, supplier_id=acq.supplier.pk, number="F-1", invoice_date=day,
                                      lines=[(line.pk, 1, 1500, None)])
    for text in ("٢٥", "２５", "25٠", "1e2", "-5", "101"):
        with refused("supplier.discount_invalid"):
            percent_bp(text, "supplier.discount_invalid")
    assert percent_bp("9,5", "supplier.discount_invalid") == 950
