"""Fixtures for interlibrary loan: alpha and beta (both Utrecht, BiSC) and gamma
(Zuid-Holland, Probiblio), a member of alpha, a title only the lenders hold, desk
actors at each library's first branch, and staff at the POI hubs. Everything in
each test's rolled-back transaction (the outbox and the leg planning are carried
out by the test: see ibl_world.deliver)."""

import datetime
from types import SimpleNamespace

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from ibl.models import HubStaff
from ibl.services.transport import legs_plan
from staff.models import Role
from tenants.models import PoiHub
from tests.circulation.factories import make_items
from tests.factories import StaffUserFactory, TitleFactory, staff_with_role
from tests.members.factories import default_categories, make_member
from tests.outbox import outbox_deliver_all

PAID_UNTIL = datetime.date.today() + datetime.timedelta(days=365)


def first_branch(organisation):
    return organisation.branches.filter(is_active=True).order_by("name").first()


class World(SimpleNamespace):
    def desk(self, organisation, branch=None):
        """A desk actor of `organisation` at its first branch (or `branch`)."""
        user = self.desk_users[organisation.slug]
        return Actor.staff(user, organisation, branch_id=(branch or first_branch(organisation)).pk)

    def hub_actor(self, hub):
        return Actor.staff(self.hub_users[hub.poi.code])

    def deliver(self):
        """What the worker does after each commit: the outbox steps and the leg planning."""
        from ibl.models import IblRequest, Leg, RequestState

        for _round in range(5):
            deliveries = outbox_deliver_all()
            planned = 0
            for request in IblRequest.objects.filter(state__in=[RequestState.SENT, RequestState.RETURNING]):
                direction = Leg.Direction.OUT if request.state == RequestState.SENT else Leg.Direction.BACK
                if not request.legs.filter(direction=direction).exists():
                    legs_plan(request.pk)
                    planned += 1
            if not deliveries and not planned:
                break
        connection.set_schema_to_public()


@pytest.fixture
def ibl_world(libraries, staff):
    alpha, beta, gamma = libraries.alpha, libraries.beta, libraries.gamma
    desk_users = {
        "alpha": staff.alpha_desk,
        "beta": staff.beta_desk,
        "gamma": staff_with_role(gamma, Role.DESK, username="gamma.desk.ibl"),
    }
    for organisation in (alpha, beta, gamma):
        with tenant_context(organisation):
            default_categories()
    hubs = {hub.poi.code: hub for hub in PoiHub.objects.select_related("poi")}
    hub_users = {}
    for code in ("bisc", "probiblio"):
        user = StaffUserFactory(username=f"hub.{code}")
        HubStaff.objects.create(user=user, hub=hubs[code])
        hub_users[code] = user
    with tenant_context(alpha):
        member = make_member(card_number="IBLA0001", first_name="Ilse", last_name="Boekhouder",
                             street="Lindenlaan", house_number="7", postcode="3581 AB", city="Utrecht",
                             email="ilse.boekhouder@example.nl", paid_until=PAID_UNTIL)
    title = TitleFactory(title="Het verre boek")
    with tenant_context(beta):
        [beta_copy] = make_items(beta, branch=first_branch(beta), title=title)
    connection.set_schema_to_public()
    return World(alpha=alpha, beta=beta, gamma=gamma, member=member, title=title, beta_copy=beta_copy,
                 desk_users=desk_users, hubs=hubs, hub_users=hub_users)
