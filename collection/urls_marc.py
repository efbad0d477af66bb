"""The MARC export screens; lsb.urls_tenants puts them beside the catalogue's
import screens under one namespace ("marc") at /collectie/marc/."""

from django.urls import path

from . import views_marc

urlpatterns = [
    path("export/", views_marc.export, name="export"),
    path("export/download/", views_marc.export_download, name="export-download"),
]
