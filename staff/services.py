"""Writes about staff accounts and their roles.

Accounts and POI administrators are national (the public schema: the national
admin, the demo data). Roles at a library are granted and revoked by that
library's administrators (a staff actor in the library's schema, core.actors) or
by the system (national work: the demo data, benchmarks). Refusals are
core.errors.ServiceError codes (staff/errors.py).
"""

import re
import secrets

from django.db import transaction
from django.utils import timezone

from core.actors import ActorKind
from core.errors import ServiceError
from tenants.models import Branch

from .models import (
    STAFF_TOKEN_LABEL,
    STAFF_TOKEN_PREFIX_LENGTH,
    LibraryRole,
    PoiAdministrator,
    Role,
    StaffApiToken,
    StaffUser,
    api_token_digest,
)
from .permissions import actor_has_role, require_role
from .selectors import works_at

WORKING_BRANCH_SESSION_KEY = "lsb_working_branch"


def staff_user_create(*, username, password, first_name="", last_name="", email="", is_national_admin=False):
    user = StaffUser(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        # Django admin is the national admin screen; POI administrators use it too.
        is_staff=is_national_admin,
        is_superuser=is_national_admin,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def staff_password_set(*, user, password):
    user.set_password(password)
    user.save(update_fields=["password"])


def _require_may_manage_roles(actor, organisation):
    """A library's roles are managed by its own administrators, working in its
    schema, or by the system (national work)."""
    if actor.is_system:
        return
    if not actor.is_staff:
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    library = actor.require_current_library()
    if library.pk != organisation.pk:
        raise ServiceError("actor.other_library", actor_library=library.schema_name,
                           schema=organisation.schema_name)
    require_role(actor, Role.LIBRARY_ADMIN)


def library_role_grant(*, actor, user, organisation, role, username=None):
    """Give a staff member a role at a library organisation (no-op when held).
    `username`: the name as the screen was given it (named in the refusal).

    A library's administrator grants roles only to accounts of this library
    organisation: accounts that already hold a role here (a new account's first
    role comes from the national administrator, who makes the account). Any other
    account (another library's staff, a POI administrator, the national
    administrator, or no account at all) gets one answer, staff.account_not_here,
    so the screen tells nobody which national usernames exist. The system (demo
    data, national work) grants any role."""
    _require_may_manage_roles(actor, organisation)
    if role not in Role.values:
        raise ServiceError("staff.role_unknown", field="role", role=role)
    if not actor.is_system and (
        user is None or not user.is_active
        or not LibraryRole.objects.filter(user=user, organisation=organisation).exists()
    ):
        raise ServiceError("staff.account_not_here", field="username",
                           username=username if username is not None else getattr(user, "username", ""),
                           library=organisation.name)
    grant, _ = LibraryRole.objects.get_or_create(user=user, organisation=organisation, role=role)
    return grant


def library_role_revoke(*, actor, user, organisation, role):
    """Take a role away. A library keeps at least one administrator, so the last
    library_admin role cannot be revoked; that check and the delete share one lock."""
    _require_may_manage_roles(actor, organisation)
    with transaction.atomic():
        admins = list(
            LibraryRole.objects.select_for_update()
            .filter(organisation=organisation, role=Role.LIBRARY_ADMIN)
            .order_by("pk")
        )
        if role == Role.LIBRARY_ADMIN and len(admins) == 1 and admins[0].user_id == user.pk:
            raise ServiceError("staff.last_library_admin")
        deleted, _ = LibraryRole.objects.filter(user=user, organisation=organisation, role=role).delete()
        if not deleted:
            raise ServiceError("staff.role_not_held", user=str(user), role=Role(role).label)


def staff_sign_in_unlock(*, actor, user):
    """Lift the sign-in lock-out of a staff account (staff.sign_in): a library's
    administrator for accounts of their library, the system for any. Returns how
    many counts were cleared."""
    from axes.utils import reset

    organisation = actor.require_current_library() if not actor.is_system else None
    if organisation is not None:
        require_role(actor, Role.LIBRARY_ADMIN)
        if user is None or not LibraryRole.objects.filter(user=user, organisation=organisation).exists():
            raise ServiceError("staff.account_not_here", username=getattr(user, "username", ""),
                               library=organisation.name)
    return reset(username=user.username)


def poi_administrator_grant(*, user, poi):
    with transaction.atomic():
        administration, _ = PoiAdministrator.objects.get_or_create(user=user, poi=poi)
        if not user.is_staff:
            user.is_staff = True  # POI administrators work in the national admin
            user.save(update_fields=["is_staff"])
    return administration


def working_branch_choose(*, actor, session, branch_id):
    """Remember at which branch a staff member works at this library (per session)."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF)
    try:
        branch = Branch.objects.get(pk=branch_id, organisation=organisation, is_active=True)
    except (Branch.DoesNotExist, ValueError, TypeError):
        raise ServiceError("branch.not_of_library", field="branch")
    session.setdefault(WORKING_BRANCH_SESSION_KEY, {})
    session[WORKING_BRANCH_SESSION_KEY] = {**session[WORKING_BRANCH_SESSION_KEY], str(organisation.pk): branch.pk}
    return branch


# --- API keys of staff (REST API integrations) --------------------------------------

API_TOKEN_NAME_MAX = 100
# How often a key's "last used" is written at most (one write a minute, not one per request).
API_TOKEN_USED_INTERVAL_SECONDS = 60
_FIXED_KEY_RE = re.compile(rf"^{STAFF_TOKEN_LABEL}_([0-9A-Za-z]{{{STAFF_TOKEN_PREFIX_LENGTH}}})_([0-9A-Za-z_-]{{20,}})$")


def _may_manage_token_of(actor, organisation, user):
    """Staff manage their own keys at this library; a library administrator manages
    everyone's here; the system (demo data) may."""
    if actor.is_system:
        return
    actor.require_kind(ActorKind.STAFF)
    if not works_at(actor.staff_user, organisation):
        raise ServiceError("actor.no_role", role="")
    if user.pk != actor.staff_user.pk:
        require_role(actor, Role.LIBRARY_ADMIN)


def staff_api_token_create(*, actor, user, name, secret=None):
    """Make an API key for `user` at the actor's library. Returns (StaffApiToken, key):
    the key is shown once and only its hash is kept. `secret` (a whole key
    "lsbs_<10 letters or digits>_<at least 20 characters>") is for the demo data
    only: a documented key a visitor can try."""
    organisation = actor.require_current_library()
    _may_manage_token_of(actor, organisation, user)
    if not works_at(user, organisation):
        raise ServiceError("staff.api_token_user_not_here", field="user", user=str(user))
    name = (name or "").strip()
    if not name:
        raise ServiceError("staff.api_token_name_missing", field="name")
    if len(name) > API_TOKEN_NAME_MAX:
        raise ServiceError("staff.api_token_name_too_long", field="name", max_length=API_TOKEN_NAME_MAX)
    if secret is None:
        prefix = secrets.token_hex(STAFF_TOKEN_PREFIX_LENGTH // 2)
        secret_part = secrets.token_urlsafe(32)
    else:
        match = _FIXED_KEY_RE.match(secret)
        if match is None:
            raise ServiceError("staff.api_token_secret_invalid")
        prefix, secret_part = match.groups()
    token = StaffApiToken.objects.create(
        user=user, organisation=organisation, name=name, prefix=prefix, token_hash=api_token_digest(secret_part),
        created_by_ref=actor.ref,
    )
    return token, f"{STAFF_TOKEN_LABEL}_{prefix}_{secret_part}"


def staff_api_token_revoke(*, actor, token_id):
    """Revoke a key at once (the next request with it is refused): the staff member's
    own, or any of this library's by a library administrator."""
    organisation = actor.require_current_library()
    with transaction.atomic():
        token = (StaffApiToken.objects.select_for_update().select_related("user")
                 .filter(pk=token_id, organisation=organisation).first())
        if token is None or (actor.is_staff and token.user_id != actor.staff_user.pk
                             and not actor_has_role(actor, Role.LIBRARY_ADMIN)):
            raise ServiceError("staff.api_token_not_found")
        _may_manage_token_of(actor, organisation, token.user)
        if token.revoked_at is not None:
            raise ServiceError("staff.api_token_revoked")
        token.revoked_at = timezone.now()
        token.revoked_by_ref = actor.ref
        token.save(update_fields=["revoked_at", "revoked_by_ref"])
    return token


def staff_api_token_used(*, token, now=None):
    """Note that a key was used (at most one write a minute)."""
    now = now or timezone.now()
    if token.last_used_at and (now - token.last_used_at).total_seconds() < API_TOKEN_USED_INTERVAL_SECONDS:
        return
    StaffApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
