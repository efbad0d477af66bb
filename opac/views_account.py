"""The member's side of the OPAC: sign in and out, my account (loans, renewals,
holds, charges, guest loans, history), reserving a title, personal data,
consents, PIN change and reset, data export.

Thin: every write is a service with the member as actor (core.actors.Actor.member),
which refuses anything that is not the member's own (actor.not_owner); the view
shows the refusal's Dutch sentence and changes nothing. Nothing here reads
request.user: a staff session is not a member session (opac.session)."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalogue.models import Title
from circulation.models import HoldStatus
from circulation.selectors import (
    member_guest_loans,
    member_holds,
    member_loan_history,
    member_loans,
)
from circulation.services.holds import (
    hold_cancel,
    hold_change_pickup,
    hold_place,
    hold_quote,
    hold_resume,
    hold_suspend,
)
from circulation.services.loans import renew, renew_all
from core.actors import Actor
from ibl.selectors import lender_available, member_requests
from ibl.services.requests import ibl_request_cancel, ibl_request_create
from core.errors import ServiceError
from members.selectors.ledger import member_account
from members.services.auth import member_authenticate
from members.services.online import pin_reset_complete, pin_reset_member, pin_reset_request
from members.services.privacy import member_export
from members.services.registration import member_update
from tenants.selectors import branch_choices

from .forms import ConsentForm, ContactForm, PinChangeForm, PinResetForm, PinResetRequestForm, SignInForm, SuspendForm
from .session import member_actor, member_required, member_session_refresh, member_sign_in, member_sign_out
from .views import branch_of_library, form_rows, friendly_error, opac_render, title_unknown, title_url


def _error_messages(error):
    return list(error.messages) if isinstance(error, ValidationError) else [str(error)]


def _field_errors(error):
    """{field or None: [sentences]} of a ServiceError / ServiceErrors."""
    found = {}
    errors = getattr(error, "errors", None) or [error]
    for item in errors:
        field = getattr(item, "field", None)
        for message in item.messages:
            found.setdefault(field, []).append(message)
    return found


def _safe_next(request, target, default):
    if target and target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _client_address(request):
    return request.META.get("REMOTE_ADDR") or None


# --- sign in and out -------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def sign_in(request):
    next_url = _safe_next(request, request.POST.get("volgende") or request.GET.get("volgende"),
                          reverse("opac:account"))
    errors = []
    if request.method == "POST":
        form = SignInForm(request.POST)
        if form.is_valid():
            try:
                member = member_authenticate(card_number=form.cleaned_data["card_number"],
                                             pin=form.cleaned_data["pin"], address=_client_address(request),
                                             channel="opac")
            except ValidationError as error:
                errors = _error_messages(error)
            else:
                member_sign_in(request, member)
                return redirect(next_url)
        else:
            errors = [_("Vul uw pasnummer en pincode in.")]
    else:
        form = SignInForm()
    status = 200 if not errors else 400
    return opac_render(request, "opac/sign_in.html", {
        "form": form, "errors": errors, "next": next_url, "expired": request.GET.get("verlopen") == "1",
    }, status=status)


@require_POST
def sign_out(request):
    member_sign_out(request)
    messages.success(request, _("U bent afgemeld."))
    return redirect("opac:home")


# --- my account --------------------------------------------------------------------------

@member_required
def account(request):
    member = request.opac_member
    holds = member_holds(member)
    ready = [hold for hold in holds if hold.status == HoldStatus.READY]
    waiting = [hold for hold in holds if hold.status != HoldStatus.READY]
    for hold in waiting:
        hold.title_url = title_url(hold.title) if hold.title else None
    return opac_render(request, "opac/account.html", {
        "loans": member_loans(member), "ready": ready, "waiting": waiting,
        # Requests at other libraries (interlibrary loan), with their expected arrival.
        "ibl_requests": member_requests(request.library, member.pk),
        "guest_loans": member_guest_loans(member, request.library),
        "account": member_account(member), "branches": branch_choices(request.library),
        "today": timezone.localdate(), "suspend_form": SuspendForm(),
    })


@require_POST
@member_required
def renew_loans(request):
    member = request.opac_member
    actor = member_actor(request, member)
    loan_id = request.POST.get("lening", "")
    if loan_id == "alle":
        outcomes = renew_all(actor=actor, card_number=member.card_number)
        renewed = [outcome for outcome in outcomes if outcome.renewed]
        if renewed:
            messages.success(request, _("%(count)s lening(en) verlengd.") % {"count": len(renewed)})
        for outcome in outcomes:
            if not outcome.renewed:
                messages.error(request, _("Niet verlengd: %(reasons)s") % {"reasons": " ".join(outcome.reasons)})
        if not outcomes:
            messages.info(request, _("U heeft geen leningen om te verlengen."))
    elif loan_id.isdigit() and len(loan_id) < 19:
        try:
            loan = renew(actor=actor, loan_id=int(loan_id))
        except ValidationError as error:
            for message in _error_messages(error):
                messages.error(request, message)
        else:
            messages.success(request, _("Verlengd tot en met %(date)s.") % {"date": loan.due_on.strftime("%d-%m-%Y")})
    else:
        messages.error(request, _("Deze lening bestaat niet."))
    return redirect("opac:account")


@require_POST
@member_required
def hold_action(request, hold_id):
    """Cancel, suspend, resume or move a hold to another pickup branch (member actor:
    the services refuse another member's hold with actor.not_owner)."""
    member = request.opac_member
    actor = member_actor(request, member)
    action = request.POST.get("actie", "")
    try:
        if action == "annuleren":
            hold_cancel(actor=actor, hold_id=hold_id, reason="Geannuleerd door het lid (catalogus)")
            messages.success(request, _("De reservering is geannuleerd."))
        elif action == "opschorten":
            form = SuspendForm(request.POST)
            if not form.is_valid():
                raise ServiceError("hold.suspend_date_not_future", field="until")
            hold_suspend(actor=actor, hold_id=hold_id, until=form.cleaned_data["until"])
            messages.success(request, _("De reservering is opgeschort tot en met %(date)s.") % {
                "date": form.cleaned_data["until"].strftime("%d-%m-%Y")})
        elif action == "hervatten":
            hold_resume(actor=actor, hold_id=hold_id)
            messages.success(request, _("De reservering is weer actief."))
        elif action == "afhaalvestiging":
            hold_change_pickup(actor=actor, hold_id=hold_id, pickup_branch_id=request.POST.get("vestiging"))
            messages.success(request, _("De afhaalvestiging is gewijzigd."))
        else:
            messages.error(request, _("Onbekende handeling."))
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    return redirect("opac:account")


@require_POST
@member_required
def ibl_cancel(request, request_id):
    """Cancel the member's own request at another library, until it is sent."""
    try:
        ibl_request_cancel(actor=member_actor(request, request.opac_member), request_id=request_id,
                           reason="Geannuleerd door het lid (catalogus)")
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, _("De aanvraag bij een andere bibliotheek is geannuleerd."))
    return redirect("opac:account")


@member_required
def history(request):
    member = request.opac_member
    loans = member_loan_history(member) if member.consent_loan_history_at else None
    return opac_render(request, "opac/history.html", {"loans": loans})


# --- reserving -------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@member_required
def reserve(request, title_id, slug=None):
    """Choose a pickup branch, see the fee, confirm: hold_place with the member as actor."""
    title = Title.objects.defer("marc").filter(pk=title_id).first()
    if title is None:
        return title_unknown(request)
    member = request.opac_member
    branches = branch_choices(request.library)
    pickup_id = request.POST.get("afhaalvestiging") or request.GET.get("afhaalvestiging") or \
        member.preferred_branch_id or (branches[0].pk if branches else None)
    pickup = branch_of_library(request.library, pickup_id)
    context = {"title": title, "title_url": title_url(title), "branches": branches, "pickup": pickup}
    if pickup is None:
        return friendly_error(request, _("Reserveren lukt niet"),
                              _("Kies een afhaalvestiging van deze bibliotheek."), 400)
    quote = hold_quote(member=member, title_id=title.pk, pickup_branch_id=pickup.pk)
    context["quote"] = quote
    if quote["copies"] == 0:
        # Not here: ask another library for it (interlibrary loan, ibl.services.requests).
        context["ibl_possible"] = lender_available(request.library, title)
        if request.method == "POST" and request.POST.get("ibl") == "1":
            try:
                made = ibl_request_create(actor=member_actor(request, member), member_id=member.pk,
                                          title_id=title.pk, pickup_branch_id=pickup.pk)
            except ValidationError as error:
                context["errors"] = _error_messages(error)
                return opac_render(request, "opac/reserve.html", context, status=400)
            messages.success(request, _("Aangevraagd bij een andere bibliotheek. Verwacht: %(date)s in %(branch)s.")
                             % {"date": made.expected_on.strftime("%d-%m-%Y") if made.expected_on else "?",
                                "branch": pickup.name})
            return redirect(reverse("opac:account") + f"#ibl-{made.pk}")
        return opac_render(request, "opac/reserve.html", context)
    if request.method == "POST" and request.POST.get("bevestigd") == "1":
        try:
            hold = hold_place(actor=member_actor(request, member), member=member, title_id=title.pk,
                              pickup_branch_id=pickup.pk)
        except ValidationError as error:
            context["errors"] = _error_messages(error)
            return opac_render(request, "opac/reserve.html", context, status=400)
        messages.success(request, _("Gereserveerd. U haalt het op in %(branch)s.") % {"branch": pickup.name})
        return redirect(reverse("opac:account") + f"#reservering-{hold.pk}")
    return opac_render(request, "opac/reserve.html", context)


# --- personal data, consents, PIN -------------------------------------------------------

@require_http_methods(["GET", "POST"])
@member_required
def profile(request):
    member = request.opac_member
    branches = branch_choices(request.library)
    actor = member_actor(request, member)
    contact_errors, consent_errors = {}, {}
    contact = ContactForm(initial={
        "street": member.street, "house_number": member.house_number, "postcode": member.postcode,
        "city": member.city, "email": member.email, "phone": member.phone,
        "preferred_branch_id": member.preferred_branch_id}, branches=branches)
    consent = ConsentForm(initial={"loan_history": bool(member.consent_loan_history_at),
                                   "newsletter": bool(member.consent_newsletter_at),
                                   "suggestions": bool(member.consent_suggestions_at)})
    if request.method == "POST":
        what = request.POST.get("onderdeel")
        if what == "gegevens":
            contact = ContactForm(request.POST, branches=branches)
            if contact.is_valid():
                try:
                    member_update(actor=actor, member_id=member.pk, expected_version=member.version,
                                  **contact.cleaned_data)
                except ValidationError as error:
                    contact_errors = _field_errors(error)
                else:
                    messages.success(request, _("Uw gegevens zijn opgeslagen."))
                    return redirect("opac:profile")
            else:
                contact_errors = {None: [_("Controleer de velden.")]}
        elif what == "toestemming":
            consent = ConsentForm(request.POST)
            if consent.is_valid():
                try:
                    member_update(actor=actor, member_id=member.pk, expected_version=member.version,
                                  consents=consent.cleaned_data)
                except ValidationError as error:
                    consent_errors = _field_errors(error)
                else:
                    messages.success(request, _("Uw keuzes zijn opgeslagen."))
                    return redirect("opac:profile")
        else:
            contact_errors = {None: [_("Onbekende handeling.")]}
    status = 400 if contact_errors or consent_errors else 200
    contact_rows, contact_general = form_rows(contact, contact_errors)
    consent_rows, consent_general = form_rows(consent, consent_errors)
    return opac_render(request, "opac/profile.html", {
        "contact_rows": contact_rows, "contact_general": contact_general, "consent_rows": consent_rows,
        "consent_general": consent_general,
    }, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def pin_change(request):
    member = request.opac_member
    errors = {}
    form = PinChangeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                member_authenticate(card_number=member.card_number, pin=data["current_pin"],
                                    address=_client_address(request), channel="opac")
                if data["pin"] != data["pin_repeat"]:
                    raise ServiceError("online.pin_repeat_differs", field="pin_repeat")
                if not data["pin"].strip():
                    raise ServiceError("member.pin_missing", field="pin")
                updated = member_update(actor=member_actor(request, member), member_id=member.pk,
                                        expected_version=member.version, pin=data["pin"])
            except ValidationError as error:
                errors = _field_errors(error)
            else:
                member_session_refresh(request, updated)
                messages.success(request, _("Uw pincode is gewijzigd."))
                return redirect("opac:account")
        else:
            errors = {None: [_("Vul alle velden in.")]}
    rows, general = form_rows(form, errors)
    return opac_render(request, "opac/pin_change.html", {"rows": rows, "general_errors": general},
                       status=400 if errors else 200)


@member_required
def export(request):
    """The member's right of access: everything LSB holds about them, as JSON."""
    member = request.opac_member
    data = member_export(actor=member_actor(request, member), member=member, export_format="json")
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, default=str),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mijn-gegevens-{timezone.localdate():%Y%m%d}.json"'
    return response


# --- forgotten PIN ------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def pin_forgotten(request):
    form = PinResetRequestForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            pin_reset_request(
                actor=Actor.system("opac", request.library), card_number=form.cleaned_data["card_number"],
                email=form.cleaned_data["email"],
                reset_link=lambda token: request.build_absolute_uri(reverse("opac:pin-reset", args=[token])))
        # The same answer whatever was typed: nothing tells whether card and address exist.
        rows, general = form_rows(PinResetRequestForm())
        return opac_render(request, "opac/pin_forgotten.html", {"rows": rows, "sent": True})
    rows, general = form_rows(form, form.errors if request.method == "POST" else None)
    return opac_render(request, "opac/pin_forgotten.html", {"rows": rows, "general_errors": general})


@require_http_methods(["GET", "POST"])
def pin_reset(request, token):
    if len(token) > 500:
        return friendly_error(request, _("Link ongeldig"), _("Deze link is ongeldig of al gebruikt."), 400)
    try:
        pin_reset_member(token=token)
    except ValidationError as error:
        return friendly_error(request, _("Link ongeldig"), " ".join(_error_messages(error)), 400)
    errors = {}
    form = PinResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pin_reset_complete(token=token, pin=form.cleaned_data["pin"], pin_repeat=form.cleaned_data["pin_repeat"])
        except ValidationError as error:
            errors = _field_errors(error)
        else:
            member_sign_out(request)
            messages.success(request, _("Uw nieuwe pincode is ingesteld. Meld u aan."))
            return redirect("opac:sign-in")
    rows, general = form_rows(form, errors)
    return opac_render(request, "opac/pin_reset.html", {"rows": rows, "general_errors": general},
                       status=400 if errors else 200)
