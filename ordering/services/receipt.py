"""Receipt: copies that arrived become items (in processing) at their planned
branch and shelf location, through collection.services.item_add; partial
deliveries; a shelf-ready delivery announced with barcodes is received in one scan."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from collection.models import ItemStatus
from collection.services import item_add, scanned_barcodes
from core.errors import ServiceError, ServiceErrors

from ..models import Delivery, DeliveryStatus, LineCopies, OrderLine, OrderStatus, ReceivedCopy, Supplier
from .common import acquisitions_actor
from .orders import order_close_if_done


def _lines_locked(line_ids):
    return {line.pk: line for line in OrderLine.objects.select_for_update().select_related("order", "fund")
            .filter(pk__in=set(line_ids)).order_by("pk")}


def _place(line, copies_entries, branch_id):
    """The LineCopies entry a received copy of `line` goes to: the one of `branch_id`
    with room, else the first with room; None when the line's branches are full."""
    candidates = [entry for entry in copies_entries if entry.quantity_received < entry.quantity]
    if branch_id not in (None, ""):
        candidates = [entry for entry in candidates if entry.branch_id == int(branch_id)]
    return candidates[0] if candidates else None


def _receive(*, actor, supplier, lines, wanted, delivery, today):
    """Receive `wanted` = [(line_id, barcode, branch_id or None)] of locked `lines`
    into items; collects every refusal first, then adds the items per line and branch."""
    errors = []
    entries = {}
    for entry in LineCopies.objects.select_for_update().filter(line_id__in=list(lines)).order_by("pk"):
        entries.setdefault(entry.line_id, []).append(entry)
    groups = {}
    asked = {}
    for line_id, barcode, branch_id in wanted:
        line = lines.get(line_id)
        if line is None or line.order.supplier_id != supplier.pk or line.order.status != OrderStatus.ORDERED:
            errors.append(ServiceError("line.not_found"))
            continue
        asked[line_id] = asked.get(line_id, 0) + 1
        if asked[line_id] > line.quantity_open:
            if asked[line_id] == line.quantity_open + 1:
                count = sum(1 for wanted_line, _, _ in wanted if wanted_line == line_id)
                errors.append(ServiceError("receipt.more_than_ordered", line=line.reference,
                                           title=line.description, asked=count, open=line.quantity_open))
            continue
        entry = _place(line, entries.get(line_id, []), branch_id)
        if entry is None:
            from tenants.models import Branch

            name = Branch.objects.filter(pk=branch_id).values_list("name", flat=True).first() if branch_id else ""
            errors.append(ServiceError("receipt.branch_full", line=line.reference, branch=name or "—", open=0))
            continue
        entry.quantity_received += 1
        groups.setdefault((line_id, entry.pk), (line, entry, []))[2].append(barcode)
    if errors:
        raise ServiceErrors(errors)
    received = []
    for line, entry, barcodes in groups.values():
        items = item_add(
            actor=actor, title_id=line.title_id, barcodes=barcodes, branch_id=entry.branch_id,
            shelf_location=entry.shelf_location, item_type=line.item_type, collection=line.collection,
            price_cents=line.unit_cost_cents, acquired_on=today, status=ItemStatus.IN_PROCESSING,
            notes=_("Bestelling %(order)s, fonds %(fund)s") % {"order": line.reference, "fund": line.fund.code},
        )
        entry.save(update_fields=["quantity_received"])
        line.quantity_received += len(items)
        if line.quantity_open == 0:
            line.claim_flagged_on = None
        line.save(update_fields=["quantity_received", "claim_flagged_on"])
        received += [(line, entry, item.barcode) for item in items]
    return received


def receipt_register(*, actor, supplier_id, copies, reference="", today=None):
    """Receive a delivery: `copies` = [(line_id, barcode, branch_id or None)], one per
    copy that arrived (scanned barcodes). All or nothing: more than is open, a line
    of another supplier or a bad barcode refuses the whole delivery."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ServiceError("supplier.not_found")
    copies = [(int(line_id), (barcode or "").strip(), branch_id) for line_id, barcode, branch_id in copies]
    if not copies or any(not barcode for _, barcode, _ in copies):
        raise ServiceError("receipt.no_barcodes", field="barcodes")
    seen = set()
    for _, barcode, _ in copies:
        if barcode in seen:
            raise ServiceError("receipt.barcode_twice", field="barcodes", barcode=barcode)
        seen.add(barcode)
    reference = (reference or "").strip()[:35]
    with transaction.atomic():
        if reference and Delivery.objects.filter(supplier=supplier, reference=reference).exists():
            raise ServiceError("receipt.reference_taken", field="reference", reference=reference)
        lines = _lines_locked({line_id for line_id, _, _ in copies})
        delivery = Delivery.objects.create(supplier=supplier, reference=reference, status=DeliveryStatus.RECEIVED,
                                           received_at=timezone.now(), staff_user=actor.user_or_none,
                                           actor_ref=actor.ref)
        received = _receive(actor=actor, supplier=supplier, lines=lines, wanted=copies, delivery=delivery,
                            today=today)
        ReceivedCopy.objects.bulk_create(ReceivedCopy(delivery=delivery, line=line, copies=entry, barcode=barcode,
                                                      received=True) for line, entry, barcode in received)
        for order in {line.order for line in lines.values()}:
            order_close_if_done(order)
    return delivery


def receipt_by_scan(*, actor, supplier_id, line_id, barcodes, branch_id=None, today=None):
    """The desk's receipt of one line: scanned barcodes for `line_id` (at `branch_id`
    when given, else the line's planned branches in order)."""
    barcodes = scanned_barcodes(barcodes)
    return receipt_register(actor=actor, supplier_id=supplier_id, today=today,
                            copies=[(line_id, barcode, branch_id) for barcode in barcodes])


def receipt_announced(*, actor, reference, supplier_id=None, today=None):
    """Receive a shelf-ready delivery in one scan: its reference (the invoice or
    delivery note number on the box). Every announced copy becomes an item with the
    supplier's barcode at its branch."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    reference = (reference or "").strip()
    deliveries = Delivery.objects.filter(reference=reference)
    if supplier_id is not None:
        deliveries = deliveries.filter(supplier_id=supplier_id)
    with transaction.atomic():
        delivery = deliveries.select_for_update().select_related("supplier").order_by("pk").first()
        if delivery is None or not reference:
            raise ServiceError("receipt.delivery_unknown", field="reference", reference=reference)
        if delivery.status != DeliveryStatus.ANNOUNCED:
            raise ServiceError("receipt.delivery_done", field="reference", reference=reference)
        announced = list(delivery.copies.filter(received=False).order_by("pk"))
        lines = _lines_locked({copy.line_id for copy in announced})
        branch_of_copy = {copy.pk: (LineCopies.objects.filter(pk=copy.copies_id).values_list("branch_id", flat=True)
                                    .first() if copy.copies_id else None) for copy in announced}
        received = _receive(actor=actor, supplier=delivery.supplier, lines=lines, delivery=delivery, today=today,
                            wanted=[(copy.line_id, copy.barcode, branch_of_copy[copy.pk]) for copy in announced])
        placed = {barcode: entry for _, entry, barcode in received}
        for copy in announced:
            copy.received = True
            copy.copies = placed.get(copy.barcode, copy.copies)
        ReceivedCopy.objects.bulk_update(announced, ["received", "copies"])
        delivery.status = DeliveryStatus.RECEIVED
        delivery.received_at = timezone.now()
        delivery.staff_user = actor.user_or_none
        delivery.actor_ref = actor.ref
        delivery.save(update_fields=["status", "received_at", "staff_user", "actor_ref"])
        for order in {line.order for line in lines.values()}:
            order_close_if_done(order)
    return delivery
