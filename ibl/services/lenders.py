"""Choosing the lender: from the national holdings index (catalogue.Holding: per
title, library and branch the copies available), never a library's schema.

Order of preference, seen from the requesting library:
1. libraries in its own province (the 99.9 % norm);
2. libraries in other provinces, those of its own POI first (one POI drives
   across its two provinces);
3. the national music library, for music only (music CDs, sheet music).
Never the requester itself, never a library that is not active or does not lend
through IBL, only the item types a lender offers (its IBL terms, matched against
the title's material type), and not titles newer than the lender's N months.
Among equals the lender asked longest ago goes first (fair spread: not always the
largest), and its branch with the most copies available.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from catalogue.models import Holding, MaterialType
from collection.models import ItemType

from ..models import MUSIC_ITEM_TYPES, IblTerms, Scope

_ITEM_TYPE_OF_MATERIAL = {value: value for value in ItemType.values}
_ITEM_TYPE_OF_MATERIAL.update({MaterialType.MAP: ItemType.OTHER, MaterialType.ELECTRONIC: ItemType.OTHER})

_TIER = {Scope.PROVINCE: 0, Scope.OTHER_PROVINCE: 1, Scope.MUSIC: 2}


def item_type_of(title):
    """The item type a title's material type stands for (IBL terms are per item type)."""
    return _ITEM_TYPE_OF_MATERIAL.get(title.material_type, ItemType.OTHER)


def is_new_for(terms, title, now):
    """Is the title newer than this lender's N months? Its age is the time in the
    national catalogue, but never later than the end of its publication year: a
    title published in 2001 and loaded into the catalogue last week (a library
    joining, a catalogue migration) is not new."""
    if not terms.new_title_months or title.created_at is None:
        return False
    appeared = title.created_at
    if title.year and 1 <= title.year < 9999:
        appeared = min(appeared, timezone.make_aware(datetime.datetime(title.year + 1, 1, 1)))
    return appeared > now - datetime.timedelta(days=round(30.44 * terms.new_title_months))


@dataclass(frozen=True)
class Candidate:
    organisation_id: int
    branch_id: int
    scope: str
    available: int


def lender_candidates(*, requesting_organisation, title, exclude=(), now):
    """The libraries that may be asked for `title`, best first (see the module)."""
    rows = list(
        Holding.objects.filter(title_id=title.pk, available__gt=0, organisation__is_active=True,
                               branch__is_active=True)
        .exclude(organisation_id=requesting_organisation.pk).exclude(organisation_id__in=list(exclude))
        .values_list("organisation_id", "branch_id", "available", "organisation__province_id",
                     "organisation__province__poi_id")
    )
    if not rows:
        return []
    organisation_ids = {row[0] for row in rows}
    terms = {terms.pk: terms for terms in IblTerms.objects.filter(organisation_id__in=organisation_ids)}
    item_type = item_type_of(title)
    music = item_type in MUSIC_ITEM_TYPES
    requester_province = requesting_organisation.province_id
    requester_poi = requesting_organisation.province.poi_id
    best = {}  # organisation -> (sort key, Candidate)
    for organisation_id, branch_id, available, province_id, poi_id in rows:
        lender_terms = terms.get(organisation_id) or IblTerms(organisation_id=organisation_id)
        if not lender_terms.lends or item_type not in lender_terms.item_types or is_new_for(lender_terms, title, now):
            continue
        if lender_terms.is_music_library:
            if not music:
                continue
            scope = Scope.MUSIC
        elif province_id == requester_province:
            scope = Scope.PROVINCE
        else:
            scope = Scope.OTHER_PROVINCE
        asked = lender_terms.last_asked_at
        key = (_TIER[scope], 0 if poi_id == requester_poi else 1, asked is not None,
               asked or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc), organisation_id,
               -available, branch_id)
        known = best.get(organisation_id)
        if known is None or key < known[0]:
            best[organisation_id] = (key, Candidate(organisation_id, branch_id, scope, available))
    return [candidate for _key, candidate in sorted(best.values(), key=lambda pair: pair[0])]
