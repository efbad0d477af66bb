"""Sending notices (Celery).

notice_queue sends notices_send_pending_library for its library when the caller's
transaction commits; a beat task every 5 minutes sends it for every active library
as a safety net (a broker that was down, a retry of failed e-mail). The task is
idempotent: two runs at once claim different notices (skip_locked), and a notice
is handed to the mail server at most once."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

_RETRY = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": True, "max_retries": 5}


def _active_library_schemas():
    from tenants.models import LibraryOrganisation

    return list(
        LibraryOrganisation.objects.filter(is_active=True).order_by("schema_name").values_list("schema_name", flat=True)
    )


def _in_active_library():
    from tenants.models import LibraryOrganisation

    return LibraryOrganisation.objects.filter(schema_name=connection.schema_name, is_active=True).first()


@shared_task(name="notices.tasks.notices_send_pending_all_libraries")
def notices_send_pending_all_libraries():
    """Beat: send pending e-mail notices in every active library."""
    schemas = _active_library_schemas()
    for schema in schemas:
        notices_send_pending_library.apply_async(headers={"_schema_name": schema})
    return schemas


@shared_task(name="notices.tasks.notices_send_pending_library", **_RETRY)
def notices_send_pending_library():
    """Send this library's pending e-mail notices (the worker is in its schema)."""
    from core.actors import Actor

    from .services import notices_send_pending

    library = _in_active_library()
    if library is None:
        return None
    return notices_send_pending(actor=Actor.system("notices", library))
