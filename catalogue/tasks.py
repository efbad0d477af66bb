"""Celery tasks of the national catalogue."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services

logger = logging.getLogger(__name__)


@shared_task(
    name="catalogue.tasks.marc_import_process",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def marc_import_process(import_id):
    """Run a queued MARC import. Idempotent: a finished import is left alone, a
    crashed one continues after its last committed batch (see the service)."""
    services.marc_import_execute(marc_import_id=import_id)


@shared_task(name="catalogue.tasks.marc_uploads_clean")
def marc_uploads_clean():
    """Daily (Celery beat): uploaded MARC files the disk need not keep any more
    (services.marc_uploads_clean). Runs in the national schema."""
    deleted = services.marc_uploads_clean()
    if deleted:
        logger.info("Deleted %s uploaded MARC file(s)", deleted)
    return deleted
