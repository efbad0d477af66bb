"""The outbox of cross-library steps (tenants.outbox): recorded in the asking
transaction, sent on commit only, carried out once in the target's schema,
retried with backoff, failed after MAX_ATTEMPTS and then visible to staff, who
may try it again. Here inside the test's transaction (delivery called directly);
tests/tenants/test_outbox_worker.py runs it on a real worker that is killed."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.errors import ServiceError
from members.models import LedgerEntry
from tenants import outbox
from tenants.models import OutboxMessage
from tenants.outbox import MAX_ATTEMPTS, backoff_seconds, deliver, enqueue, outbox_for_library, outbox_retry, sweep
from tests.members.ledger_helpers import money_member

from . import outbox_handlers
from ..conftest import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The message ids handed to the broker (recorded instead of sent)."""
    ids = []
    monkeypatch.setattr(outbox, "send", lambda message_id, countdown=None: ids.append(message_id))
    return ids


@pytest.fixture
def beta_member(libraries):
    with tenant_context(libraries.beta):
        return money_member()


@pytest.fixture
def ask(libraries, staff):
    """enqueue(...) from alpha's desk (in alpha's schema) for beta by default."""

    def ask(kind="tests.charge", payload=None, *, key="step-1", target=None, actor=None):
        with tenant_context(libraries.alpha):
            return enqueue(actor=actor or Actor.staff(staff.alpha_desk, libraries.alpha),
                           target=target or libraries.beta, kind=kind, payload=payload or {}, dedupe_key=key)

    return ask


def entries_in(library, **filters):
    with tenant_context(library):
        return list(LedgerEntry.objects.filter(**filters).values_list("member_id", "amount_cents", "reference"))


# --- enqueue: in the caller's transaction, sent on commit only -----------------------------------

def test_enqueued_in_the_callers_transaction_and_sent_when_it_commits(ask, beta_member, libraries, sent,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            message = ask(payload={"member": beta_member.pk, "amount_cents": 250, "reference": "r:1"})
            assert sent == []
    assert len(callbacks) == 1 and sent == [message.pk]
    message.refresh_from_db()
    assert (message.source_id, message.target_id, message.kind, message.state, message.attempts) == (
        libraries.alpha.pk, libraries.beta.pk, "tests.charge", "pending", 0)
    assert message.actor_ref.startswith("staff:") and message.queued_now
    assert entries_in(libraries.beta, member=beta_member) == []  # not carried out before delivery


def test_a_rolled_back_transaction_asks_nothing(ask, beta_member, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                ask(payload={"member": beta_member.pk, "amount_cents": 250})
                raise RuntimeError("de uitlening gaat niet door")
    assert callbacks == [] and sent == []
    assert not OutboxMessage.objects.exists()


def test_the_same_dedupe_key_asks_once(ask, beta_member, sent, django_capture_on_commit_callbacks):
    payload = {"member": beta_member.pk, "amount_cents": 250}
    with django_capture_on_commit_callbacks(execute=True):
        first = ask(payload=payload)
        again = ask(payload=payload)
    assert again.pk == first.pk and not again.queued_now
    assert OutboxMessage.objects.count() == 1 and sent == [first.pk]
    with pytest.raises(ValueError, match="another step"):
        ask(payload={"member": beta_member.pk, "amount_cents": 999})


def test_the_same_key_of_another_library_is_another_step(ask, libraries, staff, beta_member):
    ask(payload={"member": beta_member.pk, "amount_cents": 250})
    with tenant_context(libraries.gamma):
        other = enqueue(actor=Actor.staff(staff.gamma_library_admin), target=libraries.beta, kind="tests.charge",
                        payload={"member": beta_member.pk, "amount_cents": 250}, dedupe_key="step-1")
    assert other.queued_now and OutboxMessage.objects.count() == 2


@pytest.mark.parametrize("payload", [
    {"member": {"schema": "gamma"}},  # no nested objects
    {"amount": 2.5},  # money in cents
    {"description": "x" * 201},
    {"ids": [1, {"a": 1}]},
    ["not", "a", "dict"],
])
def test_payloads_hold_references_only(ask, payload):
    with pytest.raises(ValueError):
        ask(payload=payload)
    assert not OutboxMessage.objects.exists()


def test_an_unknown_kind_or_target_is_refused(ask, libraries):
    with pytest.raises(ValueError, match="no outbox handler"):
        ask(kind="tests.nobody_handles_this")
    with pytest.raises(ValueError, match="no library organisation"):
        ask(target=999999)
    assert not OutboxMessage.objects.exists()


def test_an_actor_of_another_library_asks_nothing(ask, libraries, staff):
    with pytest.raises(ServiceError) as caught:
        ask(actor=Actor.staff(staff.beta_desk, libraries.beta))
    assert caught.value.code == "actor.other_library"
    with pytest.raises(ServiceError) as caught:
        enqueue(actor=Actor.system("nightly"), target=libraries.beta, kind="tests.charge", payload={},
                dedupe_key="public")  # in the public schema: no library asks
    assert caught.value.code == "actor.other_library"
    assert not OutboxMessage.objects.exists()


# --- delivery: once, in the target's schema only -------------------------------------------------

def test_delivered_once_in_the_target_schema_whatever_the_payload_says(ask, beta_member, libraries):
    outbox_handlers.SEEN.clear()
    message = ask(payload={"member": beta_member.pk, "amount_cents": 250, "reference": "r:iso",
                           "schema_name": libraries.gamma.schema_name, "tenant": libraries.alpha.schema_name})
    with tenant_context(libraries.alpha):
        delivery = deliver(message.pk)
        assert connection.schema_name == libraries.alpha.schema_name  # the caller's schema is restored
    assert delivery == outbox.Delivery("done")
    [(schema, actor_ref, actor_schema, payload)] = outbox_handlers.SEEN
    beta = libraries.beta.schema_name
    assert (schema, actor_ref, actor_schema) == (beta, "system:outbox", beta)
    assert entries_in(libraries.beta, reference="r:iso") == [(beta_member.pk, 250, "r:iso")]
    assert entries_in(libraries.alpha, reference="r:iso") == [] and entries_in(libraries.gamma, reference="r:iso") == []
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("done", 1, "")
    assert message.done_at is not None

    # Delivered again (a task sent twice, the sweep racing the first task): nothing more.
    assert deliver(message.pk) == outbox.Delivery("done")
    assert len(outbox_handlers.SEEN) == 1
    assert entries_in(libraries.beta, reference="r:iso") == [(beta_member.pk, 250, "r:iso")]
    message.refresh_from_db()
    assert message.attempts == 1


def test_a_handler_that_leaves_the_target_schema_is_rolled_back(ask, beta_member, libraries):
    message = ask(kind="tests.wander", payload={"member": beta_member.pk, "amount_cents": 250, "reference": "r:w"})
    delivery = deliver(message.pk)
    assert delivery.state == "pending" and delivery.retry_in == backoff_seconds(1)
    assert entries_in(libraries.beta, reference="r:w") == [] and entries_in(libraries.gamma, reference="r:w") == []
    message.refresh_from_db()
    assert "left the schema" in message.last_error


def test_an_unknown_message_or_one_held_by_another_worker(ask, beta_member):
    assert deliver(987654321) == outbox.Delivery(None)


# --- failures: backoff, failed after MAX_ATTEMPTS, visible, tried again -----------------------------

def test_failing_step_is_retried_with_backoff_then_failed_and_staff_try_it_again(ask, beta_member, libraries, staff,
                                                                               sent):
    outbox_handlers.FAILING["on"] = True
    message = ask(kind="tests.flaky", payload={"member": beta_member.pk, "amount_cents": 400, "reference": "r:f"})
    before = timezone.now()
    for attempt in range(1, MAX_ATTEMPTS):
        delivery = deliver(message.pk)
        assert delivery == outbox.Delivery("pending", retry_in=backoff_seconds(attempt)), attempt
    message.refresh_from_db()
    assert message.available_at >= before + timedelta(seconds=backoff_seconds(MAX_ATTEMPTS - 1))
    assert backoff_seconds(1) == 30 and backoff_seconds(2) == 60 and backoff_seconds(20) == 3600

    assert deliver(message.pk) == outbox.Delivery("failed")
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", MAX_ATTEMPTS)
    assert message.last_error == "RuntimeError: het doel is even niet bereikbaar"
    assert deliver(message.pk) == outbox.Delivery("failed")  # stays failed, no more attempts
    message.refresh_from_db()
    assert message.attempts == MAX_ATTEMPTS
    assert entries_in(libraries.beta, reference="r:f") == []

    # Visible to both libraries' staff, and retryable.
    for library in (libraries.alpha, libraries.beta):
        open_messages, done = outbox_for_library(library)
        assert [(m.pk, m.state, m.retryable) for m in open_messages] == [(message.pk, "failed", True)]
        assert open_messages[0].outgoing == (library == libraries.alpha)
    assert outbox_for_library(libraries.gamma) == ([], [])

    # Tried again by alpha's staff, after the cause is gone.
    outbox_handlers.FAILING["on"] = False
    try:
        with tenant_context(libraries.alpha):
            outbox_retry(actor=Actor.staff(staff.alpha_library_admin), message_id=message.pk)
        message.refresh_from_db()
        assert (message.state, message.attempts, message.retried_by_ref) == (
            "pending", 0, f"staff:{staff.alpha_library_admin.pk}")
        assert sent == []  # sent once the retry's transaction commits (not here: the test's never does)
        assert deliver(message.pk) == outbox.Delivery("done")
    finally:
        outbox_handlers.FAILING["on"] = True
    assert entries_in(libraries.beta, reference="r:f") == [(beta_member.pk, 400, "r:f")]


def test_a_refusal_fails_at_once(ask, libraries):
    """A step that can never succeed as it is (the home library erased the member
    meanwhile) is not tried ten times: failed at the first refusal, with its reason."""
    with tenant_context(libraries.beta):
        erased = money_member(erased_at=timezone.now())
    message = ask(kind="members.guest_charge", payload={
        "member": erased.pk, "charge_type": "fine", "amount_cents": 60, "description": "Te laat", "reference": "r:e"})
    assert deliver(message.pk) == outbox.Delivery("failed")
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", 1)
    assert "gewist" in message.last_error
    assert entries_in(libraries.beta, reference="r:e") == []


def test_a_step_whose_worker_died_every_time_ends_as_failed(ask, beta_member, libraries):
    """Attempts are counted before the step: a step that kills its worker (nothing
    recorded after it) still ends after MAX_ATTEMPTS."""
    message = ask(payload={"member": beta_member.pk, "amount_cents": 250})
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS)
    assert deliver(message.pk) == outbox.Delivery("failed")
    message.refresh_from_db()
    assert message.state == "failed" and "Afgebroken na 10 pogingen" in message.last_error
    assert entries_in(libraries.beta, member=beta_member) == []


def test_only_failed_or_stuck_messages_are_tried_again(ask, beta_member, libraries, staff):
    message = ask(payload={"member": beta_member.pk, "amount_cents": 250})
    with tenant_context(libraries.alpha):
        with pytest.raises(ServiceError) as caught:
            outbox_retry(actor=Actor.staff(staff.alpha_library_admin), message_id=message.pk)
        assert caught.value.code == "outbox.not_retryable"
        # Stuck: due for longer than STUCK_AFTER (its task keeps getting lost).
        OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now() - timedelta(minutes=11),
                                                           attempts=3)
        outbox_retry(actor=Actor.staff(staff.alpha_library_admin), message_id=message.pk)
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 0)


def test_a_library_cannot_try_again_another_librarys_message(ask, beta_member, libraries, staff):
    message = ask(payload={"member": beta_member.pk, "amount_cents": 250})
    OutboxMessage.objects.filter(pk=message.pk).update(state="failed", attempts=MAX_ATTEMPTS)
    with tenant_context(libraries.gamma):
        with pytest.raises(ServiceError) as caught:
            outbox_retry(actor=Actor.staff(staff.gamma_library_admin), message_id=message.pk)
    assert caught.value.code == "outbox.unknown"
    with tenant_context(libraries.alpha):
        with pytest.raises(ServiceError) as caught:  # an actor of another library
            outbox_retry(actor=Actor.staff(staff.gamma_library_admin, libraries.gamma), message_id=message.pk)
        assert caught.value.code == "actor.other_library"
        with pytest.raises(ServiceError) as caught:  # not staff
            outbox_retry(actor=Actor.system("nightly"), message_id=message.pk)
        assert caught.value.code == "actor.not_allowed"
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", MAX_ATTEMPTS)


# --- the sweep ---------------------------------------------------------------------------------

def test_sweep_sends_again_only_pending_messages_due_for_over_a_minute(ask, beta_member, sent):
    now = timezone.now()
    lost = ask(payload={"member": beta_member.pk, "amount_cents": 1}, key="lost")
    fresh = ask(payload={"member": beta_member.pk, "amount_cents": 2}, key="fresh")
    waiting = ask(payload={"member": beta_member.pk, "amount_cents": 3}, key="waiting")  # backoff not over
    done = ask(payload={"member": beta_member.pk, "amount_cents": 4}, key="done")
    failed = ask(payload={"member": beta_member.pk, "amount_cents": 5}, key="failed")
    OutboxMessage.objects.filter(pk=lost.pk).update(available_at=now - timedelta(seconds=61))
    OutboxMessage.objects.filter(pk=fresh.pk).update(available_at=now - timedelta(seconds=30))
    OutboxMessage.objects.filter(pk=waiting.pk).update(available_at=now + timedelta(minutes=5))
    OutboxMessage.objects.filter(pk__in=[done.pk, failed.pk]).update(available_at=now - timedelta(hours=1))
    OutboxMessage.objects.filter(pk=done.pk).update(state="done")
    OutboxMessage.objects.filter(pk=failed.pk).update(state="failed")
    assert sweep(now=now) == [lost.pk] and sent == [lost.pk]


def test_beat_runs_the_sweep_every_minute():
    from lsb.celery import app

    [entry] = [entry for entry in app.conf.beat_schedule.values() if entry["task"] == "tenants.tasks.outbox_sweep"]
    assert entry["schedule"] == 60


# --- staff screens -------------------------------------------------------------------------------

@pytest.fixture
def failed_message(ask, beta_member):
    message = ask(kind="tests.flaky", payload={"member": beta_member.pk, "amount_cents": 400})
    OutboxMessage.objects.filter(pk=message.pk).update(state="failed", attempts=MAX_ATTEMPTS,
                                                       last_error="RuntimeError: onbereikbaar")
    return message


def admin_client(client, user):
    client.force_login(user)
    client.defaults["HTTP_HOST"] = "localhost"
    return client


def test_national_admin_lists_messages_scoped_to_the_poi_and_tries_again(client, failed_message, staff, libraries,
                                                                        ask, beta_member):
    from_gamma = ask(payload={"member": beta_member.pk, "amount_cents": 1}, key="g", target=libraries.gamma)
    url = "/admin/tenants/outboxmessage/"
    admin_client(client, staff.national)
    page = client.get(url + "?toestand=mislukt").content.decode()
    assert f"/admin/tenants/outboxmessage/{failed_message.pk}/change/" in page and "onbereikbaar" in page
    assert f"/admin/tenants/outboxmessage/{from_gamma.pk}/change/" not in page  # filtered: pending

    admin_client(client, staff.probiblio_poi)  # Zuid-Holland: gamma only
    page = client.get(url).content.decode()
    assert f"/admin/tenants/outboxmessage/{from_gamma.pk}/change/" in page
    assert f"/admin/tenants/outboxmessage/{failed_message.pk}/change/" not in page
    assert client.get(f"{url}{failed_message.pk}/change/").status_code == 302  # not theirs
    client.post(url, {"action": "retry", "_selected_action": [failed_message.pk]})
    failed_message.refresh_from_db()
    assert failed_message.state == "failed"

    admin_client(client, staff.bisc_poi)  # Utrecht: alpha and beta
    detail = client.get(f"{url}{failed_message.pk}/change/")
    assert detail.status_code == 200 and "onbereikbaar" in detail.content.decode()
    response = client.post(url, {"action": "retry", "_selected_action": [failed_message.pk]})
    assert response.status_code == 302
    failed_message.refresh_from_db()
    assert (failed_message.state, failed_message.attempts) == ("pending", 0)
    assert failed_message.retried_by_ref == f"staff:{staff.bisc_poi.pk}"


def test_library_admin_sees_its_messages_and_tries_a_failed_one_again(client, failed_message, staff, libraries):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    page = client.get("/balie/beheer/uitgaand/").content.decode()
    assert f'data-testid="outbox-{failed_message.pk}"' in page
    assert f"Uitgaand naar {libraries.beta.name}" in page and "Mislukt" in page and "onbereikbaar" in page
    assert f'data-testid="retry-{failed_message.pk}"' in page
    assert "/balie/beheer/uitgaand/" in client.get("/balie/beheer/").content.decode()

    response = client.post(f"/balie/beheer/uitgaand/{failed_message.pk}/opnieuw/", follow=True)
    assert "wordt opnieuw geprobeerd" in response.content.decode()
    failed_message.refresh_from_db()
    assert (failed_message.state, failed_message.attempts) == ("pending", 0)
    response = client.post(f"/balie/beheer/uitgaand/{failed_message.pk}/opnieuw/", follow=True)
    assert "alleen mislukte of vastgelopen berichten" in response.content.decode()


def test_other_libraries_and_desk_staff_do_not_see_or_retry_it(client, failed_message, staff):
    client.force_login(staff.gamma_library_admin)
    host_client(client, "gamma")
    page = client.get("/balie/beheer/uitgaand/").content.decode()
    assert f'data-testid="outbox-{failed_message.pk}"' not in page
    response = client.post(f"/balie/beheer/uitgaand/{failed_message.pk}/opnieuw/", follow=True)
    assert "bestaat niet (meer)" in response.content.decode()
    failed_message.refresh_from_db()
    assert failed_message.state == "failed"

    client.force_login(staff.alpha_desk)
    host_client(client, "alpha")
    assert client.get("/balie/beheer/uitgaand/").status_code == 403
    assert client.post(f"/balie/beheer/uitgaand/{failed_message.pk}/opnieuw/").status_code == 403
    failed_message.refresh_from_db()
    assert failed_message.state == "failed"
