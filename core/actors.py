"""Who is acting: one small value every write service takes as `actor`.

An actor is staff at a desk, a member in the OPAC, a self-service machine, or the
system (nightly tasks, cross-library steps). It carries the library organisation
it acts for, the branch it stands at (when it stands somewhere) and the account
behind it. Events, audit rows and ledger entries record `actor.ref` so that later
one can read "member 812 renewed in the OPAC" or "machine 3 at Neude checked in".

The organisation is always the library whose schema the connection is in: an
actor built for another library is refused by `require_current_library` before
anything is read (a programming error at an edge, never a user's mistake).
"""

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name

from .errors import ServiceError


class ActorKind:
    STAFF = "staff"
    MEMBER = "member"
    MACHINE = "machine"
    SYSTEM = "system"

    ALL = (STAFF, MEMBER, MACHINE, SYSTEM)


@dataclass(frozen=True)
class Actor:
    kind: str
    organisation: Any  # tenants.LibraryOrganisation (or None for national work)
    branch_id: int | None = None
    staff_user: Any = None  # staff.StaffUser for kind=staff
    member_id: int | None = None  # members.Member.pk for kind=member
    machine_id: int | None = None  # the self-service machine account for kind=machine
    process: str = ""  # for kind=system: which process (e.g. "nightly", "outbox")

    def __post_init__(self):
        if self.kind not in ActorKind.ALL:
            raise ValueError(f"unknown actor kind {self.kind!r}")
        if self.kind == ActorKind.STAFF and self.staff_user is None:
            raise ValueError("a staff actor needs its staff user")
        if self.kind == ActorKind.MEMBER and self.member_id is None:
            raise ValueError("a member actor needs its member id")
        if self.kind == ActorKind.MACHINE and (self.machine_id is None or self.branch_id is None):
            raise ValueError("a machine actor needs its machine id and branch")

    # --- constructors ---------------------------------------------------------------

    @classmethod
    def staff(cls, staff_user, organisation=None, *, branch_id=None):
        return cls(ActorKind.STAFF, _organisation(organisation), branch_id=branch_id, staff_user=staff_user)

    @classmethod
    def member(cls, member_id, organisation=None, *, branch_id=None):
        return cls(ActorKind.MEMBER, _organisation(organisation), branch_id=branch_id, member_id=member_id)

    @classmethod
    def machine(cls, machine_id, branch_id, organisation=None):
        return cls(ActorKind.MACHINE, _organisation(organisation), branch_id=branch_id, machine_id=machine_id)

    @classmethod
    def system(cls, process, organisation=None, *, branch_id=None):
        return cls(ActorKind.SYSTEM, _organisation(organisation), branch_id=branch_id, process=process)

    def at_branch(self, branch_id):
        """The same actor standing at another branch (a desk choosing its branch)."""
        return Actor(self.kind, self.organisation, branch_id, self.staff_user, self.member_id, self.machine_id,
                     self.process)

    # --- what it is -----------------------------------------------------------------

    @property
    def is_staff(self):
        return self.kind == ActorKind.STAFF

    @property
    def is_member(self):
        return self.kind == ActorKind.MEMBER

    @property
    def is_machine(self):
        return self.kind == ActorKind.MACHINE

    @property
    def is_system(self):
        return self.kind == ActorKind.SYSTEM

    @property
    def ref(self):
        """A short stable reference for events and audit rows: staff:12, member:812,
        machine:3@5 (machine 3 at branch 5), system:nightly."""
        if self.kind == ActorKind.STAFF:
            return f"staff:{self.staff_user.pk}"
        if self.kind == ActorKind.MEMBER:
            return f"member:{self.member_id}"
        if self.kind == ActorKind.MACHINE:
            return f"machine:{self.machine_id}@{self.branch_id}"
        return f"system:{self.process or 'lsb'}"

    @property
    def user_or_none(self):
        """The staff account, for the `staff_user`/`created_by` columns (None unless staff)."""
        return self.staff_user if self.kind == ActorKind.STAFF else None

    # --- guards ---------------------------------------------------------------------

    def require_current_library(self):
        """The one 'is this the current library' guard: the actor's library must be
        the schema this connection works in."""
        if self.organisation is None or connection.schema_name != self.organisation.schema_name:
            raise ServiceError(
                "actor.other_library",
                actor_library=getattr(self.organisation, "schema_name", None),
                schema=connection.schema_name,
            )
        return self.organisation

    def require_kind(self, *kinds):
        if self.kind not in kinds:
            raise ServiceError("actor.not_allowed", kind=self.kind)

    def require_member(self, member_id):
        """A member acts only on their own things; staff, machines and the system of
        this library act on any member of it."""
        if self.kind == ActorKind.MEMBER and member_id != self.member_id:
            raise ServiceError("actor.not_owner")


def _organisation(organisation):
    return organisation if organisation is not None else current_library()


def current_library():
    """The library organisation whose schema this connection works in (None on the
    national schema). The one look-up of 'the current library'."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or connection.schema_name == get_public_schema_name():
        return None
    if getattr(tenant, "pk", None) is None:  # a FakeTenant from schema_context(): fetch the real one
        from django.apps import apps

        model = apps.get_model(*_tenant_model().split("."))
        tenant = model.objects.get(schema_name=connection.schema_name)
    return tenant


def _tenant_model():
    from django.conf import settings

    return settings.TENANT_MODEL
