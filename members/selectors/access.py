"""What an actor may see of members, and the privacy audit of every read.

Every screen of every edge that shows a member's personal data reads it through
one of these selectors; the selector checks that the actor may see it and writes
the audit entry (AVG/GDPR), so no view writes audit rows itself:

- member_for_actor(actor, member_id, purpose=...): one member, by id
- members_search_for_actor(actor, purpose=..., **criteria): the desk's member search
- member_shown(actor, member, purpose=...): a member another app's selector loaded
  (the borrower panel at checkout, a notice, a receipt)
- members_listed(actor, member_ids, purpose=..., query=...): a list of members
  another app's selector loaded (holds to fetch, notices sent)

Who may see what: staff with a desk role (library administrators too) and the
library's self-service machines and system any member of this library; a member
only themself. A member reading their own data is not audited (the audit log is
about others reading it); everyone else's read is, with `actor.ref`.
"""

from core.errors import ServiceError
from staff.models import Role
from staff.permissions import require_role

from ..models import AuditEntry, Member


def require_staff_role(actor, role):
    """The member services' role check: staff need `role` at this library (a
    library administrator holds every role); the system acts for the library
    (nightly runs, imports, demo data, outbox steps); members and machines hold
    no staff role (actor.no_role)."""
    if not actor.is_system:
        require_role(actor, role)


def require_may_see(actor, member_id):
    """Whether `actor` may see member `member_id` of this library (raises ServiceError)."""
    actor.require_current_library()
    if actor.is_member:
        actor.require_member(member_id)
    elif actor.is_staff:
        require_role(actor, Role.DESK)
    elif not (actor.is_machine or actor.is_system):
        raise ServiceError("actor.not_allowed", kind=actor.kind)


def _audit(actor, member_id, action, detail):
    from ..services.privacy import audit_record

    if actor.is_member and member_id == actor.member_id:
        return None
    return audit_record(actor=actor, member=member_id, action=action, detail=detail)


def member_for_actor(actor, member_id, *, purpose, erased_ok=False, **detail):
    """The member with this id, for a screen that shows their data: checked and
    audited as a VIEW with {"screen": purpose, **detail}.

    None (nothing written) when there is no such member here, when it was merged
    into another record, or when it is erased (unless `erased_ok`: the erasure
    screen shows what is left)."""
    require_may_see(actor, member_id)
    member = (
        Member.objects.select_related("category", "subscription", "guardian")
        .filter(pk=member_id, merged_into__isnull=True)
        .first()
    )
    if member is None or (member.erased_at is not None and not erased_ok):
        return None
    if member.erased_at is None:  # an erased record has no personal data left to see
        _audit(actor, member.pk, AuditEntry.Action.VIEW, {"screen": purpose, **detail})
    return member


def member_shown(actor, member, *, purpose, **detail):
    """Record that a screen shows `member` (loaded by another app's selector): the
    same check and VIEW entry as member_for_actor. Erased members have nothing to show
    and are not audited. Returns the member."""
    require_may_see(actor, member.pk)
    if member.erased_at is None:
        _audit(actor, member.pk, AuditEntry.Action.VIEW, {"screen": purpose, **detail})
    return member


def members_listed(actor, member_ids, *, purpose, query=None):
    """Record that a screen lists these members (loaded by another app's selector):
    one SEARCH entry naming them, so the audit log finds it for each of them.
    Staff, machines and the system only: a member lists nobody but themself."""
    actor.require_current_library()
    member_ids = sorted({member_id for member_id in member_ids if member_id is not None})
    if actor.is_member:
        for member_id in member_ids:
            actor.require_member(member_id)
        return None
    if actor.is_staff:
        require_role(actor, Role.DESK)
    if not member_ids:
        return None
    return _audit(actor, None, AuditEntry.Action.SEARCH,
                  {"query": {"screen": purpose, **(query or {})}, "member_ids": member_ids})


def members_search_for_actor(actor, *, purpose, query="", limit=25, offset=0, **criteria):
    """The desk's member search (members.selectors.registration.member_search) for
    staff: audited as one SEARCH entry with the names of the criteria used (not
    their values) and the ids found."""
    from .registration import member_search

    actor.require_current_library()
    if not (actor.is_staff or actor.is_system):
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    results = member_search(query=query, limit=limit, offset=offset, **criteria)
    # Which criteria were used, never what was typed (names, birth dates, e-mail
    # addresses are personal data of whoever was looked for).
    used = sorted(key for key, value in {"q": query, **criteria}.items() if value)
    _audit(actor, None, AuditEntry.Action.SEARCH,
           {"query": {"fields": used}, "member_ids": [member.pk for member in results], "screen": purpose})
    return results
