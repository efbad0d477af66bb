"""Desk screens for circulation (balie, desk role): checkout, checkin, renew, lost
and claims returned, and the receipt. Thin: they read the scan, call one service
or selector and render; every rule lives in circulation.services.

Keyboard and barcode scanner first: a scanner types the code and Enter, so every
screen is a plain HTML form with the scan field focused. Without script a scan
answers with the whole page in one round trip (200; 422 with the Dutch refusal;
503 when the database is briefly gone, nothing changed), and static/circulation.js
puts the screen's own address back in the location bar so a reload never repeats
a scan. The card at the desk travels in the URL (?pas=) and the forms, never only
in the session; the session only remembers what this desk scanned, for the lists.

The scan fragment: static/circulation.js posts the scan forms with fetch and the
request header `HX-Request: true` (django-htmx's header; request.htmx). Such a
scan answers only what changes (templates/circulation/_checkout_scan.html,
_checkin_scan.html; response header X-LSB-Fragment: scan), with the same status
codes: the outcome and the new row, or the refusal (422, with the override form
for a coordinator), or the database message (503). It does not rebuild the member
panel and does not write the session: the page's script keeps the list of this
desk's scans (sessionStorage). Only a renewal is remembered in the session too,
for the receipt. The scan forms carry the desk's branch (field vestiging) so a
scan needs no branch query (see _desk_branch_id)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from core.money import euro
from members.forms_accounts import EuroField
from members.selectors.ledger import member_balance_cents
from members.selectors.access import member_shown
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import working_branch
from staff.services import WORKING_BRANCH_SESSION_KEY

from .borrowers import borrower_find, normalise_card
from .selectors import borrower_panel, loan_get, loans_lent_today, open_loans, title_and_branch_name, title_texts
from .services import loans as services
from .services.loans import CirculationRefused, may_confirm, may_override

desk_staff = library_staff_required(Role.DESK)

DB_UNAVAILABLE = "De database is even niet bereikbaar; er is niets gewijzigd. Scan opnieuw."
CHECKOUTS_KEY = "circulation_checkouts"  # {library pk: {card: [entry, ...]}}, newest first
CHECKINS_KEY = "circulation_checkins"  # {library pk: [entry, ...]}, newest first
LIST_MAX = 60
CARDS_REMEMBERED = 10
# Refusals of a renewal: when a checkout answers with these, the item was already lent to this borrower.
RENEWAL_CODES = {"loan.max_renewals", "loan.held_for_other", "loan.renewal_too_early"}
FRAGMENT_HEADER = "X-LSB-Fragment"  # on a fragment answer, so the script can tell it from a sign-in page
ROUTE_COLOURS = {"shelf": "green", "transit": "orange", "hold_shelf": "purple", "hold_transit": "purple",
                 "keep": "red"}


def _card(request):
    source = request.POST if request.method == "POST" else request.GET
    return normalise_card(source.get("pas"))


def _checkout_url(card):
    url = reverse("circulation:checkout")
    return f"{url}?{urlencode({'pas': card})}" if card else url


def _fragment_wanted(request):
    """The scan came from the page's script (header HX-Request: true): answer the fragment."""
    return bool(getattr(request, "htmx", False))


def _fragment(request, template, context, status):
    response = render(request, template, context, status=status)
    response[FRAGMENT_HEADER] = "scan"
    return response


def _desk_branch_id(request):
    """The desk's branch for a scan, without a query when the form says it.

    The scan forms carry the branch the page was made for (field vestiging). It is
    used when it is the branch this session chose here, or when the session chose
    none (the page then showed the library's first active branch); the service
    checks that it is an active branch of this library. A page from before a change
    of branch (another tab) scans at the branch chosen since: working_branch."""
    posted = (request.POST.get("vestiging") or "").strip()
    chosen = request.session.get(WORKING_BRANCH_SESSION_KEY, {}).get(str(request.library.pk))
    if posted.isdigit() and (chosen is None or str(chosen) == posted):
        return int(posted)
    branch = working_branch(request.session, request.library)
    return branch.pk if branch is not None else None


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

def _checkout_page(request, card, *, status=200, errors=(), result=None, override=None, renewals=None,
                   card_errors=(), audit=False):
    context = {
        "card": card, "errors": list(errors), "card_errors": list(card_errors), "result": result,
        "override": override, "renewals": renewals, "canonical_url": _checkout_url(card),
    }
    if card and not card_errors:
        try:
            desk_branch = working_branch(request.session, request.library) if audit else None
            lookup_actor = actor_for_request(request, branch_id=desk_branch.pk if desk_branch else None) if audit \
                else None
            context.update(borrower_panel(request.library, card, actor=lookup_actor))
        except ValidationError as error:
            context["card_errors"] = error.messages
            status = status if status != 200 else 422
    borrower = context.get("borrower")
    if borrower is not None and borrower.member is not None and audit:
        # The panel shows the member's name: a view of personal data (once per card scan, not per item).
        member_shown(actor_for_request(request), borrower.member, purpose="checkout")
    if borrower is not None:
        context["scanned"] = _session_list(request, CHECKOUTS_KEY, card)
        context["may_override"] = may_override(actor_for_request(request))
        branch = working_branch(request.session, request.library)
        context["branch_id"] = branch.pk if branch is not None else None
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


def _checkout_answer(request, card, *, status=200, errors=(), result=None, override=None, card_errors=(),
                     loan=None, balance_cents=None):
    """The page, or for the page's script only the part that changed."""
    if not _fragment_wanted(request):
        return _checkout_page(request, card, status=status, errors=errors, result=result, override=override,
                              card_errors=card_errors)
    return _fragment(request, "circulation/_checkout_scan.html", {
        "card": card, "errors": [*card_errors, *errors], "result": result, "override": override, "loan": loan,
        "balance_cents": balance_cents, "branch_id": (request.POST.get("vestiging") or "").strip(),
    }, status)


@require_POST
@desk_staff
def checkout_scan(request):
    """One item scanned for the card at the desk (fields pas, barcode; vestiging, the
    page's branch; override_reason for a coordinator's exception). 200 with the page
    (or the fragment, for the page's script); 422 with the refusal."""
    card = _card(request)
    barcode = (request.POST.get("barcode") or "").strip()
    reason = (request.POST.get("override_reason") or "").strip()
    if not card:
        return _checkout_answer(request, "", status=422, card_errors=["Scan eerst de pas van het lid."])
    if request.POST.get("override") and not reason:
        return _checkout_answer(request, card, status=422,
                                errors=["Geef een reden voor de uitzondering; er is niets uitgeleend."],
                                override={"barcode": barcode})
    try:
        branch_id = _desk_branch_id(request)
        if branch_id is None:
            return _checkout_answer(request, card, status=422,
                                    errors=["Deze bibliotheek heeft nog geen vestiging; uitlenen kan niet."])
        result = services.checkout(actor=actor_for_request(request, branch_id=branch_id), card_number=card,
                                   barcode=barcode, override_reason=reason, confirmed=request.POST.getlist("confirm"))
    except (OperationalError, InterfaceError):
        if _fragment_wanted(request):
            return _fragment(request, "circulation/_checkout_scan.html", {"errors": [DB_UNAVAILABLE]}, 503)
        return _unavailable(request, "circulation/checkout_unavailable.html", {"card": card})
    except CirculationRefused as error:
        messages_shown = list(error.messages)
        if any(refusal.code in RENEWAL_CODES for refusal in error.refusals):
            messages_shown.insert(0, f"Exemplaar {barcode} is al aan deze lener uitgeleend; verlengen kan niet:")
        override = None
        actor = actor_for_request(request)
        if error.confirmable and may_confirm(actor):  # a question the desk answers: no reason needed
            override = {"barcode": barcode, "confirm": [refusal.code for refusal in error.refusals]}
        elif error.overridable and may_override(actor):
            override = {"barcode": barcode}
        return _checkout_answer(request, card, status=422, errors=messages_shown, override=override)
    except ValidationError as error:
        return _checkout_answer(request, card, status=422, errors=error.messages)
    loan = result.loan
    title = title_texts([loan.title_id]).get(loan.title_id, "")
    entry = {
        "loan": loan.pk, "barcode": loan.item.barcode, "title": title, "due_on": loan.due_on.strftime("%d-%m-%Y"),
        "renewed": result.renewed, "overridden": bool(result.overridden), "fee": result.fee_cents,
    }
    if not _fragment_wanted(request):
        _remember_checkout(request, card, entry)
        return _checkout_page(request, card, result=entry)
    if result.renewed:  # the receipt lists today's renewals from the session
        _remember_checkout(request, card, entry)
    balance = None
    if result.fee_cents and loan.member_id is not None:  # a loan fee changed the balance on the panel
        balance = member_balance_cents(loan.member)
    return _checkout_answer(request, card, result=entry, loan=loan, balance_cents=balance)


# --- renew ---------------------------------------------------------------------------

def _loan_or_404(loan_id):
    loan = loan_get(loan_id)
    if loan is None:
        raise Http404("Deze uitlening bestaat niet bij deze bibliotheek.")
    return loan


def _loan_card(loan):
    if loan.member_id is None:
        return loan.guest_card_number  # a library (interlibrary loan) has no card
    return loan.guest_card_number or loan.member.card_number


@require_POST
@desk_staff
def renew(request, loan_id):
    loan = _loan_or_404(loan_id)
    card = _loan_card(loan)
    try:
        renewed = services.renew(actor=actor_for_request(request), loan_id=loan.pk)
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
        outcomes = services.renew_all(actor=actor_for_request(request), card_number=card)
    except ValidationError as error:
        return _checkout_page(request, card, status=422, errors=error.messages)
    return _renewals_page(request, card, outcomes)


def _renewals_page(request, card, outcomes):
    titles = title_texts(outcome.loan.title_id for outcome in outcomes)
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
                          renewals=rows, audit=True)


# --- lost and claims returned --------------------------------------------------------

def _loan_screen(request, loan, template, context, status=200):
    if loan.member_id is not None:
        # The confirmation shows the borrower's name and card: a view of personal data.
        member_shown(actor_for_request(request), loan.member, purpose=template.rsplit("/", 1)[-1].removesuffix(".html"),
                     loan=loan.pk)
    card = _loan_card(loan)
    loan.title_text = title_texts([loan.title_id]).get(loan.title_id, "")
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
                services.loan_mark_lost(actor=actor_for_request(request), loan_id=loan.pk, replacement_cents=price)
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
            services.loan_claims_returned(actor=actor_for_request(request), loan_id=loan.pk, note=note)
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


def _checkin_answer(request, *, status=200, errors=(), result=None):
    if not _fragment_wanted(request):
        return _checkin_page(request, status=status, errors=errors, result=result)
    return _fragment(request, "circulation/_checkin_scan.html", {"errors": list(errors), "result": result}, status)


@require_POST
@desk_staff
def checkin_scan(request):
    """One item scanned for checkin (field barcode; vestiging, the page's branch).
    200 with the routing message (the page, or the fragment for the page's script);
    422 with the Dutch error."""
    barcode = (request.POST.get("barcode") or "").strip()
    try:
        branch_id = _desk_branch_id(request)
        if branch_id is None:
            return _checkin_answer(request, status=422,
                                   errors=["Deze bibliotheek heeft nog geen vestiging; innemen kan niet."])
        result = services.checkin(actor=actor_for_request(request, branch_id=branch_id), barcode=barcode)
    except (OperationalError, InterfaceError):
        if _fragment_wanted(request):
            return _fragment(request, "circulation/_checkin_scan.html", {"errors": [DB_UNAVAILABLE]}, 503)
        return _unavailable(request, "circulation/checkin_unavailable.html", {})
    except ValidationError as error:
        return _checkin_answer(request, status=422, errors=error.messages)
    item = result.item
    title, destination = title_and_branch_name(item.title_id, result.destination_branch_id)
    now = timezone.localtime()
    entry = {
        "barcode": item.barcode, "title": title,
        "message": result.message, "route": result.route, "colour": ROUTE_COLOURS.get(result.route, "red"),
        "destination": destination, "notes": result.note_texts, "fine": result.fine_cents,
        "at": now.strftime("%H:%M"), "stamp": now.strftime("%H%M%S%f"),
    }
    if not _fragment_wanted(request):
        _remember_checkin(request, entry)
    return _checkin_answer(request, result=entry)


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
        member_shown(actor_for_request(request), borrower.member, purpose="receipt")
        # Own members renew in their own account in the library's catalogue (a guest at home).
        try:
            context["renew_url"] = request.build_absolute_uri(reverse("opac:account"))
        except NoReverseMatch:
            context["renew_url"] = None
    return render(request, "circulation/receipt.html", context)
