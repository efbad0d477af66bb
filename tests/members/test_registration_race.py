"""Two desks at once, on committed data in their own connections (threads):
the same new card registered at two desks, and two desks saving the same member.
Data is made in a module fixture and removed afterwards."""

import datetime
import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.errors import error_codes
from members.models import AuditEntry, Block, LedgerEntry, Member, MemberCategory, SubscriptionType
from members.services import registration
from tenants.models import CardIndex, LibraryOrganisation

from .factories import default_categories

from tests.concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=False)

CARDS = ["RACEREG01", "RACEREG02"]


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        alpha = LibraryOrganisation.objects.get(slug="alpha")
        with tenant_context(alpha):
            existed = SubscriptionType.objects.exists()
            default_categories()
            member = registration.member_register(
                actor=Actor.system("test"), card_number="RACEREG02", first_name="Ria",
                last_name="Visser", date_of_birth=datetime.date(2012, 1, 1),  # free: nothing on the account
            )
        connection.set_schema_to_public()
    yield alpha, member
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            ids = list(Member.objects.filter(card_number__in=CARDS).values_list("pk", flat=True))
            LedgerEntry.objects.filter(member_id__in=ids).delete()
            Block.objects.filter(member_id__in=ids).delete()
            AuditEntry.objects.filter(member_id_ref__in=ids).delete()
            Member.objects.filter(pk__in=ids).delete()
            if not existed:
                MemberCategory.objects.all().delete()
                SubscriptionType.objects.all().delete()
        CardIndex.objects.filter(card_number__in=CARDS).delete()
        connection.set_schema_to_public()


def test_same_new_card_at_two_desks_one_wins_the_other_gets_a_message(committed, django_db_blocker):
    alpha, _ = committed
    both_checked = threading.Barrier(2, timeout=10)
    real_add = registration._card_index_add

    def add_after_both_checked(value, organisation):
        both_checked.wait()  # both desks have found the card free
        return real_add(value, organisation)

    def desk(first_name):
        def register():
            with tenant_context(alpha):
                return registration.member_register(
                    actor=Actor.system("test"), card_number="RACEREG01", first_name=first_name,
                    last_name="Smit", date_of_birth=datetime.date(2011, 5, 5),
                )
        return register

    with django_db_blocker.unblock(), mock.patch.object(registration, "_card_index_add", add_after_both_checked):
        one, first = in_thread(desk("Eva"))
        two, second = in_thread(desk("Iris"))
        one.join(20)
        two.join(20)
    outcomes = [first, second]
    winners = [o for o in outcomes if "result" in o]
    losers = [o for o in outcomes if "error" in o]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert isinstance(losers[0]["error"], ValidationError)
    assert "zojuist al uitgegeven" in losers[0]["error"].messages[0]
    assert error_codes(losers[0]["error"]) == ["card.issued_meanwhile"]
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            assert Member.objects.filter(card_number="RACEREG01").count() == 1
        assert CardIndex.objects.filter(card_number="RACEREG01").count() == 1
        connection.set_schema_to_public()


def test_two_desks_saving_the_same_member_the_later_is_refused(committed, django_db_blocker):
    alpha, member = committed
    with django_db_blocker.unblock():
        with tenant_context(alpha):
            version = Member.objects.get(pk=member.pk).version
        connection.set_schema_to_public()

    def desk(email):
        def save():
            with tenant_context(alpha):
                return registration.member_update(actor=Actor.system("test"), member_id=member.pk,
                                                  expected_version=version, email=email)
        return save

    with django_db_blocker.unblock():
        one, first = in_thread(desk("een@example.nl"))
        two, second = in_thread(desk("twee@example.nl"))
        one.join(20)
        two.join(20)
        outcomes = [first, second]
        winners = [o for o in outcomes if "result" in o]
        losers = [o for o in outcomes if "error" in o]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0]["error"].messages == [
            "Dit lid is intussen door iemand anders gewijzigd; laad de pagina opnieuw."
        ]
        assert losers[0]["error"].code == "member.changed_meanwhile"
        with tenant_context(alpha):
            saved = Member.objects.get(pk=member.pk)
            assert saved.email == winners[0]["result"].email and saved.version == version + 1
        connection.set_schema_to_public()
