"""Two administrators saving one branch's week at the same moment: the branch row
lock makes one save wait for the other, so the week is one of the two and never a
mix. Committed data in a thread per administrator; beta's second branch (no hours
in the shared fixtures) is used and left as it was."""

import datetime
import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from tenants import services
from tenants.models import ClosedDate, LibraryOrganisation, OpeningPeriod

from tests.concurrency import in_thread

pytestmark = pytest.mark.django_db(transaction=False)

T = datetime.time
EARLY = [(weekday, T(8), T(12)) for weekday in range(5)]
LATE = [(weekday, T(13), T(21)) for weekday in range(1, 6)]


@pytest.fixture(scope="module")
def committed_branch(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        branch = LibraryOrganisation.objects.get(slug="beta").branches.order_by("name")[1]
        assert not OpeningPeriod.objects.filter(branch=branch).exists()
        in_library(branch, lambda actor: services.branch_opening_hours_set(
            actor=actor, branch=branch, periods=[(6, T(12), T(16))]))
    yield branch
    with django_db_blocker.unblock():
        OpeningPeriod.objects.filter(branch=branch).delete()
        ClosedDate.objects.filter(branch=branch).delete()


def in_library(branch, work):
    """`work(actor)` in the branch's library schema, by that library's system actor."""
    organisation = LibraryOrganisation.objects.get(pk=branch.organisation_id)
    with tenant_context(organisation):
        return work(Actor.system("test", organisation))


def week(branch):
    return list(OpeningPeriod.objects.filter(branch=branch).order_by("weekday", "opens")
                .values_list("weekday", "opens", "closes"))


def test_two_saves_at_once_leave_one_whole_week(committed_branch, django_db_blocker):
    both_validated = threading.Barrier(2, timeout=10)
    real_clean = services._opening_periods_clean

    def clean_then_wait(periods):
        cleaned = real_clean(periods)
        both_validated.wait()  # both administrators are about to write
        return cleaned

    def admin(periods):
        return lambda: in_library(committed_branch, lambda actor: services.branch_opening_hours_set(
            actor=actor, branch=committed_branch, periods=periods))

    with django_db_blocker.unblock(), mock.patch.object(services, "_opening_periods_clean", clean_then_wait):
        one, first = in_thread(admin(EARLY))
        two, second = in_thread(admin(LATE))
        one.join(20)
        two.join(20)
    assert "result" in first and "result" in second, (first, second)
    with django_db_blocker.unblock():
        assert week(committed_branch) in (sorted(EARLY), sorted(LATE))


def test_the_same_day_closed_by_two_administrators_at_once_is_added_once(committed_branch, django_db_blocker):
    """Each save gives the other up to two seconds to reach its insert too: without
    the branch lock both would have found the day free, and the later insert would
    fail on the unique constraint instead of getting a message."""
    both_inserting = threading.Barrier(2, timeout=2)
    manager = ClosedDate.objects
    real_create = manager.create
    day = datetime.date(2030, 10, 7)

    def create_when_both_checked(**kwargs):
        try:
            both_inserting.wait()
        except threading.BrokenBarrierError:
            pass  # the other save waits for the branch lock: expected
        return real_create(**kwargs)

    def admin(reason):
        return lambda: in_library(committed_branch, lambda actor: services.closed_date_add(
            actor=actor, branch=committed_branch, date=day, reason=reason))

    with django_db_blocker.unblock(), mock.patch.object(manager, "create", create_when_both_checked):
        one, first = in_thread(admin("Studiedag"))
        two, second = in_thread(admin("Personeelsuitje"))
        one.join(20)
        two.join(20)
    outcomes = [first, second]
    assert sum("result" in o for o in outcomes) == 1, outcomes
    refused = next(o["error"] for o in outcomes if "error" in o)
    assert isinstance(refused, ValidationError) and "al gesloten" in refused.messages[0]
    with django_db_blocker.unblock():
        assert ClosedDate.objects.filter(branch=committed_branch, date=day).count() == 1
