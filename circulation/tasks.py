"""Nightly circulation work for every active library (Celery beat, see lsb.celery).

One beat task per kind of work fans out one task per active library (see
tenants.library_tasks). Every task is idempotent and works member by member in short
transactions (circulation.services.reminders), so a rerun after a crash does
only what is left and sends nothing twice.
"""

import datetime

from celery import shared_task
from django.utils import timezone

from core.actors import Actor
from tenants.library_tasks import RETRY_ON_DATABASE_ERRORS, fan_out, in_active_library


@shared_task(name="circulation.tasks.nightly_all_libraries")
def nightly_all_libraries(today=None):
    """Beat: automatic renewal, reminders, overdue notices and holds, in every active library."""
    return fan_out(nightly_library, today)


@shared_task(name="circulation.tasks.nightly_library", **RETRY_ON_DATABASE_ERRORS)
def nightly_library(today):
    """One library's night, in order: holds first (an expired hold frees copies),
    then automatic renewal (which refuses loans someone waits for), then the
    reminders and overdue notices for what is still due."""
    from notices.selectors import notice_settings_get

    from .services.reminders import due_soon_reminders, holds_nightly, loans_auto_renew, overdue_notices

    library = in_active_library()
    if library is None:
        return None
    actor = Actor.system("nightly", library)
    day = datetime.date.fromisoformat(today)
    settings = notice_settings_get()
    expired, titles = holds_nightly(actor=actor, today=day)
    renewed, refused = loans_auto_renew(actor=actor, today=day)
    reminders = due_soon_reminders(actor=actor, today=day, days_before=settings.due_soon_days_before)
    overdue = overdue_notices(actor=actor, today=day, level_days=(
        settings.overdue_1_days, settings.overdue_2_days, settings.overdue_3_days))
    return {"holds_expired": expired, "titles_recomputed": titles, "renewed": renewed, "not_renewed": refused,
            "due_soon": reminders, "overdue": {str(level): count for level, count in overdue.items()}}


@shared_task(name="circulation.tasks.holds_expected_refresh_library", **RETRY_ON_DATABASE_ERRORS)
def holds_expected_refresh_library(today=None):
    """Every waiting hold's expected date in this library, recomputed (sent when the
    loan rules or circulation settings change: loan periods, transfer days)."""
    from .services.reminders import holds_expected_refresh_all

    library = in_active_library()
    if library is None:
        return None
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    return holds_expected_refresh_all(actor=Actor.system("nightly", library), today=day)
