"""Online registration in the OPAC: the form, the e-mail verification link, done.
The rules are members.services.online (which registers through the one
member_register)."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.actors import Actor
from core.money import euro
from members.models import MemberRules
from members.selectors.ledger import member_rules_get
from members.selectors.registration import subscription_types
from members.services.online import member_register_online, online_registration_verify
from tenants.selectors import branch_choices

from .forms import RegistrationForm
from .session import member_sign_out
from .views import form_rows, friendly_error, opac_render
from .views_account import _error_messages, _field_errors

REGISTERED_KEY = "opac_registered"


def _adult_subscriptions():
    subscriptions = [s for s in subscription_types(active_only=True) if not s.for_youth]
    for subscription in subscriptions:
        subscription.label = f"{subscription.name} — {euro(subscription.annual_fee_cents)} " + _("per jaar") + \
            (f" ({subscription.includes})" if subscription.includes else "")
    return subscriptions


@require_http_methods(["GET", "POST"])
def register(request):
    subscriptions = _adult_subscriptions()
    branches = branch_choices(request.library)
    form = RegistrationForm(request.POST or None, subscriptions=subscriptions, branches=branches)
    errors = {}
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                member = member_register_online(
                    actor=Actor.system("opac", request.library), first_name=data["first_name"],
                    name_prefix=data["name_prefix"], last_name=data["last_name"],
                    date_of_birth=data["date_of_birth"], street=data["street"], house_number=data["house_number"],
                    postcode=data["postcode"], city=data["city"], email=data["email"], phone=data["phone"],
                    subscription_id=data["subscription"], preferred_branch_id=data["preferred_branch_id"],
                    guardian_email=data["guardian_email"], pin=data["pin"], pin_repeat=data["pin_repeat"],
                    consents={"newsletter": data["newsletter"], "loan_history": data["loan_history"]},
                    verify_link=lambda token: request.build_absolute_uri(
                        reverse("opac:register-verify", args=[token])),
                )
            except ValidationError as error:
                errors = _field_errors(error)
            else:
                member_sign_out(request)
                request.session[REGISTERED_KEY] = {"card": member.card_number, "email": member.email,
                                                   "library": request.library.pk}
                return redirect("opac:register-done")
        else:
            for field, messages in form.errors.items():
                errors.setdefault(field if field != "__all__" else None, []).extend(messages)
    rows, general = form_rows(form, errors)
    return opac_render(request, "opac/register.html", {
        "rows": rows, "general_errors": general, "subscriptions": subscriptions,
        "desk_confirmation": member_rules_get().online_confirmation == MemberRules.OnlineConfirmation.DESK,
    }, status=400 if errors else 200)


def register_done(request):
    registered = request.session.get(REGISTERED_KEY)
    if not registered or registered.get("library") != request.library.pk:
        return redirect("opac:register")
    return opac_render(request, "opac/register_done.html", {"registered": registered})


def register_verify(request, token):
    if len(token) > 500:
        return friendly_error(request, _("Link ongeldig"), _("Deze link is ongeldig of al gebruikt."), 400)
    try:
        registration = online_registration_verify(actor=Actor.system("opac", request.library), token=token)
    except ValidationError as error:
        return friendly_error(request, _("Link ongeldig"), " ".join(_error_messages(error)), 400)
    return opac_render(request, "opac/register_verified.html", {
        "confirmed": registration.confirmed_at is not None,
        "card_number": registration.member.card_number,
    })
