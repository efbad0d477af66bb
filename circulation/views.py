"""Desk screens for circulation (balie, desk role): checkout, checkin, renew, lost
and claims returned, and the receipt. Thin: they read the scan, call one service
or selector and render; every rule lives in circulation.services.

Keyboard and barcode scanner first: a scanner types the code and Enter, so every
screen is a plain HTML form with the scan field focused. A scan answers with the
whole page in one round trip (200; 422 with the Dutch refusal; 503 when the
database is briefly gone, nothing changed), and static/circulation.js puts the
screen's own address back in the location bar so a reload never repeats a scan.
The card at the desk travels in the URL (?pas=) and the forms, never only in the
session; the session only remembers what this desk scanned, for the lists."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from catalogue.models import Title
from members.forms_accounts import EuroField
from members.models import AuditEntry
from members.money import euro
from members.selectors.ledger import member_balance_cents
from members.services.privacy import audit_record
from staff.models import Role
from staff.permissions import library_staff_required
from staff.selectors import working_branch
from tenants.models import Branch

from .borrowers import borrower_find
from .models import ACTIVE_HOLD_STATUSES, Hold, HoldStatus
from .selectors import loan_get, loans_lent_today, open_loans
from .services import loans as services
from .services.loans import CirculationRefused, may_override

desk_staff = library_staff_required(Role.DESK)

DB_UNAVAILABLE = "De database is even niet bereikbaar; er is niets gewijzigd. Scan opnieuw."
CHECKOUTS_KEY = "circulation_checkouts"  # {library pk: {card: [entry, ...]}}, newest first
CHECKINS_KEY = "circulation_checkins"  # {library pk: [entry, ...]}, newest first
LIST_MAX = 60
CARDS_REMEMBERED = 10
# Refusals of a renewal: when a checkout answers with these, the item was already lent to this borrower.
RENEWAL_CODES = {"max_renewals", "holds", "too_early"}
ROUTE_COLOURS = {"shelf": "green", "transit": "orange", "hold_shelf": "purple", "hold_transit": "purple",
                 "keep": "red"}


def _card(request):
    source = request.POST if request.method == "POST" else request.GET
    return (source.get("pas") or "").strip().upper()


def _checkout_url(card):
    url = reverse("circulation:checkout")
    return f"{url}?{urlencode({'pas': card})}" if card else url


def _title_texts(title_ids):
    return dict(Title.objects.filter(pk__in=set(title_ids)).values_list("pk", "title"))


# --- what this desk scanned (session) ------------------------------------------------

def _session_list(request, key, card=None):
    store = request.session.get(key, {}).get(str(request.library.pk), {} if card is not None else [])
    return store.get(card, []) if card is not None else store


def _remember_checkout(request, card, entry):
    store = request.session.get(CHECKOUTS_KEY, {})
    cards = store.setdefault(str(request.library.pk), {})
    entries = [entry] + [old for old in cards.pop(card, []) if old["loan"] != entry["loan"]]
    cards[card] = entries[:LIST_MAX]
    for old_card in list(cards)[:-CARDS_REMEMBERED]:
        del cards[old_card]
    request.session[CHECKOUTS_KEY] = store


def _remember_checkin(request, entry):
    store = request.session.get(CHECKINS_KEY, {})
    library_key = str(request.library.pk)
    store[library_key] = ([entry] + store.get(library_key, []))[:LIST_MAX]
    request.session[CHECKINS_KEY] = store


# --- checkout ------------------------------------------------------------------------

def _borrower_panel(library, card):
    """The member panel: who is at the desk, may they borrow, what they have."""
    borrower = borrower_find(organisation=library, card_number=card)
    panel = {"borrower": borrower, "loans": open_loans(borrower.loans_filter())}
    panel["overdue_count"] = sum(1 for loan in panel["loans"] if loan.overdue_days)
    if borrower.member is not None:
        # Only the numbers here (one query); the holds themselves are on the member page.
        statuses = list(Hold.objects.filter(member=borrower.member, status__in=ACTIVE_HOLD_STATUSES)
                        .values_list("status", flat=True))
        panel["balance_cents"] = member_balance_cents(borrower.member)
        panel["holds_count"] = len(statuses)
        panel["holds_ready"] = statuses.count(HoldStatus.READY)
        today = timezone.localdate()
        panel["expired"] = borrower.member.expires_on is not None and borrower.member.expires_on < today
    return panel


def _checkout_page(request, card, *, status=200, errors=(), result=None, override=None, renewals=None,
                   card_errors=(), audit=False):
    context = {
        "card": card, "errors": list(errors), "card_errors": list(card_errors), "result": result,
        "override": override, "renewals": renewals, "canonical_url": _checkout_url(card),
    }
    if card and not card_errors:
        try:
            context.update(_borrower_panel(request.library, card))
        except ValidationError as error:
            context["card_errors"] = error.messages
            status = status if status != 200 else 422
    borrower = context.get("borrower")
    if borrower is not None and borrower.member is not None and audit:
        # The panel shows the member's name: a view of personal data (once per card scan, not per item).
        audit_record(staff_user=request.user, member=borrower.member, action=AuditEntry.Action.VIEW,
                     detail={"screen": "checkout"})
    if borrower is not None:
        context["scanned"] = _session_list(request, CHECKOUTS_KEY, card)
        context["may_override"] = may_override(request.user, request.library)
    return render(request, "circulation/checkout.html", context, status=status)


@desk_staff
def checkout(request):
    """The checkout screen: scan a card (GET ?pas=), then items."""
    return _checkout_page(request, _card(request), audit=True)


def _unavailable(request, template, context):
    """The database went away during the scan: the service's transaction left
    nothing half done. Rendered without touching the database."""
    context = {**context, "errors": [DB_UNAVAILABLE], "unavailable": True}
    return render(request, template, context, status=503)


@require_POST
@desk_staff
def checkout_scan(request):
    """One item scanned for the card at the desk (fields pas, barcode; override_reason
    for a coordinator's exception). 200 with the page; 422 with the refusal."""
    card = _card(request)
    barcode = (request.POST.get("barcode") or "").strip()
    reason = (request.POST.get("override_reason") or "").strip()
    if not card:
        return _checkout_page(request, "", status=422, card_errors=["Scan eerst de pas van het lid."])
    if request.POST.get("override") and not reason:
        return _checkout_page(request, card, status=422,
                              errors=["Geef een reden voor de uitzondering; er is niets uitgeleend."],
                              override={"barcode": barcode})
    try:
        branch = working_branch(request.session, request.library)
        if branch is None:
            return _checkout_page(request, card, status=422,
                                  errors=["Deze bibliotheek heeft nog geen vestiging; uitlenen kan niet."])
        result = services.checkout(organisation=request.library, branch_id=branch.pk, staff_user=request.user,
                                   card_number=card, barcode=barcode, override_reason=reason)
    except (OperationalError, InterfaceError):
        return _unavailable(request, "circulation/checkout_unavailable.html", {"card": card})
    except CirculationRefused as error:
        messages_shown = list(error.messages)
        if any(refusal.code in RENEWAL_CODES for refusal in error.refusals):
            messages_shown.insert(0, f"Exemplaar {barcode} is al aan deze lener uitgeleend; verlengen kan niet:")
        override = None
        if error.overridable and may_override(request.user, request.library):
            override = {"barcode": barcode}
        return _checkout_page(request, card, status=422, errors=messages_shown, override=override)
    except ValidationError as error:
        return _checkout_page(request, card, status=422, errors=error.messages)
    loan = result.loan
    title = _title_texts([loan.title_id]).get(loan.title_id, "")
    entry = {
        "loan": loan.pk, "barcode": loan.item.barcode, "title": title, "due_on": loan.due_on.strftime("%d-%m-%Y"),
        "renewed": result.renewed, "overridden": bool(result.overridden), "fee": result.fee_cents,
    }
    _remember_checkout(request, card, entry)
    return _checkout_page(request, card, result=entry)


# --- renew ---------------------------------------------------------------------------

def _loan_or_404(loan_id):
    loan = loan_get(loan_id)
    if loan is None:
        raise Http404("Deze uitlening bestaat niet bij deze bibliotheek.")
    return loan


def _loan_card(loan):
    return loan.guest_card_number or loan.member.card_number


@require_POST
@desk_staff
def renew(request, loan_id):
    loan = _loan_or_404(loan_id)
    card = _loan_card(loan)
    try:
        renewed = services.renew(organisation=request.library, staff_user=request.user, loan_id=loan.pk)
    except ValidationError as error:
        outcome = services.RenewOutcome(loan=loan, renewed=False, reasons=error.messages)
    else:
        outcome = services.RenewOutcome(loan=renewed, renewed=True, reasons=[])
    return _renewals_page(request, card, [outcome])


@require_POST
@desk_staff
def renew_all(request):
    card = _card(request)
    try:
        outcomes = services.renew_all(organisation=request.library, staff_user=request.user, card_number=card)
    except ValidationError as error:
        return _checkout_page(request, card, status=422, errors=error.messages)
    return _renewals_page(request, card, outcomes)


def _renewals_page(request, card, outcomes):
    titles = _title_texts(outcome.loan.title_id for outcome in outcomes)
    rows = [{"barcode": outcome.loan.item.barcode, "title": titles.get(outcome.loan.title_id, ""),
             "due_on": outcome.loan.due_on, "renewed": outcome.renewed, "reasons": outcome.reasons}
            for outcome in outcomes]
    for outcome, row in zip(outcomes, rows):
        if outcome.renewed:  # in this desk's list, and so on the receipt, with the new due date
            _remember_checkout(request, card, {
                "loan": outcome.loan.pk, "barcode": row["barcode"], "title": row["title"],
                "due_on": row["due_on"].strftime("%d-%m-%Y"), "renewed": True, "overridden": False, "fee": 0,
            })
    refused = any(not outcome.renewed for outcome in outcomes)
    return _checkout_page(request, card, status=422 if refused and len(outcomes) == 1 else 200,
                          renewals=rows)


# --- lost and claims returned --------------------------------------------------------

def _loan_screen(request, loan, template, context, status=200):
    card = _loan_card(loan)
    loan.title_text = _title_texts([loan.title_id]).get(loan.title_id, "")
    return render(request, template, {"loan": loan, "card": card, "back_url": _checkout_url(card), **context},
                  status=status)


def _open_loan_or_404(loan_id):
    loan = _loan_or_404(loan_id)
    if loan.ended_at is not None:
        raise Http404("Deze uitlening is al beëindigd.")
    return loan


@desk_staff
def lost(request, loan_id):
    """The borrower lost the item: confirm, with the replacement price (the item's
    price, editable in euros)."""
    loan = _open_loan_or_404(loan_id)
    price_field = EuroField(required=False, allow_zero=True)
    errors = []
    if request.method == "POST":
        price_text = request.POST.get("price", "")
        try:
            price = price_field.clean(price_text)
        except ValidationError as error:
            errors = error.messages
        else:
            try:
                services.loan_mark_lost(organisation=request.library, staff_user=request.user, loan_id=loan.pk,
                                        replacement_cents=price)
            except ValidationError as error:
                errors = error.messages
            else:
                charged = price if price is not None else loan.item.price_cents
                messages.success(request, f"{loan.item.barcode} is als verloren gemeld" + (
                    f"; vervangingsprijs {euro(charged)} op de rekening gezet." if charged else "."))
                return redirect(_checkout_url(_loan_card(loan)))
    else:
        price_text = euro(loan.item.price_cents).replace("€ ", "") if loan.item.price_cents is not None else ""
    return _loan_screen(request, loan, "circulation/lost.html", {"price": price_text, "errors": errors},
                        status=422 if errors else 200)


@desk_staff
def claims_returned(request, loan_id):
    """The borrower says it was returned but it is not here: confirm, with a note."""
    loan = _open_loan_or_404(loan_id)
    errors = []
    note = ""
    if request.method == "POST":
        note = request.POST.get("note", "")
        try:
            services.loan_claims_returned(organisation=request.library, staff_user=request.user, loan_id=loan.pk,
                                          note=note)
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, f"{loan.item.barcode}: het lid zegt het te hebben ingeleverd. De uitlening is "
                                      "beëindigd en het exemplaar staat als vermist, om na te zoeken.")
            return redirect(_checkout_url(_loan_card(loan)))
    return _loan_screen(request, loan, "circulation/claims_returned.html", {"note": note, "errors": errors},
                        status=422 if errors else 200)


# --- checkin -------------------------------------------------------------------------

def _checkin_page(request, *, status=200, errors=(), result=None, branch=None):
    if branch is None:
        branch = working_branch(request.session, request.library)
    return render(request, "circulation/checkin.html", {
        "branch": branch, "errors": list(errors), "result": result,
        "checkins": _session_list(request, CHECKINS_KEY), "canonical_url": reverse("circulation:checkin"),
    }, status=status)


@desk_staff
def checkin(request):
    return _checkin_page(request)


@require_POST
@desk_staff
def checkin_scan(request):
    """One item scanned for checkin (field barcode). 200 with the routing message;
    422 with the Dutch error."""
    barcode = (request.POST.get("barcode") or "").strip()
    try:
        branch = working_branch(request.session, request.library)
        if branch is None:
            return _checkin_page(request, status=422, branch=branch,
                                 errors=["Deze bibliotheek heeft nog geen vestiging; innemen kan niet."])
        result = services.checkin(organisation=request.library, branch_id=branch.pk, staff_user=request.user,
                                  barcode=barcode)
    except (OperationalError, InterfaceError):
        return _unavailable(request, "circulation/checkin_unavailable.html", {})
    except ValidationError as error:
        return _checkin_page(request, status=422, errors=error.messages, branch=branch)
    item = result.item
    destination = ""
    if result.destination_branch_id:
        destination = Branch.objects.filter(pk=result.destination_branch_id).values_list("name", flat=True).first()
    entry = {
        "barcode": item.barcode, "title": _title_texts([item.title_id]).get(item.title_id, ""),
        "message": result.message, "route": result.route, "colour": ROUTE_COLOURS.get(result.route, "red"),
        "destination": destination or "", "notes": list(result.notes), "fine": result.fine_cents,
        "at": timezone.localtime().strftime("%H:%M"),
    }
    _remember_checkin(request, entry)
    return _checkin_page(request, result=entry, branch=branch)


# --- receipt -------------------------------------------------------------------------

@desk_staff
def receipt(request):
    """A printable receipt (bon) of today's loans for the card at the desk."""
    card = _card(request)
    try:
        borrower = borrower_find(organisation=request.library, card_number=card, check=False)
    except ValidationError as error:
        return _checkout_page(request, card, status=422, card_errors=error.messages)
    today_loans = loans_lent_today(borrower.loans_filter())
    shown = {loan.pk for loan in today_loans}
    # Renewed at this desk today: on the receipt too, with their new due date.
    renewed_ids = [entry["loan"] for entry in _session_list(request, CHECKOUTS_KEY, card)
                   if entry.get("renewed") and entry["loan"] not in shown]
    loans = open_loans(borrower.loans_filter())
    renewed = [loan for loan in loans if loan.pk in renewed_ids]
    for loan in renewed:
        loan.renewed_today = True
    context = {
        "borrower": borrower, "card": card, "branch": working_branch(request.session, request.library),
        "now": timezone.localtime(), "lines": today_loans + renewed, "open_count": len(loans),
        "back_url": _checkout_url(card),
    }
    if borrower.member is not None:
        context["balance_cents"] = member_balance_cents(borrower.member)
        audit_record(staff_user=request.user, member=borrower.member, action=AuditEntry.Action.VIEW,
                     detail={"screen": "receipt"})
    return render(request, "circulation/receipt.html", context)
