"""How a daily (beat) task reaches every library in the registry: the beat task runs in the public
schema and sends one task per active library, stamped with that library's schema
(tenant-schemas-celery switches to it in the worker). Each library's work runs on
its own, so one library's failure neither rolls back nor blocks another's, and is
retried on its own. The day is fixed by the beat task and passed on, so a retry
later still works on the same day."""

import logging

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

# Per-library tasks retry when the database is briefly unavailable.
RETRY_ON_DATABASE_ERRORS = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": True, "max_retries": 5}


def active_library_schemas():
    from tenants.models import LibraryOrganisation

    return list(
        LibraryOrganisation.objects.filter(is_active=True).order_by("schema_name").values_list("schema_name", flat=True)
    )


def fan_out(task, today):
    """Send `task` once per active library, in that library's schema. Returns the schemas."""
    today = today or timezone.localdate().isoformat()
    schemas = active_library_schemas()
    for schema in schemas:
        task.apply_async(kwargs={"today": today}, headers={"_schema_name": schema})
    logger.info("%s sent for %d libraries (day %s)", task.name, len(schemas), today)
    return schemas


def in_active_library():
    """The library the worker switched to for this task, if it is (still) an active one."""
    from tenants.models import LibraryOrganisation

    return LibraryOrganisation.objects.filter(schema_name=connection.schema_name, is_active=True).first()
