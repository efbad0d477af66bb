"""The OpenAPI schema, exercised by schemathesis with every check, through the WSGI
application on alpha's host: each generated request is sent with a machine key and
with a staff key (desk role). No server errors; every response is documented and
matches its schema (status, content type, headers, body); invalid requests are
refused, valid ones are not refused for their shape; a request without the key is
refused (401).

The schema is the one /api/v1/schema/ serves (test_served_schema_is_the_one_tested
checks they are equal); it is built at collection time because schemathesis
parametrizes from it. Kept quick: a few examples per operation
(SCHEMATHESIS_MAX_EXAMPLES, default 6; the coverage phase adds its boundary cases)."""

import json
import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings

from .conftest import ALPHA

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "6"))


def api_schema_document():
    """The OpenAPI document as the schema view renders it (drf-spectacular, the tenant URLs)."""
    document = SchemaGenerator(urlconf="lsb.urls_tenants").get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(api_schema_document())
# PostgreSQL text cannot hold NUL characters: LSB refuses them (400), the schema does not say so.
# The key is sent by the test (a machine key and a staff key on every request), not generated:
# requests without it are the ignored_auth check's business.
schema.config.generation.update(max_examples=MAX_EXAMPLES, allow_x00=False, database="none",
                                with_security_parameters=False)


@pytest.fixture
def wsgi_app(api, settings):
    # A generous rate: these tests are about the schema, not the throttle (tests/api/test_keys.py).
    settings.LSB_API_RATE = "100000/min"
    api.desk.items(count=2)  # something to find
    # As Django's test client does: the request must not close the test's connection (and transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()  # the project's WSGI application (lsb.wsgi), without its start-up check
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_served_schema_is_the_one_tested(api, client):
    response = client.get("/api/v1/schema/?format=json", HTTP_HOST=ALPHA)
    assert response.status_code == 200
    assert response.json() == api_schema_document()
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, api, wsgi_app):
    case.operation.app = case.operation.schema.app = wsgi_app
    for key in (api.machine_key, api.desk_key):
        case.call_and_validate(base_url=f"http://{ALPHA}", headers={"Authorization": f"Bearer {key}"})
