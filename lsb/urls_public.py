"""The national host: national admin, registry overview, health."""

from django.contrib import admin
from django.urls import path

from lsb.health import healthz
from tenants import views as tenant_views

admin.site.site_header = "LSB — landelijk beheer"
admin.site.site_title = "LSB landelijk beheer"
admin.site.index_title = "Landelijk register en medewerkers"

urlpatterns = [
    path("", tenant_views.national_home, name="national-home"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
