"""MARC import screens for collection staff: upload a file to import, follow an
import and read its problem log. Downloading the library's catalogue with its
holdings is collection.views_marc (it reads the library's items)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required

from . import selectors_marc, services
from .forms_marc import MarcUploadForm

# How often the detail page of a running import reloads itself (seconds).
REFRESH_SECONDS = 2


@library_staff_required(Role.COLLECTION)
def imports(request):
    """The upload form and this library's recent imports; POST starts an import."""
    form = MarcUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            marc_import = services.marc_import_create(
                actor=actor_for_request(request), upload=form.cleaned_data["file"],
                marc_format=form.cleaned_data["format"],
            )
        except ValidationError as error:
            form.add_error("file", error.messages[0])
        else:
            messages.success(request, f"{marc_import.file_name} staat in de wachtrij voor import.")
            return redirect("marc:import", import_id=marc_import.pk)
    return render(
        request,
        "catalogue/marc_imports.html",
        {"form": form, "imports": selectors_marc.marc_imports_recent(organisation=request.library)},
        status=400 if form.errors else 200,
    )


@library_staff_required(Role.COLLECTION)
def import_detail(request, import_id):
    marc_import = selectors_marc.marc_import_of(organisation=request.library, import_id=import_id)
    problems = selectors_marc.marc_import_problems(marc_import=marc_import)
    return render(
        request,
        "catalogue/marc_import_detail.html",
        {
            "marc_import": marc_import,
            "problems": problems,
            "problems_hidden": max(0, marc_import.skipped - len(problems)),
            "refresh_seconds": None if marc_import.is_finished else REFRESH_SECONDS,
        },
    )
