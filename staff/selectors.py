"""Who may do what, where. Every permission check in LSB asks these."""

import hmac

from tenants.models import Branch, LibraryOrganisation

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


def roles_at(user, organisation):
    """The roles a staff member holds at one library organisation (a set of Role values).

    Cached on the user object for the request, since a page asks several times
    (staff.backends.StaffBackend fills it when it loads the session's user). Through
    getattr/setattr, so request.user (a lazy wrapper) reaches the user itself."""
    if not user.is_authenticated or organisation is None:
        return frozenset()
    cache = getattr(user, "_lsb_roles", None)
    if cache is None:
        cache = user._lsb_roles = {}
    if organisation.pk not in cache:
        cache[organisation.pk] = frozenset(
            LibraryRole.objects.filter(user=user, organisation_id=organisation.pk).values_list("role", flat=True)
        )
    return cache[organisation.pk]


def has_role(user, organisation, role):
    """Library administrators may do everything their library's staff may do."""
    roles = roles_at(user, organisation)
    return role in roles or Role.LIBRARY_ADMIN in roles


def works_at(user, organisation):
    return bool(roles_at(user, organisation))


def is_poi_administrator(user):
    return user.is_authenticated and PoiAdministrator.objects.filter(user=user).exists()


def organisations_administered_by(user):
    """The library organisations a user may see and edit in the national admin:
    all for the national administrator, those in their POI's provinces for a POI
    administrator, none for anyone else."""
    if not user.is_authenticated or not user.is_active:
        return LibraryOrganisation.objects.none()
    if user.is_superuser:
        return LibraryOrganisation.objects.all()
    return LibraryOrganisation.objects.filter(province__poi__administrators__user=user).distinct()


def branches_administered_by(user):
    return Branch.objects.filter(organisation__in=organisations_administered_by(user))


def provinces_administered_by(user):
    from tenants.models import Province

    if user.is_superuser:
        return Province.objects.all()
    return Province.objects.filter(poi__administrators__user=user).distinct()


def staff_of(organisation):
    """The staff with a role at an organisation, with their roles, for the library admin page."""
    users = (
        StaffUser.objects.filter(library_roles__organisation=organisation, is_active=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
    roles = {}
    for user_id, role in LibraryRole.objects.filter(organisation=organisation).values_list("user_id", "role"):
        roles.setdefault(user_id, []).append(Role(role))
    return [(user, sorted(roles.get(user.pk, []), key=list(Role).index)) for user in users]


def libraries_of(user):
    """The library organisations a staff member works at (for 'elsewhere' links)."""
    return LibraryOrganisation.objects.filter(staff_roles__user=user, is_active=True).distinct().order_by("name")


def working_branch(session, organisation):
    """The branch a staff member chose to work at here, else the library's first branch."""
    from .services import WORKING_BRANCH_SESSION_KEY

    branches = Branch.objects.filter(organisation=organisation, is_active=True).order_by("name")
    chosen = session.get(WORKING_BRANCH_SESSION_KEY, {}).get(str(organisation.pk))
    if chosen is not None:
        branch = branches.filter(pk=chosen).first()
        if branch is not None:
            return branch
    return branches.first()


def branch_for_screen(session, organisation, value, branches):
    """The branch a list screen is about: `value` (?vestiging=<id>) when it is one of
    `branches` (this library's), else the staff member's working branch."""
    chosen = str(value or "").strip()
    for branch in branches:
        if str(branch.pk) == chosen:
            return branch
    return working_branch(session, organisation)


# --- API keys of staff -----------------------------------------------------------------

def staff_api_token_for_key(key):
    """The key's StaffApiToken (with user and organisation) when it is a key LSB made
    and has not revoked, its staff account active; else None."""
    if not isinstance(key, str):
        return None
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != STAFF_TOKEN_LABEL or len(parts[1]) != STAFF_TOKEN_PREFIX_LENGTH:
        return None
    token = (StaffApiToken.objects.select_related("user", "organisation")
             .filter(prefix=parts[1], revoked_at__isnull=True, user__is_active=True).first())
    if token is None or not hmac.compare_digest(token.token_hash, api_token_digest(parts[2])):
        return None
    return token


def staff_api_tokens_shown(user, organisation):
    """The keys the key screen lists at a library: a library administrator sees
    everyone's there, anyone else their own. Newest first, revoked ones too."""
    tokens = StaffApiToken.objects.select_related("user").filter(organisation=organisation)
    if not has_role(user, organisation, Role.LIBRARY_ADMIN):
        tokens = tokens.filter(user=user)
    return list(tokens)
