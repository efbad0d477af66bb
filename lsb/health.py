"""/healthz: can this node reach the database, Redis and a Celery worker?

Load balancers and the run command use it; JSON, HTTP 200 when all are
reachable, 503 naming what is not. The database check is the search-path guard:
one statement asks the server which search path it runs this request's schema
with, and fails when it is not the one LSB believes in."""

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

CHECK_TIMEOUT_SECONDS = 1.0


def check_database():
    from tenants.pooling import verify_search_path

    return {"search_path": verify_search_path(connection), "pool_mode": settings.LSB_DB_POOL_MODE}


def check_redis():
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


def check_celery():
    from lsb.celery import app

    replies = app.control.ping(timeout=CHECK_TIMEOUT_SECONDS)
    if not replies:
        raise RuntimeError("geen Celery-worker antwoordde binnen %.1f s" % CHECK_TIMEOUT_SECONDS)
    return {"workers": sorted(name for reply in replies for name in reply)}


CHECKS = {"database": check_database, "redis": check_redis, "celery": check_celery}


def run_checks():
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            detail = check() or {}
            results[name] = {"ok": True, **detail}
        except Exception as error:  # noqa: BLE001 - any failure means unreachable
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return results


@never_cache
def healthz(request):
    checks = run_checks()
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503)
