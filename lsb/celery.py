"""The Celery app. Tasks sent inside a tenant's schema run in that schema
(tenant-schemas-celery stamps the schema on the message when it is sent)."""

import os

from celery.schedules import crontab
from celery.signals import worker_init
from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

app = CeleryApp("lsb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def check_search_path(**kwargs):
    """A worker that would run tasks in the wrong schema does not start."""
    from tenants.pooling import SearchPathCheckFailed, check_at_startup

    try:
        check_at_startup("celery worker")
    except SearchPathCheckFailed as error:
        raise SystemExit(f"LSB: {error}") from error


app.conf.beat_schedule = {
    # Django keeps expired staff sessions until they are cleared.
    "staff-clear-expired-sessions": {
        "task": "staff.tasks.clear_expired_sessions",
        "schedule": 24 * 60 * 60,
    },
    # Members: each sends one task per active library (members.tasks), early in the morning.
    "members-age-transition": {
        "task": "members.tasks.members_age_transition_all_libraries",
        "schedule": crontab(hour=2, minute=15),
    },
    "members-expire": {
        "task": "members.tasks.members_expire_all_libraries",
        "schedule": crontab(hour=2, minute=30),
    },
    # Circulation: holds, automatic renewal (the night before the due date's opening), reminders, overdue notices.
    "circulation-nightly": {
        "task": "circulation.tasks.nightly_all_libraries",
        "schedule": crontab(hour=1, minute=30),
    },
    "members-loan-history-anonymise": {
        "task": "members.tasks.loan_history_anonymise_all_libraries",
        "schedule": crontab(hour=2, minute=45),
    },
    # Notices: sending starts when a notice is queued; this catches anything that missed it.
    "notices-send-pending": {
        "task": "notices.tasks.notices_send_pending_all_libraries",
        "schedule": 5 * 60,
    },
    # Uploaded MARC files are deleted when their import finishes; this clears what is left
    # (files of imports never run within MARC_UPLOAD_RETENTION_DAYS, files of no import).
    "catalogue-marc-uploads-clean": {
        "task": "catalogue.tasks.marc_uploads_clean",
        "schedule": crontab(hour=3, minute=10),
    },
    # Cross-library steps (tenants.outbox): delivery starts on commit; this re-sends what was lost.
    "tenants-outbox-sweep": {
        "task": "tenants.tasks.outbox_sweep",
        "schedule": 60,
    },
    # Acquisitions: order lines later than expected are flagged for a claim, every morning.
    "ordering-late-lines": {
        "task": "ordering.tasks.late_lines_all_libraries",
        "schedule": crontab(hour=6, minute=15),
    },
    # Interlibrary loan (ibl.tasks): legs are planned when a copy is sent or handed in; the
    # sweep re-sends what was lost. Lenders that do not answer in time are passed over; the
    # POIs' runs advance before the vans leave, with their manifests; late legs are flagged.
    "ibl-legs-plan-sweep": {
        "task": "ibl.tasks.legs_plan_sweep",
        "schedule": 120,
    },
    "ibl-asks-expire": {
        "task": "ibl.tasks.asks_expire",
        "schedule": crontab(minute=5),
    },
    "ibl-runs-advance": {
        "task": "ibl.tasks.runs_advance",
        "schedule": crontab(hour=5, minute=0),
    },
    "ibl-legs-flag-late": {
        "task": "ibl.tasks.legs_flag_late",
        "schedule": crontab(minute=20),
    },
}
