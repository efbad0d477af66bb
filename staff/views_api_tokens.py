"""The API keys screen: a staff member makes and revokes keys for their
integrations at this library (a library administrator for everyone here). A new
key is shown once, on the page the form posts to; only its hash is kept."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import services
from .models import Role, StaffUser
from .permissions import actor_for_request, library_staff_required
from .selectors import has_role, staff_api_tokens_shown, staff_of


def _page(request, *, status=200, new_key=None, new_token=None, errors=(), name=""):
    library = request.library
    is_admin = has_role(request.user, library, Role.LIBRARY_ADMIN)
    return render(
        request,
        "staff/api_tokens.html",
        {
            "tokens": staff_api_tokens_shown(request.user, library),
            "is_admin": is_admin,
            "staff": [user for user, _roles in staff_of(library)] if is_admin else [],
            "new_key": new_key,
            "new_token": new_token,
            "errors": errors,
            "name": name,
            "api_docs": request.build_absolute_uri("/api/docs/"),
        },
        status=status,
    )


@never_cache
@library_staff_required()
def api_tokens(request):
    if request.method != "POST":
        return _page(request)
    name = request.POST.get("name", "")
    user = request.user
    chosen = request.POST.get("user")
    if chosen and str(chosen) != str(request.user.pk):
        user = StaffUser.objects.filter(pk=chosen if str(chosen).isdigit() else None).first()
        if user is None:
            return _page(request, status=400, errors=["Onbekende medewerker."], name=name)
    try:
        token, key = services.staff_api_token_create(actor=actor_for_request(request), user=user, name=name)
    except ValidationError as error:
        return _page(request, status=400, errors=error.messages, name=name)
    # The key is on this page only: it is not stored and not put in a message.
    return _page(request, new_key=key, new_token=token)


@require_POST
@library_staff_required()
def api_token_revoke(request, token_id):
    try:
        token = services.staff_api_token_revoke(actor=actor_for_request(request), token_id=token_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"De API-sleutel '{token.name}' is ingetrokken; hij werkt vanaf nu niet meer.")
    return redirect("staff:api-tokens")
