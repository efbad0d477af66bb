from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants.calendar import opening_today
from tenants.selectors import branches_of

from . import services
from .forms import LibrarySignInForm, RoleGrantForm
from .models import Role, StaffUser
from .permissions import actor_for_request, library_staff_required
from .selectors import has_role, roles_at, staff_of, working_branch
from .sign_in import sign_in_locked


class LibrarySignInView(auth_views.LoginView):
    template_name = "staff/sign_in.html"
    authentication_form = LibrarySignInForm
    redirect_authenticated_user = False
    # Without a (safe, same-host) next page: the desk home of this library.
    next_page = "staff:desk-home"


class LibrarySignOutView(auth_views.LogoutView):
    next_page = "staff:login"


@library_staff_required()
def desk_home(request):
    library = request.library
    branch = working_branch(request.session, library)
    roles = roles_at(request.user, library)
    return render(
        request,
        "staff/desk_home.html",
        {
            "branch": branch,
            "branches": branches_of(library),
            "opening_today": opening_today(branch) if branch else [],
            "roles": [Role(role) for role in Role.values if role in roles],
            "may_administer": has_role(request.user, library, Role.LIBRARY_ADMIN),
            "may_manage_collection": has_role(request.user, library, Role.COLLECTION),
            "may_order": has_role(request.user, library, Role.ACQUISITIONS),
            "may_handle_members": has_role(request.user, library, Role.DESK),
        },
    )


@require_POST
@library_staff_required()
def working_branch_choose(request):
    try:
        branch = services.working_branch_choose(
            actor=actor_for_request(request), session=request.session, branch_id=request.POST.get("branch")
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"U werkt nu in vestiging {branch.name}.")
    return redirect("staff:desk-home")


def _admin_context(request, grant_form):
    staff = staff_of(request.library)
    return {"staff": staff, "grant_form": grant_form, "branches": branches_of(request.library),
            "locked": {user.pk for user, _roles in staff if sign_in_locked(user.username)}}


@library_staff_required(Role.LIBRARY_ADMIN)
def library_admin(request):
    return render(request, "staff/library_admin.html", _admin_context(request, RoleGrantForm()))


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def sign_in_unlock(request):
    """Free a staff account of this library locked out after failed sign-ins."""
    user = StaffUser.objects.filter(pk=request.POST.get("user") if str(request.POST.get("user", "")).isdigit()
                                    else None).first()
    try:
        services.staff_sign_in_unlock(actor=actor_for_request(request), user=user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{user} kan weer inloggen.")
    return redirect("staff:library-admin")


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def role_grant(request):
    form = RoleGrantForm(request.POST)
    if form.is_valid():
        try:
            services.library_role_grant(
                actor=actor_for_request(request), user=form.cleaned_data["user"], organisation=request.library,
                role=form.cleaned_data["role"], username=form.cleaned_data["username"],
            )
        except ValidationError as error:
            form.add_error("username", error.messages[0])
        else:
            messages.success(
                request, f"{form.cleaned_data['user']} heeft nu de rol {Role(form.cleaned_data['role']).label}."
            )
            return redirect("staff:library-admin")
    return render(request, "staff/library_admin.html", _admin_context(request, form), status=400)


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def role_revoke(request):
    user = StaffUser.objects.filter(pk=request.POST.get("user")).first()
    role = request.POST.get("role")
    if user is None or role not in Role.values:
        messages.error(request, "Onbekende medewerker of rol.")
        return redirect("staff:library-admin")
    try:
        services.library_role_revoke(actor=actor_for_request(request), user=user, organisation=request.library,
                                     role=role)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"De rol {Role(role).label} van {user} is ingetrokken.")
    return redirect("staff:library-admin")
