"""The MARC import screens and a title's provenance; lsb.urls_tenants puts them
beside collection's export screens (collection.urls_marc) under one namespace
("marc") at /collectie/marc/."""

from django.urls import path

from . import views_marc

urlpatterns = [
    path("", views_marc.imports, name="imports"),
    path("import/<int:import_id>/", views_marc.import_detail, name="import"),
    path("titel/<int:title_id>/", views_marc.title_history, name="title"),
]
