"""Acquisitions screens (the acquisitions role), in Dutch. Thin: they parse the
form, call one service or selector and render; refusals are the services'
sentences."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from catalogue.selectors import title_search
from collection.models import CollectionKind, ItemType
from collection.services import item_processing_done
from core.csv import csv_response
from core.money import euro, euro_parse
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import has_role, working_branch
from tenants.selectors import branch_choices

from . import selectors
from .models import EdiIdQualifier, InvoiceStatus, OrderStatus, TargetGroup
from .services import claims, edi, funds, invoices, orders, receipt, suppliers, titles

acquisitions = library_staff_required(Role.ACQUISITIONS)


def _actor(request):
    branch = working_branch(request.session, request.library)
    return actor_for_request(request, branch_id=branch.pk if branch else None)


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _refused(request, error):
    for message in error.messages:
        messages.error(request, message)


def _year(request):
    return _int(request.GET.get("jaar"), selectors.default_year())


# --- home ------------------------------------------------------------------------


@acquisitions
def home(request):
    year = selectors.year_today()
    rows, totals = selectors.fund_report(year)
    return render(request, "ordering/home.html", {
        "year": year, "totals": totals,
        "drafts": selectors.orders_list(status=OrderStatus.DRAFT, limit=10),
        "open_orders": selectors.orders_list(status=OrderStatus.ORDERED, limit=10),
        "claims": len(selectors.claim_lines()),
        "announced": selectors.announced_deliveries(),
        "to_approve": selectors.invoices_list(status=InvoiceStatus.REGISTERED, limit=20),
        "share": selectors.target_group_share(year),
    })


# --- suppliers ------------------------------------------------------------------------


def _supplier_values(post):
    return dict(
        code=post.get("code", ""), name=post.get("name", ""), contact_name=post.get("contact_name", ""),
        email=post.get("email", ""), phone=post.get("phone", ""), address=post.get("address", ""),
        default_discount=post.get("default_discount", ""), vat=post.get("vat", ""),
        delivery_days=post.get("delivery_days", ""), edi_enabled=post.get("edi_enabled") == "on",
        edi_id=post.get("edi_id", ""), edi_id_qualifier=post.get("edi_id_qualifier", EdiIdQualifier.EAN),
        buyer_edi_id=post.get("buyer_edi_id", ""), shelf_ready=post.get("shelf_ready") == "on",
        catalogue_source=post.get("catalogue_source", ""), is_active=post.get("is_active") == "on",
    )


@acquisitions
def supplier_list(request):
    values, errors = {}, []
    if request.method == "POST":
        values = _supplier_values(request.POST)
        try:
            supplier = suppliers.supplier_save(actor=_actor(request), **values)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Leverancier {supplier.name} is vastgelegd.")
            return redirect("ordering:supplier", supplier_id=supplier.pk)
    return render(request, "ordering/suppliers.html", {
        "suppliers": selectors.suppliers(), "values": values, "errors": errors,
        "qualifiers": EdiIdQualifier.choices}, status=400 if errors else 200)


@acquisitions
def supplier_detail(request, supplier_id):
    supplier = selectors.supplier_get(supplier_id)
    if supplier is None:
        raise Http404("Deze leverancier bestaat niet.")
    errors = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "account":
                suppliers.supplier_account_save(
                    actor=_actor(request), supplier_id=supplier.pk, branch_id=request.POST.get("branch"),
                    account_number=request.POST.get("account_number", ""),
                    delivery_location=request.POST.get("delivery_location", ""))
                messages.success(request, "Klantnummer vastgelegd.")
            else:
                suppliers.supplier_save(actor=_actor(request), supplier_id=supplier.pk,
                                        **_supplier_values(request.POST))
                messages.success(request, "Leverancier bijgewerkt.")
        except ValidationError as error:
            errors = error.messages
        else:
            return redirect("ordering:supplier", supplier_id=supplier.pk)
    branches = {branch.pk: branch.name for branch in branch_choices(request.library)}
    accounts = [(branches.get(account.branch_id, "?"), account) for account in supplier.accounts.all()]
    return render(request, "ordering/supplier.html", {
        "supplier": supplier, "accounts": accounts, "branches": branch_choices(request.library),
        "working_branch": working_branch(request.session, request.library), "errors": errors,
        "qualifiers": EdiIdQualifier.choices, "values": _supplier_form(supplier),
    }, status=400 if errors else 200)


def _supplier_form(supplier):
    from .templatetags.ordering_tags import percent

    values = {name: getattr(supplier, name) for name in (
        "code", "name", "contact_name", "email", "phone", "address", "delivery_days", "edi_enabled", "edi_id",
        "edi_id_qualifier", "buyer_edi_id", "shelf_ready", "catalogue_source", "is_active")}
    values.update(default_discount=percent(supplier.default_discount_bp), vat=percent(supplier.vat_bp))
    return values


# --- funds --------------------------------------------------------------------------------


@acquisitions
def fund_list(request):
    year = _year(request)
    errors = []
    if request.method == "POST":
        amount = euro_parse(request.POST.get("allocated", ""))
        try:
            if request.POST.get("action") == "rollover":
                created = funds.fund_year_rollover(
                    actor=_actor(request), from_year=request.POST.get("from_year"),
                    to_year=request.POST.get("to_year"),
                    allocation_percent=request.POST.get("allocation_percent", "100"),
                    carry_unspent=request.POST.get("carry_unspent") == "on",
                    move_open_orders=request.POST.get("move_open_orders") == "on")
                messages.success(request, f"{len(created)} fondsen aangemaakt voor {request.POST.get('to_year')}.")
                return redirect(f"{request.path}?jaar={request.POST.get('to_year')}")
            fund = funds.fund_save(
                actor=_actor(request), fund_id=_int(request.POST.get("fund_id")), year=request.POST.get("year"),
                code=request.POST.get("code", ""), name=request.POST.get("name", ""),
                allocated_cents=amount if amount is not None else request.POST.get("allocated", ""),
                parent_id=request.POST.get("parent") or None, target_group=request.POST.get("target_group", ""),
                ledger_account=request.POST.get("ledger_account", ""))
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Fonds {fund.code} {fund.name} is vastgelegd.")
            return redirect(f"{request.path}?jaar={fund.year}")
    rows, totals = selectors.fund_report(year)
    return render(request, "ordering/funds.html", {
        "year": year, "rows": rows, "totals": totals, "years": selectors.fund_years(), "errors": errors,
        "target_groups": TargetGroup.choices, "parents": selectors.funds_of_year(year), "post": request.POST,
        "edit": selectors.funds_of_year(year).filter(pk=_int(request.GET.get("fonds"))).first(),
    }, status=400 if errors else 200)


# --- orders -------------------------------------------------------------------------------


@acquisitions
def order_list(request):
    if request.method == "POST":
        try:
            order = orders.order_list_create(actor=_actor(request), supplier_id=request.POST.get("supplier"),
                                             name=request.POST.get("name", ""))
        except ValidationError as error:
            _refused(request, error)
            return redirect("ordering:orders")
        messages.success(request, f"Bestellijst {order.number} is aangemaakt.")
        return redirect("ordering:order", order_id=order.pk)
    status = request.GET.get("status") or None
    return render(request, "ordering/orders.html", {
        "orders": selectors.orders_list(status=status), "status": status, "statuses": OrderStatus.choices,
        "suppliers": selectors.suppliers(active_only=True)})


def _copies_from(post, prefix=""):
    return [{"branch_id": post.get(f"{prefix}branch"), "shelf_location": post.get(f"{prefix}shelf_location", ""),
             "quantity": post.get(f"{prefix}quantity", "")}]


@acquisitions
def order_detail(request, order_id):
    order = selectors.order_get(order_id)
    if order is None:
        raise Http404("Deze bestelling bestaat niet.")
    errors, problems, query = [], [], request.GET.get("q", "").strip()
    actor = _actor(request)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "add":
                price = euro_parse(request.POST.get("price", ""))
                line = orders.order_line_add(
                    actor=actor, order_id=order.pk, title_id=request.POST.get("title"),
                    copies=_copies_from(request.POST), list_price_cents=price if price is not None else "",
                    fund_id=request.POST.get("fund"), discount=request.POST.get("discount") or None,
                    item_type=request.POST.get("item_type", ItemType.BOOK),
                    collection=request.POST.get("collection", CollectionKind.ADULT))
                messages.success(request, f"Toegevoegd: {line.description} ({line.quantity} ex.).")
            elif action == "remove":
                orders.order_line_remove(actor=actor, line_id=request.POST.get("line"))
                messages.success(request, "Regel verwijderd.")
            elif action == "list":
                upload = request.FILES.get("file")
                price = euro_parse(request.POST.get("price", ""))
                result = titles.title_list_import(
                    actor=actor, order_id=order.pk, data=upload.read() if upload else b"",
                    file_name=upload.name if upload else "", fund_id=request.POST.get("fund"),
                    branch_id=request.POST.get("branch"), shelf_location=request.POST.get("shelf_location", ""),
                    default_quantity=_int(request.POST.get("quantity"), 1) or 1, default_price_cents=price,
                    item_type=request.POST.get("item_type", ItemType.BOOK),
                    collection=request.POST.get("collection", CollectionKind.ADULT))
                messages.success(request, f"Titellijst: {len(result.lines)} regels toegevoegd, "
                                          f"{result.titles_new} nieuwe titels in de catalogus, "
                                          f"{len(result.problems)} regels met een probleem.")
                problems = [message for error in result.problems for message in error.messages]
                if problems:
                    return _render_order(request, order, errors, problems, query)
            elif action == "send":
                orders.order_send(actor=actor, order_id=order.pk,
                                  allow_overspend=request.POST.get("allow_overspend") == "on")
                messages.success(request, f"Bestelling {order.number} is verstuurd naar {order.supplier.name}.")
            elif action == "cancel_line":
                orders.order_line_cancel(actor=actor, line_id=request.POST.get("line"),
                                         quantity=request.POST.get("quantity") or None)
                messages.success(request, "Openstaande exemplaren geannuleerd.")
            else:
                raise Http404("Onbekende handeling.")
        except ValidationError as error:
            errors = error.messages
        else:
            return redirect("ordering:order", order_id=order.pk)
    return _render_order(request, order, errors, problems, query)


def _render_order(request, order, errors, problems, query):
    order = selectors.order_get(order.pk)
    lines = selectors.order_lines(order)
    year = selectors.year_today()
    found = title_search(query=query, limit=10).titles if query and order.status == OrderStatus.DRAFT else []
    return render(request, "ordering/order.html", {
        "order": order, "lines": lines, "total": selectors.order_total_cents(lines),
        "shortfalls": orders.fund_shortfalls(order) if order.status == OrderStatus.DRAFT and lines else [],
        "may_overspend": has_role(request.user, request.library, Role.LIBRARY_ADMIN),
        "edi_messages": selectors.order_messages(order), "funds": selectors.funds_of_year(year, active_only=True),
        "branches": branch_choices(request.library), "item_types": ItemType.choices,
        "collections": CollectionKind.choices, "errors": errors, "problems": problems, "query": query,
        "found": found, "default_discount": order.supplier.default_discount_bp / 100,
        "working_branch": working_branch(request.session, request.library),
    }, status=400 if errors else 200)


@acquisitions
def order_print(request, order_id):
    order = selectors.order_get(order_id)
    if order is None:
        raise Http404("Deze bestelling bestaat niet.")
    lines = selectors.order_lines(order)
    return render(request, "ordering/order_print.html", {
        "order": order, "lines": lines, "total": selectors.order_total_cents(lines),
        "accounts": selectors.order_accounts(order)})


@acquisitions
def edi_download(request, message_id):
    message = selectors.edi_message_get(message_id)
    if message is None:
        raise Http404("Dit bericht bestaat niet.")
    response = HttpResponse(message.content, content_type="application/edifact; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{message.file_name or f"{message.kind}.edi"}"'
    return response


# --- purchase suggestions ---------------------------------------------------------------------


@acquisitions
def suggestions(request):
    if request.method == "POST":
        price = euro_parse(request.POST.get("price", ""))
        added = 0
        try:
            for title_id in request.POST.getlist("title"):
                orders.order_line_add(
                    actor=_actor(request), order_id=request.POST.get("order"), title_id=title_id,
                    copies=[{"branch_id": request.POST.get("branch"), "quantity": request.POST.get(f"q{title_id}"),
                             "shelf_location": request.POST.get("shelf_location", "")}],
                    list_price_cents=price if price is not None else "", fund_id=request.POST.get("fund"),
                    source="suggestion")
                added += 1
        except ValidationError as error:
            _refused(request, error)
        if added:
            messages.success(request, f"{added} titels op de bestellijst gezet.")
            return redirect("ordering:order", order_id=request.POST.get("order"))
        return redirect("ordering:suggestions")
    settings = selectors.ordering_settings()
    return render(request, "ordering/suggestions.html", {
        "rows": selectors.purchase_suggestions(), "ratio": settings.holds_per_copy,
        "drafts": selectors.orders_list(status=OrderStatus.DRAFT),
        "funds": selectors.funds_of_year(selectors.year_today(), active_only=True),
        "branches": branch_choices(request.library)})


# --- receipt ------------------------------------------------------------------------------------


@acquisitions
def receipt_screen(request):
    supplier_id = _int(request.GET.get("leverancier") or request.POST.get("supplier"))
    errors = []
    if request.method == "POST":
        try:
            if request.POST.get("action") == "announced":
                delivery = receipt.receipt_announced(actor=_actor(request), reference=request.POST.get("reference"))
                messages.success(request, f"Levering {delivery.reference} ontvangen: "
                                          f"{delivery.copies.count()} exemplaren in bewerking.")
                return redirect("ordering:receipt")
            wanted = []
            for key, value in request.POST.items():
                if key.startswith("barcodes_") and value.strip():
                    line_id = _int(key.removeprefix("barcodes_"))
                    branch = request.POST.get(f"branch_{line_id}") or None
                    wanted += [(line_id, barcode, branch) for barcode in value.split()]
            delivery = receipt.receipt_register(actor=_actor(request), supplier_id=supplier_id, copies=wanted,
                                                reference=request.POST.get("reference", ""))
        except ValidationError as error:
            errors = error.messages
        else:
            count = delivery.copies.count()
            messages.success(request, f"{count} exemplaren ontvangen en in bewerking gezet: "
                                      f"{', '.join(delivery.copies.values_list('barcode', flat=True))}.")
            return redirect(f"{request.path}?leverancier={supplier_id}")
    lines = selectors.open_lines_of_supplier(supplier_id) if supplier_id else []
    shown = {other.pk: other.copies_shown for order in {line.order for line in lines}
             for other in selectors.order_lines(order)}
    for line in lines:
        line.copies_shown = shown.get(line.pk, [])
    return render(request, "ordering/receipt.html", {
        "suppliers": selectors.suppliers(), "supplier_id": supplier_id, "lines": lines, "errors": errors,
        "announced": selectors.announced_deliveries(), "deliveries": selectors.deliveries_recent(),
        "branches": branch_choices(request.library)}, status=400 if errors else 200)


@acquisitions
def processing(request):
    if request.method == "POST":
        try:
            items = item_processing_done(actor=_actor(request), barcodes=request.POST.get("barcodes", ""))
        except ValidationError as error:
            _refused(request, error)
        else:
            messages.success(request, f"{len(items)} exemplaren zijn nu beschikbaar: "
                                      f"{', '.join(item.barcode for item in items)}.")
        return redirect("ordering:processing")
    return render(request, "ordering/processing.html", {"items": selectors.items_in_processing()})


# --- invoices ---------------------------------------------------------------------------------------


@acquisitions
def invoice_list(request):
    supplier_id = _int(request.GET.get("leverancier") or request.POST.get("supplier"))
    errors = []
    if request.method == "POST":
        rows = []
        for key, value in request.POST.items():
            if key.startswith("qty_") and value.strip():
                line_id = _int(key.removeprefix("qty_"))
                amount = euro_parse(request.POST.get(f"amount_{line_id}", ""))
                rows.append((line_id, _int(value, -1), amount if amount is not None else -1, None))
        total = euro_parse(request.POST.get("total", ""))
        try:
            date = datetime.date.fromisoformat(request.POST.get("invoice_date", ""))
        except ValueError:
            date = None
        try:
            invoice = invoices.invoice_register(
                actor=_actor(request), supplier_id=supplier_id, number=request.POST.get("number", ""),
                invoice_date=date, lines=rows, total_cents=total)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Factuur {invoice.number} is geregistreerd ({euro(invoice.total_cents)}).")
            return redirect("ordering:invoice", invoice_id=invoice.pk)
    return render(request, "ordering/invoices.html", {
        "invoices": selectors.invoices_list(), "suppliers": selectors.suppliers(), "supplier_id": supplier_id,
        "lines": selectors.lines_to_invoice(supplier_id) if supplier_id else [], "errors": errors,
        "post": request.POST, "today": timezone.localdate()}, status=400 if errors else 200)


@acquisitions
def invoice_detail(request, invoice_id):
    invoice = selectors.invoice_get(invoice_id)
    if invoice is None:
        raise Http404("Deze factuur bestaat niet.")
    errors = []
    if request.method == "POST":
        try:
            invoices.invoice_approve(actor=_actor(request), invoice_id=invoice.pk)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"Factuur {invoice.number} is betaalbaar gesteld.")
            return redirect("ordering:invoice", invoice_id=invoice.pk)
    return render(request, "ordering/invoice.html", {
        "invoice": invoice, "lines": selectors.invoice_lines(invoice), "errors": errors},
        status=400 if errors else 200)


# --- EDIFACT in -----------------------------------------------------------------------------------------


@acquisitions
def edi_inbox(request):
    errors = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        data = upload.read() if upload else request.POST.get("text", "").encode()
        name = upload.name if upload else ""
        try:
            if request.POST.get("kind") == "INVOIC":
                results = edi.invoic_read(actor=_actor(request), supplier_id=request.POST.get("supplier"),
                                          text=data, file_name=name)
                messages.success(request, "Factuur gelezen: " + ", ".join(
                    f"{invoice.number} ({euro(invoice.total_cents)})"
                    + (f", levering {delivery.reference} aangekondigd" if delivery else "")
                    for invoice, delivery in results) + ".")
            else:
                message = edi.ordrsp_read(actor=_actor(request), supplier_id=request.POST.get("supplier"),
                                          text=data, file_name=name)
                messages.success(request, f"Orderbevestiging gelezen: {message.summary}.")
        except ValidationError as error:
            errors = error.messages
        else:
            return redirect("ordering:edi")
    return render(request, "ordering/edi.html", {
        "suppliers": selectors.suppliers(), "messages_list": selectors.edi_messages_recent(), "errors": errors},
        status=400 if errors else 200)


# --- claims ---------------------------------------------------------------------------------------------


@acquisitions
def claim_list(request):
    if request.method == "POST":
        try:
            lines = claims.claims_sent(actor=_actor(request), line_ids=[
                _int(value) for value in request.POST.getlist("line") if _int(value)])
        except ValidationError as error:
            _refused(request, error)
        else:
            messages.success(request, f"{len(lines)} rappels verstuurd.")
        return redirect("ordering:claims")
    return render(request, "ordering/claims.html", {"lines": selectors.claim_lines()})


# --- reports ---------------------------------------------------------------------------------------------


@acquisitions
def reports(request):
    year = _year(request)
    rows, totals = selectors.fund_report(year)
    months = selectors.spending_per_month(year)
    if request.GET.get("formaat") == "csv":
        return csv_response(f"fondsen-{year}.csv", header=[
            "jaar", "code", "fonds", "valt onder", "doelgroep", "toegekend", "vastgelegd", "uitgegeven", "over",
        ], rows=[
            [year, row.fund.code, row.fund.name, row.fund.parent.code if row.fund.parent else "",
             row.fund.get_target_group_display(), _plain(row.allocated), _plain(row.committed),
             _plain(row.spent), _plain(row.left)]
            for row in rows
        ])
    peak = max(months) or 1
    bars = [(name, cents, round(160 * cents / peak), 8 + 52 * index, 170 - round(160 * cents / peak))
            for index, (name, cents) in enumerate(zip(
        ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"], months))]
    return render(request, "ordering/reports.html", {
        "year": year, "years": selectors.fund_years(), "rows": rows, "totals": totals,
        "share": selectors.target_group_share(year), "supplier_rows": selectors.supplier_report(year),
        "bars": bars, "month_total": sum(months)})


def _plain(cents):
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole},{rest:02d}"


@acquisitions
def journal(request):
    try:
        day = datetime.date.fromisoformat(request.GET.get("dag", ""))
    except ValueError:
        day = timezone.localdate()
    rows = selectors.journal_rows(day)
    if request.GET.get("formaat") == "csv":
        # For the finance system: no byte order mark.
        return csv_response(f"journaal-{day.isoformat()}.csv", bom=False, header=[
            "boekdatum", "factuurnummer", "factuurdatum", "leverancier", "fonds", "grootboekrekening",
            "bedrag_excl_btw", "btw", "bedrag_incl_btw",
        ], rows=(
            [day.isoformat(), row["invoice"].number, row["invoice"].invoice_date.isoformat(),
             row["invoice"].supplier.code, row["fund"].code, row["fund"].ledger_account,
             _plain(row["amount"] - row["vat"]), _plain(row["vat"]), _plain(row["amount"])]
            for row in rows
        ))
    return render(request, "ordering/journal.html", {
        "day": day, "rows": rows, "days": selectors.days_with_approvals(),
        "total": sum(row["amount"] for row in rows)})


@acquisitions
def settings_screen(request):
    errors = []
    if request.method == "POST":
        try:
            claims.ordering_settings_update(actor=_actor(request), holds_per_copy=request.POST.get("holds_per_copy"),
                                            claim_grace_days=request.POST.get("claim_grace_days"))
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, "Instellingen opgeslagen.")
            return redirect("ordering:settings")
    return render(request, "ordering/settings.html", {"settings": selectors.ordering_settings(), "errors": errors},
                  status=400 if errors else 200)

