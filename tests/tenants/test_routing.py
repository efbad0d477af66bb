"""Each library's host reaches its own schema; national hosts reach the public pages;
anything else gets a clear page, never a stack trace."""

from django.db import connection

from tenants.services import library_organisation_update


def test_national_host_lists_active_libraries_by_province(client, libraries):
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bibliotheken in LSB" in page
    assert "Testbibliotheek alpha" in page and "Testbibliotheek gamma" in page
    assert "http://alpha.localhost/" in page
    assert "Testbibliotheek dormant" not in page  # inactive


def test_library_host_shows_its_branches_and_opening_hours(client, libraries):
    response = client.get("/", HTTP_HOST="alpha.localhost")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Testbibliotheek alpha" in page
    assert "Alpha vestiging 1" in page and "Hoofdstraat 1" in page
    assert "09:00–17:00" in page
    assert "Beta vestiging" not in page


def test_request_runs_in_the_library_schema(client, libraries):
    client.get("/", HTTP_HOST="gamma.localhost")
    assert connection.schema_name == "lib_gamma"
    client.get("/", HTTP_HOST="localhost")
    assert connection.schema_name == "public"


def test_unknown_host_gets_a_clear_404_page(client, db):
    response = client.get("/balie/", HTTP_HOST="bestaatniet.localhost")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Onbekend adres" in page and "bestaatniet.localhost" in page
    assert "Traceback" not in page


def test_host_outside_allowed_hosts_gets_404_not_a_crash(client, db):
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 404
    assert "Onbekend adres" in response.content.decode()


def test_unknown_path_on_library_host_is_a_dutch_404(client, libraries):
    response = client.get("/bestaat/niet/", HTTP_HOST="alpha.localhost")
    assert response.status_code == 404
    assert "Pagina niet gevonden" in response.content.decode()


def test_inactive_library_says_so(client, libraries):
    for path in ("/", "/balie/", "/balie/inloggen/"):
        response = client.get(path, HTTP_HOST="dormant.localhost")
        assert response.status_code == 503
        assert "Testbibliotheek dormant is niet actief" in response.content.decode()
        assert "Rijnbrink" in response.content.decode()


def test_deactivating_takes_effect_at_once_despite_the_routing_cache(client, libraries):
    assert client.get("/", HTTP_HOST="beta.localhost").status_code == 200  # now cached
    library_organisation_update(
        organisation=libraries.beta, name=libraries.beta.name, isil=libraries.beta.isil,
        province=libraries.beta.province, is_active=False,
    )
    assert client.get("/", HTTP_HOST="beta.localhost").status_code == 503


class SearchPathCounter:
    def __init__(self):
        self.count = 0
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if sql.lstrip().upper().startswith("SET SEARCH_PATH"):
            self.count += 1
        return execute(sql, params, many, context)


def test_the_search_path_costs_no_statement_and_no_round_trip(client, libraries, staff):
    """The backend sends `SET LOCAL search_path` in the same message as the
    transaction's first statement (and after a switch of library): no statement of
    its own, so every round trip is one of the request's own statements."""
    from tenants.pooling import count_round_trips

    client.force_login(staff.alpha_desk)
    client.get("/balie/", HTTP_HOST="alpha.localhost")  # warm the routing cache
    previous_host = "alpha.localhost"
    for host, path in [("alpha.localhost", "/balie/"), ("alpha.localhost", "/"), ("gamma.localhost", "/"),
                       ("alpha.localhost", "/balie/"), ("localhost", "/")]:
        counter = SearchPathCounter()
        with count_round_trips() as trips, connection.execute_wrapper(counter):
            assert client.get(path, HTTP_HOST=host).status_code == 200
        assert counter.count == 0, (host, path)
        # (the test runs inside one transaction: no BEGIN/COMMIT of the request's own)
        assert trips.count == counter.statements, (host, path, trips.sql)
        # Inside this (test) transaction the path travels again only when the library changes.
        switched = any(sql.startswith("SET LOCAL search_path") for sql in trips.sql)
        assert switched == (host != previous_host), (host, trips.sql)
        previous_host = host
