"""The member's side in the OPAC: a title their library lacks is requested from
another library (the reserve page's IBL form), appears among their requests with the
expected arrival date, and can be cancelled until it is sent; another member's
request cannot be cancelled; a title the library holds itself is reserved, not
requested elsewhere."""

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import tenant_context

from ibl.models import IblRequest, RequestState

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"


@pytest.fixture
def member_client(client, ibl_world):
    cache.delete("member-sign-in:address:127.0.0.1")
    client.defaults["HTTP_HOST"] = ALPHA
    answer = client.post("/aanmelden/", {"card_number": ibl_world.member.card_number, "pin": "1234"})
    assert answer.status_code == 302, answer.content.decode()[:1500]
    yield client
    cache.delete("member-sign-in:address:127.0.0.1")


def test_a_member_requests_a_title_from_another_library_and_cancels_it(member_client, ibl_world):
    world = ibl_world
    title_page = member_client.get(f"/titel/{world.title.pk}-het-verre-boek/").content.decode()
    assert "Aanvragen bij een andere bibliotheek" in title_page
    reserve = f"/titel/{world.title.pk}-het-verre-boek/reserveren/"
    assert 'data-testid="ibl-form"' in member_client.get(reserve).content.decode()
    answer = member_client.post(reserve, {"ibl": "1", "afhaalvestiging": world.alpha.branches.order_by("name")
                                          .first().pk}, follow=True)
    page = answer.content.decode()
    assert "Aangevraagd bij een andere bibliotheek" in page
    connection.set_schema_to_public()
    request = IblRequest.objects.get(requesting_organisation=world.alpha, title=world.title)
    assert request.state == RequestState.ASKED and request.actor_ref == f"member:{world.member.pk}"
    assert f'id="ibl-{request.pk}"' in page
    assert request.expected_on.strftime("%Y") in page  # "Verwacht: <weekday> <day> <month> <year>"

    # Twice: refused in Dutch, nothing more.
    again = member_client.post(reserve, {"ibl": "1", "afhaalvestiging": request.pickup_branch_id})
    assert again.status_code == 400 and "loopt al een IBL-aanvraag" in again.content.decode()

    cancelled = member_client.post(f"/mijn/ibl/{request.pk}/annuleren/", follow=True)
    assert "is geannuleerd" in cancelled.content.decode()
    connection.set_schema_to_public()
    assert IblRequest.objects.get(pk=request.pk).state == RequestState.CANCELLED


def test_a_member_cannot_cancel_another_members_request(member_client, ibl_world):
    from ibl.services.requests import ibl_request_create
    from core.actors import Actor
    from tests.members.factories import make_member

    from .conftest import PAID_UNTIL, first_branch

    world = ibl_world
    with tenant_context(world.alpha):
        other = make_member(card_number="IBLA0002", paid_until=PAID_UNTIL)
        theirs = ibl_request_create(actor=Actor.member(other.pk, world.alpha), member_id=other.pk,
                                    title_id=world.title.pk, pickup_branch_id=first_branch(world.alpha).pk)
    connection.set_schema_to_public()
    answer = member_client.post(f"/mijn/ibl/{theirs.pk}/annuleren/", follow=True)
    assert "Dit hoort niet bij uw account" in answer.content.decode()
    connection.set_schema_to_public()
    assert IblRequest.objects.get(pk=theirs.pk).state == RequestState.ASKED
    # ... nor see it.
    assert f'id="ibl-{theirs.pk}"' not in member_client.get("/mijn/").content.decode()
