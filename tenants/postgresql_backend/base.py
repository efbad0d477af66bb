"""django-tenants' PostgreSQL backend, with new connections starting in the
public schema at no cost.

A new connection normally costs a `SET search_path = public` for the routing
lookup and then another for the library's schema: two per request. Starting the
connection with search_path=public (a startup option, so no statement) and
telling django-tenants so leaves at most one `SET search_path` per request.
(PgBouncer in transaction mode drops startup options; put it in session mode.)
"""

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import get_public_schema_name


class DatabaseWrapper(TenantDatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        public = get_public_schema_name()
        params["options"] = f"{params.get('options', '')} -c search_path={public}".strip()
        return params

    def get_new_connection(self, conn_params):
        new_connection = super().get_new_connection(conn_params)
        if self.schema_name == get_public_schema_name():
            self.search_path_set_schemas = [get_public_schema_name()]
        return new_connection
