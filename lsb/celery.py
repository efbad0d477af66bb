"""The Celery app. Tasks sent inside a tenant's schema run in that schema
(tenant-schemas-celery stamps the schema on the message when it is sent)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

app = CeleryApp("lsb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Django keeps expired staff sessions until they are cleared.
    "staff-clear-expired-sessions": {
        "task": "staff.tasks.clear_expired_sessions",
        "schedule": 24 * 60 * 60,
    },
}
