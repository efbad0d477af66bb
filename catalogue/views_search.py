"""Staff catalogue search (collection and desk roles: the desk finds a barcode or
tells a member where a book is): one search box for words, makers
and scanned ISBN/EAN barcodes, with filters, over the national catalogue, and per
title this library's copies and the copies available elsewhere."""

from django.shortcuts import render

from staff.permissions import CATALOGUE_READER_ROLES, library_staff_required

from .forms_search import TitleSearchForm
from .selectors import holdings_summaries, title_search

PAGE_SIZE = 20


@library_staff_required(*CATALOGUE_READER_ROLES)
def search(request):
    form = TitleSearchForm(request.GET or None)
    result, holdings, page = None, {}, 1
    if form.is_valid() and form.has_search():
        page = form.cleaned_data["page"] or 1
        result = title_search(**form.search_arguments(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        holdings = holdings_summaries(title_ids=[title.pk for title in result.titles], organisation=request.library)
    return render(
        request,
        "catalogue/search.html",
        {
            "form": form,
            "result": result,
            "rows": [(title, holdings[title.pk]) for title in result.titles] if result else [],
            "page": page,
        },
    )
