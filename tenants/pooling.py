"""The search-path guard at start-up and in /healthz.

The database backend sends each transaction's search path with its first statement
(tenants/postgresql_backend/base.py). These checks ask the server, in one cheap
statement, whether it really runs LSB's statements with the path LSB believes in:
a pooler that splits or rewrites statements, an ENGINE that is not LSB's backend,
or a statement-mode pool would show here before any library's data is touched.
"""

import logging

from django.db import OperationalError, connection
from django_tenants.postgresql_backend.base import FakeTenant

logger = logging.getLogger(__name__)

# A schema name no library has: the check sets it, so a server that ignored the
# backend's search path (it would have the default "$user", public) cannot pass.
PROBE_SCHEMA = "lsb_search_path_probe"


class SearchPathCheckFailed(RuntimeError):
    pass


def verify_search_path(db=connection, probe=False):
    """The server's search path for this connection's current schema (or, with
    `probe`, for a schema no server default has); raises SearchPathCheckFailed
    when it is not the one LSB believes in."""
    from tenants.postgresql_backend.base import SearchPathMismatch

    if not hasattr(db, "verify_search_path"):
        raise SearchPathCheckFailed(
            f"DATABASES ENGINE is {db.settings_dict['ENGINE']!r}, not tenants.postgresql_backend: "
            "the search path would not be set per transaction"
        )
    saved = (db.tenant, db.include_public_schema)
    try:
        if probe:
            db.set_tenant(FakeTenant(schema_name=PROBE_SCHEMA))
        return db.verify_search_path()
    except SearchPathMismatch as error:
        raise SearchPathCheckFailed(str(error)) from error
    finally:
        if probe:
            db.set_tenant(*saved)


def check_at_startup(component):
    """Run at the start of a web worker or a Celery worker: refuse to start (raise)
    when the server does not run LSB's statements with LSB's search path. An
    unreachable database is only logged: /healthz reports it, and the process may
    serve once it is back."""
    try:
        path = verify_search_path(probe=True)
    except OperationalError as error:
        logger.warning("%s: search path not checked at start-up, database unreachable: %s", component, error)
        return None
    except SearchPathCheckFailed as error:
        logger.critical("%s refuses to start: %s", component, error)
        raise
    finally:
        connection.close()  # forked processes must not share it
    logger.info("%s: search path checked (%s)", component, path)
    return path


class RoundTrips:
    """Counts the messages psycopg sends to the server and waits for (one round trip
    each): statements, and BEGIN/COMMIT/ROLLBACK. A diagnostic for tests and
    benchmarks (count_round_trips)."""

    def __init__(self):
        self.count = 0
        self.sql = []


def count_round_trips():
    """Context manager yielding a RoundTrips that counts this process's round trips
    while it is open (all threads)."""
    import contextlib

    import psycopg
    from psycopg._connection_base import BaseConnection

    @contextlib.contextmanager
    def counting():
        trips = RoundTrips()
        original_execute = psycopg.Cursor.execute
        original_command = BaseConnection._exec_command

        def execute(self, query, *args, **kwargs):
            trips.count += 1
            trips.sql.append(query if isinstance(query, str) else repr(query))
            return original_execute(self, query, *args, **kwargs)

        def exec_command(self, command, *args, **kwargs):
            trips.count += 1
            trips.sql.append(command.decode() if isinstance(command, bytes) else repr(command))
            return (yield from original_command(self, command, *args, **kwargs))

        psycopg.Cursor.execute = execute
        BaseConnection._exec_command = exec_command
        try:
            yield trips
        finally:
            psycopg.Cursor.execute = original_execute
            BaseConnection._exec_command = original_command

    return counting()
