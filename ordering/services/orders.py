"""Order lists (drafts), their lines, sending an order (with its EDIFACT ORDERS
message) and cancelling lines."""

import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.models import Title
from collection.models import CollectionKind, ItemType
from collection.services import branch_of
from core.errors import ServiceError, ServiceErrors
from core.money import euro
from tenants.models import Branch

from .. import edifact
from ..models import (
    EdiDirection,
    EdiMessage,
    Fund,
    LineCopies,
    LineSource,
    Order,
    OrderLine,
    OrderStatus,
    Supplier,
)
from ..selectors import order_accounts
from .common import (
    acquisitions_actor,
    cents_checked,
    fund_change,
    funds_locked,
    may_overspend,
    percent_bp,
    settings_locked,
    unit_cost,
)

MAX_QUANTITY = 999


def order_list_create(*, actor, supplier_id, name=""):
    """A new order list (draft order) for a supplier, with the next order number."""
    acquisitions_actor(actor)
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        raise ServiceError("supplier.not_found", field="supplier")
    if not supplier.is_active:
        raise ServiceError("supplier.inactive", field="supplier", supplier=supplier.name)
    with transaction.atomic():
        settings = settings_locked()
        settings.last_order_number += 1
        settings.save(update_fields=["last_order_number", "updated_at"])
        number = f"{timezone.localdate().year}{settings.last_order_number:05d}"
        return Order.objects.create(number=number, supplier=supplier, name=(name or "").strip()[:200],
                                    created_by=actor.user_or_none, actor_ref=actor.ref)


def _order_locked(order_id):
    order = Order.objects.select_for_update().select_related("supplier").filter(pk=order_id).first()
    if order is None:
        raise ServiceError("order.not_found")
    return order


def _draft_locked(order_id):
    order = _order_locked(order_id)
    if order.status != OrderStatus.DRAFT:
        raise ServiceError("order.not_draft", number=order.number)
    return order


def _copies_checked(organisation, copies):
    """[{'branch_id', 'shelf_location', 'quantity'}] -> [(branch, shelf, quantity)]; refusals collected."""
    checked, errors = [], []
    for entry in copies or []:
        try:
            quantity = int(entry.get("quantity") or 0)
        except (TypeError, ValueError):
            quantity = -1
        if quantity == 0:
            continue
        if not 0 < quantity <= MAX_QUANTITY:
            errors.append(ServiceError("line.quantity_invalid", field="copies"))
            continue
        try:
            branch = branch_of(organisation, entry.get("branch_id"))
        except ServiceError as error:
            errors.append(error)
            continue
        checked.append((branch, (entry.get("shelf_location") or "").strip()[:80], quantity))
    if not checked and not errors:
        errors.append(ServiceError("line.copies_missing", field="copies"))
    if sum(quantity for _, _, quantity in checked) > MAX_QUANTITY:
        errors.append(ServiceError("line.quantity_invalid", field="copies"))
    return checked, errors


def order_line_add(*, actor, order_id, title_id, copies, list_price_cents, fund_id, discount=None, vat=None,
                   item_type=ItemType.BOOK, collection=CollectionKind.ADULT, source=LineSource.SEARCH, note=""):
    """Add a title to an order list: copies per branch and shelf location, the list
    price per copy (cents, incl. VAT), discount and VAT in percent (the supplier's by
    default) and the fund it is paid from. Every problem at once."""
    organisation = acquisitions_actor(actor)
    errors = []
    title = None
    try:
        title = Title.objects.filter(pk=int(title_id)).defer("marc").first()
    except (TypeError, ValueError):
        pass
    if title is None:
        errors.append(ServiceError("line.title_unknown", field="title", title_id=title_id))
    checked, problems = _copies_checked(organisation, copies)
    errors += problems
    try:
        cents_checked(list_price_cents, "line.price_invalid", "price")
    except ServiceError as error:
        errors.append(error)
    fund = Fund.objects.filter(pk=fund_id).first() if fund_id not in (None, "") else None
    if fund is None:
        errors.append(ServiceError("line.fund_missing", field="fund"))
    elif not fund.is_active:
        errors.append(ServiceError("fund.inactive", field="fund", fund=fund.code))
    if item_type not in ItemType.values:
        errors.append(ServiceError("item.type_unknown", field="item_type", item_type=item_type))
    if collection not in CollectionKind.values:
        errors.append(ServiceError("item.collection_unknown", field="collection", collection=collection))
    with transaction.atomic():
        order = _draft_locked(order_id)
        supplier = order.supplier
        discount_bp = vat_bp = None
        try:
            discount_bp = (supplier.default_discount_bp if discount in (None, "")
                           else percent_bp(discount, "line.discount_invalid", "discount"))
            if discount_bp >= 10000:
                raise ServiceError("line.discount_invalid", field="discount")
        except ServiceError as error:
            errors.append(error)
        try:
            vat_bp = supplier.vat_bp if vat in (None, "") else percent_bp(vat, "line.vat_invalid", "vat")
        except ServiceError as error:
            errors.append(error)
        if errors:
            raise ServiceErrors(errors)
        number = (order.lines.aggregate(last=Max("line_number"))["last"] or 0) + 1
        line = OrderLine.objects.create(
            order=order, line_number=number, title_id=title.pk, isbn=(title.isbns or title.eans or [""])[0],
            description=title.title[:300], author=(title.contributors_text or "")[:200],
            quantity=sum(quantity for _, _, quantity in checked), list_price_cents=list_price_cents,
            discount_bp=discount_bp, vat_bp=vat_bp, unit_cost_cents=unit_cost(list_price_cents, discount_bp),
            fund=fund, item_type=item_type, collection=collection, source=source, note=(note or "")[:200])
        LineCopies.objects.bulk_create(LineCopies(line=line, branch_id=branch.pk, shelf_location=shelf,
                                                  quantity=quantity) for branch, shelf, quantity in checked)
    return line


def order_line_remove(*, actor, line_id):
    """Take a line off an order list (not yet sent)."""
    acquisitions_actor(actor)
    line = OrderLine.objects.filter(pk=line_id).first()
    if line is None:
        raise ServiceError("line.not_found")
    with transaction.atomic():
        _draft_locked(line.order_id)
        line.delete()


def fund_shortfalls(order, lines=None, funds=None):
    """[(fund, left, needed)] of the funds an order list would take below zero when sent."""
    lines = lines if lines is not None else list(order.lines.all())
    needed = {}
    for line in lines:
        needed[line.fund_id] = needed.get(line.fund_id, 0) + line.committed_cents
    funds = funds if funds is not None else Fund.objects.in_bulk(list(needed))
    return [(funds[fund_id], funds[fund_id].left_cents, amount) for fund_id, amount in sorted(needed.items())
            if amount > funds[fund_id].left_cents]


def order_send(*, actor, order_id, allow_overspend=False, today=None):
    """Send an order list to its supplier: it becomes an order (status ordered), each
    line's cost is committed on its fund, the expected date is set from the
    supplier's delivery time, and for an EDIFACT supplier the ORDERS message is
    made (EdiMessage, downloadable). A fund that would go below zero refuses the
    order (fund.overspent), unless `allow_overspend` by the library's administration."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    with transaction.atomic():
        order = _draft_locked(order_id)
        supplier = order.supplier
        if not supplier.is_active:
            raise ServiceError("supplier.inactive", supplier=supplier.name)
        lines = list(OrderLine.objects.select_for_update().filter(order=order).order_by("pk"))
        if not lines:
            raise ServiceError("order.empty", number=order.number)
        funds = funds_locked({line.fund_id for line in lines})
        errors = []
        for fund in funds.values():
            if fund.year != today.year:
                errors.append(ServiceError("line.fund_other_year", fund=fund.code, year=fund.year,
                                           this_year=today.year))
            elif not fund.is_active:
                errors.append(ServiceError("fund.inactive", fund=fund.code))
        if errors:
            raise ServiceErrors(errors)
        shortfalls = fund_shortfalls(order, lines, funds)
        if shortfalls and not (allow_overspend and may_overspend(actor)):
            raise ServiceErrors([ServiceError("fund.overspent", fund=f"{fund.code} {fund.name}", left=euro(left),
                                              needed=euro(needed)) for fund, left, needed in shortfalls])
        expected = today + datetime.timedelta(days=supplier.delivery_days)
        for line in lines:
            fund_change(funds[line.fund_id], "commit", line.committed_cents, actor=actor, order_line=line,
                        reason=_("Bestelling %(number)s") % {"number": order.number})
            line.expected_on = expected
        OrderLine.objects.bulk_update(lines, ["expected_on"])
        order.status = OrderStatus.ORDERED
        order.sent_at = timezone.now()
        order.sent_by_ref = actor.ref
        order.expected_on = expected
        order.save(update_fields=["status", "sent_at", "sent_by_ref", "expected_on"])
        if supplier.edi_enabled:
            _orders_message(order, lines, actor)
    return order


def _orders_message(order, lines, actor):
    supplier = order.supplier
    titles = Title.objects.in_bulk({line.title_id for line in lines})
    copies = {}
    for entry in LineCopies.objects.filter(line__in=lines).order_by("pk"):
        copies.setdefault(entry.line_id, []).append(entry)
    branch_codes = dict(Branch.objects.filter(pk__in={c.branch_id for cs in copies.values() for c in cs})
                        .values_list("pk", "code"))
    out = []
    for line in lines:
        title = titles.get(line.title_id)
        out.append(edifact.OrderLineOut(
            reference=line.reference, ean=line.isbn, title=line.description, author=line.author,
            publisher=(title.publisher if title else "") or "", year=str(title.year) if title and title.year else "",
            quantity=line.quantity, price_cents=line.list_price_cents,
            copies=[(branch_codes.get(c.branch_id, ""), c.quantity, line.fund.code, c.shelf_location,
                     line.item_type) for c in copies.get(line.pk, [])],
        ))
    # One message has one buyer reference and one delivery party: the branch's account goes
    # in only when all the order's copies go to that one branch (the GIR LLO codes say where
    # each copy of a mixed order goes). The supplier has no account of its own to fall back on.
    branch_accounts = order_accounts(order)
    account = branch_accounts[0][1] if len(branch_accounts) == 1 else None
    text = edifact.orders_interchange(
        order_number=order.number, buyer_id=supplier.buyer_edi_id, buyer_qualifier=supplier.edi_id_qualifier,
        supplier_id=supplier.edi_id, supplier_qualifier=supplier.edi_id_qualifier, lines=out,
        control_reference=f"{order.pk:014d}", message_reference=f"ME{order.pk:012d}",
        now=timezone.localtime(order.sent_at).replace(tzinfo=None), note=order.note,
        account_number=account.account_number if account else "",
        delivery_location=account.delivery_location if account else "")
    return EdiMessage.objects.create(
        direction=EdiDirection.OUT, kind="ORDERS", supplier=supplier, order=order,
        interchange_ref=f"{order.pk:014d}", file_name=f"ORDERS_{order.number}.edi", content=text,
        summary=_("%(lines)s regels, %(copies)s exemplaren") % {
            "lines": len(lines), "copies": sum(line.quantity for line in lines)},
        actor_ref=actor.ref)


def line_cancel_locked(line, quantity, *, actor, reason):
    """Cancel `quantity` open copies of a locked line of a sent order and release
    their commitment (the caller holds the order and line locks; funds are locked here)."""
    if quantity <= 0 or quantity > line.quantity_open:
        raise ServiceError("line.cancel_too_many", line=line.reference, open=line.quantity_open, asked=quantity)
    fund = funds_locked([line.fund_id])[line.fund_id]
    line.quantity_cancelled += quantity
    fund_change(fund, "commit", -line.unit_cost_cents * quantity, actor=actor, order_line=line, reason=reason)
    if line.quantity_open == 0:
        line.claim_flagged_on = None
    line.save(update_fields=["quantity_cancelled", "claim_flagged_on"])
    _shrink_copies(line, quantity)


def _shrink_copies(line, quantity):
    """Cancelled copies come off the branches with most still to come, last entries first."""
    entries = list(LineCopies.objects.filter(line=line).order_by("-pk"))
    for entry in entries:
        take = min(quantity, entry.quantity - entry.quantity_received)
        if take > 0:
            entry.quantity -= take
            quantity -= take
            if entry.quantity == 0:
                entry.delete()
            else:
                entry.save(update_fields=["quantity"])
        if quantity == 0:
            break


def order_close_if_done(order):
    """An ordered order whose lines are all delivered or cancelled and invoiced is closed."""
    if order.status != OrderStatus.ORDERED:
        return
    if all(line.quantity_open == 0 and line.quantity_to_invoice == 0 for line in order.lines.all()):
        order.status = OrderStatus.CLOSED
        order.save(update_fields=["status"])


def order_line_cancel(*, actor, line_id, quantity=None, reason=""):
    """Cancel open copies of a line of a sent order (all that are open when
    `quantity` is None); their commitment is released."""
    acquisitions_actor(actor)
    line = OrderLine.objects.filter(pk=line_id).first()
    if line is None:
        raise ServiceError("line.not_found")
    with transaction.atomic():
        order = _order_locked(line.order_id)
        if order.status != OrderStatus.ORDERED:
            raise ServiceError("order.not_open", number=order.number)
        line = OrderLine.objects.select_for_update().select_related("order").get(pk=line.pk)
        if line.quantity_open == 0:
            raise ServiceError("line.nothing_open", line=line.reference)
        try:
            quantity = line.quantity_open if quantity in (None, "") else int(quantity)
        except (TypeError, ValueError):
            raise ServiceError("line.quantity_invalid", field="quantity") from None
        line_cancel_locked(line, quantity, actor=actor,
                           reason=reason or _("Geannuleerd door de bibliotheek"))
        order_close_if_done(order)
    return line
