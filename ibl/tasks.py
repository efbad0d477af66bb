"""Interlibrary loan's Celery tasks. Each is idempotent and works in the public
schema (the IBL tables); a step in a library's schema goes through the outbox.

- legs_plan: plan a request's legs once it is sent or handed in (sent when that
  transaction commits); legs_plan_sweep (beat) sends it again for any request
  whose planning task was lost (a broker that was down, a worker killed mid-task).
- asks_expire (beat, hourly): lenders that did not answer within N working days:
  the request moves on to the next lender.
- runs_advance (beat, early morning): yesterday's runs are done, what missed its
  run goes with the next one; then today's runs are made and their manifests.
- legs_flag_late (beat, hourly): legs not in at their destination in time.
"""

import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

RETRY = {"autoretry_for": (OperationalError, InterfaceError), "retry_backoff": True, "max_retries": 5}


@shared_task(name="ibl.tasks.legs_plan", **RETRY)
def legs_plan(request_id):
    from .models import IblRequest
    from .services.transport import legs_plan as plan

    if not IblRequest.objects.filter(pk=request_id).exists():
        return 0  # removed meanwhile (nothing to plan)
    return len(plan(request_id))


@shared_task(name="ibl.tasks.legs_plan_sweep")
def legs_plan_sweep(older_than_seconds=60):
    from .services.transport import legs_plan_missing, send_task

    missing = legs_plan_missing(older_than=datetime.timedelta(seconds=older_than_seconds))
    for request_id in missing:
        send_task(legs_plan, request_id)
    return len(missing)


@shared_task(name="ibl.tasks.asks_expire", **RETRY)
def asks_expire():
    from .services.requests import asks_expire as expire

    return len(expire())


@shared_task(name="ibl.tasks.runs_advance", **RETRY)
def runs_advance(today=None):
    from .services.transport import manifests_produce, routes_ensure_runs
    from .services.transport import runs_advance as advance

    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    done, moved = advance(today=day)
    routes_ensure_runs(day=day)
    manifests = manifests_produce(day=day)
    return {"runs_done": done, "legs_moved": moved, "manifests": manifests}


@shared_task(name="ibl.tasks.manifests_produce", **RETRY)
def manifests_produce(day=None):
    from .services.transport import manifests_produce as produce

    return produce(day=datetime.date.fromisoformat(day) if day else None)


@shared_task(name="ibl.tasks.legs_flag_late", **RETRY)
def legs_flag_late():
    from .services.transport import legs_flag_late as flag

    return flag()
