"""MARC export for collection staff: the library's catalogue with its holdings
(its items, in 852), streamed. The import screens are the catalogue's
(catalogue.views_marc); both are under /collectie/marc/ (lsb.urls_tenants)."""

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from catalogue.forms_marc import MarcExportForm
from catalogue.marc_export import CONTENT_TYPES, EXTENSIONS
from staff.models import Role
from staff.permissions import library_staff_required

from .marc_export import export_library_marc, library_title_count


@library_staff_required(Role.COLLECTION)
def export(request):
    return render(
        request,
        "collection/marc_export.html",
        {"form": MarcExportForm(), "title_count": library_title_count(organisation=request.library)},
    )


@library_staff_required(Role.COLLECTION)
def export_download(request):
    """The library's whole catalogue with its holdings, streamed."""
    form = MarcExportForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "collection/marc_export.html",
            {"form": form, "title_count": library_title_count(organisation=request.library)},
            status=400,
        )
    marc_format = form.cleaned_data["format"]
    library = request.library
    response = StreamingHttpResponse(
        export_library_marc(marc_format=marc_format, organisation=library), content_type=CONTENT_TYPES[marc_format]
    )
    name = f"{library.slug}-catalogus-{timezone.localdate():%Y%m%d}.{EXTENSIONS[marc_format]}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
