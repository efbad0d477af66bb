"""OPAC fixtures: alpha's desk set-up (tests.circulation.conftest.desk: two branches,
member A1000001 with PIN 1234), a title with copies, a second member, and a client
on alpha's host. Everything in each test's rolled-back transaction."""

import pytest

from tests.circulation.conftest import PAID_UNTIL, desk  # noqa: F401 (shared fixtures)
from tests.circulation.factories import make_rule
from tests.factories import TitleFactory
from tests.members.conftest import in_alpha, in_beta, member_defaults  # noqa: F401
from tests.members.factories import make_member

ALPHA = "alpha.localhost"
BETA = "beta.localhost"
PIN = "1234"


@pytest.fixture
def opac(desk):
    """desk + a rule with a hold fee, a title with two copies at the main branch,
    and a second member (Bas) of alpha."""
    make_rule(hold_fee_cents=100)
    desk.title = TitleFactory(title="De ontdekking van de hemel", contributors_text="Mulisch, Harry",
                              subjects=["Romans"], isbns=["9789023411118"])
    desk.copies = desk.items(count=2, title=desk.title)
    desk.other_member = make_member(card_number="A1000002", first_name="Bas", last_name="Wachter",
                                    paid_until=PAID_UNTIL, email="bas@example.nl")
    return desk


def forget_address_failures():
    """Sign-in failures per address live in Redis (members.services.auth): start clean."""
    from django.core.cache import cache

    cache.delete("member-sign-in:address:127.0.0.1")


@pytest.fixture
def visitor(client):
    forget_address_failures()
    client.defaults["HTTP_HOST"] = ALPHA
    yield client
    forget_address_failures()


def sign_in(client, card="A1000001", pin=PIN):
    return client.post("/aanmelden/", {"card_number": card, "pin": pin})


@pytest.fixture
def member_client(visitor, opac):
    response = sign_in(visitor)
    assert response.status_code == 302, response.content.decode()[:2000]
    return visitor


def text(response):
    return response.content.decode()
