"""Sign-in backend: Django's ModelBackend, with the staff member's roles at the
request's library read in the same statement as the user.

Every library screen asks `staff.selectors.roles_at` (library_staff_required);
loading the user of the session and their roles at the library of the request
(the connection's tenant, set by tenants.middleware before the user is loaded)
in one SELECT saves a round trip on every request, which counts on the desk's
scan endpoints. The roles land in the same per-request cache roles_at fills."""

from django.contrib.auth.backends import ModelBackend, UserModel
from django.core.exceptions import ValidationError
from django.db import connection

from tenants.models import LibraryOrganisation

from .models import LibraryRole

ROLES_CACHE = "_lsb_roles"  # staff.selectors.roles_at's per-request cache on the user object


_USER_FIELDS = [field for field in UserModel._meta.concrete_fields]

# Raw SQL: this runs on every request of every screen; building it through the ORM
# cost more CPU than the database spends on it.
_USER_WITH_ROLES_SQL = (
    "SELECT {columns}, ARRAY(SELECT role FROM {roles} WHERE user_id = {user}.id AND organisation_id = %s)"
    " FROM {user} WHERE {user}.id = %s"
).format(
    columns=", ".join(f"{UserModel._meta.db_table}.{field.column}" for field in _USER_FIELDS),
    roles=LibraryRole._meta.db_table,
    user=UserModel._meta.db_table,
)


class StaffBackend(ModelBackend):
    def get_user(self, user_id):
        organisation = getattr(connection, "tenant", None)
        if not isinstance(organisation, LibraryOrganisation) or organisation.pk is None:
            return super().get_user(user_id)
        try:
            user_id = UserModel._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        with connection.cursor() as cursor:
            cursor.execute(_USER_WITH_ROLES_SQL, [organisation.pk, user_id])
            row = cursor.fetchone()
        if row is None:
            return None
        user = UserModel.from_db(connection.alias, [field.attname for field in _USER_FIELDS], row[:-1])
        if not self.user_can_authenticate(user):
            return None
        setattr(user, ROLES_CACHE, {organisation.pk: frozenset(row[-1])})
        return user
