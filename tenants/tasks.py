"""The outbox's Celery tasks (tenants.outbox): deliver one message, and the beat
sweep that sends again what was lost. Both run in the public schema; delivery
switches to the message's target schema itself."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)


@shared_task(name="tenants.tasks.outbox_deliver", autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=5)
def outbox_deliver(message_id):
    """Carry out one outbox message (exactly once); a failure is sent again after its backoff."""
    from . import outbox

    delivery = outbox.deliver(message_id)
    if delivery.retry_in is not None:
        outbox.send(message_id, countdown=delivery.retry_in)
    return delivery.state


@shared_task(name="tenants.tasks.outbox_sweep")
def outbox_sweep():
    """Beat, every minute: send again the pending messages whose task was lost."""
    from . import outbox

    return len(outbox.sweep())
