"""Daily acquisitions work for every active library (Celery beat, see lsb.celery):
flag late order lines for a claim. Idempotent: a rerun flags nothing twice."""

import datetime

from celery import shared_task

from core.actors import Actor
from tenants.library_tasks import RETRY_ON_DATABASE_ERRORS, fan_out, in_active_library


@shared_task(name="ordering.tasks.late_lines_all_libraries")
def late_lines_all_libraries(today=None):
    """Beat: flag late lines in every active library."""
    return fan_out(late_lines_library, today)


@shared_task(name="ordering.tasks.late_lines_library", **RETRY_ON_DATABASE_ERRORS)
def late_lines_library(today):
    from .services.claims import late_lines_flag

    library = in_active_library()
    if library is None:
        return None
    return late_lines_flag(actor=Actor.system("ordering_claims", library), today=datetime.date.fromisoformat(today))
