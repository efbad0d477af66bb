"""The national host: national admin, registry overview, health."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from lsb.health import healthz

admin.site.site_header = "LSB — landelijk beheer"
admin.site.site_title = "LSB landelijk beheer"
admin.site.index_title = "Landelijk register en medewerkers"

urlpatterns = [
    # National search (opac.urls_national): /, /zoeken/, /titel/…
    path("", include("opac.urls_national")),
    path("taal/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    # Interlibrary-loan transport for the POIs: hub screen, POI overview, figures, manifests.
    path("ibl/", include("ibl.urls_national")),
    path("healthz", healthz, name="healthz"),
]
