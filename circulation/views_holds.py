"""Reservation (hold) screens for the desk at /reserveringen/ (desk role): place a
hold for a member, act on a member's holds (cancel, suspend, resume, change the
pickup branch), a title's queue with the staff override, the hold shelf of a
branch and the pick list. Thin: they parse input, call one service or selector
and render; every refusal is the service's Dutch message and changes nothing.

Everything runs in the request's library schema: a hold, member or item of
another library does not exist here (404). A pickup branch of another library
is refused by the service. Lists that show members write a search-style audit
entry naming the members shown (members.selectors.access.members_listed)."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalogue.models import Title
from catalogue.selectors import title_search
from members.selectors import registration as member_selectors
from members.selectors.access import member_for_actor, members_listed
from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import branch_for_screen, working_branch
from tenants.selectors import branch_choices

from . import selectors
from .models import CirculationEvent, Hold, HoldStatus
from .services import holds as services

desk_staff = library_staff_required(Role.DESK)


# --- helpers -----------------------------------------------------------------------


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value):
    """A date typed in a form (yyyy-mm-dd from a date field, or dd-mm-jjjj), None when
    empty; a Dutch error when it is no date."""
    value = (value or "").strip()
    if not value:
        return None
    for parse in (datetime.date.fromisoformat, lambda text: datetime.datetime.strptime(text, "%d-%m-%Y").date()):
        try:
            return parse(value)
        except ValueError:
            continue
    raise ValidationError("Vul een geldige datum in (dd-mm-jjjj).")


def _hold_or_404(hold_id):
    hold = Hold.objects.select_related("member").filter(pk=hold_id).first()
    if hold is None:
        raise Http404("Deze reservering bestaat niet bij deze bibliotheek.")
    return hold


def _title_or_404(title_id):
    title = Title.objects.defer("marc").filter(pk=title_id).first()
    if title is None:
        raise Http404("Deze titel staat niet in de catalogus.")
    return title


def _default_pickup(request, member):
    """The member's preferred branch (when it is an active branch here), else the working branch."""
    branches = {branch.pk: branch for branch in branch_choices(request.library)}
    if member is not None and member.preferred_branch_id in branches:
        return member.preferred_branch_id
    branch = working_branch(request.session, request.library)
    return branch.pk if branch else None


def _next_or(request, fallback):
    target = request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return fallback


def _audit_shown(request, screen, holds, **query):
    members_listed(actor_for_request(request), [hold.member_id for hold in holds], purpose=screen, query=query)


def _report(request, error):
    for message in error.messages:
        messages.error(request, message)


# --- placing -----------------------------------------------------------------------

@desk_staff
def place(request, member_id):
    """Place a hold for a member: a title (from a catalogue search or ?titel=<id>) or one copy by barcode."""
    library = request.library
    member = member_for_actor(actor_for_request(request), member_id, purpose="reserveren")  # read and audited
    if member is None:
        raise Http404("Dit lid bestaat niet bij deze bibliotheek.")
    branches = branch_choices(library)
    errors = []
    query = (request.GET.get("q") or "").strip()
    chosen_title_id = _int(request.POST.get("title_id") if request.method == "POST" else request.GET.get("titel"))
    barcode = (request.POST.get("barcode") or "").strip() if request.method == "POST" else ""
    pickup_id = _int(request.POST.get("pickup_branch")) if request.method == "POST" else _default_pickup(request, member)
    not_needed_after = (request.POST.get("not_needed_after") or "").strip() if request.method == "POST" else ""
    if request.method == "POST":
        try:
            hold = services.hold_place(
                actor=actor_for_request(request), member=member,
                title_id=None if barcode else chosen_title_id, item_barcode=barcode or None,
                pickup_branch_id=request.POST.get("pickup_branch"), not_needed_after=_date(not_needed_after),
            )
        except ValidationError as error:
            errors = error.messages
        else:
            hold.refresh_from_db()
            messages.success(request, _placed_text(hold))
            return redirect("members:detail", member_id=member.pk)
    results = title_search(query=query, limit=20).titles if query else []
    chosen = Title.objects.defer("marc").filter(pk=chosen_title_id).first() if chosen_title_id else None
    if chosen is not None and all(title.pk != chosen.pk for title in results):
        results = [chosen] + list(results)
    return render(request, "circulation/holds/place.html", {
        "member": member, "branches": branches, "errors": errors, "query": query, "results": results,
        "chosen_title_id": chosen_title_id, "barcode": barcode, "pickup_id": pickup_id,
        "not_needed_after": not_needed_after,
    }, status=400 if errors else 200)


def _placed_text(hold):
    title = Title.objects.filter(pk=hold.title_id).only("title").first()
    text = f"Reservering geplaatst: {title.title if title else 'titel'}"
    if hold.expected_position:
        text += f", plaats {hold.expected_position} in de wachtrij"
    text += f", verwacht {hold.expected_on:%d-%m-%Y}." if hold.expected_on else ", verwachte datum onbekend."
    return text


@desk_staff
def place_for_title(request, title_id):
    """From the title page: reserve this title for a member by card number."""
    library = request.library
    title = _title_or_404(title_id)
    branches = branch_choices(library)
    errors = []
    card = (request.POST.get("card_number") or request.GET.get("pas") or "").strip()
    pickup_id = _int(request.POST.get("pickup_branch"))
    if request.method == "POST":
        found = member_selectors.member_by_card(card) if card else None
        if not card:
            errors = ["Scan of typ het pasnummer van het lid."]
        elif found is None:
            errors = [f"Er is geen lid met pasnummer {card.upper()} bij deze bibliotheek."]
        elif found.is_old_card:
            errors = [f"Pas {card.upper()} is niet meer geldig (vervangen of samengevoegd)."]
        else:
            member = found.member
            try:
                hold = services.hold_place(
                    actor=actor_for_request(request), member=member, title_id=title.pk,
                    pickup_branch_id=request.POST.get("pickup_branch") or _default_pickup(request, member),
                )
            except ValidationError as error:
                errors = error.messages
            else:
                hold.refresh_from_db()
                messages.success(request, f"{member.full_name} (pas {member.card_number}): " + _placed_text(hold))
                return redirect("holds:queue", title_id=title.pk)
    return render(request, "circulation/holds/place_for_title.html", {
        "title": title, "branches": branches, "errors": errors, "card": card, "pickup_id": pickup_id,
    }, status=400 if errors else 200)


# --- acting on one hold ------------------------------------------------------------

def _back_to_member(request, hold):
    if hold.member_id is None:  # a library's hold (interlibrary loan): back to the title's queue
        return _next_or(request, redirect("holds:queue", title_id=hold.title_id))
    return _next_or(request, redirect("members:detail", member_id=hold.member_id))


def _holder_name(hold):
    return hold.member.full_name if hold.member_id is not None else hold.borrower_label


@require_POST
@desk_staff
def cancel(request, hold_id):
    hold = _hold_or_404(hold_id)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        messages.error(request, "Geef een reden om de reservering te annuleren.")
        return _back_to_member(request, hold)
    try:
        services.hold_cancel(actor=actor_for_request(request), hold_id=hold.pk, reason=reason)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, "De reservering is geannuleerd.")
    return _back_to_member(request, hold)


@require_POST
@desk_staff
def suspend(request, hold_id):
    hold = _hold_or_404(hold_id)
    try:
        until = datetime.date.fromisoformat((request.POST.get("until") or "").strip())
    except ValueError:
        until = None
    try:
        if until is None:
            raise ValidationError("Vul een geldige datum in (dd-mm-jjjj) om de reservering tot op te schorten.")
        services.hold_suspend(actor=actor_for_request(request), hold_id=hold.pk, until=until)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, f"De reservering is opgeschort tot {until:%d-%m-%Y}; de plaats in de wachtrij blijft.")
    return _back_to_member(request, hold)


@require_POST
@desk_staff
def resume(request, hold_id):
    hold = _hold_or_404(hold_id)
    try:
        services.hold_resume(actor=actor_for_request(request), hold_id=hold.pk)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, "De reservering is weer actief.")
    return _back_to_member(request, hold)


@require_POST
@desk_staff
def change_pickup(request, hold_id):
    hold = _hold_or_404(hold_id)
    try:
        services.hold_change_pickup(actor=actor_for_request(request), hold_id=hold.pk,
                                    pickup_branch_id=request.POST.get("pickup_branch"))
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, "De ophaalvestiging is gewijzigd.")
    return _back_to_member(request, hold)


# --- the queue of a title ----------------------------------------------------------

def _queue_context(request, title):
    holds = selectors.title_queue(title.pk)
    position = 0
    for hold in holds:
        if hold.status == HoldStatus.WAITING:
            position += 1
            hold.position = position
        else:
            hold.position = None
    waiting = [hold for hold in holds if hold.status == HoldStatus.WAITING]
    events = list(
        CirculationEvent.objects.filter(kind=CirculationEvent.Kind.QUEUE, hold__title_id=title.pk)
        .select_related("hold__member")[:20]
    )
    _audit_shown(request, "reserveringen-wachtrij", holds, title_id=title.pk)
    return {"title": title, "holds": holds, "waiting": waiting, "events": events,
            "branches": branch_choices(request.library), "copies": selectors.title_copies_public(title.pk)}


@desk_staff
def queue(request, title_id):
    title = _title_or_404(title_id)
    return render(request, "circulation/holds/queue.html", {**_queue_context(request, title), "errors": []})


@require_POST
@desk_staff
def queue_move(request, title_id):
    title = _title_or_404(title_id)
    hold = _hold_or_404(_int(request.POST.get("hold_id")) or 0)
    before = _hold_or_404(_int(request.POST.get("before_hold_id")) or 0)
    try:
        services.hold_queue_move(actor=actor_for_request(request), hold_id=hold.pk,
                                 before_hold_id=before.pk, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        context = _queue_context(request, title)
        context.update({"errors": error.messages, "move_hold_id": hold.pk, "move_reason": request.POST.get("reason", "")})
        return render(request, "circulation/holds/queue.html", context, status=400)
    messages.success(request, f"De reservering van {_holder_name(hold)} staat nu vóór die van "
                              f"{_holder_name(before)}.")
    return redirect("holds:queue", title_id=title.pk)


# --- hold shelf and pick list ------------------------------------------------------

@desk_staff
def shelf(request):
    branches = branch_choices(request.library)
    branch = branch_for_screen(request.session, request.library, request.GET.get("vestiging"), branches)
    shelf = selectors.hold_shelf(branch.pk) if branch else {"ready": [], "expired": [], "incoming": []}
    if branch:
        _audit_shown(request, "reserveringsplank", shelf["ready"] + shelf["expired"] + shelf["incoming"],
                     branch_id=branch.pk)
    return render(request, "circulation/holds/shelf.html", {
        "branch": branch, "branches": branches, "shelf": shelf, "today": timezone.localdate(),
    })


@require_POST
@desk_staff
def pick_list_not_found(request):
    """A copy on the pick list is not on the shelf: marked missing, the hold goes to the next branch's list."""
    barcode = (request.POST.get("barcode") or "").strip()
    try:
        services.pick_list_copy_missing(actor=actor_for_request(request), barcode=barcode)
    except ValidationError as error:
        _report(request, error)
    else:
        messages.success(request, f"Exemplaar {barcode} staat nu als vermist; de reservering gaat naar de "
                                  "picklijst van een andere vestiging (als die het heeft).")
    branch = _int(request.POST.get("vestiging"))
    return redirect(f"{reverse('holds:pick-list')}?vestiging={branch}" if branch else reverse("holds:pick-list"))


@desk_staff
def pick_list(request):
    branches = branch_choices(request.library)
    branch = branch_for_screen(request.session, request.library, request.GET.get("vestiging"), branches)
    rows = selectors.pick_list(branch.pk) if branch else []
    _audit_shown(request, "picklijst", rows, branch_id=branch.pk if branch else None)
    return render(request, "circulation/holds/pick_list.html", {
        "branch": branch, "branches": branches, "rows": rows, "now": timezone.localtime(),
    })
