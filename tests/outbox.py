"""Running the outbox in tests (tenants.outbox). A test runs in one transaction that
is rolled back, so the on-commit task of an enqueued message never goes out:
deliver what is pending here, as the worker would after the commit."""


def outbox_pending_ids():
    from tenants.models import OutboxMessage

    return list(OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).order_by("pk")
                .values_list("pk", flat=True))


def outbox_deliver_all():
    """Deliver every pending outbox message now; returns the Deliveries."""
    from tenants.outbox import deliver

    return [deliver(message_id) for message_id in outbox_pending_ids()]
