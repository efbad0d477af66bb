"""Search and title pages of the OPAC: words, facets with counts, filters, sorting,
paging, availability per branch and elsewhere; the title page with its copies,
JSON-LD and Open Graph; sitemap and robots; national search."""

import json
import re

import pytest
from django_tenants.utils import tenant_context

from catalogue.selectors import title_search
from tests.circulation.factories import make_items
from tests.factories import TitleFactory

from .conftest import text

pytestmark = pytest.mark.django_db


def test_search_shows_availability_per_branch_and_elsewhere(visitor, opac, libraries):
    beta_branch = libraries.beta.branches.order_by("name").first()
    with tenant_context(libraries.beta):
        make_items(libraries.beta, branch=beta_branch, title=opac.title)
    response = visitor.get("/zoeken/", {"q": "ontdekking hemel"})
    assert response.status_code == 200
    page = text(response)
    assert "De ontdekking van de hemel" in page
    assert f"{opac.main.name}: 2 aanwezig" in page
    assert "1 andere bibliotheek heeft deze titel" in page
    # facets with counts
    assert "Boek <span class=\"count\">(1)</span>" in page
    assert "In deze bibliotheek <span class=\"count\">(1)</span>" in page


def test_facets_filters_sorting_and_selector(opac, libraries):
    TitleFactory(title="Hemel en aarde", year=1990, language="eng")
    TitleFactory(title="Hemel boven", year=2021, material_type="dvd")
    result = title_search(query="hemel", facets=True, facet_organisation=libraries.alpha.pk,
                          facet_branch=opac.main.pk)
    assert dict(result.facets["material_type"]) == {"book": 2, "dvd": 1}
    assert dict(result.facets["decade"]) == {"1990": 1, "2020": 2}
    assert dict(result.facets["held_here"]) == {"yes": 1}
    assert dict(result.facets["available_here"]) == {"yes": 1}
    held = title_search(query="hemel", held_by=libraries.alpha.pk)
    assert [title.pk for title in held.titles] == [opac.title.pk]
    here = title_search(query="hemel", available_at_branch=opac.other.pk)
    assert here.titles == []
    newest = title_search(query="hemel", sort="newest")
    assert [t.year for t in newest.titles] == sorted([t.year for t in newest.titles], reverse=True)
    by_title = title_search(query="hemel", sort="title")
    assert [t.title for t in by_title.titles][0] == "De ontdekking van de hemel"
    browse = title_search(held_by=libraries.alpha.pk, facets=True)
    assert [t.pk for t in browse.titles] == [opac.title.pk] and dict(browse.facets["material_type"]) == {"book": 1}


def test_facet_links_filter_the_results(visitor, opac):
    TitleFactory(title="Hemelse dvd", material_type="dvd")
    page = text(visitor.get("/zoeken/", {"q": "hemel", "soort": "dvd"}))
    assert "Hemelse dvd" in page and "De ontdekking van de hemel" not in page
    page = text(visitor.get("/zoeken/", {"q": "hemel", "hier": "1"}))
    assert "De ontdekking van de hemel" in page and "Hemelse dvd" not in page
    page = text(visitor.get("/zoeken/", {"q": "hemel", "vestiging": opac.main.pk, "sorteer": "title"}))
    assert "De ontdekking van de hemel" in page


def test_title_page_copies_json_ld_open_graph(visitor, opac):
    url = f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/"
    response = visitor.get(url)
    assert response.status_code == 200
    page = text(response)
    assert opac.main.name in page and "Aanwezig" in page
    assert '<meta property="og:title" content="De ontdekking van de hemel">' in page
    assert '<meta property="book:isbn" content="9789023411118">' in page
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["@type"] == "Book" and data["isbn"] == "9789023411118"
    assert data["author"] == [{"@type": "Person", "name": "Mulisch, Harry"}]
    # a short or wrong slug redirects to the canonical address
    response = visitor.get(f"/titel/{opac.title.pk}/")
    assert response.status_code == 301 and response["Location"] == url


def test_title_page_shows_due_date_of_lent_copy(visitor, opac):
    from circulation.services.loans import checkout

    with tenant_context(opac.library):
        loan = checkout(actor=opac.actor(), card_number=opac.member.card_number, barcode=opac.copies[0].barcode).loan
    page = text(visitor.get(f"/titel/{opac.title.pk}-x/", follow=True))
    assert loan.due_on.strftime("%d-%m-%Y") in page
    assert opac.member.card_number not in page and "Jansen" not in page


def test_other_editions(visitor, opac):
    other = TitleFactory(title=opac.title.title, contributors_text=opac.title.contributors_text, year=1999,
                         edition="2e druk")
    page = text(visitor.get(f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/"))
    assert "Andere edities" in page and f"/titel/{other.pk}-" in page


def test_sitemap_and_robots(visitor, opac):
    sitemap = text(visitor.get("/sitemap.xml"))
    assert f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/" in sitemap
    robots = text(visitor.get("/robots.txt"))
    assert "Disallow: /mijn/" in robots and "Sitemap: http://alpha.localhost/sitemap.xml" in robots


def test_national_search_lists_libraries_holding_a_title(client, opac):
    client.defaults["HTTP_HOST"] = "localhost"
    page = text(client.get("/zoeken/", {"q": "ontdekking"}))
    assert "De ontdekking van de hemel" in page
    assert "1 bibliotheek heeft deze titel" in page
    page = text(client.get(f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/"))
    assert "Testbibliotheek alpha" in page and "http://alpha.localhost" in page
    assert "Mijn bibliotheek" not in page
