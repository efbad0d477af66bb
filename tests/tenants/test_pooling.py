"""The search-path guard: a transaction whose search path is not the one LSB sent is
not committed; the start-up and /healthz check ask the server which path it has."""

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from tenants.pooling import verify_search_path

from ..concurrency import on_own_connection


def test_a_transaction_whose_search_path_was_changed_behind_lsbs_back_is_not_committed(libraries):
    """On a connection of its own (this test's transaction is never committed)."""
    alpha, beta = libraries.alpha.schema_name, libraries.beta.schema_name

    def work():
        with schema_context(alpha):
            with pytest.raises(DatabaseError, match="LSB refuses to commit"):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("CREATE TABLE pooling_guard_probe (id int)")
                        cursor.execute(f"SET search_path TO {beta}")  # raw, behind LSB's back
            # The next statement runs in alpha's schema again, and the table was not committed.
            path = verify_search_path()
            with connection.cursor() as cursor:
                cursor.execute("SELECT to_regclass('public.pooling_guard_probe'), to_regclass(%s)",
                               [f"{alpha}.pooling_guard_probe"])
                return path, cursor.fetchone()

    path, tables = on_own_connection(work)
    assert path == f"{alpha}, public"
    assert tables == (None, None)


def test_a_switch_of_library_inside_a_transaction_commits(libraries):
    alpha, gamma = libraries.alpha.schema_name, libraries.gamma.schema_name

    def work():
        seen = []
        with schema_context(alpha), transaction.atomic():
            with connection.cursor() as cursor:
                for schema in (alpha, gamma, alpha):
                    with schema_context(schema):
                        cursor.execute("SELECT current_setting('search_path')")
                        seen.append(cursor.fetchone()[0])
        return seen  # committed: no guard error

    assert on_own_connection(work) == [f"{alpha}, public", f"{gamma}, public", f"{alpha}, public"]


def test_the_check_sees_the_servers_search_path(libraries):
    assert verify_search_path(probe=True) == "lsb_search_path_probe, public"
    with schema_context(libraries.gamma.schema_name):
        assert verify_search_path() == f"{libraries.gamma.schema_name}, public"


def test_healthz_reports_the_library_hosts_search_path(client, libraries):
    response = client.get("/healthz", HTTP_HOST="alpha.localhost")
    database = response.json()["checks"]["database"]
    assert database["ok"] and database["search_path"] == f"{libraries.alpha.schema_name}, public"
