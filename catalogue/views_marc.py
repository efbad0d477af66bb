"""MARC import screens for collection staff: upload a file to import, follow an
import and read its report (what each matching rule found, refused records,
warnings), and a title's provenance: whose description it is, its previous
versions with who changed them from which import (a cataloguer restores one),
and the libraries' own records of it. Downloading the library's catalogue with
its holdings is collection.views_marc (it reads the library's items)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from staff.models import Role
from staff.permissions import actor_for_request, library_staff_required

from . import selectors_marc, services
from .forms_marc import MarcUploadForm, TitleVersionRestoreForm
from .models import ProblemLevel

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
            messages.success(request, _("%(name)s staat in de wachtrij voor import.") % {"name": marc_import.file_name})
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
    warnings = selectors_marc.marc_import_problems(marc_import=marc_import, level=ProblemLevel.WARNING)
    records = selectors_marc.marc_import_records(marc_import=marc_import)
    return render(
        request,
        "catalogue/marc_import_detail.html",
        {
            "marc_import": marc_import,
            "problems": problems,
            "problems_hidden": max(0, marc_import.skipped - len(problems)),
            "warnings": warnings,
            "warnings_hidden": max(0, marc_import.warnings - len(warnings)),
            "rule_counts": selectors_marc.marc_import_rule_counts(marc_import=marc_import),
            "records": records,
            "records_hidden": max(0, marc_import.records_read - marc_import.skipped - len(records)),
            "refresh_seconds": None if marc_import.is_finished else REFRESH_SECONDS,
        },
    )


@library_staff_required(Role.COLLECTION)
def title_history(request, title_id):
    """A title's provenance and previous versions; POST restores one (a national
    cataloguer, or the describing library's collection staff for its own title)."""
    actor = actor_for_request(request)
    if request.method == "POST":
        form = TitleVersionRestoreForm(request.POST)
        if form.is_valid():
            try:
                services.title_version_restore(actor=actor, version_id=form.cleaned_data["version"])
            except ValidationError as error:
                messages.error(request, error.messages[0])
            else:
                messages.success(request, _("De vorige versie van deze titel is teruggezet."))
        return redirect("marc:title", title_id=title_id)
    provenance = selectors_marc.title_provenance(title_id=title_id, organisation=request.library)
    versions = [(version, services.may_restore(actor, provenance.title, version)) for version in provenance.versions]
    return render(request, "catalogue/title_history.html", {"provenance": provenance, "versions": versions,
                                                            "title": provenance.title})
