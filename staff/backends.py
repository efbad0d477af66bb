"""Sign-in backend: Django's ModelBackend, with the staff member's roles at the
request's library read in the same statement as the user.

Every library screen asks `staff.selectors.roles_at` (library_staff_required);
loading the user of the session and their roles at the library of the request
(the connection's tenant, set by tenants.middleware before the user is loaded)
in one SELECT saves a round trip on every request, which counts on the desk's
scan endpoints. The roles land in the same per-request cache roles_at fills."""

from django.contrib.auth.backends import ModelBackend, UserModel
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import OuterRef

from tenants.models import LibraryOrganisation

from .models import LibraryRole

ROLES_CACHE = "_lsb_roles"  # staff.selectors.roles_at's per-request cache on the user object


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        organisation = getattr(connection, "tenant", None)
        if not isinstance(organisation, LibraryOrganisation) or organisation.pk is None:
            return super().get_user(user_id)
        roles = LibraryRole.objects.filter(user=OuterRef("pk"), organisation_id=organisation.pk).values("role")
        user = UserModel._default_manager.filter(pk=user_id).annotate(_roles_here=ArraySubquery(roles)).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        roles = frozenset(user.__dict__.pop("_roles_here"))
        setattr(user, ROLES_CACHE, {organisation.pk: roles})
        return user

