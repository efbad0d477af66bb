"""API keys: `Authorization: Bearer <key>` (or `Token <key>`).

Two kinds of key, each bound to one library organisation:
- a machine key ("lsbm_…", selfservice.MachineAccount): a self-service machine or
  sorting system standing at one branch; it acts as
  Actor.machine(account, its branch, its library);
- a staff key ("lsbs_…", staff.StaffApiToken): an integration acting as the staff
  member who made it, Actor.staff(user, library), with that staff member's roles
  at the library, checked by the services and selectors as on the screens.

A key works only on its own library's host: a key of another library is refused
(403 api.key_other_library) before anything of this library is read. Keys are
looked up at every request, so a revoked key is refused at once.
"""

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions

from core.actors import Actor
from selfservice.models import MachineAccount
from staff.selectors import staff_api_token_for_key, works_at
from staff.services import staff_api_token_used

from .exceptions import ApiRefusal

KEYWORDS = (b"bearer", b"token")
MACHINE = "machine"
STAFF = "staff"


@dataclass(frozen=True)
class ApiKey:
    """What a request's key stands for: its kind, the actor it acts as, and a
    stable id for throttling ("machine:3", "staff-key:12")."""

    kind: str
    actor: Actor
    key_id: str
    account: Any = None  # the MachineAccount or the StaffApiToken

    @property
    def is_machine(self):
        return self.kind == MACHINE

    @property
    def is_staff(self):
        return self.kind == STAFF


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed()
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed() from None
        library = getattr(request, "library", None)
        if library is None:
            raise exceptions.AuthenticationFailed()
        if key.startswith("lsbm_"):
            return self._machine(key, library)
        if key.startswith("lsbs_"):
            return self._staff(key, library)
        raise exceptions.AuthenticationFailed()

    def authenticate_header(self, request):
        return 'Bearer realm="api"'

    @staticmethod
    def _machine(key, library):
        account = MachineAccount.from_token(key)
        if account is None:
            raise exceptions.AuthenticationFailed()
        if account.organisation_id != library.pk:
            raise ApiRefusal("api.key_other_library")
        account.seen()
        actor = Actor.machine(account.pk, account.branch_id, library)
        return account, ApiKey(MACHINE, actor, f"machine:{account.pk}", account)

    @staticmethod
    def _staff(key, library):
        token = staff_api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed()
        if token.organisation_id != library.pk:
            raise ApiRefusal("api.key_other_library")
        if not works_at(token.user, library):
            raise ApiRefusal("actor.no_role", role="")
        staff_api_token_used(token=token)
        return token.user, ApiKey(STAFF, Actor.staff(token.user, library), f"staff-key:{token.pk}", token)
