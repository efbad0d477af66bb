"""The actor: who acts, for which library, and the one current-library guard."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from core.actors import Actor, ActorKind, current_library
from core.errors import ServiceError
from staff.models import Role
from staff.permissions import actor_has_role, require_role


def test_references_say_who_acted(libraries, staff):
    assert Actor.staff(staff.alpha_desk, libraries.alpha).ref == f"staff:{staff.alpha_desk.pk}"
    assert Actor.member(812, libraries.alpha).ref == "member:812"
    assert Actor.machine(3, 5, libraries.alpha).ref == "machine:3@5"
    assert Actor.system("nightly", libraries.alpha).ref == "system:nightly"
    assert Actor.member(812, libraries.alpha).user_or_none is None


def test_an_actor_needs_the_account_behind_it(libraries):
    with pytest.raises(ValueError):
        Actor(ActorKind.STAFF, libraries.alpha)
    with pytest.raises(ValueError):
        Actor(ActorKind.MACHINE, libraries.alpha, machine_id=3)  # no branch
    with pytest.raises(ValueError):
        Actor("robot", libraries.alpha)


def test_the_current_library_is_the_schema_of_the_connection(libraries):
    assert current_library() is None  # the national schema
    with schema_context(libraries.beta.schema_name):
        assert current_library() == libraries.beta
        assert Actor.member(1).organisation == libraries.beta


def test_an_actor_of_another_library_is_refused(libraries, staff):
    with schema_context(libraries.alpha.schema_name):
        assert Actor.staff(staff.alpha_desk, libraries.alpha).require_current_library() == libraries.alpha
        with pytest.raises(ServiceError) as refused:
            Actor.staff(staff.beta_desk, libraries.beta).require_current_library()
    assert refused.value.code == "actor.other_library"
    assert refused.value.params == {"actor_library": libraries.beta.schema_name, "schema": libraries.alpha.schema_name}
    assert connection.schema_name == "public"


def test_a_member_acts_only_on_their_own_things(libraries):
    member = Actor.member(7, libraries.alpha)
    member.require_member(7)
    with pytest.raises(ServiceError) as refused:
        member.require_member(8)
    assert refused.value.code == "actor.not_owner"
    Actor.machine(3, 5, libraries.alpha).require_member(8)  # machines serve every member of their library


def test_roles_belong_to_staff_only(libraries, staff):
    supervisor = Actor.staff(staff.alpha_desk_supervisor, libraries.alpha)
    assert actor_has_role(supervisor, Role.DESK_SUPERVISOR)
    require_role(supervisor, Role.DESK_SUPERVISOR)
    with pytest.raises(ServiceError) as refused:
        require_role(Actor.staff(staff.alpha_desk, libraries.alpha), Role.DESK_SUPERVISOR)
    assert refused.value.code == "actor.no_role"
    assert not actor_has_role(Actor.machine(1, 1, libraries.alpha), Role.DESK)
    assert not actor_has_role(Actor.system("nightly", libraries.alpha), Role.DESK)
