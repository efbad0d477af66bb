"""Reads of acquisitions: lists, the fund tree with its figures, the target-group
share, supplier figures, spending per month, the journal for finance, purchase
suggestions from the reservation queues, and the check that every fund's amounts
equal what its lines say."""

import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from catalogue.models import Title
from circulation.selectors_queues import waiting_holds_per_title
from collection.models import Item, ItemStatus

from .models import (
    Delivery,
    DeliveryStatus,
    EdiMessage,
    Fund,
    FundEntry,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineCopies,
    Order,
    OrderingSettings,
    OrderLine,
    OrderStatus,
    Supplier,
    SupplierAccount,
    TargetGroup,
)

TARGET_GROUP_NORM_PERCENT = 20


def ordering_settings():
    return OrderingSettings.objects.filter(pk=1).first() or OrderingSettings(pk=1)


def suppliers(*, active_only=False):
    rows = Supplier.objects.all()
    return rows.filter(is_active=True) if active_only else rows


def supplier_get(supplier_id):
    return Supplier.objects.filter(pk=supplier_id).prefetch_related("accounts").first()


def funds_of_year(year, *, active_only=False):
    rows = Fund.objects.filter(year=year).select_related("parent").order_by("code")
    return rows.filter(is_active=True) if active_only else rows


def fund_years():
    return sorted(set(Fund.objects.values_list("year", flat=True)), reverse=True)


def orders_list(*, status=None, supplier_id=None, limit=200):
    rows = Order.objects.select_related("supplier").order_by("-created_at", "-pk")
    if status:
        rows = rows.filter(status=status)
    if supplier_id:
        rows = rows.filter(supplier_id=supplier_id)
    return list(rows[:limit])


def order_get(order_id):
    return Order.objects.select_related("supplier").filter(pk=order_id).first()


def order_lines(order):
    lines = list(order.lines.select_related("fund").prefetch_related("copies").order_by("line_number"))
    from tenants.models import Branch

    names = dict(Branch.objects.filter(pk__in={c.branch_id for line in lines for c in line.copies.all()})
                 .values_list("pk", "name"))
    for line in lines:
        line.copies_shown = [(names.get(c.branch_id, "?"), c.shelf_location, c.quantity, c.quantity_received)
                             for c in line.copies.all()]
    return lines


def order_accounts(order):
    """The library's accounts at the order's supplier for the branches the order's copies go
    to, as [(branch, account or None)] in branch-code order: what the printed order shows and,
    for an order of one branch, what ORDERS sends (RFF+API, NAD+DP)."""
    from tenants.models import Branch

    branch_ids = set(LineCopies.objects.filter(line__order=order).values_list("branch_id", flat=True))
    accounts = {account.branch_id: account for account in
                SupplierAccount.objects.filter(supplier_id=order.supplier_id, branch_id__in=branch_ids)}
    return [(branch, accounts.get(branch.pk)) for branch in Branch.objects.filter(pk__in=branch_ids).order_by("code")]


def order_total_cents(lines):
    return sum(line.unit_cost_cents * (line.quantity - line.quantity_cancelled) for line in lines)


def order_messages(order):
    return list(EdiMessage.objects.filter(order=order).order_by("-created_at"))


def edi_message_get(message_id):
    return EdiMessage.objects.select_related("supplier", "order").filter(pk=message_id).first()


def edi_messages_recent(limit=50):
    return list(EdiMessage.objects.select_related("supplier", "order").order_by("-created_at", "-pk")[:limit])


def open_lines_of_supplier(supplier_id):
    """Lines of the supplier's sent orders with copies still to come (the receipt screen)."""
    return [line for line in OrderLine.objects.select_related("order", "fund").filter(
        order__supplier_id=supplier_id, order__status=OrderStatus.ORDERED).order_by("order__number", "line_number")
        if line.quantity_open > 0]


def lines_to_invoice(supplier_id):
    return [line for line in OrderLine.objects.select_related("order").filter(
        order__supplier_id=supplier_id, order__status__in=[OrderStatus.ORDERED, OrderStatus.CLOSED])
        .order_by("order__number", "line_number") if line.quantity_to_invoice > 0]


def announced_deliveries():
    return list(Delivery.objects.filter(status=DeliveryStatus.ANNOUNCED).select_related("supplier", "invoice")
                .order_by("created_at"))


def deliveries_recent(limit=20):
    return list(Delivery.objects.select_related("supplier").order_by("-created_at", "-pk")[:limit])


def delivery_copies(delivery):
    return list(delivery.copies.select_related("line__order").order_by("pk"))


def invoices_list(*, status=None, limit=200):
    rows = Invoice.objects.select_related("supplier").order_by("-invoice_date", "-pk")
    if status:
        rows = rows.filter(status=status)
    return list(rows[:limit])


def invoice_get(invoice_id):
    return Invoice.objects.select_related("supplier").filter(pk=invoice_id).first()


def invoice_lines(invoice):
    return list(invoice.lines.select_related("order_line__order", "order_line__fund").order_by("pk"))


def claim_lines():
    """Lines flagged late by the daily run (to claim at the supplier)."""
    return list(OrderLine.objects.select_related("order__supplier").filter(claim_flagged_on__isnull=False)
                .order_by("order__supplier__name", "expected_on", "pk"))


def items_in_processing(limit=200):
    """Copies received from suppliers still in processing (to make available)."""
    from .models import ReceivedCopy

    barcodes = ReceivedCopy.objects.filter(received=True).values_list("barcode", flat=True)
    return list(Item.objects.filter(status=ItemStatus.IN_PROCESSING, barcode__in=barcodes)
                .select_related("title", "owning_branch").order_by("owning_branch__name", "barcode")[:limit])


# --- reports ---------------------------------------------------------------------


@dataclass
class FundRow:
    fund: Fund
    depth: int
    allocated: int
    committed: int
    spent: int
    children: list = field(default_factory=list)

    @property
    def left(self):
        return self.allocated - self.committed - self.spent

    @property
    def used_percent(self):
        return round(100 * (self.committed + self.spent) / self.allocated) if self.allocated else 0


def fund_report(year):
    """The year's funds as a tree (parents before their children), each with its
    amounts including its sub-funds."""
    funds = list(Fund.objects.filter(year=year).order_by("code"))
    by_parent = {}
    for fund in funds:
        by_parent.setdefault(fund.parent_id, []).append(fund)
    rows = []

    def walk(fund, depth):
        row = FundRow(fund, depth, fund.allocated_cents, fund.committed_cents, fund.spent_cents)
        rows.append(row)
        for child in by_parent.get(fund.pk, []):
            sub = walk(child, depth + 1)
            row.allocated += sub.allocated
            row.committed += sub.committed
            row.spent += sub.spent
        return row

    known = {fund.pk for fund in funds}
    for fund in funds:
        if fund.parent_id is None or fund.parent_id not in known:
            walk(fund, 0)
    totals = FundRow(None, 0, sum(f.allocated_cents for f in funds), sum(f.committed_cents for f in funds),
                     sum(f.spent_cents for f in funds))
    return rows, totals


@dataclass
class TargetGroupShare:
    year: int
    spent_total: int
    spent_target: int
    ordered_total: int  # spent + committed
    ordered_target: int
    per_group: list  # [(label, spent, committed)]

    @property
    def spent_percent(self):
        return round(Decimal(100 * self.spent_target) / self.spent_total, 1) if self.spent_total else Decimal(0)

    @property
    def ordered_percent(self):
        return (round(Decimal(100 * self.ordered_target) / self.ordered_total, 1) if self.ordered_total
                else Decimal(0))

    @property
    def meets_norm(self):
        return self.ordered_total > 0 and self.ordered_percent >= TARGET_GROUP_NORM_PERCENT

    norm = TARGET_GROUP_NORM_PERCENT


def target_group_share(year):
    """What share of the year's collection spending (and of spent + committed) went to
    funds with a target group (norm: at least 20 %)."""
    funds = list(Fund.objects.filter(year=year))
    spent_total = sum(f.spent_cents for f in funds)
    ordered_total = spent_total + sum(f.committed_cents for f in funds)
    tagged = [f for f in funds if f.target_group]
    per_group = []
    for value, label in TargetGroup.choices:
        group = [f for f in tagged if f.target_group == value]
        if group:
            per_group.append((label, sum(f.spent_cents for f in group), sum(f.committed_cents for f in group)))
    return TargetGroupShare(year, spent_total, sum(f.spent_cents for f in tagged), ordered_total,
                            sum(f.spent_cents + f.committed_cents for f in tagged), per_group)


def spending_per_month(year):
    """[12 x cents]: what was spent (invoices approved) per month of the year."""
    months = [0] * 12
    rows = (FundEntry.objects.filter(kind="spend", fund__year=year, at__year=year)
            .annotate(month=ExtractMonth("at", tzinfo=timezone.get_current_timezone()))
            .values("month").annotate(total=Sum("amount_cents")).values_list("month", "total"))
    for month, total in rows:
        months[month - 1] = total or 0
    return months


@dataclass
class SupplierRow:
    supplier: Supplier
    orders: int = 0
    copies_ordered: int = 0
    ordered_cents: int = 0
    copies_received: int = 0
    copies_cancelled: int = 0
    late_lines: int = 0
    list_cents: int = 0
    spent_cents: int = 0

    @property
    def discount_percent(self):
        if not self.list_cents:
            return Decimal(0)
        return round(Decimal(100 * (self.list_cents - self.ordered_cents)) / self.list_cents, 1)


def supplier_report(year, *, today=None):
    """Per supplier, over the orders sent in `year`: orders, copies and amounts
    ordered, received, cancelled, lines late, the discount obtained and what was spent."""
    today = today or timezone.localdate()
    rows = {}
    lines = OrderLine.objects.filter(order__sent_at__year=year).select_related("order__supplier")
    for line in lines:
        row = rows.setdefault(line.order.supplier_id, SupplierRow(line.order.supplier))
        ordered = line.quantity - line.quantity_cancelled
        row.copies_ordered += ordered
        row.ordered_cents += line.unit_cost_cents * ordered
        row.list_cents += line.list_price_cents * ordered
        row.copies_received += line.quantity_received
        row.copies_cancelled += line.quantity_cancelled
        if line.quantity_open and line.expected_on and line.expected_on < today:
            row.late_lines += 1
    counts = dict(Order.objects.filter(sent_at__year=year).values("supplier_id").annotate(n=Count("pk"))
                  .values_list("supplier_id", "n"))
    for supplier_id, total in InvoiceLine.objects.filter(invoice__status=InvoiceStatus.APPROVED,
                                                         invoice__approved_on__year=year).values(
            "invoice__supplier_id").annotate(total=Sum("amount_cents")).values_list("invoice__supplier_id", "total"):
        if supplier_id in rows:
            rows[supplier_id].spent_cents = total
    for supplier_id, row in rows.items():
        row.orders = counts.get(supplier_id, 0)
    return sorted(rows.values(), key=lambda row: row.supplier.name)


def journal_rows(day):
    """The finance journal of one day: per approved invoice and fund, the amounts."""
    rows = {}
    lines = (InvoiceLine.objects.filter(invoice__status=InvoiceStatus.APPROVED, invoice__approved_on=day)
             .select_related("invoice__supplier", "order_line__fund").order_by("invoice__pk", "pk"))
    for line in lines:
        invoice, fund = line.invoice, line.order_line.fund
        key = (invoice.pk, fund.pk)
        row = rows.setdefault(key, {"invoice": invoice, "fund": fund, "amount": 0, "vat": 0})
        row["amount"] += line.amount_cents
        row["vat"] += line.vat_cents
    for row in rows.values():
        row["net"] = row["amount"] - row["vat"]
    return list(rows.values())


# --- purchase suggestions ---------------------------------------------------------


@dataclass
class Suggestion:
    title: Title
    waiting: int
    copies: int
    on_order: int
    suggested: int

    @property
    def per_copy(self):
        have = self.copies + self.on_order
        return round(Decimal(self.waiting) / have, 1) if have else None


def purchase_suggestions(*, ratio=None, limit=100):
    """Titles whose waiting holds per copy (copies held plus copies on order) exceed
    the library's ratio, with how many more copies would bring them within it."""
    ratio = Decimal(ratio if ratio is not None else ordering_settings().holds_per_copy)
    queues = waiting_holds_per_title(min_waiting=1)
    if not queues:
        return []
    title_ids = [title_id for title_id, _ in queues]
    copies = dict(Item.objects.filter(title_id__in=title_ids).exclude(
        status__in=[ItemStatus.WITHDRAWN, ItemStatus.MISSING]).values("title_id").annotate(n=Count("pk"))
        .values_list("title_id", "n"))
    on_order = {}
    for line in OrderLine.objects.filter(title_id__in=title_ids).filter(
            Q(order__status=OrderStatus.DRAFT) | Q(order__status=OrderStatus.ORDERED)):
        on_order[line.title_id] = on_order.get(line.title_id, 0) + line.quantity_open
    result = []
    for title_id, waiting in queues:
        have = copies.get(title_id, 0) + on_order.get(title_id, 0)
        needed = math.ceil(Decimal(waiting) / ratio) if ratio else 0
        if (have == 0 or Decimal(waiting) / have > ratio) and needed > have:
            result.append((title_id, waiting, copies.get(title_id, 0), on_order.get(title_id, 0), needed - have))
    titles = Title.objects.defer("marc").in_bulk([row[0] for row in result[:limit]])
    return [Suggestion(titles[row[0]], *row[1:]) for row in result[:limit] if row[0] in titles]


# --- consistency -------------------------------------------------------------------


def fund_totals_check():
    """[(fund, what, on the fund, from the lines/entries)] for every fund whose
    committed or spent amount differs from its order lines and approved invoices,
    or whose amounts differ from its entries. Empty when all add up."""
    problems = []
    for fund in Fund.objects.order_by("pk"):
        committed = sum(line.committed_cents for line in OrderLine.objects.filter(
            fund=fund, order__status__in=[OrderStatus.ORDERED, OrderStatus.CLOSED]))
        spent = InvoiceLine.objects.filter(order_line__fund=fund, invoice__status=InvoiceStatus.APPROVED,
                                           ).aggregate(total=Sum("amount_cents"))["total"] or 0
        entries = dict(FundEntry.objects.filter(fund=fund).values("kind").annotate(total=Sum("amount_cents"))
                       .values_list("kind", "total"))
        for what, on_fund, expected in (
            ("committed", fund.committed_cents, committed), ("spent", fund.spent_cents, spent),
            ("entries committed", fund.committed_cents, entries.get("commit", 0)),
            ("entries spent", fund.spent_cents, entries.get("spend", 0)),
            ("entries allocated", fund.allocated_cents, entries.get("allocate", 0)),
        ):
            if on_fund != expected:
                problems.append((fund, what, on_fund, expected))
    return problems


def year_today():
    return timezone.localdate().year


def default_year():
    years = fund_years()
    this = year_today()
    return this if this in years or not years else years[0]


def days_with_approvals(limit=60):
    return list(Invoice.objects.filter(status=InvoiceStatus.APPROVED).order_by("-approved_on")
                .values_list("approved_on", flat=True).distinct()[:limit])


def line_copies(line):
    return list(LineCopies.objects.filter(line=line).order_by("pk"))


def today():
    return timezone.localdate()

