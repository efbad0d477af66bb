"""Routes each request to its library organisation's schema by host name.

- A national host (LSB_NATIONAL_HOSTS) serves the national pages from the public schema.
- A library's host serves that library's screens from its own schema.
- Any other host gets a clear 404 page; an inactive library's host says so.

Switching schema costs no statement: the database backend sends the search path
with each transaction's first statement (tenants/postgresql_backend/base.py). A
request that ends in another schema than its own (a schema_context left open)
is refused with an error rather than answered.
"""

import logging

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.shortcuts import render
from django.urls import set_urlconf
from django_tenants.postgresql_backend.base import FakeTenant
from django_tenants.utils import get_public_schema_name, remove_www

from .selectors import is_national_host, library_for_host

# Reachable on every host, whatever the library's state: load balancers probe these.
ALWAYS_REACHABLE_PATHS = ("/healthz",)

logger = logging.getLogger(__name__)


class SchemaLeak(RuntimeError):
    """A request ended in another schema than the one it was routed to."""


class LibraryRoutingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.library = None
        try:
            hostname = remove_www(request.get_host().split(":")[0])
        except DisallowedHost:
            return self.unknown_host(request, request.META.get("HTTP_HOST", ""))

        if is_national_host(hostname):
            self.use_schema(FakeTenant(schema_name=get_public_schema_name()))
            request.tenant = connection.tenant
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return self.checked(self.get_response(request), get_public_schema_name())

        organisation = library_for_host(hostname)
        if organisation is None:
            return self.unknown_host(request, hostname)
        organisation.domain_url = hostname
        request.tenant = organisation
        request.library = organisation
        self.use_schema(organisation)
        if not organisation.is_active and not request.path.startswith(ALWAYS_REACHABLE_PATHS):
            return render(request, "tenants/inactive.html", {"organisation": organisation}, status=503)
        return self.checked(self.get_response(request), organisation.schema_name)

    @staticmethod
    def use_schema(tenant):
        """Switch the connection to the tenant's schema (no statement: the backend sends
        the path with each transaction); set_tenant only when the schema changes, since
        it also clears the content-type cache."""
        if connection.schema_name == tenant.schema_name:
            connection.tenant = tenant
            return
        connection.set_tenant(tenant)

    @staticmethod
    def checked(response, schema_name):
        if connection.schema_name != schema_name:
            leaked = connection.schema_name
            connection.set_schema_to_public()
            logger.critical("A request for schema %s ended in schema %s; refused", schema_name, leaked)
            raise SchemaLeak(f"request for schema {schema_name} ended in schema {leaked}")
        return response

    @staticmethod
    def unknown_host(request, hostname):
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)
