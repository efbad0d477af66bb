"""The members' catalogue (OPAC), public pages: the home page, search with facets,
a title's page, the sitemap and robots.txt, on a library's host (its own
collection first, in its name and colours) and on the national host (national
search). Thin: every read is the catalogue's search selector, the national
holdings index, or a library's own selectors."""

import json
import math
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from catalogue.models import Audience, MaterialType, Title
from catalogue.selectors import (
    COUNT_CAP,
    holdings_per_branch,
    holdings_summaries,
    title_editions,
    title_holders,
    title_search,
    titles_held_by,
)
from circulation.selectors import title_copies_public
from tenants.models import Branch, LibraryOrganisation
from tenants.selectors import branch_choices, branches_of, opening_week, registry_overview

from .forms import PAGE_SIZE, SORT_CHOICES, SearchForm
from .session import signed_in_member

MAX_PAGE = math.ceil(COUNT_CAP / PAGE_SIZE)
def language_label(code):
    from django.utils.translation import gettext

    names = {"dut": gettext("Nederlands"), "eng": gettext("Engels"), "ger": gettext("Duits"),
             "fre": gettext("Frans"), "spa": gettext("Spaans"), "ita": gettext("Italiaans"),
             "ara": gettext("Arabisch"), "tur": gettext("Turks"), "pol": gettext("Pools"),
             "fry": gettext("Fries"), "ukr": gettext("Oekraïens"), "lat": gettext("Latijn")}
    return names.get(code, code)


def title_slug(title):
    return slugify(title.title)[:60].strip("-") or "titel"


def title_url(title):
    return reverse("opac:title", kwargs={"title_id": title.pk, "slug": title_slug(title)})


def opac_render(request, template, context=None, status=200):
    context = dict(context or {})
    context.setdefault("member", signed_in_member(request) if request.library is not None else None)
    context.setdefault("national", request.library is None)
    response = render(request, template, context, status=status)
    if context["member"] is not None:
        response["Cache-Control"] = "private, no-store"
    return response


def form_rows(form, errors=None):
    """[(bound field, its error sentences)] with aria-invalid / aria-describedby set,
    and the errors that belong to no field: what templates/opac/_form_fields.html shows."""
    errors = dict(errors or {})
    rows = []
    for field in form:
        messages = list(errors.pop(field.name, []))
        described = []
        if field.help_text:
            described.append(f"{field.auto_id}-uitleg")
        if messages:
            described.append(f"{field.auto_id}-fout")
            field.field.widget.attrs["aria-invalid"] = "true"
        if described:
            field.field.widget.attrs["aria-describedby"] = " ".join(described)
        rows.append((field, messages))
    general = [message for messages in errors.values() for message in messages]
    return rows, general


def friendly_error(request, heading, text, status):
    return opac_render(request, "opac/error.html", {"heading": heading, "text": text}, status=status)


# --- home ----------------------------------------------------------------------------

@require_GET
def home(request):
    """A library's catalogue home: search, and its branches with opening hours."""
    branches = [(branch, opening_week(branch)) for branch in branches_of(request.library)]
    return opac_render(request, "opac/home.html", {"form": SearchForm(), "branches": branches})


@require_GET
def national_home(request):
    """The national entry page: national search and every library by province."""
    port = request.get_port()
    return opac_render(request, "opac/national_home.html", {
        "form": SearchForm(), "provinces": registry_overview(), "scheme": request.scheme,
        "port_suffix": "" if port in ("80", "443") else f":{port}",
    })


# --- search --------------------------------------------------------------------------

def _query_string(data, **changes):
    values = {key: value for key, value in data.items() if value not in (None, "", False)}
    for key, value in changes.items():
        if value in (None, "", False):
            values.pop(key, None)
        else:
            values[key] = value
    if "pagina" not in changes:
        values.pop("pagina", None)
    return urlencode({key: (1 if value is True else value) for key, value in values.items()})


def _facet_links(request, data, facets, branches, facet_branch):
    """The facets as (heading, [(label, count, url, active)]) for the template."""
    labels = {
        "material_type": (_("Soort"), "soort", dict(MaterialType.choices)),
        "language": (_("Taal"), "taal", None),
        "audience": (_("Doelgroep"), "doelgroep", dict(Audience.choices)),
        "decade": (_("Periode"), "decennium", None),
    }
    groups = []
    for facet, (heading, parameter, names) in labels.items():
        values = facets.get(facet, [])
        if not values:
            continue
        current = data.get(parameter)
        links = []
        for value, count in values[:12]:
            if facet == "language":
                label = language_label(value)
            elif facet == "decade":
                label = _("%(decade)s-%(end)s") % {"decade": value, "end": int(value) + 9}
            else:
                label = str(names.get(value, value))
            active = str(current) == str(value)
            links.append((label, count, "?" + _query_string(data, **{parameter: None if active else value}), active))
        groups.append((heading, links))
    if request.library is not None:
        links = []
        held = dict(facets.get("held_here", []))
        active = bool(data.get("hier"))
        links.append((_("In deze bibliotheek"), held.get("yes", 0),
                      "?" + _query_string(data, hier=not active), active))
        for branch in branches:
            active = data.get("vestiging") == branch.pk
            count = dict(facets.get("available_here", [])).get("yes", 0) if facet_branch == branch.pk else None
            links.append((_("Nu aanwezig in %(branch)s") % {"branch": branch.name}, count,
                          "?" + _query_string(data, vestiging=None if active else branch.pk), active))
        groups.append((_("Beschikbaarheid"), links))
    return groups


@require_GET
def search(request):
    library = request.library
    form = SearchForm(request.GET or None)
    branches = branch_choices(library) if library is not None else []
    context = {"form": form, "sort_choices": SORT_CHOICES, "branches": branches}
    if not request.GET:
        return opac_render(request, "opac/search.html", context)
    if not form.is_valid():
        context["form_errors"] = [message for errors in form.errors.values() for message in errors]
        return opac_render(request, "opac/search.html", context, status=400)
    data = form.cleaned_data
    page = data.get("pagina") or 1
    if page > MAX_PAGE:
        context["page_too_far"] = page
        context["first_page_url"] = "?" + _query_string(data, pagina=None)
        return opac_render(request, "opac/search.html", context, status=404)
    branch_ids = {branch.pk for branch in branches}
    if data.get("vestiging") and data["vestiging"] not in branch_ids:
        context["form_errors"] = [_("Deze vestiging hoort niet bij deze bibliotheek.")]
        return opac_render(request, "opac/search.html", context, status=400)
    member = signed_in_member(request) if library is not None else None
    facet_branch = data.get("vestiging") or (member.preferred_branch_id if member else None) or \
        (branches[0].pk if branches else None)
    decade = data.get("decennium")
    result = title_search(
        query=data["q"], material_type=data["soort"] or None, language=data["taal"] or None,
        audience=data["doelgroep"] or None, year_from=decade, year_to=decade + 9 if decade else None,
        held_by=library.pk if library is not None and data.get("hier") else None,
        available_at_branch=data.get("vestiging"), sort=data.get("sorteer") or "relevance",
        facets=True, facet_organisation=library.pk if library is not None else None,
        facet_branch=facet_branch if library is not None else None,
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE,
    )
    ids = [title.pk for title in result.titles]
    if library is not None:
        summaries = holdings_summaries(title_ids=ids, organisation=library)
        per_branch = holdings_per_branch(title_ids=ids, organisation=library)
    else:
        summaries = holdings_summaries(title_ids=ids, organisation=None)
        per_branch = {}
    materials = {value: str(label) for value, label in MaterialType.choices}  # once, not per row
    rows = [{"title": title, "url": title_url(title), "summary": summaries[title.pk],
             "material": materials.get(title.material_type, title.material_type),
             "branches": per_branch.get(title.pk, []), "similar": title.pk in result.similar_ids}
            for title in result.titles]
    if page > 1 and not rows:
        context["page_too_far"] = page
        context["first_page_url"] = "?" + _query_string(data, pagina=None)
        return opac_render(request, "opac/search.html", context, status=404)
    link_data = data
    pages = math.ceil(result.total / PAGE_SIZE) if result.total else 1
    context.update({
        "result": result, "rows": rows, "page": page,
        "facets": _facet_links(request, data, result.facets or {}, branches, facet_branch),
        "previous_url": "?" + _query_string(link_data, pagina=page - 1) if page > 1 else None,
        "next_url": "?" + _query_string(link_data, pagina=page + 1) if result.has_more and page < MAX_PAGE else None,
        "pages": min(pages, MAX_PAGE),
        "sort_urls": [(value, label, "?" + _query_string(link_data, sorteer=None if value == "relevance" else value))
                      for value, label in SORT_CHOICES],
        "current_sort": data.get("sorteer") or "relevance",
    })
    return opac_render(request, "opac/search.html", context)


# --- title page ----------------------------------------------------------------------

def _title_or_404(title_id):
    title = Title.objects.defer("marc").filter(pk=title_id).first()
    if title is None:
        raise Http404
    return title


def title_unknown(request):
    return friendly_error(request, _("Titel niet gevonden"),
                          _("Deze titel bestaat niet (meer) in de catalogus. Zoek opnieuw."), 404)


@require_GET
def title_detail(request, title_id, slug=None):
    title = Title.objects.defer("marc").filter(pk=title_id).first()
    if title is None:
        return title_unknown(request)
    canonical = title_url(title)
    if slug != title_slug(title):
        return redirect(canonical, permanent=True)
    library = request.library
    holders = title_holders(title_id=title.pk)
    context = {"title": title, "title_slug": title_slug(title), "canonical": request.build_absolute_uri(canonical),
               "material_label": title.get_material_type_display(), "language_label": language_label(title.language),
               "editions": [(edition, title_url(edition)) for edition in title_editions(title)]}
    if library is not None:
        context["copies"] = title_copies_public(title.pk)
        context["own_total"] = sum(len(copies) for _branch, copies in context["copies"])
        context["elsewhere"] = [holder for holder in holders if holder["organisation_id"] != library.pk]
        context["branches"] = branch_choices(library)
        member = signed_in_member(request)
        context["default_pickup"] = member.preferred_branch_id if member else None
    else:
        port = request.get_port()
        suffix = "" if port in ("80", "443") else f":{port}"
        domains = {organisation.pk: organisation.get_primary_domain() for organisation in
                   LibraryOrganisation.objects.filter(pk__in=[h["organisation_id"] for h in holders])}
        for holder in holders:
            domain = domains.get(holder["organisation_id"])
            holder["url"] = f"{request.scheme}://{domain.domain}{suffix}{canonical}" if domain else None
        context["elsewhere"] = holders
    context["json_ld"] = json.dumps(_book_json_ld(title, context["canonical"], library), ensure_ascii=False)
    return opac_render(request, "opac/title.html", context)


def _book_json_ld(title, url, library):
    data = {"@context": "https://schema.org", "@type": "Book", "@id": url, "url": url, "name": title.title}
    if title.subtitle:
        data["alternativeHeadline"] = title.subtitle
    authors = [c.get("name") for c in (title.contributors or []) if isinstance(c, dict) and c.get("name")]
    if authors:
        data["author"] = [{"@type": "Person", "name": name} for name in authors]
    if title.isbns:
        data["isbn"] = title.isbns[0]
    if title.year:
        data["datePublished"] = str(title.year)
    if title.publisher:
        data["publisher"] = {"@type": "Organization", "name": title.publisher}
    if title.language:
        data["inLanguage"] = title.language
    if title.edition:
        data["bookEdition"] = title.edition
    if title.subjects:
        data["about"] = title.subjects[:10]
    if library is not None:
        data["provider"] = {"@type": "Library", "name": library.name}
    return data


# --- sitemap and robots --------------------------------------------------------------

SITEMAP_URLS = 10000


@require_GET
def sitemap(request):
    """A library's sitemap: its home page and the titles it holds (paged by title id:
    ?na=<id> continues after that id; the first page links to the next in an index)."""
    try:
        after = max(0, int(request.GET.get("na", "0")))
    except ValueError:
        after = 0
    rows = titles_held_by(organisation=request.library, after_id=after, limit=SITEMAP_URLS)
    base = f"{request.scheme}://{request.get_host()}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    if not after:
        lines.append(f"<url><loc>{base}/</loc></url>")
    for pk, text, updated in rows:
        slug = slugify(text)[:60].strip("-") or "titel"
        lines.append(f"<url><loc>{base}/titel/{pk}-{slug}/</loc><lastmod>{updated:%Y-%m-%d}</lastmod></url>")
    lines.append("</urlset>")
    response = HttpResponse("\n".join(lines), content_type="application/xml; charset=utf-8")
    if len(rows) == SITEMAP_URLS:
        response["Link"] = f'<{base}/sitemap.xml?na={rows[-1][0]}>; rel="next"'
    return response


@require_GET
def robots(request):
    lines = ["User-agent: *", "Disallow: /mijn/", "Disallow: /balie/", "Disallow: /aanmelden/",
             "Disallow: /registreren/", "Disallow: /leden/", "Disallow: /uitlening/", "Disallow: /reserveringen/",
             "Disallow: /collectie/", "Disallow: /berichten/", "Disallow: /admin/", "Disallow: /zoeken/",
             "Disallow: /titel/*/reserveren/"]
    if request.library is not None:
        lines.append(f"Sitemap: {request.scheme}://{request.get_host()}/sitemap.xml")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def branch_of_library(library, branch_id):
    try:
        return Branch.objects.filter(pk=int(branch_id), organisation=library, is_active=True).first()
    except (TypeError, ValueError):
        return None
