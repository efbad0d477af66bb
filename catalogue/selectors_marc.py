"""Reads for the MARC screens: a library's imports, their per-record log and
problems, and a title's provenance (its owner, its previous versions, the
libraries' own records of it).

(The catalogue's search selectors live in selectors.py.)"""

from dataclasses import dataclass

from django.db.models import Count
from django.shortcuts import get_object_or_404

from .models import (
    LocalRecord, MarcImport, MarcImportRecord, MatchRule, ProblemLevel, RecordOutcome, Title, TitleVersion,
)

PROBLEMS_SHOWN = 1000
RECORDS_SHOWN = 500


def marc_imports_recent(*, organisation, limit=25):
    """The library's most recent imports, newest first."""
    return list(
        MarcImport.objects.filter(organisation=organisation).select_related("user").order_by("-created_at", "-pk")[:limit]
    )


def marc_import_of(*, organisation, import_id):
    """One of the library's own imports (404 for another library's)."""
    return get_object_or_404(MarcImport.objects.select_related("user"), pk=import_id, organisation=organisation)


def marc_import_problems(*, marc_import, level=ProblemLevel.REFUSED, limit=PROBLEMS_SHOWN):
    """The first `limit` refused records (or warnings), in file order."""
    return list(marc_import.problems.filter(level=level).order_by("record_number", "pk")[:limit])


@dataclass(frozen=True)
class RuleCount:
    rule: str
    label: str
    outcome: str
    outcome_label: str
    count: int


def marc_import_rule_counts(*, marc_import):
    """How many records each matching rule found, per outcome."""
    rows = (MarcImportRecord.objects.filter(marc_import=marc_import).values("rule", "outcome")
            .annotate(count=Count("pk")).order_by("rule", "outcome"))
    rules, outcomes = dict(MatchRule.choices), dict(RecordOutcome.choices)
    return [RuleCount(row["rule"], rules.get(row["rule"], row["rule"]), row["outcome"],
                      outcomes.get(row["outcome"], row["outcome"]), row["count"]) for row in rows]


def marc_import_records(*, marc_import, limit=RECORDS_SHOWN):
    """The per-record log: record number, title, rule, outcome (the first `limit`)."""
    return list(MarcImportRecord.objects.filter(marc_import=marc_import).order_by("record_number")[:limit])


@dataclass(frozen=True)
class OwnRecord:
    """One of the viewing library's own records of a title, with its holdings (852)."""

    record: LocalRecord
    holdings: list  # [[(code, value), ...], ...]


@dataclass(frozen=True)
class Provenance:
    title: Title
    versions: list
    local_records: list  # every library's own records of the title (without their MARC)
    own_records: list  # OwnRecord: the viewing library's, with their holdings


def title_provenance(*, title_id, organisation):
    """A title's owner, its previous versions (newest first) and the libraries' own
    records of it; the viewing library's own records with their holdings."""
    from .marc import decode_stored

    title = get_object_or_404(Title.objects.select_related("owner").defer("marc"), pk=title_id)
    versions = list(TitleVersion.objects.filter(title=title).select_related("owner", "organisation", "marc_import")
                    .defer("marc").order_by("-changed_at", "-pk"))
    local_records = list(LocalRecord.objects.filter(title=title).select_related("organisation").defer("marc")
                         .order_by("organisation__name", "pk"))
    own = []
    if organisation is not None:
        for record in LocalRecord.objects.filter(title=title, organisation=organisation).order_by("pk"):
            data = decode_stored(bytes(record.marc))
            own.append(OwnRecord(record, [subfields for _, _, subfields in data.data.get("852", ())]))
    return Provenance(title, versions, local_records, own)
