"""Collection screens (collection role): title page with items and national
availability, item page, move, withdraw, weeding list and stocktake. Thin: they
parse input, call one service or selector and render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalogue.models import Audience
from core.csv import csv_response
from staff.models import Role
from staff.permissions import CATALOGUE_READER_ROLES, actor_for_request, library_staff_required
from staff.selectors import has_role
from staff.selectors import working_branch
from tenants.selectors import branch_choices

from . import selectors, services
from .forms import (
    ItemAddForm,
    ItemEditForm,
    MoveForm,
    StatusForm,
    StocktakeStartForm,
    WeedingForm,
    WithdrawForm,
)
from .models import CollectionKind, ItemStatus, ItemType

collection_staff = library_staff_required(Role.COLLECTION)
# The title and item pages are read at the desk too (find a barcode, tell a member where a
# book is); changing titles and items stays with the collection role (_may_change).
catalogue_readers = library_staff_required(*CATALOGUE_READER_ROLES)


def _may_change(request):
    return has_role(request.user, request.library, Role.COLLECTION)


def _forbidden(request):
    return render(request, "staff/forbidden.html", {"required_role": Role.COLLECTION.label}, status=403)



def _working_branch_id(request):
    branch = working_branch(request.session, request.library)
    return branch.pk if branch else None


def _actor(request):
    """The staff member at their working branch (the services' actor)."""
    return actor_for_request(request, branch_id=_working_branch_id(request))


def _items_text(count):
    return "1 exemplaar" if count == 1 else f"{count} exemplaren"


# --- title page --------------------------------------------------------------------

@catalogue_readers
def title(request, title_id):
    library = request.library
    title = selectors.title_get(title_id=title_id)
    if title is None:
        raise Http404("Deze titel staat niet in de catalogus.")
    may_change = _may_change(request)
    if request.method == "POST" and not may_change:
        return _forbidden(request)
    branches = branch_choices(library)
    errors = []
    if request.method == "POST":
        form = ItemAddForm(request.POST, branches=branches)
        if form.is_valid():
            data = form.cleaned_data
            try:
                items = services.item_add(
                    actor=_actor(request), title_id=title.pk, barcodes=data["barcodes"],
                    branch_id=data["branch"], shelf_location=data["shelf_location"],
                    call_number=data["call_number"], item_type=data["item_type"], collection=data["collection"],
                    price_cents=data["price"], acquired_on=data["acquired_on"],
                    not_for_loan=data["not_for_loan"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"{_items_text(len(items))} toegevoegd: "
                                          f"{', '.join(item.barcode for item in items)}.")
                return redirect("collection:title", title_id=title.pk)
    else:
        form = ItemAddForm(branches=branches, initial={
            "branch": _working_branch_id(request),
            "item_type": title.material_type if title.material_type in ItemType.values else ItemType.OTHER,
            "collection": CollectionKind.YOUTH if title.audience == Audience.YOUTH else CollectionKind.ADULT,
        })
    return render(
        request,
        "collection/title.html",
        {
            "title": title,
            "groups": selectors.title_items_per_branch(title_id=title.pk),
            "national": selectors.national_availability(title_id=title.pk, organisation=library),
            "add_form": form,
            "add_errors": errors,
            "may_change": may_change,
        },
        status=400 if request.method == "POST" else 200,
    )


# --- item page -----------------------------------------------------------------------

def _item_or_404(barcode):
    item = selectors.item_get(barcode=barcode)
    if item is None:
        raise Http404("Dit exemplaar bestaat niet in deze bibliotheek.")
    return item


def _render_item(request, item, *, edit_form=None, status=200):
    branches = branch_choices(request.library)
    return render(
        request,
        "collection/item.html",
        {
            "item": item,
            "history": selectors.item_history(item=item),
            "edit_form": edit_form or ItemEditForm.for_item(item),
            # Several forms on one page: each its own element ids.
            "move_form": MoveForm(branches=branches, auto_id="move_%s",
                                  initial={"branch": item.owning_branch_id, "shelf_location": item.shelf_location}),
            "withdraw_form": WithdrawForm(auto_id="withdraw_%s"),
            "status_form": StatusForm(auto_id="status_%s"),
            "is_withdrawn": item.status == ItemStatus.WITHDRAWN,
            "may_change": _may_change(request),
        },
        status=status,
    )


@catalogue_readers
def item(request, barcode):
    item = _item_or_404(barcode)
    if request.method == "POST" and not _may_change(request):
        return _forbidden(request)
    if request.method == "POST":
        form = ItemEditForm(request.POST)
        if form.is_valid():
            try:
                services.item_update(actor=_actor(request), barcode=item.barcode, **form.changes())
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                messages.success(request, f"Exemplaar {item.barcode} is opgeslagen.")
            return redirect("collection:item", barcode=item.barcode)
        return _render_item(request, item, edit_form=form, status=400)
    return _render_item(request, item)


@require_POST
@collection_staff
def item_status(request, barcode):
    item = _item_or_404(barcode)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Kies een geldige status.")
    else:
        try:
            changed = services.item_status_change(
                actor=_actor(request), barcode=item.barcode, to_status=form.cleaned_data["status"],
                detail=form.cleaned_data["detail"],
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            if changed.status != form.cleaned_data["status"]:  # damage reported while it is out
                messages.success(request, f"Exemplaar {item.barcode}: beschadiging genoteerd. Het blijft "
                                          f"{ItemStatus(changed.status).label.lower()}; bij inname gaat het naar "
                                          "collectiebeheer.")
            else:
                messages.success(request, f"Exemplaar {item.barcode} heeft nu de status "
                                          f"{ItemStatus(changed.status).label}.")
    return redirect("collection:item", barcode=item.barcode)


# --- move and withdraw (one item or a scanned batch) -----------------------------------

def _next_url(request):
    """Where an item-page form asks to return to: only a collection page of this host."""
    target = request.POST.get("next", "")
    if target.startswith("/collectie/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


def _form_errors(form):
    return [f"{form.fields[name].label}: {message}" if name in form.fields else message
            for name, messages_ in form.errors.items() for message in messages_]


@collection_staff
def move(request):
    branches = branch_choices(request.library)
    errors = []
    if request.method == "POST":
        form = MoveForm(request.POST, branches=branches)
        if form.is_valid():
            try:
                items = services.item_move(
                    actor=_actor(request), barcodes=form.cleaned_data["barcodes"],
                    branch_id=form.cleaned_data["branch"], shelf_location=form.cleaned_data["shelf_location"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                branch = next(b for b in branches if b.pk == form.cleaned_data["branch"])
                place = form.cleaned_data["shelf_location"] or "zonder plaats"
                messages.success(request, f"{_items_text(len(items))} verplaatst naar {branch.name}, {place}: "
                                          f"{', '.join(i.barcode for i in items)}.")
                return redirect(_next_url(request) or "collection:move")
        elif _next_url(request):  # the form on the item page shows no field errors
            errors = _form_errors(form)
        if _next_url(request):
            for message in errors:
                messages.error(request, message)
            return redirect(_next_url(request))
    else:
        form = MoveForm(branches=branches, initial={"branch": _working_branch_id(request)})
    return render(request, "collection/move.html", {"form": form, "errors": errors},
                  status=400 if request.method == "POST" else 200)


@collection_staff
def withdraw(request):
    errors = []
    if request.method == "POST":
        form = WithdrawForm(request.POST)
        if form.is_valid():
            try:
                items = services.item_withdraw(
                    actor=_actor(request), barcodes=form.cleaned_data["barcodes"],
                    reason=form.cleaned_data["reason"], detail=form.cleaned_data["detail"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                messages.success(request, f"{_items_text(len(items))} afgeschreven: "
                                          f"{', '.join(i.barcode for i in items)}.")
                return redirect(_next_url(request) or "collection:withdraw")
        elif _next_url(request):  # the form on the item page shows no field errors
            errors = _form_errors(form)
        if _next_url(request):
            for message in errors:
                messages.error(request, message)
            return redirect(_next_url(request))
    else:
        form = WithdrawForm()
    return render(request, "collection/withdraw.html", {"form": form, "errors": errors},
                  status=400 if request.method == "POST" else 200)


# --- weeding list --------------------------------------------------------------------------

WEEDING_PAGE_SIZE = 200


@collection_staff
def weeding(request):
    branches = branch_choices(request.library)
    form = WeedingForm(request.GET or None, branches=branches, initial={"months": 24})
    if request.GET and not form.is_valid():
        return render(request, "collection/weeding.html", {"form": form}, status=400)
    months = form.cleaned_data["months"] if request.GET else 24
    branch_id = form.cleaned_data.get("branch") if request.GET else None
    result = selectors.weeding_list(organisation=request.library, months=months, branch_id=branch_id)
    if request.GET.get("formaat") == "csv":
        return _weeding_csv(result)
    page = Paginator(result.items, WEEDING_PAGE_SIZE).get_page(request.GET.get("pagina"))
    query = request.GET.copy()
    query.pop("pagina", None)
    return render(request, "collection/weeding.html",
                  {"form": form, "result": result, "page": page, "query": query.urlencode()})


def _weeding_csv(result):
    rows = (
        [
            item.owning_branch.name, item.shelf_location, item.call_number, item.barcode, item.title.title,
            item.title.contributors_text, ItemStatus(item.status).label,
            timezone.localtime(item.last_loaned_at).date().isoformat() if item.last_loaned_at else "",
            item.acquired_on.isoformat() if item.acquired_on else "", item.loan_count,
        ]
        for item in result.items.iterator(chunk_size=2000)
    )
    return csv_response(f"wieden-{result.months}-maanden.csv", rows=rows, header=[
        "vestiging", "plaats", "signatuur", "barcode", "titel", "auteur", "status", "laatst uitgeleend",
        "aanschafdatum", "aantal uitleningen"])


# --- stocktake -------------------------------------------------------------------------------

@collection_staff
def stocktakes(request):
    branches = branch_choices(request.library)
    errors = []
    if request.method == "POST":
        form = StocktakeStartForm(request.POST, branches=branches)
        if form.is_valid():
            try:
                stocktake = services.stocktake_start(
                    actor=_actor(request), branch_id=form.cleaned_data["branch"],
                    shelf_location=form.cleaned_data["shelf_location"],
                )
            except ValidationError as error:
                errors = error.messages
            else:
                return redirect("collection:stocktake", stocktake_id=stocktake.pk)
    else:
        form = StocktakeStartForm(branches=branches, initial={"branch": _working_branch_id(request)})
    return render(request, "collection/stocktakes.html",
                  {"form": form, "errors": errors, "stocktakes": selectors.stocktakes_recent()},
                  status=400 if request.method == "POST" else 200)


def _stocktake_or_404(stocktake_id):
    stocktake = selectors.stocktake_get(stocktake_id=stocktake_id)
    if stocktake is None:
        raise Http404("Deze inventarisatie bestaat niet.")
    return stocktake


@collection_staff
def stocktake(request, stocktake_id):
    stocktake = _stocktake_or_404(stocktake_id)
    return render(request, "collection/stocktake.html", {"result": selectors.stocktake_result(stocktake=stocktake)})


@require_POST
@collection_staff
def stocktake_scan(request, stocktake_id):
    stocktake = _stocktake_or_404(stocktake_id)
    barcode = request.POST.get("barcode", "").strip()
    try:
        _scan, created = services.stocktake_scan(actor=_actor(request), stocktake_id=stocktake.pk, barcode=barcode)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        if not created:
            messages.info(request, f"{barcode} was al gescand.")
    return redirect("collection:stocktake", stocktake_id=stocktake.pk)


@require_POST
@collection_staff
def stocktake_finish(request, stocktake_id):
    stocktake = _stocktake_or_404(stocktake_id)
    try:
        outcome = services.stocktake_finish(
            actor=_actor(request), stocktake_id=stocktake.pk, mark_missing=request.POST.get("mark_missing") == "1",
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        text = f"Inventarisatie afgerond: {_items_text(outcome.seen)} gezien"
        if outcome.marked_missing:
            text += f", {_items_text(len(outcome.marked_missing))} als vermist gemarkeerd"
        if outcome.found:
            text += f", {_items_text(len(outcome.found))} teruggevonden"
        messages.success(request, text + ".")
    return redirect("collection:stocktake", stocktake_id=stocktake.pk)
