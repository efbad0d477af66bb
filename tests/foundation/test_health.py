"""/healthz reports the database, Redis and a Celery worker, with 200 or 503.

The test without a worker comes first: the worker fixture lives for the module."""

import pytest


def test_unavailable_without_a_celery_worker(client, db):
    response = client.get("/healthz", HTTP_HOST="localhost")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["celery"]["ok"] is False
    assert "Celery-worker" in body["checks"]["celery"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_healthy_when_database_redis_and_a_worker_answer(client, db, celery_worker_process):
    response = client.get("/healthz", HTTP_HOST="localhost")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["celery"]["workers"]


def test_unavailable_when_redis_cannot_be_reached(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz", HTTP_HOST="localhost")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False


def test_health_answers_on_library_hosts_too_even_inactive_ones(client, libraries):
    for host in ("alpha.localhost", "dormant.localhost"):
        response = client.get("/healthz", HTTP_HOST=host)
        assert response["Content-Type"] == "application/json"
        assert set(response.json()["checks"]) == {"database", "redis", "celery"}
