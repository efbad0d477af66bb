"""Cross-library steps through an outbox: a write one library needs in another
library's schema (a guest's fee charged at home; interlibrary-loan steps).

A service never writes into another library's schema inside its own transaction.
It records the step with `enqueue(actor=..., target=..., kind=..., payload=...,
dedupe_key=...)` in its own transaction (so a rolled-back checkout asks nothing),
and a Celery task sent when that transaction commits carries it out:

    with one transaction:
        lock the message row (skip_locked: a message another worker holds is left alone)
        switch to the target library's schema
        run the handler registered for the message's kind
        mark the message done
    commit

The step and its "done" mark commit together, so a worker killed mid-step rolls
both back and the step is done again later, once (unlike e-mail in
notices.services, which can only be sent at most once). Every attempt is counted
in a short transaction of its own before the step, so a step that kills its worker
every time still ends as failed. A failure is tried again with backoff
(`backoff_seconds`); a refusal (a ValidationError: the step can never succeed as it
is) and the MAX_ATTEMPTS-th failure end as failed, visible to staff (national
admin, and the library's /balie/beheer/uitgaand/), who may try it again
(`outbox_retry`). A beat task (`sweep`, every minute) re-sends pending messages
whose task was lost (a broker that was down, a worker that died): pending and due
for more than a minute.

Handlers are registered per kind by the app that owns the write, in its
`outbox.py` (found by autodiscovery, as errors.py is):

    # members/outbox.py
    @outbox_handler("members.guest_charge", label=_("Kosten van een gastlening"))
    def guest_charge(*, actor, payload):
        ledger_charge(actor=actor, member=..., ...)

A handler runs in the target's schema with `Actor.system("outbox", target)` and
gets the payload (and, when it has a `source` parameter, the asking library);
the schema is the message's target and nothing in the
payload can name another. Payloads hold opaque references (record ids in the
target schema, amounts, codes, a ledger line's text), never a person's name,
address or card number: national staff see them.
"""

import functools
import importlib
import inspect
import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from core.actors import Actor, ActorKind
from core.errors import ServiceError

from .models import LibraryOrganisation, OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_BACKOFF_SECONDS = 30
MAX_BACKOFF_SECONDS = 60 * 60
# The sweep re-sends a pending message this long after it was due (its task was lost).
SWEEP_AFTER = timedelta(minutes=1)
SWEEP_LIMIT = 1000
# Staff see a pending message as stuck this long after it was due.
STUCK_AFTER = timedelta(minutes=10)

PAYLOAD_MAX_BYTES = 4000
PAYLOAD_TEXT_MAX = 200


@dataclass(frozen=True)
class Handler:
    kind: str
    function: object
    label: object
    # A handler with a `source` parameter is given the asking LibraryOrganisation
    # (from the message, not the payload: the asker cannot name another).
    takes_source: bool = False


_HANDLERS = {}
_DISCOVERED = False


def outbox_handler(kind, *, label=""):
    """Register the function that carries out messages of `kind` (one per kind)."""

    def register(function):
        known = _HANDLERS.get(kind)
        if known is not None and known.function is not function:
            raise ValueError(f"outbox kind {kind} has two handlers: {known.function} and {function}")
        _HANDLERS[kind] = Handler(kind, function, label or kind,
                                  takes_source="source" in inspect.signature(function).parameters)
        return function

    return register


def _discover():
    """Import every app's outbox module (their handlers register themselves)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    from django.apps import apps
    from django.utils.module_loading import module_has_submodule

    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "outbox"):
            importlib.import_module(f"{config.name}.outbox")
    _DISCOVERED = True


def handler_for(kind):
    _discover()
    return _HANDLERS.get(kind)


def kind_label(kind):
    handler = handler_for(kind)
    return handler.label if handler is not None else kind


# --- enqueueing --------------------------------------------------------------------

def backoff_seconds(attempts):
    """How long after attempt number `attempts` (1, 2, ...) the next one is: 30 s, 1 min,
    2 min, ... at most an hour."""
    return min(FIRST_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def _check_payload(payload):
    if not isinstance(payload, dict):
        raise ValueError("an outbox payload is a dict")

    def scalar(value):
        if isinstance(value, str):
            if len(value) > PAYLOAD_TEXT_MAX:
                raise ValueError(f"outbox payload text longer than {PAYLOAD_TEXT_MAX} characters")
            return
        if value is None or isinstance(value, (bool, int)):
            return
        raise ValueError(f"outbox payload values are references (int, text, bool), not {type(value).__name__}")

    for key, value in payload.items():
        if not isinstance(key, str):
            raise ValueError("outbox payload keys are text")
        for element in value if isinstance(value, list) else [value]:
            scalar(element)
    if len(json.dumps(payload)) > PAYLOAD_MAX_BYTES:
        raise ValueError(f"outbox payload larger than {PAYLOAD_MAX_BYTES} bytes")


def enqueue(*, actor, target, kind, payload, dedupe_key):
    """Record a step for library `target` (a LibraryOrganisation or its pk) in the
    caller's transaction; it is carried out once that transaction commits.

    `dedupe_key` names the step uniquely for the asking library (e.g.
    "guest_charge:loan:123:fine:2026-12-24"): enqueueing it again returns the
    message already recorded (`.queued_now` False) and asks nothing twice."""
    source = actor.require_current_library()
    if handler_for(kind) is None:
        raise ValueError(f"no outbox handler registered for {kind!r}")
    _check_payload(payload)
    if not dedupe_key or len(dedupe_key) > 200:
        raise ValueError("dedupe_key must be 1 to 200 characters")
    target_id = getattr(target, "pk", target)
    if not LibraryOrganisation.objects.filter(pk=target_id).exists():
        raise ValueError(f"outbox target {target_id!r} is no library organisation")
    message, created = OutboxMessage.objects.get_or_create(
        source=source, dedupe_key=dedupe_key,
        defaults={"target_id": target_id, "kind": kind, "payload": payload, "actor_ref": actor.ref},
    )
    if not created and (message.kind, message.target_id, message.payload) != (kind, target_id, payload):
        raise ValueError(f"outbox dedupe key {dedupe_key!r} was used for another step")
    if created:
        send_on_commit(message.pk)
    message.queued_now = created
    return message


def send(message_id, *, countdown=None):
    """Send the task that delivers one message (in the public schema). A broker
    that is down is logged: the sweep sends it later."""
    from .tasks import outbox_deliver

    try:
        outbox_deliver.apply_async(args=[message_id], countdown=countdown,
                                   headers={"_schema_name": get_public_schema_name()})
    except Exception as error:  # the broker: the message stays pending for the sweep
        logger.warning("Outbox message %s not sent to the broker (the sweep will): %s", message_id, error)


def send_on_commit(message_id):
    transaction.on_commit(functools.partial(send, message_id), robust=True)


# --- delivering --------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """What one delivery did: the message's state after it (None: no such message,
    "busy": another worker holds it), and when to try again (seconds) if pending."""

    state: str | None
    retry_in: int | None = None


def _lock_pending(message_id):
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("target")
        .filter(pk=message_id, state=OutboxMessage.State.PENDING)
        .first()
    )


def _state_of(message_id):
    state = OutboxMessage.objects.filter(pk=message_id).values_list("state", flat=True).first()
    return "busy" if state == OutboxMessage.State.PENDING else state


def _error_text(error):
    if isinstance(error, ValidationError):
        code = getattr(error, "code", None)
        text = "; ".join(error.messages)
        return f"{code}: {text}" if code and hasattr(error, "field") else text
    return f"{type(error).__name__}: {error}"


def _claim(message_id):
    """Count the attempt, committed before the step runs (a step that kills its worker
    is counted too). Returns the message, or a Delivery when there is nothing to do."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        message = _lock_pending(message_id)
        if message is None:
            return Delivery(_state_of(message_id))
        if message.attempts >= MAX_ATTEMPTS:
            message.state = OutboxMessage.State.FAILED
            message.last_error = (message.last_error or
                                  f"Afgebroken na {message.attempts} pogingen zonder resultaat.")
            message.save(update_fields=["state", "last_error"])
            return Delivery(message.state)
        message.attempts += 1
        message.last_attempt_at = now
        # Should this attempt die with its worker, the sweep sends it again after this.
        message.available_at = now + timedelta(seconds=backoff_seconds(message.attempts))
        message.save(update_fields=["attempts", "last_attempt_at", "available_at"])
    return message


def _record_failure(message_id, error, *, final):
    with transaction.atomic(durable=True):
        message = _lock_pending(message_id)
        if message is None:
            return Delivery(_state_of(message_id))
        message.last_error = _error_text(error)[:2000]
        if final or message.attempts >= MAX_ATTEMPTS:
            message.state = OutboxMessage.State.FAILED
            message.save(update_fields=["state", "last_error"])
            return Delivery(message.state)
        retry_in = backoff_seconds(message.attempts)
        message.available_at = timezone.now() + timedelta(seconds=retry_in)
        message.save(update_fields=["available_at", "last_error"])
    return Delivery(OutboxMessage.State.PENDING, retry_in=retry_in)


def deliver(message_id):
    """Carry out one message, exactly once: the handler's writes and the "done" mark
    commit in one transaction in the target's schema. Must run outside a transaction
    (the attempt is committed on its own first). Returns a Delivery."""
    claimed = _claim(message_id)
    if isinstance(claimed, Delivery):
        return claimed
    try:
        with transaction.atomic(durable=True):
            message = _lock_pending(message_id)
            if message is None:  # another worker took it between the claim and now
                return Delivery(_state_of(message_id))
            handler = handler_for(message.kind)
            if handler is None:  # a worker running older code: try again later
                raise LookupError(f"no outbox handler registered for {message.kind!r}")
            target = message.target
            extra = {"source": message.source} if handler.takes_source else {}
            with tenant_context(target):
                handler.function(actor=Actor.system("outbox", target), payload=dict(message.payload), **extra)
                if connection.schema_name != target.schema_name:
                    raise RuntimeError(f"the {message.kind} handler left the schema of {target.schema_name}")
            message.state = OutboxMessage.State.DONE
            message.done_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["state", "done_at", "last_error"])
        return Delivery(OutboxMessage.State.DONE)
    except ValidationError as refusal:
        # A refusal (an erased member, an amount out of range): trying again changes nothing.
        logger.warning("Outbox message %s (%s) refused: %s", message_id, claimed.kind, _error_text(refusal))
        return _record_failure(message_id, refusal, final=True)
    except Exception as error:  # anything else may pass: try again with backoff
        logger.warning("Outbox message %s (%s) failed, attempt %d: %s", message_id, claimed.kind, claimed.attempts,
                       _error_text(error))
        return _record_failure(message_id, error, final=False)


def sweep(*, now=None):
    """Send again every pending message that has been due for more than SWEEP_AFTER
    (its task was lost). Returns the ids sent."""
    now = now or timezone.now()
    ids = list(
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, available_at__lte=now - SWEEP_AFTER)
        .order_by("available_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    for message_id in ids:
        send(message_id)
    if ids:
        logger.info("Outbox sweep sent %d messages again", len(ids))
    return ids


# --- staff: what is stuck, and trying again -----------------------------------------

def is_stuck(message, now=None):
    """Pending and due for longer than STUCK_AFTER: its task keeps getting lost or its
    worker keeps dying."""
    now = now or timezone.now()
    return message.state == OutboxMessage.State.PENDING and message.available_at <= now - STUCK_AFTER


def may_retry(message, now=None):
    return message.state == OutboxMessage.State.FAILED or is_stuck(message, now)


def outbox_for_library(organisation, *, done_limit=20):
    """A library's messages for its staff: (open, recently done). Open are pending or
    failed ones it asked (source) or is asked (target); each carries .stuck,
    .retryable, .outgoing and .kind_label."""
    from django.db.models import Q

    involved = Q(source=organisation) | Q(target=organisation)
    base = OutboxMessage.objects.filter(involved).select_related("source", "target")
    open_messages = list(base.filter(state__in=[OutboxMessage.State.PENDING, OutboxMessage.State.FAILED])
                         .order_by("-created_at", "-pk")[:500])
    done = list(base.filter(state=OutboxMessage.State.DONE).order_by("-done_at", "-pk")[:done_limit])
    now = timezone.now()
    for message in open_messages + done:
        message.stuck = is_stuck(message, now)
        message.retryable = may_retry(message, now)
        message.outgoing = message.source_id == organisation.pk
        message.kind_label = kind_label(message.kind)
    return open_messages, done


def outbox_retry(*, actor, message_id):
    """Staff try a failed (or stuck) message again: pending with a fresh set of
    attempts, sent when this transaction commits. Library staff act on their own
    library's messages (asked or asked of it); the national admin (an actor without a
    library, in the public schema) on those its admin screen offers."""
    actor.require_kind(ActorKind.STAFF)
    if actor.organisation is not None or connection.schema_name != get_public_schema_name():
        organisation = actor.require_current_library()
    else:
        organisation = None
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(of=("self",)).filter(pk=message_id).first()
        if message is None or (organisation is not None and organisation.pk not in (message.source_id,
                                                                                     message.target_id)):
            raise ServiceError("outbox.unknown")
        if not may_retry(message):
            raise ServiceError("outbox.not_retryable")
        message.state = OutboxMessage.State.PENDING
        message.attempts = 0
        message.available_at = timezone.now()
        message.retried_at = timezone.now()
        message.retried_by_ref = actor.ref
        message.save(update_fields=["state", "attempts", "available_at", "retried_at", "retried_by_ref"])
        send_on_commit(message.pk)
    return message


__all__ = [
    "MAX_ATTEMPTS", "Delivery", "backoff_seconds", "deliver", "enqueue", "handler_for", "is_stuck", "kind_label",
    "may_retry", "outbox_for_library", "outbox_handler", "outbox_retry", "send", "sweep",
]
