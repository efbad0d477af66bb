"""Which key may call which endpoint. What the key's actor may then do is the
services' and selectors' business (roles, the actor's library, a member's own
data): the API does not repeat their rules."""

from rest_framework import exceptions, permissions

from staff.models import Role
from staff.permissions import require_role

from .authentication import ApiKey
from .exceptions import ApiRefusal


class HasApiKey(permissions.BasePermission):
    """Any valid key of this library (the default)."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiKey):
            raise exceptions.NotAuthenticated()
        return True


class MachineKey(HasApiKey):
    """Self-service: a machine's key (it stands at a branch: checkout and checkin happen there)."""

    def has_permission(self, request, view):
        super().has_permission(request, view)
        if not request.auth.is_machine:
            raise ApiRefusal("api.machine_key_required")
        return True


class StaffKey(HasApiKey):
    """Integrations: a staff member's key."""

    def has_permission(self, request, view):
        super().has_permission(request, view)
        if not request.auth.is_staff:
            raise ApiRefusal("api.staff_key_required")
        return True


def staff_key_with_role(role):
    """A staff key whose staff member holds `role` here: the role the matching desk
    screen asks (staff.permissions.library_staff_required)."""

    class StaffKeyWithRole(StaffKey):
        def has_permission(self, request, view):
            super().has_permission(request, view)
            require_role(request.auth.actor, role)
            return True

    StaffKeyWithRole.__name__ = f"StaffKeyWith{Role(role).name.title().replace('_', '')}Role"
    return StaffKeyWithRole


StaffKeyDesk = staff_key_with_role(Role.DESK)
