"""A library organisation's host: its members' catalogue (OPAC) and its staff screens."""

from django.urls import include, path
from django.views.i18n import set_language

from catalogue import urls_marc as catalogue_marc_urls
from collection import urls_marc as collection_marc_urls
from lsb.health import healthz

urlpatterns = [
    # The members' catalogue (OPAC) owns the root: /, /zoeken/, /titel/…, /mijn/…, /aanmelden/, /registreren/.
    path("", include("opac.urls")),
    path("taal/", set_language, name="set_language"),
    # The library administrator's self-service machines and integrations (before the desk's own).
    path("balie/beheer/automaten/", include("selfservice.urls")),
    # The REST API with its OpenAPI schema and documentation (api/urls.py).
    path("api/", include("api.urls")),
    path("balie/", include("staff.urls")),
    path("collectie/zoeken/", include("catalogue.urls_search")),
    # MARC: the catalogue's import screens and collection's export (with the library's items), one namespace.
    path("collectie/marc/", include((catalogue_marc_urls.urlpatterns + collection_marc_urls.urlpatterns, "marc"))),
    path("collectie/", include("collection.urls")),
    path("leden/", include("members.urls")),
    path("uitlening/regels/", include("circulation.urls_rules")),
    path("uitlening/", include("circulation.urls_transfers")),
    path("uitlening/", include("circulation.urls")),
    path("reserveringen/", include("circulation.urls_holds")),
    path("berichten/", include("notices.urls")),
    # Interlibrary loan at the desk: requests, sending, receiving, the library's IBL terms.
    path("ibl/", include("ibl.urls_desk")),
    path("inkoop/", include("ordering.urls")),
    path("healthz", healthz, name="healthz"),
]
