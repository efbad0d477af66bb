"""NUL characters (issue 14, finding 5): one place (core.middleware.InputCleanMiddleware)
refuses them with the forms' own sentence, 400, before any view; every URL pattern
of the library and national hosts is probed with a NUL in a query parameter, in a
posted field, in a field name and (for text parameters) in the path."""

import pytest

from .urlwalk import library_routes, national_routes

MESSAGE = "Null-tekens zijn niet toegestaan."
FIELDS = ["pas", "barcode", "card_number", "reason", "note", "q", "username", "password", "price", "amount",
          "description", "until", "branch", "vestiging", "title_id", "months", "lid"]


def _probes(route):
    path = route.path({})
    yield "GET", path, {"q": "a\x00b", "pas": "\x00"}
    yield "POST", path, {field: f"x\x00{field}" for field in FIELDS}
    yield "POST", path, {"na\x00am": "x"}
    for name, converter in route.params.items():
        if converter in ("str", "path", "slug", None):
            yield "GET", route.path({name: "A%00B"}), {}


def _walk(client, host, routes):
    client.raise_request_exception = False
    outcomes = []
    for route in routes:
        for method, path, data in _probes(route):
            if method == "GET":
                response = client.get(path, data, HTTP_HOST=host)
            else:
                response = client.post(path, data, HTTP_HOST=host)
            outcomes.append((route.route, method, path, response.status_code,
                             MESSAGE in response.content.decode(errors="replace")))
    return outcomes


@pytest.mark.parametrize("host, routes, user", [
    ("alpha.localhost", library_routes, "alpha_library_admin"),
    ("localhost", national_routes, "national"),
])
def test_every_url_pattern_refuses_a_nul_character_with_the_forms_sentence(client, libraries, staff, host, routes,
                                                                          user):
    client.force_login(getattr(staff, user))
    outcomes = _walk(client, host, routes())
    wrong = [outcome for outcome in outcomes if outcome[3] != 400 or not outcome[4]]
    assert len(outcomes) > 100
    assert wrong == [], f"{len(wrong)} of {len(outcomes)} probes not refused with 400 and '{MESSAGE}': {wrong[:20]}"


def test_the_api_gets_a_code(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.post("/api/v1/x/", '{"barcode": "a\\u0000b"}', content_type="application/json",
                           HTTP_HOST="alpha.localhost")
    assert response.status_code == 400
    assert [error["code"] for error in response.json()["errors"]] == ["input.null_character"]


def test_a_scan_with_a_nul_changes_nothing(client, libraries, staff, desk):
    from django_tenants.utils import tenant_context

    from circulation.models import Loan

    [item] = desk.items()
    client.force_login(staff.alpha_desk)
    response = client.post("/uitlening/uitlenen/scan/", {"pas": desk.member.card_number, "barcode": item.barcode + "\x00"},
                           HTTP_HOST="alpha.localhost")
    assert response.status_code == 400 and MESSAGE in response.content.decode()
    with tenant_context(libraries.alpha):
        assert not Loan.objects.exists()
