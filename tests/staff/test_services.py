"""The staff services under the service contract: a library's roles are managed by
its own administrators in its schema (or by the system, for national work); the
working branch is one of this library's."""

import pytest
from django_tenants.utils import tenant_context

from core.actors import Actor
from staff import services
from staff.models import LibraryRole, Role

from ..refusals import refused

pytestmark = pytest.mark.django_db


def test_a_library_admin_grants_and_revokes_roles_at_their_own_library(libraries, staff):
    with tenant_context(libraries.alpha):
        admin = Actor.staff(staff.alpha_library_admin, libraries.alpha)
        services.library_role_grant(actor=admin, user=staff.alpha_desk, organisation=libraries.alpha,
                                    role=Role.COLLECTION)
        assert LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.alpha,
                                          role=Role.COLLECTION).exists()
        services.library_role_revoke(actor=admin, user=staff.alpha_desk, organisation=libraries.alpha,
                                     role=Role.COLLECTION)
        assert not LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.alpha,
                                              role=Role.COLLECTION).exists()


def test_a_library_admin_grants_roles_only_to_accounts_of_their_library(libraries, staff):
    """Not to another library's staff, a POI administrator or the national
    administrator; one answer for them and for an account that does not exist."""
    with tenant_context(libraries.alpha):
        admin = Actor.staff(staff.alpha_library_admin, libraries.alpha)
        for user in (staff.beta_desk, staff.bisc_poi, staff.national, None):
            with refused("staff.account_not_here"):
                services.library_role_grant(actor=admin, user=user, organisation=libraries.alpha,
                                            role=Role.LIBRARY_ADMIN)
    for user in (staff.beta_desk, staff.bisc_poi, staff.national):
        assert not LibraryRole.objects.filter(user=user, organisation=libraries.alpha).exists()


def test_roles_are_refused_to_other_libraries_desk_staff_and_members(libraries, staff):
    with tenant_context(libraries.alpha):
        admin = Actor.staff(staff.alpha_library_admin, libraries.alpha)
        with refused("actor.other_library"):  # alpha's admin cannot hand out roles at beta
            services.library_role_grant(actor=admin, user=staff.alpha_desk, organisation=libraries.beta,
                                        role=Role.DESK)
        with refused("actor.other_library"):  # beta's staff acting in alpha's schema
            services.library_role_grant(actor=Actor.staff(staff.beta_desk, libraries.beta), user=staff.beta_desk,
                                        organisation=libraries.beta, role=Role.LIBRARY_ADMIN)
        with refused("actor.no_role"):
            services.library_role_grant(actor=Actor.staff(staff.alpha_desk, libraries.alpha), user=staff.alpha_desk,
                                        organisation=libraries.alpha, role=Role.LIBRARY_ADMIN)
        with refused("actor.not_allowed"):
            services.library_role_revoke(actor=Actor.member(1, libraries.alpha), user=staff.alpha_library_admin,
                                         organisation=libraries.alpha, role=Role.LIBRARY_ADMIN)
        with refused("staff.role_unknown", match="Onbekende rol: baas"):
            services.library_role_grant(actor=admin, user=staff.alpha_desk, organisation=libraries.alpha,
                                        role="baas")
    assert not LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.beta).exists()
    assert not LibraryRole.objects.filter(user=staff.beta_desk, organisation=libraries.beta,
                                          role=Role.LIBRARY_ADMIN).exists()
    assert not LibraryRole.objects.filter(user=staff.alpha_desk, role=Role.LIBRARY_ADMIN).exists()
    assert LibraryRole.objects.filter(user=staff.alpha_library_admin, role=Role.LIBRARY_ADMIN).exists()


def test_the_last_admin_stays_and_a_role_not_held_is_named(libraries, staff):
    with tenant_context(libraries.alpha):
        admin = Actor.staff(staff.alpha_library_admin, libraries.alpha)
        with refused("staff.last_library_admin", match="minstens één beheerder"):
            services.library_role_revoke(actor=admin, user=staff.alpha_library_admin, organisation=libraries.alpha,
                                         role=Role.LIBRARY_ADMIN)
        with refused("staff.role_not_held"):
            services.library_role_revoke(actor=admin, user=staff.alpha_desk, organisation=libraries.alpha,
                                         role=Role.COLLECTION)
    assert LibraryRole.objects.filter(user=staff.alpha_library_admin, role=Role.LIBRARY_ADMIN).exists()


def test_the_system_grants_roles_from_the_national_schema(libraries, staff):
    services.library_role_grant(actor=Actor.system("seed_demo"), user=staff.beta_desk, organisation=libraries.gamma,
                                role=Role.DESK)
    assert LibraryRole.objects.filter(user=staff.beta_desk, organisation=libraries.gamma, role=Role.DESK).exists()


def test_the_working_branch_is_one_of_this_library(libraries, staff):
    session = {}
    with tenant_context(libraries.alpha):
        desk = Actor.staff(staff.alpha_desk, libraries.alpha)
        branch = libraries.alpha.branches.order_by("name")[1]
        assert services.working_branch_choose(actor=desk, session=session, branch_id=branch.pk) == branch
        with refused("branch.not_of_library", match="Deze vestiging hoort niet bij deze bibliotheek."):
            services.working_branch_choose(actor=desk, session=session, branch_id=libraries.beta.branches.first().pk)
        with refused("actor.other_library"):
            services.working_branch_choose(actor=Actor.staff(staff.beta_desk, libraries.beta), session=session,
                                           branch_id=branch.pk)
    assert session[services.WORKING_BRANCH_SESSION_KEY] == {str(libraries.alpha.pk): branch.pk}
