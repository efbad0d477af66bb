from celery import shared_task
from django.core.management import call_command


@shared_task(name="staff.tasks.clear_expired_sessions")
def clear_expired_sessions():
    """Idempotent: deleting what has expired twice deletes nothing the second time."""
    call_command("clearsessions")
