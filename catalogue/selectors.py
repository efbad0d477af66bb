"""Reads on the national catalogue: one title search for the staff screens, the
OPAC and the API, a title by id, and the national holdings of a page of titles.

Search strategies, in order:

1. identifier: a query that looks like an ISBN/EAN is looked up exactly in
   `Title.isbns` / `Title.eans` (GIN, array contains). ISBN-10 and ISBN-13,
   with or without hyphens or spaces, with or without 'ISBN' (or 'EAN') before
   it, all become the same ISBN-13; an ISSN ('ISSN 0317-8471') in `Title.issns`.
2. fulltext: PostgreSQL full-text search on `Title.search_vector`, generated from
   the title's text folded by catalogue.normalise.fold; the query's words go
   through the very same fold (then config `lsb_dutch`: Dutch stemming), so a
   word typed as printed is found in every script (Cyrillic й, kana with voicing
   marks, Hangul, Arabic, Hebrew, Greek; Chinese and Japanese as pairs of
   characters), and Latin letters with or without accents. Every word must match;
   when the whole words find fewer than PREFIX_WHEN_FEWER titles the last word
   also counts as a prefix ('harry pot' finds 'Harry Potter'; 'rode' does not
   read the index entries of every word starting with 'rod'). websearch syntax
   ("a phrase", -word, or) is honoured. Filters are intersected with the words
   in one GIN index (title_search_filters: words, material type, language,
   audience, the year as a one-element array), except values most titles have.
   One statement counts up to COUNT_CAP + 1 matches and ranks a shortlist of
   them with ts_rank_cd and weights: a word in the title or a maker's name (A)
   counts more than one in the subtitle or series (B) and far more than one in
   a subject (C); a whole word counts more than a prefix. A query with more
   matches also puts its best matches in title or makers first (as Evergreen
   caps its "superpages"), so a broad query costs little more than a narrow one.
   The statements run without JIT (it costs more than these queries take).
3. trigram (typos): when full-text finds fewer than FULLTEXT_ENOUGH titles,
   each query word that no title or maker contains is replaced by the most
   similar words that do (pg_trgm similarity on SearchWord, the dictionary of
   the catalogue's folded title and maker words: 'hary poter' -> 'harry
   potter', 'tolkein' -> 'tolkien'), and full-text runs again; its extra
   titles come after the full-text hits.
"""

import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import MD5

from .models import SEARCH_CONFIG, Audience, Holding, MaterialType, Title
from .normalise import (
    ean_normalise, fold, isbn_normalise, issn_normalise, looks_like_identifier, looks_like_issn,
    strip_identifier_prefix,
)

# Below this many full-text hits the typo correction adds its matches.
FULLTEXT_ENOUGH = 10
# Counting stops here: beyond it the screens say "more than N".
COUNT_CAP = 1000
# Of the (up to COUNT_CAP + 1) matches counted, this many (more when paging further)
# are ranked with ts_rank_cd, chosen by cheap tests first (see _RANKED). A query with
# more than COUNT_CAP matches also ranks this many of its matches in title or makers,
# found among its first TITLE_EXAMINE matches.
RANK_CANDIDATES = 100
TITLE_EXAMINE = 2000
# ts_rank_cd weights for D, C, B, A: title and makers (A) far above subjects (C).
RANK_WEIGHTS = [0.05, 0.2, 0.5, 1.0]
# A last word shorter than this is not used as a prefix (it would match too much).
PREFIX_MIN_LENGTH = 3
# The last word also counts as a prefix only when the whole words find fewer titles
# than this: 'harry pot' finds 'Harry Potter', but 'rode' does not read the index
# entries of every word starting with 'rod' when 'rode' itself finds plenty.
PREFIX_WHEN_FEWER = 20
# Filter values most of a Dutch public library catalogue has (adult books in Dutch):
# checked on the candidate rows, which discards few, rather than intersected with the
# index entries of most of the catalogue (see _filters_sql).
COMMON_FILTER_VALUES = {("material_type", "book"), ("language", "dut"), ("audience", "adult")}
# A year range of at most this many years is looked up in the search index (see _filters_sql).
YEAR_LIST_MAX = 40
# work_mem for a search's statements (the bitmap of a common word stays exact).
SEARCH_WORK_MEM = "32MB"
# Typo correction: words of at least this length, up to this many alternatives
# per word, with at least this pg_trgm similarity ('tolkein'/'tolkien' is 0.33).
CORRECT_MIN_LENGTH = 4
CORRECTIONS_PER_WORD = 3
CORRECTION_SIMILARITY = 0.3
# Looked up first with this threshold (most typos are that close), then with the above.
CORRECTION_SIMILARITY_FIRST = 0.5
# ... and at least this share of the best alternative's similarity.
CORRECTION_RELATIVE = 0.8
_WEBSEARCH_SYNTAX = re.compile(r'"|(^|\s)-\S|\s(or|OR)\s')

SORT_RELEVANCE = "relevance"
SORTS = (SORT_RELEVANCE, "newest", "oldest", "title")
# How a query's matches are ordered for a sort other than relevance (SQL on the candidates).
_SORT_SQL = {
    "newest": "year DESC NULLS LAST, id",
    "oldest": "year ASC NULLS LAST, id",
    "title": "title_folded, id",
}
# ... and a listing without words (filters only), newest additions first by default.
_BROWSE_ORDER = {
    SORT_RELEVANCE: ("-id",),
    "newest": ("-year", "-id"),
    "oldest": ("year", "id"),
    "title": ("title_folded", "id"),
}
FACETS = ("material_type", "language", "audience", "decade")

STRATEGY_NONE = "none"
STRATEGY_BROWSE = "browse"
STRATEGY_IDENTIFIER = "identifier"
STRATEGY_FULLTEXT = "fulltext"
STRATEGY_TRIGRAM = "trigram"
STRATEGY_FULLTEXT_TRIGRAM = "fulltext+trigram"


@dataclass(frozen=True)
class TitleSearchResult:
    titles: list
    # Matching titles, counted up to COUNT_CAP; `total_capped` when there are more.
    total: int
    total_capped: bool
    has_more: bool
    strategy: str
    # Ids of the titles only the typo correction found.
    similar_ids: frozenset = field(default_factory=frozenset)
    offset: int = 0
    limit: int = 20
    # With facets=True: {facet: [(value, count)]} over the matches counted (up to
    # COUNT_CAP + 1; `total_capped` says the counts cover the first ones only).
    facets: dict | None = None


def title_get(title_id):
    """The title with this id, or Title.DoesNotExist."""
    return Title.objects.get(pk=title_id)


def title_search(
    *,
    query="",
    material_type=None,
    language=None,
    year_from=None,
    year_to=None,
    audience=None,
    held_by=None,
    available_at_branch=None,
    sort=SORT_RELEVANCE,
    facets=False,
    facet_organisation=None,
    facet_branch=None,
    limit=20,
    offset=0,
):
    """Search the national catalogue. See the module docstring for the strategies.

    Filters are exact (`material_type`, `language` (MARC code, e.g. 'dut'),
    `audience`) or inclusive (`year_from`, `year_to`); `held_by` (a library
    organisation's id: titles it holds) and `available_at_branch` (a branch id:
    titles with a copy available there) read the national holdings index; a
    filter of None or '' is not applied. Without a query the filtered titles are
    listed newest first; without query and filters the result is empty. The
    titles come without their MARC record (deferred).

    `sort`: relevance (default), newest, oldest or title; with a query, a sort
    other than relevance orders the matches counted (the first COUNT_CAP + 1).
    `facets`: also count the matches per material type, language, audience and
    decade (and, with `facet_organisation` / `facet_branch`, how many this library
    holds / have a copy available at that branch), in one more statement."""
    if material_type and material_type not in MaterialType.values:
        raise ValueError(f"unknown material type {material_type!r}")
    if audience and audience not in Audience.values:
        raise ValueError(f"unknown audience {audience!r}")
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    limit = max(1, int(limit))
    offset = max(0, int(offset))
    conditions = _filter_conditions(material_type=material_type, language=language, year_from=year_from,
                                    year_to=year_to, audience=audience, held_by=held_by,
                                    available_at_branch=available_at_branch)
    filters = _filters_q(conditions)
    query = (query or "").strip()
    page = dict(offset=offset, limit=limit)
    titles = Title.objects.defer("marc")
    facet_options = dict(organisation=facet_organisation, branch=facet_branch) if facets else None

    if not query:
        if not conditions:
            return TitleSearchResult([], 0, False, False, STRATEGY_NONE, **page, facets={} if facets else None)
        found = list(titles.filter(filters).order_by(*_BROWSE_ORDER[sort])[offset:offset + limit + 1])
        count = Title.objects.filter(filters).order_by()[: COUNT_CAP + 1].count()
        counted = None
        if facet_options is not None:
            where, params = _filters_sql(conditions)
            with _search_transaction():
                counted = _facets(None, where, params, **facet_options)
        return TitleSearchResult(found[:limit], min(count, COUNT_CAP), count > COUNT_CAP, len(found) > limit,
                                 STRATEGY_BROWSE, **page, facets=counted)

    if looks_like_issn(query):
        issn = issn_normalise(strip_identifier_prefix(query)[0])
        if issn:
            found = list(titles.filter(issns__contains=[issn]).filter(filters).order_by("id")[: COUNT_CAP + 1])
            return TitleSearchResult(
                found[offset:offset + limit], min(len(found), COUNT_CAP), len(found) > COUNT_CAP,
                len(found) > offset + limit, STRATEGY_IDENTIFIER, **page,
            )
    if looks_like_identifier(query):
        number = strip_identifier_prefix(query)[0]
        isbn = isbn_normalise(number)
        ean = ean_normalise(number.replace(" ", ""))
        lookup = Q()
        if isbn:
            lookup |= Q(isbns__contains=[isbn]) | Q(eans__contains=[isbn])
        if ean and ean != isbn:
            lookup |= Q(eans__contains=[ean])
        if lookup:
            found = list(titles.filter(lookup).filter(filters).order_by(*_BROWSE_ORDER[sort][:-1], "id")
                         [: COUNT_CAP + 1])
            counted = _facets_of(found, **facet_options) if facet_options is not None else None
            return TitleSearchResult(
                found[offset:offset + limit], min(len(found), COUNT_CAP), len(found) > COUNT_CAP,
                len(found) > offset + limit, STRATEGY_IDENTIFIER, **page, facets=counted,
            )
        # Looks like a number but is no valid ISBN/EAN: search it as text.

    where, params = _filters_sql(conditions)
    websearch = bool(_WEBSEARCH_SYNTAX.search(query))
    words = [] if websearch else fold(query).split()
    if not websearch and not words:
        return TitleSearchResult([], 0, False, False, STRATEGY_NONE, **page, facets={} if facets else None)
    page_end = offset + limit + 1
    order = None if sort == SORT_RELEVANCE else _SORT_SQL[sort]
    with _search_transaction():
        if websearch:
            search = ("websearch_to_tsquery", _websearch_folded(query))
            ids, count, counted = _fulltext_ids(search, search, None, where, params, page_end, order,
                                                facet_options)
        else:
            exact, prefixed, title_only = _tsqueries([[word] for word in words])
            ids, count, counted = _fulltext_ids(exact, exact, title_only, where, params, page_end, order,
                                                facet_options)
            if count < PREFIX_WHEN_FEWER and prefixed != exact:
                # Few whole-word matches: the last word may be unfinished ('harry pot').
                ids, count, counted = _fulltext_ids(prefixed, exact, title_only, where, params, page_end, order,
                                                    facet_options)

        similar_ids = []
        if count < FULLTEXT_ENOUGH and words:
            alternatives = _corrections(words)
            if any(len(options) > 1 for options in alternatives):
                exact, prefixed, title_only = _tsqueries(alternatives)
                # The corrected query includes the words as typed: its matches are a
                # superset of the ones found so far, which stay first.
                fuzzy_ids, fuzzy_count, fuzzy_facets = _fulltext_ids(prefixed, exact, title_only, where, params,
                                                                     page_end + len(ids), order, facet_options)
                known = set(ids)
                similar_ids = [pk for pk in fuzzy_ids if pk not in known]
                ids = ids + similar_ids
                if fuzzy_count > count:
                    counted = fuzzy_facets
                count = max(count, fuzzy_count)

    if similar_ids:
        strategy = STRATEGY_FULLTEXT_TRIGRAM if len(ids) > len(similar_ids) else STRATEGY_TRIGRAM
    else:
        strategy = STRATEGY_FULLTEXT if ids else STRATEGY_NONE
    page_ids = ids[offset:offset + limit]
    by_id = titles.in_bulk(page_ids)
    return TitleSearchResult(
        [by_id[pk] for pk in page_ids if pk in by_id], min(count, COUNT_CAP), count > COUNT_CAP,
        len(ids) > offset + limit, strategy, frozenset(similar_ids), **page, facets=counted,
    )


_WEBSEARCH_TOKEN = re.compile(r'"[^"]*"?|\S+')


def _websearch_folded(query):
    """A websearch query ("a phrase", -word, or) with its words folded as the index is."""
    parts = []
    for token in _WEBSEARCH_TOKEN.findall(query):
        if token.startswith('"'):
            parts.append('"' + fold(token.strip('"')) + '"')
        elif token.lower() == "or":
            parts.append("or")
        elif token.startswith("-") and len(token) > 1:
            folded = fold(token[1:]).split()
            parts += ["-" + folded[0]] + folded[1:] if folded else []
        else:
            parts.append(fold(token))
    return " ".join(part for part in parts if part.strip('"-'))


@contextmanager
def _search_transaction():
    """One transaction for a search's statements, with settings for short queries on
    a large table: no JIT compilation (it costs tens of milliseconds and these queries
    run for a few), and enough work_mem that the bitmap of a common word stays exact."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL jit = off; SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
        yield


def _tsqueries(alternatives):
    """(exact, prefixed, title-only) to_tsquery texts for words, each given as
    [word, its alternatives...]: every word must match; in `prefixed` the last one
    also as a prefix; `title_only` as prefixed, but in the title or makers (weight A)."""
    def term(options, prefix, weight=""):
        # Folded words hold only letters and digits: quoted they are plain lexemes.
        parts = [f"'{option}':{'*' if prefix and index == 0 else ''}{weight}".rstrip(":")
                 for index, option in enumerate(options)]
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    last = len(alternatives) - 1
    prefix_last = len(alternatives[last][0]) >= PREFIX_MIN_LENGTH
    exact = " & ".join(term(options, False) for options in alternatives)
    prefixed = " & ".join(term(options, prefix_last and index == last) for index, options in enumerate(alternatives))
    title_only = " & ".join(term(options, prefix_last and index == last, "A")
                            for index, options in enumerate(alternatives))
    return ("to_tsquery", exact), ("to_tsquery", prefixed), ("to_tsquery", title_only)


# One statement counts the first COUNT_CAP + 1 matches (or up to the page end) and
# ranks them: the index gives them (words and filters intersected in
# title_search_filters) and their rows are read once. ts_rank_cd costs ~10 µs a row,
# so a cheap shortlist comes first: matches with every word in title or makers
# (weight A), then those with whole words, newest first; only the shortlist's
# RANK_CANDIDATES (or up to the page end) are ranked, title and makers above
# subtitle and series far above subjects, a whole word once more than a prefix.
# The last column says whether a hit has every word in its title or makers.
_RANKED = """
    WITH candidates AS MATERIALIZED (
        SELECT id, year, search_vector{facet_columns} FROM catalogue_title
         WHERE search_vector @@ {function}(%(config)s::regconfig, %(match)s) {where}
         LIMIT %(cap)s
    ), shortlist AS (
        SELECT id, year, search_vector, title_hit FROM (
            SELECT id, year, search_vector, {title_hit} AS title_hit,
                   search_vector @@ {exact_function}(%(config)s::regconfig, %(exact)s) AS exact_hit
              FROM candidates
        ) AS hits
         ORDER BY title_hit DESC, exact_hit DESC, year DESC NULLS LAST, id
         LIMIT %(rank_cap)s
    )
    SELECT id, (SELECT count(*) FROM candidates), title_hit{facet_select} FROM shortlist
     ORDER BY {rank} DESC, year DESC NULLS LAST, id
     LIMIT %(page_end)s
"""
_RANK = "ts_rank_cd(%(weights)s::real[], search_vector, {function}(%(config)s::regconfig, %(match)s))"
_RANK_EXACT = " + ts_rank_cd(%(weights)s::real[], search_vector, {exact_function}(%(config)s::regconfig, %(exact)s))"
# The best matches in title or makers among the first TITLE_EXAMINE matches of a broad
# query (a bounded number of rows read, however rare title matches are).
_RANKED_IN_TITLE = """
    WITH candidates AS MATERIALIZED (
        SELECT id, year, search_vector FROM (
            SELECT id, year, search_vector FROM catalogue_title
             WHERE search_vector @@ {function}(%(config)s::regconfig, %(match)s) {where}
             LIMIT %(examine)s
        ) AS examined
         WHERE search_vector @@ {title_function}(%(config)s::regconfig, %(title_only)s)
         LIMIT %(rank_cap)s
    )
    SELECT id FROM candidates
     ORDER BY {rank} DESC, year DESC NULLS LAST, id
     LIMIT %(page_end)s
"""


# Sorting other than by relevance: the matches counted, in this order.
_SORTED = """
    WITH candidates AS MATERIALIZED (
        SELECT id, year, title_folded{facet_columns} FROM catalogue_title
         WHERE search_vector @@ {function}(%(config)s::regconfig, %(match)s) {where}
         LIMIT %(cap)s
    )
    SELECT id, (SELECT count(*) FROM candidates), true{facet_select} FROM candidates
     ORDER BY {order}
     LIMIT %(page_end)s
"""


# The facets of the counted matches, as one more column of the same statement (an
# uncorrelated subquery: computed once, from the candidates already read).
_FACET_SELECT = """, (SELECT jsonb_build_object(
    'material_type', (SELECT json_agg(json_build_array(material_type, n)) FROM
                      (SELECT material_type, count(*) AS n FROM candidates GROUP BY 1) AS f),
    'language', (SELECT json_agg(json_build_array(language, n)) FROM
                 (SELECT language, count(*) AS n FROM candidates WHERE language <> '' GROUP BY 1) AS f),
    'audience', (SELECT json_agg(json_build_array(audience, n)) FROM
                 (SELECT audience, count(*) AS n FROM candidates GROUP BY 1) AS f),
    'decade', (SELECT json_agg(json_build_array(decade, n)) FROM
               (SELECT (year / 10 * 10)::text AS decade, count(*) AS n FROM candidates
                 WHERE year IS NOT NULL GROUP BY 1) AS f)){facet_holdings})"""
# This library's holdings of the matches, in one probe of the holdings index per match:
# how many it holds, and how many have a copy available at the branch.
_FACET_SELECT_HOLDINGS = """ || (
    SELECT jsonb_build_object(
        'held_here', jsonb_build_array(jsonb_build_array('yes', count(DISTINCT held.title_id))),
        'available_here', jsonb_build_array(jsonb_build_array('yes', count(DISTINCT held.title_id)
            FILTER (WHERE held.branch_id = %(facet_branch)s AND held.available > 0))))
      FROM candidates JOIN catalogue_holding AS held ON held.title_id = candidates.id
     WHERE held.organisation_id = %(facet_organisation)s AND held.total > 0)"""
_FACET_SELECT_HELD = """ || jsonb_build_object(
    'held_here', jsonb_build_array(jsonb_build_array('yes', (SELECT count(*) FROM candidates
        WHERE EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = candidates.id
                      AND held.organisation_id = %(facet_organisation)s AND held.total > 0)))))"""
_FACET_SELECT_AVAILABLE = """ || jsonb_build_object(
    'available_here', jsonb_build_array(jsonb_build_array('yes', (SELECT count(*) FROM candidates
        WHERE EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = candidates.id
                      AND held.branch_id = %(facet_branch)s AND held.available > 0)))))"""


def _facet_sql(facets, arguments):
    """(extra candidate columns, extra select column) for `facets` ({organisation, branch}) or None."""
    if facets is None:
        return "", ""
    holdings = ""
    organisation, branch = facets.get("organisation"), facets.get("branch")
    if organisation is not None:
        arguments["facet_organisation"] = organisation
    if branch is not None:
        arguments["facet_branch"] = branch
    if organisation is not None and branch is not None:
        # The branch is one of the library's (the OPAC passes its own): one probe per match.
        holdings = _FACET_SELECT_HOLDINGS
    elif organisation is not None:
        holdings = _FACET_SELECT_HELD
    elif branch is not None:
        holdings = _FACET_SELECT_AVAILABLE
    return ", material_type, language, audience", _FACET_SELECT.format(facet_holdings=holdings)


def _facets_from_row(rows, facets):
    if facets is None:
        return None
    if not rows:
        return {}
    data = rows[0][3] or {}
    if isinstance(data, str):  # jsonb comes as text through Django's connection
        data = json.loads(data)
    return _facet_dict([(facet, value, count) for facet, pairs in data.items() for value, count in (pairs or [])])


def _fulltext_ids(match, exact, title_only, where, params, page_end, order=None, facets=None):
    """(ranked ids up to page_end, number of matches up to COUNT_CAP + 1, facets or
    None): `facets` ({organisation, branch}) counts the matches counted per facet in
    the same statement.

    Counts the first COUNT_CAP + 1 matches (more when paging further) and ranks a
    shortlist of them (see _RANKED). When there are more (a broad query) and the
    page does not hold only matches in title or makers, the best such matches among
    its first TITLE_EXAMINE come first."""
    cap = max(COUNT_CAP, page_end)
    arguments = {"config": SEARCH_CONFIG, "match": match[1], "exact": exact[1], "weights": RANK_WEIGHTS,
                 "title_only": title_only[1] if title_only else "", "cap": cap + 1, "page_end": page_end,
                 "examine": TITLE_EXAMINE, "rank_cap": max(RANK_CANDIDATES, page_end), **params}
    functions = {"function": match[0], "exact_function": exact[0], "where": where,
                 "title_function": title_only[0] if title_only else ""}
    functions["facet_columns"], functions["facet_select"] = _facet_sql(facets, arguments)
    if order is not None:
        with connection.cursor() as cursor:
            cursor.execute(_SORTED.format(order=order, **functions), arguments)
            rows = cursor.fetchall()
        return [row[0] for row in rows], (rows[0][1] if rows else 0), _facets_from_row(rows, facets)
    title_hit = "search_vector @@ {title_function}(%(config)s::regconfig, %(title_only)s)" if title_only else "true"
    # A whole-word query is its own exact query: its rank need not be added twice.
    rank = (_RANK if exact == match else _RANK + _RANK_EXACT).format(**functions)
    functions.update(title_hit=title_hit.format(**functions), rank=rank)
    with connection.cursor() as cursor:
        cursor.execute(_RANKED.format(**functions), arguments)
        rows = cursor.fetchall()
        ids, count = [row[0] for row in rows], (rows[0][1] if rows else 0)
        if count > cap and title_only and not all(row[2] for row in rows):
            cursor.execute(_RANKED_IN_TITLE.format(**functions), arguments)
            title_ids = [row[0] for row in cursor.fetchall()]
            in_title = set(title_ids)
            ids = (title_ids + [pk for pk in ids if pk not in in_title])[:page_end]
    return ids, count, _facets_from_row(rows, facets)


def _corrections(words):
    """For each word [word, alternatives...]: for a word of CORRECT_MIN_LENGTH
    letters or more that no title or maker holds, the most similar words that do."""
    candidates = sorted({word for word in words if len(word) >= CORRECT_MIN_LENGTH and not word.isdigit()})
    similar = {}
    if candidates:
        # In the search's transaction: the similarity threshold is set for it only.
        with connection.cursor() as cursor:
            cursor.execute("SELECT word FROM catalogue_searchword WHERE word = ANY(%s)", [candidates])
            unknown = sorted(set(candidates) - {row[0] for row in cursor.fetchall()})
            if unknown:
                # A close match first (a higher threshold lets the trigram index skip more
                # words); only words without one are looked up again at the lower threshold.
                for threshold in (CORRECTION_SIMILARITY_FIRST, CORRECTION_SIMILARITY):
                    similar.update(_similar_words(cursor, unknown, threshold))
                    unknown = [word for word in unknown if word not in similar]
                    if not unknown:
                        break
    return [[word] + similar.get(word, []) for word in words]


def _similar_words(cursor, words, threshold):
    """{word: [the most similar dictionary words]} at this pg_trgm similarity threshold
    (set for the transaction only), each alternative nearly as close as the closest:
    'schoolmma' becomes 'schoolma', not also 'school' (a tenth of the catalogue)."""
    cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(threshold)])
    cursor.execute(
        """
        SELECT query.word, alternative.word, alternative.similarity
          FROM unnest(%s::text[]) AS query (word)
         CROSS JOIN LATERAL (
               SELECT word, similarity(word, query.word) AS similarity FROM catalogue_searchword
                WHERE word %% query.word
                ORDER BY similarity DESC, word
                LIMIT %s
         ) AS alternative
        """,
        [words, CORRECTIONS_PER_WORD],
    )
    similar, best = {}, {}
    for word, alternative, similarity in cursor.fetchall():
        if similarity >= best.setdefault(word, similarity) * CORRECTION_RELATIVE:
            similar.setdefault(word, []).append(alternative)
    return similar


def _filter_conditions(*, material_type, language, year_from, year_to, audience, held_by=None,
                       available_at_branch=None):
    """[(column, operator, value)] for the filters that are set (`held_by` and
    `available_at_branch` as ("holding", "organisation"/"branch", id))."""
    conditions = []
    if held_by not in (None, ""):
        conditions.append(("holding", "organisation", int(held_by)))
    if available_at_branch not in (None, ""):
        conditions.append(("holding", "branch", int(available_at_branch)))
    if material_type:
        conditions.append(("material_type", "=", material_type))
    if language:
        conditions.append(("language", "=", language.lower()))
    if year_from is not None and year_from != "":
        conditions.append(("year", ">=", int(year_from)))
    if year_to is not None and year_to != "":
        conditions.append(("year", "<=", int(year_to)))
    if audience:
        conditions.append(("audience", "=", audience))
    return conditions


_LOOKUPS = {"=": "exact", ">=": "gte", "<=": "lte"}


def _holding_exists(kind, value):
    if kind == "organisation":
        return Exists(Holding.objects.filter(title_id=OuterRef("pk"), organisation_id=value, total__gt=0))
    return Exists(Holding.objects.filter(title_id=OuterRef("pk"), branch_id=value, available__gt=0))


def _filters_q(conditions):
    q = Q(**{f"{column}__{_LOOKUPS[operator]}": value for column, operator, value in conditions
             if column != "holding"})
    for column, kind, value in conditions:
        if column == "holding":
            q &= Q(_holding_exists(kind, value))
    return q


# The holdings filters as SQL on catalogue_title (the national holdings index, by title).
_HOLDING_SQL = {
    "organisation": " AND EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = catalogue_title.id"
                    " AND held.organisation_id = %({name})s AND held.total > 0)",
    "branch": " AND EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = catalogue_title.id"
              " AND held.branch_id = %({name})s AND held.available > 0)",
}


def _filters_sql(conditions):
    """The filters as SQL for the full-text queries: ' AND ...', params.

    Material type, language and audience are intersected with the words in
    title_search_filters, except the COMMON_FILTER_VALUES (`column || ''` keeps
    them out of the index condition). A year range of at most YEAR_LIST_MAX years is too, as
    `ARRAY[year] && ARRAY[its years]` (one index key; a btree_gin range on the
    year would collect the index entries of a whole decade first); a longer or
    open range is checked on the candidate rows (`year + 0`: not through the year
    index, whose bitmap of such a range costs more than the few rows it discards)."""
    parts, params = [], {}
    years = {operator: value for column, operator, value in conditions if column == "year"}
    if len(years) == 2 and 0 <= years["<="] - years[">="] < YEAR_LIST_MAX:
        parts.append(" AND ARRAY[year] && %(years)s::smallint[]")
        params["years"] = list(range(years[">="], years["<="] + 1))
        conditions = [condition for condition in conditions if condition[0] != "year"]
    for index, (column, operator, value) in enumerate(conditions):
        if column == "holding":
            parts.append(_HOLDING_SQL[operator].format(name=f"f{index}"))
            params[f"f{index}"] = value
            continue
        if column == "year":
            expression = "(year + 0)"
        elif (column, value) in COMMON_FILTER_VALUES:
            expression = f"({column} || '')"
        else:
            expression = column
        parts.append(f" AND {expression} {operator} %(f{index})s")
        params[f"f{index}"] = value
    return "".join(parts), params


@dataclass(frozen=True)
class HoldingSummary:
    own_total: int = 0
    own_available: int = 0
    other_total: int = 0
    other_available: int = 0
    other_libraries: int = 0


def holdings_summaries(*, title_ids, organisation):
    """{title_id: HoldingSummary} from the national holdings index, for a page of
    titles, in one query: this library's copies and the copies elsewhere."""
    own = Q(organisation=organisation)
    rows = (
        Holding.objects.filter(title_id__in=list(title_ids))
        .values("title_id")
        .annotate(
            own_total=Sum("total", filter=own, default=0),
            own_available=Sum("available", filter=own, default=0),
            other_total=Sum("total", filter=~own, default=0),
            other_available=Sum("available", filter=~own, default=0),
            other_libraries=Count("organisation", filter=~own & Q(total__gt=0), distinct=True),
        )
        .order_by()
    )
    summaries = {
        row.pop("title_id"): HoldingSummary(**row) for row in rows
    }
    return {title_id: summaries.get(title_id, HoldingSummary()) for title_id in title_ids}


# --- facets ------------------------------------------------------------------------

_FACETS = """
    WITH candidates AS MATERIALIZED (
        SELECT id, material_type, language, audience, year FROM catalogue_title
         WHERE {match} {where}
         LIMIT %(cap)s
    )
    SELECT 'material_type', material_type, count(*) FROM candidates GROUP BY 2
    UNION ALL SELECT 'language', language, count(*) FROM candidates WHERE language <> '' GROUP BY 2
    UNION ALL SELECT 'audience', audience, count(*) FROM candidates GROUP BY 2
    UNION ALL SELECT 'decade', (year / 10 * 10)::text, count(*) FROM candidates WHERE year IS NOT NULL GROUP BY 2
    {extra}
"""
_FACET_HELD = """
    UNION ALL SELECT 'held_here', 'yes', count(*) FROM candidates
     WHERE EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = candidates.id
                   AND held.organisation_id = %(facet_organisation)s AND held.total > 0)
"""
_FACET_AVAILABLE = """
    UNION ALL SELECT 'available_here', 'yes', count(*) FROM candidates
     WHERE EXISTS (SELECT 1 FROM catalogue_holding AS held WHERE held.title_id = candidates.id
                   AND held.branch_id = %(facet_branch)s AND held.available > 0)
"""


def _facets(match, where, params, *, organisation=None, branch=None):
    """{facet: [(value, count)], most first} over the first COUNT_CAP + 1 matches
    of a tsquery (function, text), or of the filters alone when `match` is None."""
    arguments = {"config": SEARCH_CONFIG, "cap": COUNT_CAP + 1, **params}
    extra = ""
    if organisation is not None:
        extra += _FACET_HELD
        arguments["facet_organisation"] = organisation
    if branch is not None:
        extra += _FACET_AVAILABLE
        arguments["facet_branch"] = branch
    if match is None:
        condition = "true"
    else:
        condition = f"search_vector @@ {match[0]}(%(config)s::regconfig, %(match)s)"
        arguments["match"] = match[1]
    with connection.cursor() as cursor:
        cursor.execute(_FACETS.format(match=condition, where=where, extra=extra), arguments)
        rows = cursor.fetchall()
    return _facet_dict(rows)


def _facet_dict(rows):
    facets = {}
    for facet, value, count in rows:
        if count:
            facets.setdefault(facet, []).append((value, count))
    for values in facets.values():
        values.sort(key=lambda pair: (-pair[1], pair[0]))
    if "decade" in facets:
        facets["decade"].sort(key=lambda pair: pair[0], reverse=True)
    return facets


def _facets_of(titles, *, organisation=None, branch=None):
    """The facets of a short list of titles (an identifier look-up)."""
    rows = {}
    for title in titles:
        for facet, value in (("material_type", title.material_type), ("language", title.language),
                             ("audience", title.audience),
                             ("decade", str(title.year // 10 * 10) if title.year is not None else None)):
            if value:
                rows[(facet, value)] = rows.get((facet, value), 0) + 1
    ids = [title.pk for title in titles]
    if organisation is not None:
        rows[("held_here", "yes")] = Holding.objects.filter(
            title_id__in=ids, organisation_id=organisation, total__gt=0).values("title_id").distinct().count()
    if branch is not None:
        rows[("available_here", "yes")] = Holding.objects.filter(
            title_id__in=ids, branch_id=branch, available__gt=0).values("title_id").distinct().count()
    return _facet_dict([(facet, value, count) for (facet, value), count in rows.items()])


def holdings_per_branch(*, title_ids, organisation):
    """{title_id: [(branch name, total, available)]} of this library, for a page of
    titles, from the national holdings index (one query)."""
    rows = (
        Holding.objects.filter(title_id__in=list(title_ids), organisation=organisation, total__gt=0)
        .values_list("title_id", "branch__name", "total", "available")
        .order_by("title_id", "branch__name")
    )
    result = {title_id: [] for title_id in title_ids}
    for title_id, name, total, available in rows:
        result[title_id].append((name, total, available))
    return result


def title_holders(*, title_id):
    """The active library organisations holding a title, with their copies and
    available copies (national holdings index), most available first."""
    return list(
        Holding.objects.filter(title_id=title_id, organisation__is_active=True, total__gt=0)
        .values("organisation_id", name=F("organisation__name"), slug=F("organisation__slug"))
        .annotate(total=Sum("total"), available=Sum("available"))
        .order_by("-available", "name")
    )


def title_editions(title, *, limit=10):
    """Other editions of a title: the same folded title and makers, another record.
    Looked up by the hash of the folded title (index title_editions; an equality on
    the column itself would go through its trigram index, far slower), compared in
    full here."""
    if not title.title_folded:
        return []
    candidates = (
        Title.objects.alias(title_hash=MD5("title_folded"))
        .filter(title_hash=hashlib.md5(title.title_folded.encode()).hexdigest())
        .exclude(pk=title.pk)
        .only("pk", "title", "subtitle", "year", "edition", "material_type", "publisher", "title_folded",
              "contributors_folded")
        .order_by("-year", "pk")[:200]
    )
    return [edition for edition in candidates if edition.title_folded == title.title_folded
            and edition.contributors_folded == title.contributors_folded][:limit]


def titles_held_by(*, organisation, after_id=0, limit=10000):
    """(id, title) of the titles a library holds, by id from `after_id` (sitemaps)."""
    return list(
        Title.objects.filter(pk__gt=after_id)
        .filter(Exists(Holding.objects.filter(title_id=OuterRef("pk"), organisation=organisation, total__gt=0)))
        .order_by("pk").values_list("pk", "title", "updated_at")[:limit]
    )
