from django.urls import path

from . import views_marc

app_name = "marc"

urlpatterns = [
    path("", views_marc.imports, name="imports"),
    path("import/<int:import_id>/", views_marc.import_detail, name="import"),
    path("export/", views_marc.export, name="export"),
    path("export/download/", views_marc.export_download, name="export-download"),
]
