"""Invoices: registered by hand or from INVOIC with lines matched to order lines,
approved for payment (betaalbaar stellen) only for what was received: then the
committed amount moves to spent."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError, ServiceErrors
from core.money import euro
from core.plausible import date_check

from ..models import Invoice, InvoiceLine, InvoiceStatus, OrderLine, OrderStatus, Supplier
from .common import acquisitions_actor, fund_change, funds_locked, vat_in
from .orders import order_close_if_done


def _pending_invoiced(line_ids, exclude_invoice=None):
    """{order line id: copies on registered (not yet approved) invoices}."""
    rows = InvoiceLine.objects.filter(order_line_id__in=line_ids, invoice__status=InvoiceStatus.REGISTERED)
    if exclude_invoice is not None:
        rows = rows.exclude(invoice=exclude_invoice)
    return dict(rows.values("order_line_id").annotate(total=Sum("quantity")).values_list("order_line_id", "total"))


def invoice_register(*, actor, supplier_id, number, invoice_date, lines, total_cents=None, edi_message=None):
    """Register a supplier's invoice. `lines` = [(order line id, quantity, amount in
    cents incl. VAT, VAT in cents or None)]. A line may not invoice more copies than
    are ordered and not yet invoiced (also on other registered invoices); the stated
    `total_cents` (when given) must be the sum of the lines. Every problem at once."""
    acquisitions_actor(actor)
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ServiceError("supplier.not_found")
    number = (number or "").strip()[:35]
    errors = []
    if not number:
        errors.append(ServiceError("invoice.number_missing", field="number"))
    if not isinstance(invoice_date, datetime.date):
        errors.append(ServiceError("invoice.date_invalid", field="invoice_date"))
    else:
        # A date in year 1 or 9999 is a typing error, never an invoice (issue 14, finding 11).
        try:
            date_check(invoice_date, field="invoice_date", label=_("De factuurdatum"),
                       earliest=datetime.date(2000, 1, 1), latest=timezone.localdate() + datetime.timedelta(days=366))
        except ServiceError as error:
            errors.append(error)
    if not lines:
        errors.append(ServiceError("invoice.no_lines"))
    with transaction.atomic():
        order_lines = {line.pk: line for line in OrderLine.objects.select_for_update().select_related("order")
                       .filter(pk__in={int(entry[0]) for entry in lines}).order_by("pk")}
        pending = _pending_invoiced(list(order_lines))
        asked = {}
        rows = []
        for line_id, quantity, amount_cents, vat_cents in lines:
            line = order_lines.get(int(line_id))
            if line is None:
                errors.append(ServiceError("line.not_found"))
                continue
            if line.order.supplier_id != supplier.pk:
                errors.append(ServiceError("invoice.line_other_supplier", line=line.reference))
                continue
            if line.order.status == OrderStatus.DRAFT:
                errors.append(ServiceError("invoice.line_not_ordered", line=line.reference))
                continue
            if not isinstance(quantity, int) or quantity <= 0:
                errors.append(ServiceError("line.quantity_invalid"))
                continue
            if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
                errors.append(ServiceError("invoice.amount_invalid", line=line.reference))
                continue
            asked[line.pk] = asked.get(line.pk, 0) + quantity
            still = line.quantity_to_invoice - pending.get(line.pk, 0)
            if asked[line.pk] > still:
                errors.append(ServiceError("invoice.more_than_ordered", line=line.reference, title=line.description,
                                           asked=asked[line.pk], open=max(0, still)))
                continue
            vat = vat_in(amount_cents, line.vat_bp) if vat_cents is None else int(vat_cents)
            rows.append((line, quantity, amount_cents, vat))
        lines_total = sum(amount for _, _, amount, _ in rows)
        if total_cents is not None and not errors and total_cents != lines_total:
            errors.append(ServiceError("invoice.total_mismatch", lines=euro(lines_total), total=euro(total_cents)))
        if errors:
            raise ServiceErrors(errors)
        try:
            with transaction.atomic():
                invoice = Invoice.objects.create(supplier=supplier, number=number, invoice_date=invoice_date,
                                                 total_cents=lines_total, edi_message=edi_message,
                                                 actor_ref=actor.ref)
        except IntegrityError:
            raise ServiceError("invoice.number_taken", field="number", number=number) from None
        InvoiceLine.objects.bulk_create(InvoiceLine(invoice=invoice, order_line=line, quantity=quantity,
                                                    amount_cents=amount, vat_cents=vat)
                                        for line, quantity, amount, vat in rows)
    return invoice


def invoice_approve(*, actor, invoice_id, today=None):
    """Approve an invoice for payment: only when every line's copies were received
    (invoice.not_received names each line that was not). Per line the commitment of
    its copies is released and the invoiced amount is spent on the line's fund."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        if invoice is None:
            raise ServiceError("invoice.not_found")
        if invoice.status == InvoiceStatus.APPROVED:
            raise ServiceError("invoice.already_approved", number=invoice.number)
        rows = list(invoice.lines.order_by("pk"))
        lines = {line.pk: line for line in OrderLine.objects.select_for_update().select_related("order")
                 .filter(pk__in={row.order_line_id for row in rows}).order_by("pk")}
        funds = funds_locked({line.fund_id for line in lines.values()})
        errors = []
        per_line = {}
        for row in rows:
            per_line[row.order_line_id] = per_line.get(row.order_line_id, 0) + row.quantity
        for line_id, quantity in per_line.items():
            line = lines[line_id]
            receivable = line.quantity_received - line.quantity_invoiced
            if quantity > receivable:
                errors.append(ServiceError("invoice.not_received", line=line.reference, title=line.description,
                                           invoiced=quantity, received=max(0, receivable)))
            elif quantity > line.quantity_to_invoice:
                errors.append(ServiceError("invoice.more_than_ordered", line=line.reference, title=line.description,
                                           asked=quantity, open=line.quantity_to_invoice))
        if errors:
            raise ServiceErrors(errors)
        reason = _("Factuur %(number)s") % {"number": invoice.number}
        for row in rows:
            line = lines[row.order_line_id]
            fund = funds[line.fund_id]
            fund_change(fund, "commit", -line.unit_cost_cents * row.quantity, actor=actor, order_line=line,
                        invoice_line=row, reason=reason)
            fund_change(fund, "spend", row.amount_cents, actor=actor, order_line=line, invoice_line=row,
                        reason=reason)
            line.quantity_invoiced += row.quantity
        OrderLine.objects.bulk_update(list(lines.values()), ["quantity_invoiced"])
        invoice.status = InvoiceStatus.APPROVED
        invoice.approved_at = timezone.now()
        invoice.approved_on = today
        invoice.approved_by_ref = actor.ref
        invoice.save(update_fields=["status", "approved_at", "approved_on", "approved_by_ref"])
        for order in {line.order for line in lines.values()}:
            order_close_if_done(order)
    return invoice
