"""Reading a supplier's EDIFACT messages: ORDRSP (order response) and INVOIC
(invoice). All or nothing: a message that is malformed, of another type, from
another supplier or about lines this library did not order at this supplier is
refused with the segment and the reason, and nothing is changed."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError
from tenants.models import Branch

from .. import edifact
from ..models import (
    Delivery,
    DeliveryStatus,
    EdiDirection,
    EdiMessage,
    LineCopies,
    Order,
    OrderLine,
    OrderStatus,
    ReceivedCopy,
    Supplier,
    SupplierStatus,
)
from .common import acquisitions_actor, fund_change, funds_locked, unit_cost
from .invoices import invoice_register
from .orders import line_cancel_locked, order_close_if_done


def _supplier(supplier_id):
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ServiceError("supplier.not_found")
    return supplier


def _check_sender(document, supplier):
    if supplier.edi_id and document.supplier_id != supplier.edi_id:
        raise ServiceError("edifact.other_supplier", segment=document.supplier_segment, sender=document.supplier_id,
                           supplier=supplier.name, expected=supplier.edi_id)
    if document.currency and document.currency != "EUR":
        raise ServiceError("edifact.refused", segment=document.currency_segment, tag="CUX", reason=_(
            "bedragen in %(currency)s; LSB rekent in euro.") % {"currency": document.currency})


def _lines_for(document, supplier):
    """{EdiLine: locked OrderLine} for the document's lines (refuses unknown references)."""
    wanted = {}
    for line in document.lines:
        number, _sep, line_number = line.reference.rpartition("/")
        wanted[line.reference] = (number, line_number)
    orders = {order.number: order for order in Order.objects.select_for_update().filter(
        number__in={number for number, _ in wanted.values()}, supplier=supplier).order_by("pk")}
    found = {}
    candidates = OrderLine.objects.select_for_update().select_related("order", "fund").filter(
        order__in=list(orders.values())).order_by("pk")
    by_reference = {line.reference: line for line in candidates}
    for line in document.lines:
        order_line = by_reference.get(line.reference)
        if order_line is None or order_line.order.status == OrderStatus.DRAFT:
            raise ServiceError("edifact.unknown_line", segment=line.reference_segment or line.segment,
                               reference=line.reference)
        found[id(line)] = order_line
    return found


def ordrsp_read(*, actor, supplier_id, text, file_name="", today=None):
    """Apply a supplier's order response: accepted lines are marked so, back-ordered
    lines get the supplier's availability date as their expected date, cancelled or
    unknown lines have their open copies cancelled (commitment released), and a
    changed price is committed anew. Returns the stored EdiMessage."""
    acquisitions_actor(actor)
    supplier = _supplier(supplier_id)
    interchange = edifact.read_interchange(text, expected="ORDRSP")
    counts = {"accepted": 0, "backordered": 0, "cancelled": 0, "changed": 0}
    answered = set()
    with transaction.atomic():
        for document in interchange.documents:
            _check_sender(document, supplier)
            order_lines = _lines_for(document, supplier)
            for line in document.lines:
                order_line = order_lines[id(line)]
                _apply_response(actor, order_line, line, counts)
            for order in {line.order for line in order_lines.values()}:
                order_close_if_done(order)
                answered.add(order)
        # The response to one order is kept with it: shown on the order's page, and
        # the EDIFACT inbox links to the order whose lines it changed.
        message = EdiMessage.objects.create(
            direction=EdiDirection.IN, kind="ORDRSP", supplier=supplier,
            order=answered.pop() if len(answered) == 1 else None,
            interchange_ref=interchange.control_reference[:14], file_name=(file_name or "")[:200],
            content=text if isinstance(text, str) else text.decode("utf-8", "replace"),
            summary=_("%(accepted)s geaccepteerd, %(backordered)s in nalevering, %(cancelled)s geannuleerd, "
                      "%(changed)s gewijzigd") % counts, actor_ref=actor.ref)
    return message


def _apply_response(actor, order_line, line, counts):
    order_line.supplier_status_code = line.status_code
    order_line.supplier_status_text = (line.status_text or line.status_description)[:200]
    action = line.action
    backordered = line.quantities.get("83", 0)
    if action in (edifact.ACTION_CANCELLED, edifact.ACTION_NOT_FOUND):
        order_line.supplier_status = (SupplierStatus.CANCELLED if action == edifact.ACTION_CANCELLED
                                      else SupplierStatus.NOT_FOUND)
        if order_line.quantity_open:
            line_cancel_locked(order_line, order_line.quantity_open, actor=actor, reason=_(
                "Geannuleerd door leverancier: %(reason)s") % {"reason": order_line.supplier_status_text or action})
        counts["cancelled"] += 1
    elif backordered or line.available_on:
        order_line.supplier_status = SupplierStatus.BACKORDERED
        order_line.supplier_available_on = line.available_on
        if line.available_on:
            order_line.expected_on = line.available_on
            order_line.claim_flagged_on = None
        counts["backordered"] += 1
    elif action == edifact.ACTION_ACCEPTED:
        order_line.supplier_status = SupplierStatus.ACCEPTED
        counts["accepted"] += 1
    else:
        order_line.supplier_status = SupplierStatus.CHANGED
        counts["changed"] += 1
    price = line.prices.get("AAE")
    if price and price != order_line.list_price_cents and order_line.quantity_to_invoice:
        new_cost = unit_cost(price, order_line.discount_bp)
        fund = funds_locked([order_line.fund_id])[order_line.fund_id]
        fund_change(fund, "commit", (new_cost - order_line.unit_cost_cents) * order_line.quantity_to_invoice,
                    actor=actor, order_line=order_line, reason=_("Prijswijziging leverancier"))
        order_line.list_price_cents, order_line.unit_cost_cents = price, new_cost
    order_line.save(update_fields=[
        "supplier_status", "supplier_status_code", "supplier_status_text", "supplier_available_on", "expected_on",
        "claim_flagged_on", "list_price_cents", "unit_cost_cents"])


def invoic_read(*, actor, supplier_id, text, file_name=""):
    """Register the invoices of a supplier's INVOIC interchange (one per message),
    matched to the order lines by RFF+LI. Copies announced with barcodes (GIR LAC,
    a shelf-ready supplier) become an announced delivery under the invoice number,
    received later in one scan (ordering.services.receipt.receipt_announced).
    Returns [(Invoice, Delivery or None)]."""
    acquisitions_actor(actor)
    supplier = _supplier(supplier_id)
    interchange = edifact.read_interchange(text, expected="INVOIC")
    results = []
    branches = {branch.code.upper(): branch.pk for branch in Branch.objects.filter(organisation=actor.organisation)}
    with transaction.atomic():
        message = EdiMessage.objects.create(
            direction=EdiDirection.IN, kind="INVOIC", supplier=supplier,
            interchange_ref=interchange.control_reference[:14], file_name=(file_name or "")[:200],
            content=text if isinstance(text, str) else text.decode("utf-8", "replace"), actor_ref=actor.ref)
        for document in interchange.documents:
            _check_sender(document, supplier)
            order_lines = _lines_for(document, supplier)
            rows = []
            for line in document.lines:
                order_line = order_lines[id(line)]
                net = line.amounts["203"]
                rate = line.tax_rate_bp if line.tax_rate_bp is not None else order_line.vat_bp
                vat = line.amounts.get("124")
                if vat is None:
                    vat = (net * rate + 5000) // 10000
                rows.append((order_line.pk, line.quantities["47"], net + vat, vat))
            total = document.totals.get("9")
            if total is None and any(key in document.totals for key in ("77", "79", "129")):
                base = next(document.totals[key] for key in ("77", "79", "129") if key in document.totals)
                total = base + document.totals.get("124", 0)
            invoice = invoice_register(
                actor=actor, supplier_id=supplier.pk, number=document.document_number,
                invoice_date=document.document_date or timezone.localdate(), lines=rows, total_cents=total,
                edi_message=message)
            delivery = _announce(actor, supplier, invoice, document, order_lines, branches)
            results.append((invoice, delivery))
        message.summary = _("%(count)s facturen: %(numbers)s") % {
            "count": len(results), "numbers": ", ".join(invoice.number for invoice, _ in results)}
        message.save(update_fields=["summary"])
    return results


def _announce(actor, supplier, invoice, document, order_lines, branches):
    copies = [(line, copy) for line in document.lines for copy in line.copies if copy.get("LAC")]
    if not copies:
        return None
    delivery = Delivery.objects.create(supplier=supplier, reference=invoice.number, invoice=invoice,
                                       status=DeliveryStatus.ANNOUNCED, actor_ref=actor.ref)
    rows = []
    for line, copy in copies:
        order_line = order_lines[id(line)]
        entry = None
        code = copy.get("LLO", "").upper()
        if code:
            if code not in branches:
                raise ServiceError("edifact.unknown_branch", segment=copy["segment"], value=copy["LLO"])
            entry = LineCopies.objects.filter(line=order_line, branch_id=branches[code]).order_by("pk").first()
        rows.append(ReceivedCopy(delivery=delivery, line=order_line, copies=entry, barcode=copy["LAC"][:20]))
    seen = set()
    for row in rows:
        if row.barcode in seen or ReceivedCopy.objects.filter(barcode=row.barcode).exists():
            raise ServiceError("edifact.refused", segment="GIR", tag="GIR", reason=_(
                "barcode %(barcode)s komt al voor.") % {"barcode": row.barcode})
        seen.add(row.barcode)
    ReceivedCopy.objects.bulk_create(rows)
    return delivery

