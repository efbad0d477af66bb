"""django-tenants' PostgreSQL backend, made safe behind a connection pooler.

Every statement LSB sends runs inside a transaction whose search path was set for
that transaction only (`SET LOCAL search_path`), in the same network message as
the statement, so it is correct whatever server connection the statement lands
on: directly on PostgreSQL, through PgBouncer in session mode, and through
PgBouncer in transaction mode (where each transaction may run on another server
connection). Nothing is kept per server session: no startup `options`, no
session-level `SET search_path`, no WITH HOLD cursors.

How, without extra round trips:

- Autocommit (outside `transaction.atomic`): the statement is sent as
  `SET LOCAL search_path TO ...; <statement>` in one simple-protocol message.
  PostgreSQL runs a multi-statement message as one implicit transaction, so the
  path applies to that statement only, and is gone when it commits.
- In a transaction: the first statement after BEGIN carries the same prefix, and
  so does the first statement after the code switches schema inside the
  transaction (schema_context for a guest's home library, say). Later statements
  of the same transaction in the same schema go as they are.
- COMMIT carries a guard in the same message: a DO block that compares the
  search path the server has with the one LSB believes in and raises instead of
  committing when they differ (a raw `SET search_path`, a psycopg cursor used
  behind Django's back). A failing request beats a leak.

A statement that PostgreSQL cannot run inside a transaction block (CREATE INDEX
CONCURRENTLY, VACUUM, CREATE DATABASE ...) gets a session-level
`SET search_path` first on a direct or session-mode connection, and is refused
in transaction mode (run such maintenance with LSB_DB_POOL_MODE=direct).
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import NotSupportedError
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name
from psycopg import ClientCursor, pq

IDLE = pq.TransactionStatus.IDLE
INTRANS = pq.TransactionStatus.INTRANS

# Statements that end a transaction, or that set session state and do not read any
# table: no search path needed (and none may be prefixed onto COMMIT/ROLLBACK).
_NO_PATH = re.compile(
    rb"\s*(COMMIT|ROLLBACK|END|ABORT|BEGIN|START\s+TRANSACTION|PREPARE\s+TRANSACTION|SET|RESET|SHOW|DISCARD"
    rb"|LISTEN|UNLISTEN|CHECKPOINT|DEALLOCATE)\b",
    re.IGNORECASE,
)
# Statements PostgreSQL refuses inside a transaction block (even an implicit one).
_NOT_IN_TRANSACTION = re.compile(
    rb"\s*((CREATE|DROP|ALTER)\s+DATABASE|(CREATE|DROP)\s+TABLESPACE|ALTER\s+SYSTEM|VACUUM"
    rb"|REINDEX\s+(SYSTEM|DATABASE)|(CREATE|DROP|REINDEX)\b.*\bCONCURRENTLY\b)",
    re.IGNORECASE | re.DOTALL,
)
UNKNOWN = "(unknown after a rollback to a savepoint)"
_SETS_SEARCH_PATH = re.compile(rb"\s*SET\s+(SESSION\s+)?search_path\b", re.IGNORECASE)


class SearchPathMismatch(Exception):
    """The server's search path is not the one LSB set (see guard_sql)."""


def _head(query):
    """The first bytes of a statement, for the checks above."""
    if isinstance(query, str):
        return query[:200].encode("utf-8", "replace")
    if isinstance(query, (bytes, bytearray, memoryview)):
        return bytes(query[:200])
    return b"SELECT"  # psycopg.sql.Composed (callproc): a query


def _prefixed(prefix, query, params):
    if isinstance(query, str):
        return (prefix.replace("%", "%%") if params is not None else prefix) + query
    if isinstance(query, (bytes, bytearray, memoryview)):
        text = prefix.replace("%", "%%") if params is not None else prefix
        return text.encode() + bytes(query)
    from psycopg import sql

    return sql.Composed([sql.SQL(prefix.replace("{", "{{").replace("}", "}}")), query])


def guard_sql(path):
    """A DO block that raises when the transaction's search path is not `path`
    (compared after PostgreSQL's own normalisation of both)."""
    return (
        "DO $lsb_guard$ DECLARE actual text := current_setting('search_path'); BEGIN "
        f"SET LOCAL search_path TO {path}; "
        "IF current_setting('search_path') IS DISTINCT FROM actual THEN "
        "RAISE EXCEPTION 'LSB refuses to commit: this transaction ran with search_path % instead of %', "
        "actual, current_setting('search_path') USING ERRCODE = 'LSB01'; "
        "END IF; END $lsb_guard$"
    )


def _wrapper_of(psycopg_connection):
    """The DatabaseWrapper whose connection this is (not for a spare connection
    opened with the wrapper's get_new_connection, e.g. to hold a lock)."""
    wrapper = getattr(psycopg_connection, "lsb_wrapper", None)
    if wrapper is not None and wrapper.connection is psycopg_connection:
        return wrapper
    return None


class Cursor(DjangoCursor):
    """Django's client-side-binding psycopg cursor, sending the search path with the
    statement when the transaction does not have it yet."""

    def execute(self, query, params=None, **kwargs):
        wrapper = _wrapper_of(self.connection)
        prefix = wrapper.search_path_prefix(_head(query)) if wrapper is not None else None
        if not prefix:
            return super().execute(query, params, **kwargs)
        super().execute(_prefixed(prefix, query, params), params, **kwargs)
        self.nextset()  # the statement's own result, not the SET's
        return self

    def executemany(self, query, params_seq, **kwargs):
        wrapper = _wrapper_of(self.connection)
        if wrapper is None or not wrapper.path_needed(_head(query)):
            return super().executemany(query, params_seq, **kwargs)
        if self.connection.autocommit:  # executemany may pipeline: one explicit transaction
            with self.connection.transaction():
                super().execute(wrapper.set_local_sql())
                return super().executemany(query, params_seq, **kwargs)
        super().execute(wrapper.set_local_sql())
        wrapper.transaction_path, wrapper.path_dirty = wrapper.search_path_sql(), False
        return super().executemany(query, params_seq, **kwargs)

    def copy(self, statement, params=None, **kwargs):
        wrapper = _wrapper_of(self.connection)
        if wrapper is not None and wrapper.path_needed(_head(statement)):
            if self.connection.autocommit:
                raise NotSupportedError("LSB runs COPY only inside a transaction (transaction.atomic).")
            super().execute(wrapper.set_local_sql())
            wrapper.transaction_path, wrapper.path_dirty = wrapper.search_path_sql(), False
        return super().copy(statement, params, **kwargs)


class DatabaseWrapper(TenantDatabaseWrapper):
    def __init__(self, *args, **kwargs):
        # The search path last sent in the open transaction (None: none yet), and
        # whether something else may have changed it since (a raw SET search_path).
        self.transaction_path = None
        self.path_dirty = False
        self._path_cache = {}
        super().__init__(*args, **kwargs)

    # --- the connection --------------------------------------------------------------

    def get_connection_params(self):
        params = super().get_connection_params()
        params["cursor_factory"] = Cursor
        return params

    def get_new_connection(self, conn_params):
        new_connection = super().get_new_connection(conn_params)
        new_connection.lsb_wrapper = self
        self.transaction_path, self.path_dirty = None, False
        return new_connection

    @property
    def pool_mode(self):
        return getattr(settings, "LSB_DB_POOL_MODE", "direct")

    def _cursor(self, name=None):
        """A cursor; unlike django-tenants, no `SET search_path` here: the cursor
        sends the path with each transaction's first statement."""
        if not self.schema_name:
            raise ImproperlyConfigured("Database schema not set. Did you forget to call set_schema() or set_tenant()?")
        return super(TenantDatabaseWrapper, self)._cursor(name)

    # --- the search path ---------------------------------------------------------------

    def search_path_sql(self):
        """The path LSB believes in now, as SQL: '"lib_alpha", "public"'."""
        key = (self.schema_name, self.include_public_schema)
        path = self._path_cache.get(key)
        if path is None:
            path = ", ".join(quote_schema_name(schema) for schema in self._get_cursor_search_paths())
            self._path_cache[key] = path
        return path

    def set_local_sql(self):
        return f"SET LOCAL search_path TO {self.search_path_sql()}"

    def path_needed(self, head):
        """Does a statement starting with `head` need the search path sent first?"""
        connection = self.connection
        status = connection.info.transaction_status
        if status == IDLE:
            self.transaction_path, self.path_dirty = None, False
        elif status != INTRANS:
            return False  # failed transaction: the statement fails anyway
        if _NO_PATH.match(head):
            if _SETS_SEARCH_PATH.match(head):
                self.path_dirty = True  # someone else's search path: send ours again (COMMIT checks)
            return False
        if status == IDLE and connection.autocommit and _NOT_IN_TRANSACTION.match(head):
            self._before_non_transactional_statement()
            return False
        return status == IDLE or self.path_dirty or self.transaction_path != self.search_path_sql()

    def search_path_prefix(self, head):
        """What to send before a statement: the SET LOCAL, or None."""
        if not self.path_needed(head):
            return None
        path = self.search_path_sql()
        if not self.connection.autocommit:
            self.transaction_path = path  # the rest of this transaction has it
            self.path_dirty = False
        return f"SET LOCAL search_path TO {path}; "

    def _before_non_transactional_statement(self):
        if self.pool_mode == "transaction":
            raise NotSupportedError(
                "This statement cannot run in a transaction, so its search path would be a server "
                "session's: run it with LSB_DB_POOL_MODE=direct (straight to PostgreSQL)."
            )
        with ClientCursor(self.connection) as cursor:
            cursor.execute(f"SET search_path TO {self.search_path_sql()}")

    def ensure_transaction_path(self):
        """Inside a transaction: make sure the server has this transaction's path
        before a statement that cannot carry it (a named cursor's DECLARE)."""
        connection = self.connection
        path = self.search_path_sql()
        if connection.info.transaction_status == IDLE or self.path_dirty or self.transaction_path != path:
            with ClientCursor(connection) as cursor:
                cursor.execute(f"SET LOCAL search_path TO {path}")
            self.transaction_path = path
            self.path_dirty = False

    def chunked_cursor(self):
        """A server-side cursor only inside a transaction (no WITH HOLD cursor, which
        would outlive it on a server session); outside one, a client-side cursor."""
        self.ensure_connection()
        if self.connection.autocommit:
            return self._cursor()
        self.ensure_transaction_path()
        return super().chunked_cursor()

    # --- transactions --------------------------------------------------------------------

    def _commit(self):
        connection = self.connection
        path, self.transaction_path, self.path_dirty = self.transaction_path, None, False
        if connection is None or path in (None, UNKNOWN) or connection.info.transaction_status != INTRANS:
            return super()._commit()
        with self.wrap_database_errors:
            with ClientCursor(connection) as cursor:
                cursor.execute(f"{guard_sql(path)}; COMMIT")

    def _rollback(self):
        self.transaction_path, self.path_dirty = None, False
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            # A SET LOCAL sent after the savepoint is undone: which path the server has
            # now is not known here; the next statement sends it again.
            self.transaction_path = UNKNOWN

    def _set_autocommit(self, autocommit):
        self.transaction_path, self.path_dirty = None, False
        return super()._set_autocommit(autocommit)

    def close(self):
        self.transaction_path, self.path_dirty = None, False
        super().close()

    # --- the guard -------------------------------------------------------------------------

    def verify_search_path(self):
        """One statement: does the server run this connection's statements with the
        search path LSB believes in? Returns it; raises SearchPathMismatch if not."""
        schemas = self._get_cursor_search_paths()
        with self.cursor() as cursor:
            # quote_ident() is how PostgreSQL itself writes out each schema of a search path.
            cursor.execute(
                "SELECT current_setting('search_path'), "
                "(SELECT string_agg(quote_ident(name), ', ' ORDER BY n) FROM unnest(%s::text[]) "
                "WITH ORDINALITY AS believed(name, n))",
                [schemas],
            )
            actual, expected = cursor.fetchone()
        if actual != expected:
            raise SearchPathMismatch(f"the server has search_path {actual!r}, LSB believes {expected!r}")
        return actual
