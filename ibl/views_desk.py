"""The library's IBL desk screens (balie, desk role; the IBL terms: library admin).
Thin: read the form or scan, call one service or selector, render. Keyboard and
scanner first: every scan field is focused, a scanner types the code and Enter.

    /ibl/                         overview: our requests, what we lend
    /ibl/aanvragen/nieuw/         a request for a member (card + a title from the catalogue)
    /ibl/aanvragen/<id>/          one request: its way, its legs, cancel
    /ibl/versturen/               the pick list per branch; scan to send; cannot supply
    /ibl/ontvangen/               scan what the van brought (for a member, or ours coming home)
    /ibl/voorwaarden/             the library's IBL terms
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalogue.selectors import title_search
from circulation.borrowers import borrower_find
from collection.models import ItemType
from core.errors import ServiceError
from members.selectors.access import member_shown, members_listed
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import branch_for_screen, working_branch
from tenants.selectors import branch_choices

from . import selectors
from .models import Ask, IblTerms
from .services.arrival import ibl_receive
from .services.exceptions import ibl_recall, ibl_report_loss
from .services.requests import ibl_decline, ibl_request_cancel, ibl_request_create
from .services.sending import ibl_send
from .services.terms import ibl_terms_save

desk_staff = library_staff_required(Role.DESK)
ROUTE_COLOURS = {"shelf": "green", "transit": "orange", "hold_shelf": "purple", "hold_transit": "purple",
                 "keep": "red", "ibl_return": "orange", "ibl_send": "orange"}


def _member_cards(request, rows):
    """The card numbers of the members of our requests (an audited listing)."""
    from members.models import Member

    ids = {row.member_id for row in rows if row.requesting_organisation_id == request.library.pk}
    if not ids:
        return {}
    members_listed(actor_for_request(request), ids, purpose="ibl_requests")
    return dict(Member.objects.filter(pk__in=ids).values_list("pk", "card_number"))


@desk_staff
def overview(request):
    library = request.library
    made = selectors.requests_made(library)
    cards = _member_cards(request, made)
    for row in made:
        row.card = cards.get(row.member_id, "")
    return render(request, "ibl/overview.html", {
        "made": made, "lent": selectors.requests_lent(library),
        "expected": selectors.expected_here(library), "coming_home": selectors.coming_home(library),
    })


def _branch(request):
    branches = branch_choices(request.library)
    return branch_for_screen(request.session, request.library, request.GET.get("vestiging"), branches), branches


@desk_staff
def request_new(request):
    """A request for a member: their card, a title found in the national catalogue,
    the pickup branch (and, when the library has a copy itself, the reason to ask
    another library anyway)."""
    library = request.library
    source = request.POST if request.method == "POST" else request.GET
    card = (source.get("pas") or "").strip()
    query = (source.get("q") or "").strip()
    branches = branch_choices(library)
    pickup = source.get("ophaalvestiging") or getattr(working_branch(request.session, library), "pk", "")
    errors, member, titles = [], None, []
    if card:
        try:
            borrower = borrower_find(organisation=library, card_number=card, check=False)
            if borrower.member is None:
                raise ServiceError("ibl.card_not_own", card=card)
            member = borrower.member
            member_shown(actor_for_request(request), member, purpose="ibl_request")
        except ValidationError as error:
            errors.extend(error.messages)
    if query:
        titles = title_search(query=query, limit=15).titles
    if request.method == "POST" and member is not None and not errors:
        try:
            created = ibl_request_create(
                actor=actor_for_request(request, branch_id=getattr(working_branch(request.session, library), "pk",
                                                                    None)),
                member_id=member.pk, title_id=request.POST.get("titel"), pickup_branch_id=pickup,
                override_reason=request.POST.get("reden", ""),
            )
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            messages.success(request, f"IBL-aanvraag {created.reference} gedaan: gevraagd aan {created.lender.name}; "
                                      f"verwacht op {created.expected_on:%d-%m-%Y}.")
            return redirect("ibl:request", request_id=created.pk)
    elif request.method == "POST" and not errors:
        errors.append(str(ServiceError("borrower.no_card")))
    return render(request, "ibl/request_new.html", {
        "card": card, "query": query, "member": member, "titles": titles, "branches": branches,
        "pickup": str(pickup), "errors": errors, "reason": source.get("reden", ""),
    }, status=422 if errors and request.method == "POST" else 200)


@desk_staff
def request_detail(request, request_id):
    found = selectors.request_for_library(request.library, request_id)
    if found is None:
        raise Http404("Deze IBL-aanvraag hoort niet bij deze bibliotheek.")
    events, asks, legs = selectors.request_timeline(found)
    card = ""
    if found.is_requester:
        card = _member_cards(request, [found]).get(found.member_id, "")
    return render(request, "ibl/request_detail.html", {
        "req": found, "events": events, "asks": asks, "legs": legs, "card": card,
        "reasons": Ask.Reason.choices,
    })


@require_POST
@desk_staff
def request_cancel(request, request_id):
    try:
        ibl_request_cancel(actor=actor_for_request(request), request_id=request_id,
                           reason=request.POST.get("reden", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "De IBL-aanvraag is geannuleerd.")
    return redirect("ibl:request", request_id=request_id)


def _sign(result, *, code=None, params=None):
    """The big sign of a scan: circulation's CheckinResult, or an IBL send."""
    return {
        "message": result.message, "colour": ROUTE_COLOURS.get(getattr(result, "route", "ibl_send"), "red"),
        "barcode": getattr(getattr(result, "item", None), "barcode", ""),
        "notes": list(getattr(result, "note_texts", [])),
    }


@desk_staff
def pick(request):
    branch, branches = _branch(request)
    return _pick_page(request, branch, branches)


def _pick_page(request, branch, branches, *, sign=None, errors=(), status=200):
    rows = selectors.pick_list(request.library, branch.pk) if branch else []
    return render(request, "ibl/pick.html", {
        "branch": branch, "branches": branches, "rows": rows, "sign": sign, "errors": list(errors),
        "reasons": Ask.Reason.choices, "canonical_url": f"{reverse('ibl:pick')}?vestiging={branch.pk if branch else ''}",
    }, status=status)


@require_POST
@desk_staff
def pick_send(request):
    branch, branches = _branch(request)
    if branch is None:
        raise Http404("Deze bibliotheek heeft geen vestiging.")
    try:
        result = ibl_send(actor=actor_for_request(request, branch_id=branch.pk), barcode=request.POST.get("barcode"),
                          request_id=request.POST.get("aanvraag") or None)
    except ValidationError as error:
        return _pick_page(request, branch, branches, errors=error.messages, status=422)
    from core.errors import message_for

    text = str(message_for(result.code) % result.params).upper()
    sign = {"message": text, "colour": "orange", "barcode": request.POST.get("barcode", "").strip(),
            "notes": [f"Aanvraag {result.request.reference}: uitgeleend aan {result.request.requesting_organisation.name}"
                      f" tot {result.loan.due_on:%d-%m-%Y}."]}
    return _pick_page(request, branch, branches, sign=sign)


@require_POST
@desk_staff
def pick_decline(request, request_id):
    branch, branches = _branch(request)
    try:
        ibl_decline(actor=actor_for_request(request, branch_id=branch.pk if branch else None), request_id=request_id,
                    reason=request.POST.get("reden", ""), reason_text=request.POST.get("toelichting", ""))
    except ValidationError as error:
        return _pick_page(request, branch, branches, errors=error.messages, status=422)
    messages.success(request, "Vastgelegd: kan niet leveren. De aanvraag gaat naar de volgende bibliotheek.")
    return redirect(f"{reverse('ibl:pick')}?vestiging={branch.pk if branch else ''}")


@desk_staff
def receive(request):
    return _receive_page(request)


def _receive_page(request, *, sign=None, errors=(), status=200):
    branch = working_branch(request.session, request.library)
    return render(request, "ibl/receive.html", {
        "branch": branch, "sign": sign, "errors": list(errors), "canonical_url": reverse("ibl:receive"),
        "expected": selectors.expected_here(request.library, branch.pk if branch else None),
        "coming_home": selectors.coming_home(request.library),
    }, status=status)


@require_POST
@desk_staff
def receive_scan(request):
    branch = working_branch(request.session, request.library)
    if branch is None:
        raise Http404("Deze bibliotheek heeft geen vestiging.")
    try:
        result = ibl_receive(actor=actor_for_request(request, branch_id=branch.pk),
                             barcode=request.POST.get("barcode"))
    except ValidationError as error:
        return _receive_page(request, errors=error.messages, status=422)
    return _receive_page(request, sign=_sign(result))


@library_staff_required(Role.LIBRARY_ADMIN)
def terms(request):
    library = request.library
    current = IblTerms.objects.filter(organisation=library).first() or IblTerms(organisation=library)
    errors = []
    if request.method == "POST":
        try:
            ibl_terms_save(
                actor=actor_for_request(request), lends=request.POST.get("leent_uit") == "1",
                item_types=request.POST.getlist("soorten"), new_title_months=request.POST.get("nieuw_maanden", ""),
                request_fee=request.POST.get("kosten", ""),
            )
        except ValidationError as error:
            errors = error.messages
        else:
            messages.success(request, "De IBL-voorwaarden zijn opgeslagen.")
            return redirect("ibl:terms")
    return render(request, "ibl/terms.html", {"terms": current, "item_types": ItemType.choices, "errors": errors,
                                              "posted": request.POST if request.method == "POST" else None},
                  status=422 if errors else 200)


@require_POST
@desk_staff
def request_loss(request, request_id):
    """Report the copy lost or damaged while this library has it (ibl.services.exceptions)."""
    try:
        ibl_report_loss(actor=actor_for_request(request), request_id=request_id, kind=request.POST.get("wat", ""),
                        note=request.POST.get("toelichting", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Vastgelegd. De kosten voor de uitlener zijn genoteerd voor de verrekening.")
    return redirect("ibl:request", request_id=request_id)


@require_POST
@desk_staff
def request_recall(request, request_id):
    """The lender wants its copy back early."""
    try:
        ibl_recall(actor=actor_for_request(request), request_id=request_id, reason=request.POST.get("reden", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Teruggeroepen: de aanvragende bibliotheek laat het lid het binnen een week "
                                  "terugbrengen.")
    return redirect("ibl:request", request_id=request_id)
