"""Reads for the MARC screens: a library's imports and their problem logs.

(The catalogue's search selectors live in selectors.py.)"""

from django.shortcuts import get_object_or_404

from .models import MarcImport

PROBLEMS_SHOWN = 1000


def marc_imports_recent(*, organisation, limit=25):
    """The library's most recent imports, newest first."""
    return list(
        MarcImport.objects.filter(organisation=organisation).select_related("user").order_by("-created_at", "-pk")[:limit]
    )


def marc_import_of(*, organisation, import_id):
    """One of the library's own imports (404 for another library's)."""
    return get_object_or_404(MarcImport.objects.select_related("user"), pk=import_id, organisation=organisation)


def marc_import_problems(*, marc_import, limit=PROBLEMS_SHOWN):
    """The first `limit` problems, in file order."""
    return list(marc_import.problems.order_by("record_number", "pk")[:limit])
