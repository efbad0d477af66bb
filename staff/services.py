"""Writes about staff accounts and their roles."""

from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.models import Branch

from .models import LibraryRole, PoiAdministrator, Role, StaffUser

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


def library_role_grant(*, user, organisation, role):
    """Give a staff member a role at a library organisation (no-op when held)."""
    if role not in Role.values:
        raise ValidationError(f"Onbekende rol: {role}")
    grant, _ = LibraryRole.objects.get_or_create(user=user, organisation=organisation, role=role)
    return grant


def library_role_revoke(*, user, organisation, role):
    """Take a role away. A library keeps at least one administrator, so the last
    library_admin role cannot be revoked; that check and the delete share one lock."""
    with transaction.atomic():
        admins = list(
            LibraryRole.objects.select_for_update()
            .filter(organisation=organisation, role=Role.LIBRARY_ADMIN)
            .order_by("pk")
        )
        if role == Role.LIBRARY_ADMIN and len(admins) == 1 and admins[0].user_id == user.pk:
            raise ValidationError("Een bibliotheek houdt minstens één beheerder; deze rol kan niet weg.")
        deleted, _ = LibraryRole.objects.filter(user=user, organisation=organisation, role=role).delete()
        if not deleted:
            raise ValidationError(f"{user} heeft de rol {Role(role).label} hier niet.")


def poi_administrator_grant(*, user, poi):
    with transaction.atomic():
        administration, _ = PoiAdministrator.objects.get_or_create(user=user, poi=poi)
        if not user.is_staff:
            user.is_staff = True  # POI administrators work in the national admin
            user.save(update_fields=["is_staff"])
    return administration


def working_branch_choose(*, session, organisation, branch_id):
    """Remember at which branch a staff member works at this library (per session)."""
    try:
        branch = Branch.objects.get(pk=branch_id, organisation=organisation, is_active=True)
    except (Branch.DoesNotExist, ValueError, TypeError):
        raise ValidationError("Deze vestiging hoort niet bij deze bibliotheek.")
    session.setdefault(WORKING_BRANCH_SESSION_KEY, {})
    session[WORKING_BRANCH_SESSION_KEY] = {**session[WORKING_BRANCH_SESSION_KEY], str(organisation.pk): branch.pk}
    return branch
