"""Reads on the national catalogue: one title search for the staff screens, the
OPAC and the API, a title by id, and the national holdings of a page of titles.

Search strategies, in order:

1. identifier: a query that looks like an ISBN/EAN is looked up exactly in
   `Title.isbns` / `Title.eans` (GIN, array contains). ISBN-10 and ISBN-13,
   with or without hyphens or spaces, all become the same ISBN-13.
2. fulltext: PostgreSQL full-text search on `Title.search_vector` (config
   `lsb_dutch`: Dutch stemming on accent-folded words). Every word must match,
   the last one also as a prefix ('harry pot' finds 'Harry Potter'); websearch
   syntax ("a phrase", -word, or) is honoured. Ranked with ts_rank_cd and
   weights: a word in the title or a maker's name (A) counts more than one in
   the subtitle or series (B) and far more than one in a subject (C); a whole
   word counts more than a prefix.
   At most COUNT_CAP + 1 matches are counted and RANK_CANDIDATES ranked, so a
   query matching a large part of the catalogue costs little more than one
   matching a few hundred titles; such a broad query ranks the first matches
   in the title or makers (as Evergreen caps its "superpages").
3. trigram (typos): when full-text finds fewer than FULLTEXT_ENOUGH titles,
   each query word that no title or maker contains is replaced by the most
   similar words that do (pg_trgm similarity on SearchWord, the dictionary of
   the catalogue's folded title and maker words: 'hary poter' -> 'harry
   potter', 'tolkein' -> 'tolkien'), and full-text runs again; its extra
   titles come after the full-text hits.
"""

import re
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Q, Sum

from .models import SEARCH_CONFIG, Audience, Holding, MaterialType, Title
from .normalise import ean_normalise, fold, isbn_normalise, looks_like_identifier

# Below this many full-text hits the typo correction adds its matches.
FULLTEXT_ENOUGH = 10
# Counting stops here: beyond it the screens say "more than N".
COUNT_CAP = 1000
# A broad query ranks only this many candidates (more when paging further):
# ranking reads every candidate's row, and the first pages are what people read.
RANK_CANDIDATES = 300
# ts_rank_cd weights for D, C, B, A: title and makers (A) far above subjects (C).
RANK_WEIGHTS = [0.05, 0.2, 0.5, 1.0]
# A last word shorter than this is not used as a prefix (it would match too much).
PREFIX_MIN_LENGTH = 3
# Typo correction: words of at least this length, up to this many alternatives
# per word, with at least this pg_trgm similarity ('tolkein'/'tolkien' is 0.33).
CORRECT_MIN_LENGTH = 4
CORRECTIONS_PER_WORD = 3
CORRECTION_SIMILARITY = 0.3
_WEBSEARCH_SYNTAX = re.compile(r'"|(^|\s)-\S|\s(or|OR)\s')

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
    limit=20,
    offset=0,
):
    """Search the national catalogue. See the module docstring for the strategies.

    Filters are exact (`material_type`, `language` (MARC code, e.g. 'dut'),
    `audience`) or inclusive (`year_from`, `year_to`); a filter of None or ''
    is not applied. Without a query the filtered titles are listed newest first;
    without query and filters the result is empty. The titles come without
    their MARC record (deferred)."""
    if material_type and material_type not in MaterialType.values:
        raise ValueError(f"unknown material type {material_type!r}")
    if audience and audience not in Audience.values:
        raise ValueError(f"unknown audience {audience!r}")
    limit = max(1, int(limit))
    offset = max(0, int(offset))
    conditions = _filter_conditions(material_type=material_type, language=language, year_from=year_from,
                                    year_to=year_to, audience=audience)
    filters = _filters_q(conditions)
    query = (query or "").strip()
    page = dict(offset=offset, limit=limit)
    titles = Title.objects.defer("marc")

    if not query:
        if not conditions:
            return TitleSearchResult([], 0, False, False, STRATEGY_NONE, **page)
        found = list(titles.filter(filters).order_by("-id")[offset:offset + limit + 1])
        count = Title.objects.filter(filters).order_by()[: COUNT_CAP + 1].count()
        return TitleSearchResult(found[:limit], min(count, COUNT_CAP), count > COUNT_CAP, len(found) > limit,
                                 STRATEGY_BROWSE, **page)

    if looks_like_identifier(query):
        isbn = isbn_normalise(query)
        ean = ean_normalise(query.replace(" ", ""))
        lookup = Q()
        if isbn:
            lookup |= Q(isbns__contains=[isbn]) | Q(eans__contains=[isbn])
        if ean and ean != isbn:
            lookup |= Q(eans__contains=[ean])
        if lookup:
            found = list(titles.filter(lookup).filter(filters).order_by("id")[: COUNT_CAP + 1])
            return TitleSearchResult(
                found[offset:offset + limit], min(len(found), COUNT_CAP), len(found) > COUNT_CAP,
                len(found) > offset + limit, STRATEGY_IDENTIFIER, **page,
            )
        # Looks like a number but is no valid ISBN/EAN: search it as text.

    where, params = _filters_sql(conditions)
    websearch = bool(_WEBSEARCH_SYNTAX.search(query))
    words = [] if websearch else fold(query).replace("_", " ").split()
    if websearch:
        ids, count = _fulltext_ids(("websearch_to_tsquery", query), None, None, where, params, offset + limit + 1)
    elif words:
        ids, count = _fulltext_ids(*_tsqueries([[word] for word in words]), where, params, offset + limit + 1)
    else:
        return TitleSearchResult([], 0, False, False, STRATEGY_NONE, **page)

    similar_ids = []
    if count < FULLTEXT_ENOUGH and words:
        alternatives = _corrections(words)
        if any(len(options) > 1 for options in alternatives):
            fuzzy_ids, _ = _fulltext_ids(*_tsqueries(alternatives), where, params, COUNT_CAP + 1)
            known = set(ids)
            similar_ids = [pk for pk in fuzzy_ids if pk not in known]
            ids = ids + similar_ids
            count = min(count + len(similar_ids), COUNT_CAP + 1)

    if similar_ids:
        strategy = STRATEGY_FULLTEXT_TRIGRAM if count > len(similar_ids) else STRATEGY_TRIGRAM
    else:
        strategy = STRATEGY_FULLTEXT if ids else STRATEGY_NONE
    page_ids = ids[offset:offset + limit]
    by_id = titles.in_bulk(page_ids)
    return TitleSearchResult(
        [by_id[pk] for pk in page_ids if pk in by_id], min(count, COUNT_CAP), count > COUNT_CAP,
        len(ids) > offset + limit, strategy, frozenset(similar_ids), **page,
    )


def _tsqueries(alternatives):
    """(match, exact, title-only) to_tsquery texts for words, each given as
    [word, its alternatives...]: every word must match, the last also as a prefix."""
    def term(options, prefix, weight=""):
        # Folded words hold only letters and digits: quoted they are plain lexemes.
        parts = [f"'{option}':{'*' if prefix and index == 0 else ''}{weight}".rstrip(":")
                 for index, option in enumerate(options)]
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    last = len(alternatives) - 1
    prefix_last = len(alternatives[last][0]) >= PREFIX_MIN_LENGTH
    match = " & ".join(term(options, prefix_last and index == last) for index, options in enumerate(alternatives))
    exact = " & ".join(term(options, False) for options in alternatives)
    title_only = " & ".join(term(options, prefix_last and index == last, "A")
                            for index, options in enumerate(alternatives))
    return ("to_tsquery", match), ("to_tsquery", exact), ("to_tsquery", title_only)


_RANKED = """
    WITH candidates AS MATERIALIZED (
        SELECT id, year, search_vector FROM catalogue_title
         WHERE search_vector @@ {function}(%(config)s::regconfig, %(match)s) {where}
         LIMIT %(cap)s
    )
    SELECT id, (SELECT count(*) FROM candidates) FROM candidates
     ORDER BY ts_rank_cd(%(weights)s::real[], search_vector, {function}(%(config)s::regconfig, %(match)s))
              + ts_rank_cd(%(weights)s::real[], search_vector, {exact_function}(%(config)s::regconfig, %(exact)s)) DESC,
              year DESC NULLS LAST, id
     LIMIT %(page_end)s
"""


def _fulltext_ids(match, exact, title_only, where, params, page_end):
    """(ranked ids up to page_end, number of matches up to COUNT_CAP + 1)."""
    exact = exact or match
    cap = max(RANK_CANDIDATES, page_end)

    def ranked(query):
        sql = _RANKED.format(function=query[0], exact_function=exact[0], where=where)
        arguments = {"config": SEARCH_CONFIG, "match": query[1], "exact": exact[1], "weights": RANK_WEIGHTS,
                     "cap": cap + 1, "page_end": page_end, **params}
        with connection.cursor() as cursor:
            cursor.execute(sql, arguments)
            rows = cursor.fetchall()
        return [row[0] for row in rows], (rows[0][1] if rows else 0)

    ids, count = ranked(match)
    if count > cap:
        # A broad query: count on (the index and visibility map mostly), and rank
        # the first matches in title or makers rather than the first matches anywhere.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT count(*) FROM (SELECT 1 FROM catalogue_title
                     WHERE search_vector @@ {match[0]}(%(config)s::regconfig, %(match)s) {where}
                     LIMIT %(cap)s) AS matches""",
                {"config": SEARCH_CONFIG, "match": match[1], "cap": COUNT_CAP + 1, **params},
            )
            count = max(count, cursor.fetchone()[0])
        if title_only:
            title_ids, _ = ranked(title_only)
            in_title = set(title_ids)
            ids = (title_ids + [pk for pk in ids if pk not in in_title])[:page_end]
    return ids, count


def _corrections(words):
    """For each word [word, alternatives...]: for a word of CORRECT_MIN_LENGTH
    letters or more that no title or maker holds, the most similar words that do."""
    candidates = sorted({word for word in words if len(word) >= CORRECT_MIN_LENGTH and not word.isdigit()})
    similar = {}
    if candidates:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT word FROM catalogue_searchword WHERE word = ANY(%s)", [candidates])
            unknown = sorted(set(candidates) - {row[0] for row in cursor.fetchall()})
            if unknown:
                cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)",
                               [str(CORRECTION_SIMILARITY)])
                cursor.execute(
                    """
                    SELECT query.word, alternative.word
                      FROM unnest(%s::text[]) AS query (word)
                     CROSS JOIN LATERAL (
                           SELECT word FROM catalogue_searchword
                            WHERE word %% query.word
                            ORDER BY similarity(word, query.word) DESC, word
                            LIMIT %s
                     ) AS alternative
                    """,
                    [unknown, CORRECTIONS_PER_WORD],
                )
                for word, alternative in cursor.fetchall():
                    similar.setdefault(word, []).append(alternative)
    return [[word] + similar.get(word, []) for word in words]


def _filter_conditions(*, material_type, language, year_from, year_to, audience):
    """[(column, operator, value)] for the filters that are set."""
    conditions = []
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


def _filters_q(conditions):
    return Q(**{f"{column}__{_LOOKUPS[operator]}": value for column, operator, value in conditions})


def _filters_sql(conditions):
    """The filters as SQL for the raw trigram query: ' AND col op %(fN)s ...', params."""
    sql = "".join(f" AND {column} {operator} %(f{index})s" for index, (column, operator, _) in enumerate(conditions))
    return sql, {f"f{index}": value for index, (_, _, value) in enumerate(conditions)}


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
