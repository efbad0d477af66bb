"""Fixtures for the notice tests: members in alpha and beta (inside each test's
rolled-back transaction), created straight in the library schema."""

import itertools

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from tests.members.conftest import in_alpha, in_beta, member_defaults  # noqa: F401 (fixtures)
from tests.members.ledger_helpers import money_member

_numbers = itertools.count(1)


def notice_member(**fields):
    """A member in the current schema, with an e-mail address unless told otherwise."""
    number = next(_numbers)
    values = {"first_name": "Noor", "last_name": f"Bakker {number}", "email": f"noor{number}@example.nl",
              "street": "Oudegracht", "house_number": "12", "postcode": "3511 AB", "city": "Utrecht"}
    values.update(fields)
    return money_member(**values)


def system_actor():
    """Whoever queues and sends in these tests: the system, in the current library
    (circulation queues as the desk or the nightly run; the task sends as "notices")."""
    return Actor.system("notices")


def titles_context(**extra):
    import datetime

    return {"titels": [{"titel": "De avonden", "auteur": "Gerard Reve", "barcode": "3000000012345",
                        "inleverdatum": datetime.date(2026, 6, 12)}],
            "inleverdatum": datetime.date(2026, 6, 12), **extra}


@pytest.fixture
def alpha_member(libraries):
    with tenant_context(libraries.alpha):
        member = notice_member()
    connection.set_schema_to_public()
    return member
