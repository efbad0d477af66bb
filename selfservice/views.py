"""The library administrator's screen for self-service machines and integrations
(/balie/beheer/automaten/): the list with when each was last seen, create one,
show its password or API key once, give it a new one, revoke it at once, and
what it did (the library's logs under its actor ref)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required
from tenants.models import Branch

from . import selectors, services
from .models import MachineKind


def _branches(library):
    return list(Branch.objects.filter(organisation=library, is_active=True).order_by("name"))


def _list(request, *, form=None, errors=None, status=200):
    return render(request, "selfservice/machines.html", {
        "accounts": selectors.machine_accounts_for_library(request.library),
        "branches": _branches(request.library),
        "kinds": MachineKind.choices,
        "form": form or {"kind": MachineKind.SIP2, "patron_pin_required": True},
        "errors": errors or {},
    }, status=status)


def _secret(request, secrets, heading):
    response = render(request, "selfservice/machine_secret.html", {"secrets": secrets, "account": secrets.account,
                                                                   "heading": heading})
    response["Cache-Control"] = "no-store"
    return response


def _field_errors(error):
    """{field: [sentences]} of a ServiceError (its field, else "general")."""
    field = getattr(error, "field", None) or "general"
    return {field: error.messages}


@never_cache
@library_staff_required(Role.LIBRARY_ADMIN)
def machine_list(request):
    if request.method != "POST":
        return _list(request)
    form = {
        "name": request.POST.get("name", ""), "login": request.POST.get("login", ""),
        "branch": request.POST.get("branch", ""), "kind": request.POST.get("kind", ""),
        "patron_pin_required": request.POST.get("patron_pin_required") == "on",
    }
    try:
        secrets = services.machine_account_create(
            actor=actor_for_request(request), name=form["name"], login=form["login"], branch_id=form["branch"],
            kind=form["kind"], patron_pin_required=form["patron_pin_required"],
        )
    except ValidationError as error:
        return _list(request, form=form, errors=_field_errors(error), status=422)
    return _secret(request, secrets, "Automaat aangemaakt")


def _account_or_404(request, account_id):
    account = selectors.machine_account_get(request.library, account_id)
    if account is None:
        raise Http404("Deze automaat hoort niet bij deze bibliotheek.")
    return account


@never_cache
@library_staff_required(Role.LIBRARY_ADMIN)
def machine_detail(request, account_id):
    account = _account_or_404(request, account_id)
    return render(request, "selfservice/machine_detail.html", {
        "account": account, "events": selectors.machine_account_events(account),
        "activity": selectors.machine_activity(account),
    })


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def machine_password(request, account_id):
    try:
        secrets = services.machine_account_password_rotate(actor=actor_for_request(request), account_id=account_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("selfservice:machines")
    return _secret(request, secrets, "Nieuw wachtwoord")


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def machine_token(request, account_id):
    try:
        secrets = services.machine_account_token_rotate(actor=actor_for_request(request), account_id=account_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return redirect("selfservice:machines")
    return _secret(request, secrets, "Nieuwe API-sleutel")


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def machine_revoke(request, account_id):
    try:
        account = services.machine_account_revoke(actor=actor_for_request(request), account_id=account_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{account.name} ({account.login}) is ingetrokken: de automaat kan niets meer.")
    return redirect("selfservice:machines")
