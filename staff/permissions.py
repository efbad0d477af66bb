"""View guards for library screens: signed in, at this library, with the role."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render

from .models import Role
from .selectors import has_role, works_at

# Who reads the catalogue at a library (search, title and item pages): the desk looks
# titles up too; changing them stays with the collection role.
CATALOGUE_READER_ROLES = (Role.COLLECTION, Role.DESK, Role.DESK_SUPERVISOR)


def library_staff_required(*roles):
    """Allow a view only to staff with one of `roles` (or any role, when none is
    given) at the request's library.

    Anyone else gets a clear refusal page (403) naming the library and the role needed."""
    roles = tuple(role for role in roles if role)

    def decorator(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            library = getattr(request, "library", None)
            if library is None:
                raise Http404("Deze pagina hoort bij een bibliotheek.")
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not works_at(request.user, library):
                return render(request, "staff/forbidden.html", {"required_role": None}, status=403)
            if roles and not any(has_role(request.user, library, role) for role in roles):
                return render(request, "staff/forbidden.html",
                              {"required_role": " of ".join(str(Role(role).label) for role in roles)}, status=403)
            return view(request, *args, **kwargs)

        return guarded

    return decorator


def actor_has_role(actor, role):
    """Whether a service's actor holds `role` at its library: staff by their roles;
    machines, members and the system never hold a staff role."""
    return actor.is_staff and has_role(actor.staff_user, actor.organisation, role)


def require_role(actor, role):
    """The services' role check (core.errors: actor.no_role)."""
    from core.errors import ServiceError

    if not actor_has_role(actor, role):
        raise ServiceError("actor.no_role", role=Role(role).label)


def actor_for_request(request, *, branch_id=None):
    """The staff actor of a desk request at this library (the view has checked the role)."""
    from core.actors import Actor

    return Actor.staff(request.user, request.library, branch_id=branch_id)
