"""Catalogue search: the selector (full-text with Dutch stemming and accent
folding, prefixes, typos, ISBN/EAN, filters, ranking) and the staff search screen."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalogue.models import Audience, Holding, MaterialType
from catalogue.selectors import (
    COUNT_CAP,
    FULLTEXT_ENOUGH,
    STRATEGY_BROWSE,
    STRATEGY_FULLTEXT,
    STRATEGY_IDENTIFIER,
    STRATEGY_NONE,
    holdings_summaries,
    title_get,
    title_search,
)
from tests.factories import TitleFactory

pytestmark = pytest.mark.django_db

# ISBN 90-245-1234-? : a valid ISBN-10 and its ISBN-13 form.
ISBN10 = "9024512344"
ISBN10_HYPHENS = "90-245-1234-4"
ISBN13 = "9789024512348"
ISBN13_HYPHENS = "978-90-245-1234-8"


def found(result):
    return [title.title for title in result.titles]


def search(**kwargs):
    return found(title_search(**kwargs))


def test_isbn_checksums_used_here_are_valid():
    from catalogue.normalise import isbn_normalise

    assert isbn_normalise(ISBN10) == ISBN13
    assert isbn_normalise(ISBN13_HYPHENS) == ISBN13


# --- Full-text ------------------------------------------------------------------------------


def test_dutch_stemming_plural_finds_singular():
    TitleFactory(title="Het grote boek van de zee")
    TitleFactory(title="Fietsen in Friesland")
    assert search(query="boeken") == ["Het grote boek van de zee"]
    assert search(query="fiets") == ["Fietsen in Friesland"]


@pytest.mark.parametrize("query", ["elfen", "Ëlfen", "ELFEN"])
def test_accents_are_folded_in_query_and_title(query):
    TitleFactory(title="Het land van de Ëlfen")
    assert search(query=query) == ["Het land van de Ëlfen"]


def test_accent_in_query_finds_title_without_accent_and_the_other_way_round():
    TitleFactory(title="Het café op de hoek")
    TitleFactory(title="Cafe Amsterdam")
    assert sorted(search(query="cafe")) == ["Cafe Amsterdam", "Het café op de hoek"]
    assert sorted(search(query="café")) == ["Cafe Amsterdam", "Het café op de hoek"]


def test_last_word_is_a_prefix():
    TitleFactory(title="Harry Potter en de steen der wijzen", contributors_text="Rowling, J.K.")
    TitleFactory(title="Harry Mulisch: een biografie", contributors_text="Anbeek, Ton")
    result = title_search(query="harry pot")
    assert found(result) == ["Harry Potter en de steen der wijzen"]
    assert result.strategy == STRATEGY_FULLTEXT
    assert search(query="rowl") == ["Harry Potter en de steen der wijzen"]


def test_all_words_must_match():
    TitleFactory(title="De ontdekking van de hemel", contributors_text="Mulisch, Harry")
    TitleFactory(title="De hemel boven Berlijn", contributors_text="Jansen, Kees")
    assert search(query="ontdekking hemel") == ["De ontdekking van de hemel"]
    assert search(query="hemel mulisch") == ["De ontdekking van de hemel"]


def test_series_subtitle_and_subjects_are_searched():
    TitleFactory(title="Eerste deel", series="Dolfje Weerwolfje")
    TitleFactory(title="Tweede deel", subtitle="een verhaal over walvissen")
    TitleFactory(title="Derde deel", subjects=["Tweede Wereldoorlog"], subjects_text="Tweede Wereldoorlog")
    assert search(query="weerwolfje") == ["Eerste deel"]
    assert search(query="walvis") == ["Tweede deel"]
    assert search(query="wereldoorlog") == ["Derde deel"]


def test_title_match_ranks_above_subject_match():
    TitleFactory(title="Over vroeger", subjects=["Dinosaurussen"], subjects_text="Dinosaurussen", year=2024)
    TitleFactory(title="Het grote dinosaurussenboek", year=1990)
    TitleFactory(title="Dinosaurussen", year=2000)
    # The subject match is the newest, yet ranks last.
    assert search(query="dinosaurussen") == ["Dinosaurussen", "Het grote dinosaurussenboek", "Over vroeger"]


def test_author_match_ranks_above_subject_match():
    TitleFactory(title="Leven en werk", subjects=["Tolkien, J.R.R."], subjects_text="Tolkien, J.R.R.", year=2024)
    TitleFactory(title="De hobbit", contributors_text="Tolkien, J.R.R.", year=1990)
    assert search(query="tolkien") == ["De hobbit", "Leven en werk"]


def test_websearch_syntax_phrase_and_exclusion():
    TitleFactory(title="De rode kat")
    TitleFactory(title="De kat is rood")
    TitleFactory(title="De rode hond")
    assert search(query='"rode kat"') == ["De rode kat"]
    assert sorted(search(query="rode -kat")) == ["De rode hond"]


def test_empty_query_without_filters_finds_nothing():
    TitleFactory(title="Iets")
    result = title_search(query="   ")
    assert result.titles == [] and result.total == 0 and result.strategy == STRATEGY_NONE


def test_query_of_only_punctuation_or_stopwords_finds_nothing():
    TitleFactory(title="De en het")
    assert search(query="?!") == []
    assert title_search(query="?!").strategy == STRATEGY_NONE


def test_no_match_gives_empty_result():
    TitleFactory(title="Het diner")
    result = title_search(query="xyzzyqwerty")
    assert result.titles == [] and result.total == 0 and not result.has_more


# --- Typos (trigram) ------------------------------------------------------------------------


def test_misspelled_title_is_found():
    TitleFactory(title="Harry Potter en de steen der wijzen", contributors_text="Rowling, J.K.")
    TitleFactory(title="De avonden", contributors_text="Reve, Gerard")
    result = title_search(query="hary poter")
    assert found(result) == ["Harry Potter en de steen der wijzen"]
    assert result.titles[0].pk in result.similar_ids


def test_misspelled_author_is_found():
    TitleFactory(title="In de ban van de ring", contributors_text="Tolkien, J.R.R.")
    TitleFactory(title="Max Havelaar", contributors_text="Multatuli")
    assert search(query="tolkein") == ["In de ban van de ring"]
    assert search(query="multatulli") == ["Max Havelaar"]


def test_typo_matches_come_after_exact_matches():
    TitleFactory(title="Het diner", contributors_text="Koch, Herman")
    TitleFactory(title="Het dinner", contributors_text="Smit, Anna")
    result = title_search(query="diner")
    assert found(result)[0] == "Het diner"
    assert result.titles[0].pk not in result.similar_ids


def test_typo_matching_respects_filters():
    TitleFactory(title="Harry Potter en de steen der wijzen", material_type=MaterialType.BOOK)
    TitleFactory(title="Harry Potter en de steen der wijzen", material_type=MaterialType.DVD)
    result = title_search(query="hary poter", material_type=MaterialType.DVD)
    assert [title.material_type for title in result.titles] == [MaterialType.DVD]


# --- ISBN and EAN ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", [ISBN10, ISBN10_HYPHENS, ISBN13, ISBN13_HYPHENS, " 978 90 245 1234 8 "])
def test_isbn_in_any_form_finds_the_title(query):
    TitleFactory(title="Gezocht", isbns=[ISBN13])
    TitleFactory(title="Ander boek", isbns=["9789024512355"])
    result = title_search(query=query)
    assert found(result) == ["Gezocht"]
    assert result.strategy == STRATEGY_IDENTIFIER


def test_isbn_with_a_wrong_checksum_finds_nothing():
    TitleFactory(title="Gezocht", isbns=[ISBN13])
    assert search(query="9789024512349") == []


def test_ean_of_audiovisual_material():
    TitleFactory(title="De film", material_type=MaterialType.DVD, eans=["8712626034575"])
    assert search(query="8712626034575") == ["De film"]


def test_isbn_found_as_ean_too():
    TitleFactory(title="Luisterboek", material_type=MaterialType.AUDIOBOOK, eans=[ISBN13])
    assert search(query=ISBN10_HYPHENS) == ["Luisterboek"]


def test_isbn_lookup_uses_the_array_index():
    TitleFactory(title="Gezocht", isbns=[ISBN13])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM catalogue_title WHERE isbns @> ARRAY[%s]::varchar(13)[]", [ISBN13]
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "title_isbns" in plan


# --- Filters --------------------------------------------------------------------------------


@pytest.fixture
def mixed():
    TitleFactory(title="Zee boek", material_type=MaterialType.BOOK, language="dut", year=1995,
                 audience=Audience.ADULT)
    TitleFactory(title="Zee film", material_type=MaterialType.DVD, language="eng", year=2010,
                 audience=Audience.YOUTH)
    TitleFactory(title="Zee luisterboek", material_type=MaterialType.AUDIOBOOK, language="dut", year=2020,
                 audience=Audience.YOUTH)


def test_filter_material_type(mixed):
    assert search(query="zee", material_type=MaterialType.DVD) == ["Zee film"]


def test_filter_language(mixed):
    assert sorted(search(query="zee", language="dut")) == ["Zee boek", "Zee luisterboek"]


def test_filter_year_range_is_inclusive(mixed):
    assert sorted(search(query="zee", year_from=2010)) == ["Zee film", "Zee luisterboek"]
    assert search(query="zee", year_to=1995) == ["Zee boek"]
    assert search(query="zee", year_from=2010, year_to=2010) == ["Zee film"]


def test_filter_audience(mixed):
    assert search(query="zee", audience=Audience.ADULT) == ["Zee boek"]


def test_filters_apply_to_isbn_lookup(mixed):
    TitleFactory(title="Gezocht", isbns=[ISBN13], material_type=MaterialType.BOOK)
    assert search(query=ISBN13, material_type=MaterialType.BOOK) == ["Gezocht"]
    assert search(query=ISBN13, material_type=MaterialType.DVD) == []


def test_filters_without_query_list_newest_first(mixed):
    result = title_search(language="dut")
    assert found(result) == ["Zee luisterboek", "Zee boek"]
    assert result.strategy == STRATEGY_BROWSE


def test_unknown_material_type_is_refused():
    with pytest.raises(ValueError):
        title_search(query="zee", material_type="scroll")


# --- Paging and counting --------------------------------------------------------------------


def test_paging_through_full_text_results():
    for number in range(FULLTEXT_ENOUGH + 5):
        TitleFactory(title=f"Walvissen deel {number}", year=2000 + number)
    first = title_search(query="walvissen", limit=10)
    second = title_search(query="walvissen", limit=10, offset=10)
    assert first.total == FULLTEXT_ENOUGH + 5 and not first.total_capped
    assert first.has_more and not second.has_more
    assert len(first.titles) == 10 and len(second.titles) == 5
    assert not {t.pk for t in first.titles} & {t.pk for t in second.titles}


def test_count_is_capped(monkeypatch):
    monkeypatch.setattr("catalogue.selectors.COUNT_CAP", 12)
    for number in range(15):
        TitleFactory(title=f"Walvissen deel {number}")
    result = title_search(query="walvissen", limit=5)
    assert result.total == 12 and result.total_capped and result.has_more
    assert COUNT_CAP >= 1000


def test_title_get():
    title = TitleFactory(title="Het diner")
    assert title_get(title.pk) == title


# --- Holdings summary -----------------------------------------------------------------------


@pytest.fixture
def held(libraries):
    title = TitleFactory(title="Het diner")
    alpha_branches = list(libraries.alpha.branches.order_by("code"))
    Holding.objects.create(title=title, organisation=libraries.alpha, branch=alpha_branches[0], total=2, available=1)
    Holding.objects.create(title=title, organisation=libraries.alpha, branch=alpha_branches[1], total=1, available=1)
    Holding.objects.create(title=title, organisation=libraries.beta, branch=libraries.beta.branches.first(),
                           total=3, available=2)
    Holding.objects.create(title=title, organisation=libraries.gamma, branch=libraries.gamma.branches.first(),
                           total=1, available=0)
    return title


def test_holdings_summaries_split_own_and_other_libraries(held, libraries):
    unheld = TitleFactory(title="Niet in bezit")
    with CaptureQueriesContext(connection) as queries:
        summaries = holdings_summaries(title_ids=[held.pk, unheld.pk], organisation=libraries.alpha)
    assert len(queries) == 1
    mine = summaries[held.pk]
    assert (mine.own_total, mine.own_available) == (3, 2)
    assert (mine.other_total, mine.other_available, mine.other_libraries) == (4, 2, 2)
    assert summaries[unheld.pk].own_total == 0 and summaries[unheld.pk].other_total == 0


# --- The staff screen -----------------------------------------------------------------------


URL = "/collectie/zoeken/"


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params, HTTP_HOST="alpha.localhost")


def test_url_name():
    assert reverse("search:search", urlconf="lsb.urls_tenants") == URL


def test_desk_staff_search_too_other_roles_are_refused(client, staff):
    # The desk finds a barcode or tells a member where a book is (issue 12, item 12).
    assert get(client, staff.alpha_desk, q="diner").status_code == 200
    assert get(client, staff.alpha_acquisitions, q="diner").status_code == 403


def test_staff_of_another_library_is_refused(client, staff):
    response = get(client, staff.beta_desk, q="diner")
    assert response.status_code == 403


def test_signed_out_goes_to_sign_in(client):
    response = client.get(URL, {"q": "diner"}, HTTP_HOST="alpha.localhost")
    assert response.status_code == 302


def test_empty_screen_has_autofocused_search_box(client, staff):
    response = get(client, staff.alpha_collection)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="q"' in html and "autofocus" in html
    assert 'data-testid="result"' not in html and "Geen resultaten" not in html


def test_collection_staff_sees_results_with_details_and_links(client, staff):
    title = TitleFactory(title="Het diner", subtitle="roman", contributors_text="Koch, Herman", year=2009,
                         isbns=[ISBN13], material_type=MaterialType.BOOK)
    response = get(client, staff.alpha_collection, q="diner")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Het diner" in html and "roman" in html and "Koch, Herman" in html
    assert "2009" in html and ISBN13 in html and "Boek" in html
    assert f'href="/collectie/titel/{title.pk}/"' in html
    assert html.count('data-testid="result"') == 1


def test_library_admin_may_search(client, staff):
    TitleFactory(title="Het diner")
    assert get(client, staff.alpha_library_admin, q="diner").status_code == 200


def test_scanned_isbn_finds_the_title(client, staff):
    TitleFactory(title="Gezocht", isbns=[ISBN13])
    html = get(client, staff.alpha_collection, q=ISBN10_HYPHENS).content.decode()
    assert "Gezocht" in html and "gevonden op ISBN/EAN" in html


def test_no_results_message(client, staff):
    html = get(client, staff.alpha_collection, q="xyzzyqwerty").content.decode()
    assert "Geen resultaten voor ‘xyzzyqwerty’" in html


@pytest.mark.parametrize(
    "params, message",
    [
        ({"q": "zee", "year_from": "abc"}, "Vul bij jaar vanaf een jaartal in, bijvoorbeeld 2015."),
        ({"q": "zee", "year_to": "20x0"}, "Vul bij jaar tot en met een jaartal in, bijvoorbeeld 2015."),
        ({"q": "zee", "year_from": "2020", "year_to": "2010"},
         "Het jaar vanaf (2020) ligt na het jaar tot en met (2010)."),
        ({"q": "zee", "material_type": "scroll"}, "Kies een materiaalsoort uit de lijst."),
        ({"q": "zee", "language": "klingon"}, "Kies een taal uit de lijst."),
        ({"q": "zee", "page": "0"}, "Ongeldig paginanummer."),
    ],
)
def test_invalid_filter_gives_dutch_error_and_no_search(client, staff, params, message):
    TitleFactory(title="Zee")
    response = get(client, staff.alpha_collection, **params)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'data-testid="result"' not in html


def test_filters_on_screen(client, staff):
    TitleFactory(title="Zee boek", material_type=MaterialType.BOOK, year=1995)
    TitleFactory(title="Zee film", material_type=MaterialType.DVD, year=2010)
    html = get(client, staff.alpha_collection, q="zee", material_type="dvd", year_from="2000").content.decode()
    assert "Zee film" in html and "Zee boek" not in html


def test_pagination_links_keep_the_query(client, staff):
    for number in range(25):
        TitleFactory(title=f"Walvissen deel {number}")
    html = get(client, staff.alpha_collection, q="walvissen", material_type="book").content.decode()
    assert html.count('data-testid="result"') == 20
    assert 'href="?q=walvissen&amp;material_type=book&amp;page=2"' in html
    html = get(client, staff.alpha_collection, q="walvissen", material_type="book", page="2").content.decode()
    assert html.count('data-testid="result"') == 5
    assert "page=1" in html and 'rel="next"' not in html


def test_screen_shows_holdings_here_and_elsewhere_in_one_query(client, staff, held):
    for number in range(3):
        title = TitleFactory(title=f"Het diner deel {number}")
        Holding.objects.create(title=title, organisation=staff.alpha_collection.library_roles.first().organisation,
                               branch=Holding.objects.filter(title=held).first().branch, total=1, available=1)
    client.force_login(staff.alpha_collection)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"q": "diner"}, HTTP_HOST="alpha.localhost")
    html = response.content.decode()
    assert "3 ex., 2 beschikbaar" in html
    assert "2 van 4 beschikbaar bij 2 bibliotheken" in html
    assert html.count("1 ex., 1 beschikbaar") == 3
    holding_queries = [q for q in queries.captured_queries if "catalogue_holding" in q["sql"]]
    assert len(holding_queries) == 1


# --- The typo dictionary and broad queries --------------------------------------------------


def test_search_words_follow_title_inserts_and_updates():
    from catalogue.models import SearchWord

    title = TitleFactory(title="Het Zwanenmeer", contributors_text="Tsjaikovski, Pjotr")
    assert {"zwanenmeer", "tsjaikovski", "pjotr"} <= set(SearchWord.objects.values_list("word", flat=True))
    title.title, title.title_folded = "Notenkraker", "notenkraker"
    title.save()
    assert SearchWord.objects.filter(word="notenkraker").exists()
    assert search(query="notenkrakr") == ["Notenkraker"]


def test_broad_query_ranks_title_matches_first(monkeypatch):
    monkeypatch.setattr("catalogue.selectors.RANK_CANDIDATES", 3)
    for number in range(6):
        TitleFactory(title=f"Deel {number}", subjects=["Walvissen"], subjects_text="Walvissen")
    TitleFactory(title="Walvissen")
    result = title_search(query="walvissen", limit=2)
    assert found(result)[0] == "Walvissen"
    assert result.total == 7 and result.has_more


# --- Speed measures that must not change what is found ---------------------------------------


def test_last_word_is_a_prefix_only_while_whole_words_find_few(monkeypatch):
    monkeypatch.setattr("catalogue.selectors.PREFIX_WHEN_FEWER", 2)
    TitleFactory(title="Rode kat")
    TitleFactory(title="Rodeo in Texas")
    # One whole-word match: the word may be unfinished, so 'rodeo' counts too.
    assert sorted(search(query="rode")) == ["Rode kat", "Rodeo in Texas"]
    TitleFactory(title="De rode hond")
    # Enough whole-word matches: 'rode' is taken as typed.
    assert sorted(search(query="rode")) == ["De rode hond", "Rode kat"]


def test_common_filter_values_and_a_long_year_range_are_checked_on_the_rows(mixed):
    assert search(query="zee", material_type=MaterialType.BOOK, language="dut", audience=Audience.ADULT) == [
        "Zee boek"]
    assert sorted(search(query="zee", year_from=1000, year_to=2999)) == ["Zee boek", "Zee film", "Zee luisterboek"]
    assert search(query="zee", year_from=1900, year_to=1999) == ["Zee boek"]


def test_filtered_search_intersects_words_and_filters_in_one_index(mixed):
    with CaptureQueriesContext(connection) as queries:
        assert search(query="zee", material_type=MaterialType.DVD, year_from=2005, year_to=2015) == ["Zee film"]
    statements = [q["sql"] for q in queries.captured_queries]
    assert any("SET LOCAL jit = off" in sql for sql in statements)
    ranked = next(sql for sql in statements if "WITH candidates" in sql)
    assert "ARRAY[year] &&" in ranked
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + ranked)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "title_search_filters" in plan and "ARRAY[year] &&" in plan.split("title_search_filters", 1)[1]


def test_typo_correction_keeps_only_alternatives_nearly_as_close_as_the_best():
    TitleFactory(title="Het verhaal", contributors_text="Schoolma, Anna")
    TitleFactory(title="School", contributors_text="Jansen, Piet")
    result = title_search(query="schoolmma")
    assert found(result) == ["Het verhaal"]
    assert result.strategy == "trigram"
