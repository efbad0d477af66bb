"""Routes each request to its library organisation's schema by host name.

- A national host (LSB_NATIONAL_HOSTS) serves the national pages from the public schema.
- A library's host serves that library's screens from its own schema.
- Any other host gets a clear 404 page; an inactive library's host says so.
"""

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
            return self.get_response(request)

        organisation = library_for_host(hostname)
        if organisation is None:
            return self.unknown_host(request, hostname)
        organisation.domain_url = hostname
        request.tenant = organisation
        request.library = organisation
        self.use_schema(organisation)
        if not organisation.is_active and not request.path.startswith(ALWAYS_REACHABLE_PATHS):
            return render(request, "tenants/inactive.html", {"organisation": organisation}, status=503)
        return self.get_response(request)

    @staticmethod
    def use_schema(tenant):
        """Switch the connection to the tenant's schema, issuing `SET search_path`
        only when the schema differs from the one the (persistent) connection has."""
        if (
            connection.schema_name == tenant.schema_name
            and connection.search_path_set_schemas is not None
            and connection.connection is not None
        ):
            connection.tenant = tenant
            return
        connection.set_tenant(tenant)

    @staticmethod
    def unknown_host(request, hostname):
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        return render(request, "tenants/unknown_host.html", {"hostname": hostname}, status=404)
