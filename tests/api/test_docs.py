"""The API's documentation: Swagger UI at /api/docs/ from the installed package's
static files (no CDN, no inline script), the schema without a key."""

import pytest

from .conftest import ALPHA

pytestmark = pytest.mark.django_db


def test_docs_page_is_served_from_lsbs_own_static_files(api, client):
    page = client.get("/api/docs/", HTTP_HOST=ALPHA)
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # the start script is a file (Content-Security-Policy: no inline script)
    script = client.get("/api/docs/?script=", HTTP_HOST=ALPHA)
    assert script.status_code == 200 and "/api/v1/schema/" in script.content.decode()
    bundle = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js", HTTP_HOST=ALPHA)
    assert bundle.status_code == 200


def test_schema_needs_no_key_and_names_the_key_scheme(api, client):
    response = client.get("/api/v1/schema/?format=json", HTTP_HOST=ALPHA)
    assert response.status_code == 200
    document = response.json()
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"]["apiKey"][
            "description"]}
    assert "/api/v1/selfservice/checkout/" in document["paths"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"apiKey": []}], (method, path)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
