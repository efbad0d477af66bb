"""Fixtures for circulation: a desk in alpha (two branches, open every day but
Sunday), a member, and helpers. Everything inside each test's rolled-back
transaction, in alpha's schema unless a test switches."""

import datetime
from types import SimpleNamespace

import pytest
from django_tenants.utils import tenant_context

from core.actors import Actor
from tenants.models import OpeningPeriod
from tests.members.factories import make_member

from tests.members.conftest import in_alpha, in_beta, member_defaults  # noqa: F401 (shared fixtures)

from .factories import make_items


PAID_UNTIL = datetime.date.today() + datetime.timedelta(days=365)


@pytest.fixture
def desk(libraries, staff, member_defaults):
    alpha = libraries.alpha
    main, other = list(alpha.branches.order_by("name"))[:2]
    for branch in (main, other):
        OpeningPeriod.objects.filter(branch=branch).delete()
        for weekday in range(6):  # closed on Sundays
            OpeningPeriod.objects.create(branch=branch, weekday=weekday, opens="10:00", closes="17:00")
    with tenant_context(alpha):
        member = make_member(card_number="A1000001", first_name="Anna", last_name="Jansen", paid_until=PAID_UNTIL)
        yield SimpleNamespace(
            library=alpha, main=main, other=other, member=member, staff=staff.alpha_desk,
            supervisor=staff.alpha_library_admin,
            items=lambda count=1, branch=None, **fields: make_items(alpha, branch=branch or main, count=count,
                                                                    **fields),
            # The desk's actor: its staff user (or `user`) at the main branch (or `branch`).
            actor=lambda user=None, branch=None: Actor.staff(user or staff.alpha_desk, alpha,
                                                             branch_id=(branch or main).pk),
        )
