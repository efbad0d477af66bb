"""Daily member work for every active library (Celery beat, see lsb.celery).

A beat task runs in the public schema and sends one task per active library,
stamped with that library's schema (tenant-schemas-celery switches to it in the
worker). Each library's work runs in its own transaction, so one library's
failure neither rolls back nor blocks another's, and is retried on its own. The
day is fixed by the beat task and passed on, so a retry later still works on
the same day. Every task is idempotent: running it twice changes nothing more.
"""

import datetime

from celery import shared_task
from django.db import transaction

from core.actors import Actor

from tenants.library_tasks import RETRY_ON_DATABASE_ERRORS as _RETRY
from tenants.library_tasks import fan_out as _fan_out
from tenants.library_tasks import in_active_library as _in_active_library


@shared_task(name="members.tasks.members_age_transition_all_libraries")
def members_age_transition_all_libraries(today=None):
    """Beat: move members who turned 18 to an adult category, in every active library."""
    return _fan_out(members_age_transition_library, today)


@shared_task(name="members.tasks.members_age_transition_library", **_RETRY)
def members_age_transition_library(today):
    from members.services.registration import members_age_transition

    if _in_active_library() is None:
        return None
    with transaction.atomic():
        return members_age_transition(actor=Actor.system("nightly"), today=datetime.date.fromisoformat(today))


@shared_task(name="members.tasks.members_expire_all_libraries")
def members_expire_all_libraries(today=None):
    """Beat: block members whose membership has expired (per the library's rules), in every active library."""
    return _fan_out(members_expire_library, today)


@shared_task(name="members.tasks.members_expire_library", **_RETRY)
def members_expire_library(today):
    from members.services.registration import members_expire

    if _in_active_library() is None:
        return None
    with transaction.atomic():
        return members_expire(actor=Actor.system("nightly"), today=datetime.date.fromisoformat(today))


@shared_task(name="members.tasks.member_blocks_refresh_library", **_RETRY)
def member_blocks_refresh_library(today=None):
    """Bring every member's automatic blocks in this library in step with its rules
    (sent after a library admin changes the rules). One transaction per member."""
    from members.services.ledger import members_blocks_refresh_all

    if _in_active_library() is None:
        return None
    return members_blocks_refresh_all(actor=Actor.system("member_rules"),
                                      today=datetime.date.fromisoformat(today) if today else None)


@shared_task(name="members.tasks.loan_history_anonymise_all_libraries")
def loan_history_anonymise_all_libraries(today=None):
    """Beat: anonymise loan history past each library's retention period (members without consent)."""
    return _fan_out(loan_history_anonymise_library, today)


@shared_task(name="members.tasks.loan_history_anonymise_library", **_RETRY)
def loan_history_anonymise_library(today):
    from members.services.privacy import loan_history_anonymise

    if _in_active_library() is None:
        return None
    return loan_history_anonymise(actor=Actor.system("nightly"), today=datetime.date.fromisoformat(today))
