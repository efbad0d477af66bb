"""Choosing the lender (issue 15, item 2), through ibl.services.lenders on the real
national holdings index: the own province first, then other provinces, then the
national music library for music only; never the requester; fair spread (the
lender asked longest ago first, and asking moves it to the back); only lenders
that lend through IBL, are active, lend the title's item type and do not exclude
it as a new title. Holdings are written straight into the index (catalogue.Holding,
what the service reads); alpha and beta are in Utrecht, gamma in Zuid-Holland,
dormant (Gelderland) is not active."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue.models import Holding, MaterialType, Title
from collection.models import ItemType
from core.actors import Actor
from ibl.models import IblTerms, Scope
from ibl.services.lenders import lender_candidates
from ibl.services.requests import ibl_request_create
from tests.factories import TitleFactory

from .conftest import PAID_UNTIL, first_branch

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 9, 15, 12, 0))


def holds(organisation, title, *, available=1, branch=None):
    Holding.objects.create(title=title, organisation=organisation, branch=branch or first_branch(organisation),
                           total=available + 1, available=available)


def terms(organisation, **fields):
    fields.setdefault("last_asked_at", None)
    IblTerms.objects.update_or_create(organisation=organisation, defaults=fields)


def chosen(requester, title, *, now=NOW, exclude=()):
    return [(candidate.organisation_id, candidate.scope)
            for candidate in lender_candidates(requesting_organisation=requester, title=title, exclude=exclude,
                                               now=now)]


@pytest.fixture
def lenders(libraries):
    """alpha, beta and gamma with default terms, never asked."""
    for organisation in (libraries.alpha, libraries.beta, libraries.gamma, libraries.dormant):
        terms(organisation)
    return libraries


# --- where the lender is ------------------------------------------------------------------

def test_the_own_province_comes_first_even_when_asked_just_now(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    title = TitleFactory()
    holds(gamma, title, available=5)
    holds(beta, title)
    # Fair spread only orders equals: beta, asked a minute ago, still goes before gamma.
    terms(beta, last_asked_at=NOW - datetime.timedelta(minutes=1))
    assert chosen(alpha, title) == [(beta.pk, Scope.PROVINCE), (gamma.pk, Scope.OTHER_PROVINCE)]
    # Already tried (declined, no answer): the next one.
    assert chosen(alpha, title, exclude=[beta.pk]) == [(gamma.pk, Scope.OTHER_PROVINCE)]


def test_never_the_requester_itself(lenders):
    alpha, beta = lenders.alpha, lenders.beta
    title = TitleFactory()
    holds(alpha, title, available=3)
    holds(beta, title)
    assert chosen(alpha, title) == [(beta.pk, Scope.PROVINCE)]
    assert chosen(beta, title) == [(alpha.pk, Scope.PROVINCE)]


def test_the_music_library_is_asked_for_music_after_the_other_provinces(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    terms(beta, is_music_library=True)  # in alpha's own province, and never asked
    terms(gamma, last_asked_at=NOW - datetime.timedelta(minutes=1))
    for material_type in (MaterialType.MUSIC_CD, MaterialType.SHEET_MUSIC):
        music = TitleFactory(material_type=material_type)
        holds(beta, music)
        holds(gamma, music)
        assert chosen(alpha, music) == [(gamma.pk, Scope.OTHER_PROVINCE), (beta.pk, Scope.MUSIC)]
    only_there = TitleFactory(material_type=MaterialType.MUSIC_CD)
    holds(beta, only_there)
    assert chosen(alpha, only_there) == [(beta.pk, Scope.MUSIC)]
    # Not for anything else: a book it holds is asked elsewhere, or of nobody.
    book = TitleFactory(material_type=MaterialType.BOOK)
    holds(beta, book)
    assert chosen(alpha, book) == []
    holds(gamma, book)
    assert chosen(alpha, book) == [(gamma.pk, Scope.OTHER_PROVINCE)]


# --- fair spread ----------------------------------------------------------------------------

def test_of_two_equal_lenders_the_one_asked_longer_ago_comes_first(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    title = TitleFactory()
    holds(alpha, title, available=6)  # the larger one
    holds(beta, title, available=1)
    terms(alpha, last_asked_at=NOW - datetime.timedelta(hours=1))
    terms(beta, last_asked_at=NOW - datetime.timedelta(days=1))
    assert chosen(gamma, title) == [(beta.pk, Scope.OTHER_PROVINCE), (alpha.pk, Scope.OTHER_PROVINCE)]
    terms(beta, last_asked_at=NOW - datetime.timedelta(minutes=5))
    assert chosen(gamma, title) == [(alpha.pk, Scope.OTHER_PROVINCE), (beta.pk, Scope.OTHER_PROVINCE)]
    # Never asked at all goes before asked long ago.
    terms(alpha, last_asked_at=NOW - datetime.timedelta(days=400))
    IblTerms.objects.filter(organisation=beta).delete()  # (no terms row: the defaults, never asked)
    assert chosen(gamma, title) == [(beta.pk, Scope.OTHER_PROVINCE), (alpha.pk, Scope.OTHER_PROVINCE)]


def test_asking_a_lender_moves_it_behind_the_others(ibl_world, lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    with tenant_context(gamma):
        from tests.members.factories import make_member

        member = make_member(card_number="IBLG0042", paid_until=PAID_UNTIL)
    connection.set_schema_to_public()
    titles = [TitleFactory() for _ in range(3)]
    for title in titles:
        holds(alpha, title)
        holds(beta, title)
    asked = []
    for minutes, title in enumerate(titles):
        now = NOW + datetime.timedelta(minutes=minutes)
        with tenant_context(gamma):
            request = ibl_request_create(actor=Actor.member(member.pk, gamma), member_id=member.pk,
                                         title_id=title.pk, pickup_branch_id=first_branch(gamma).pk, now=now)
        connection.set_schema_to_public()
        request.refresh_from_db()
        assert IblTerms.objects.get(organisation_id=request.lender_id).last_asked_at == now
        asked.append(request.lender_id)
    # Both never asked: one of them first; then the other; then the first again.
    assert sorted(asked[:2]) == sorted([alpha.pk, beta.pk]) and asked[2] == asked[0]


def test_within_a_lender_its_branch_with_the_most_copies_available(lenders):
    alpha, beta = lenders.alpha, lenders.beta
    title = TitleFactory()
    first, second = beta.branches.filter(is_active=True).order_by("name")[:2]
    holds(beta, title, available=1, branch=first)
    holds(beta, title, available=3, branch=second)
    [candidate] = lender_candidates(requesting_organisation=alpha, title=title, now=NOW)
    assert (candidate.organisation_id, candidate.branch_id, candidate.available) == (beta.pk, second.pk, 3)


# --- the lender's IBL terms -----------------------------------------------------------------

def test_a_lender_that_does_not_lend_through_ibl_is_skipped(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    title = TitleFactory()
    holds(beta, title)
    holds(gamma, title)
    terms(beta, lends=False)
    assert chosen(alpha, title) == [(gamma.pk, Scope.OTHER_PROVINCE)]
    terms(gamma, lends=False)
    assert chosen(alpha, title) == []
    terms(beta, lends=True)
    assert chosen(alpha, title) == [(beta.pk, Scope.PROVINCE)]


def test_a_lender_is_skipped_for_an_item_type_it_does_not_lend(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    terms(beta, item_types=[ItemType.BOOK])
    audiobook = TitleFactory(material_type=MaterialType.AUDIOBOOK)
    book = TitleFactory(material_type=MaterialType.BOOK)
    for title in (audiobook, book):
        holds(beta, title)
        holds(gamma, title)
    assert chosen(alpha, audiobook) == [(gamma.pk, Scope.OTHER_PROVINCE)]
    assert chosen(alpha, book) == [(beta.pk, Scope.PROVINCE), (gamma.pk, Scope.OTHER_PROVINCE)]
    # The defaults (no terms row) lend no dvds; a map counts as "other".
    IblTerms.objects.filter(organisation=gamma).delete()
    dvd = TitleFactory(material_type=MaterialType.DVD)
    holds(beta, dvd)
    holds(gamma, dvd)
    assert chosen(alpha, dvd) == []
    terms(beta, item_types=[ItemType.DVD, ItemType.OTHER])
    assert chosen(alpha, dvd) == [(beta.pk, Scope.PROVINCE)]
    a_map = TitleFactory(material_type=MaterialType.MAP)
    holds(beta, a_map)
    assert chosen(alpha, a_map) == [(beta.pk, Scope.PROVINCE)]


def age(title, *, days):
    Title.objects.filter(pk=title.pk).update(created_at=NOW - datetime.timedelta(days=days))
    return Title.objects.get(pk=title.pk)


def test_a_lender_excluding_new_titles_is_skipped_for_a_new_title_only(lenders):
    alpha, beta, gamma = lenders.alpha, lenders.beta, lenders.gamma
    terms(beta, new_title_months=6)  # gamma: no exclusion
    new = age(TitleFactory(year=2026), days=30)
    older = age(TitleFactory(year=2026), days=240)
    # Published long ago, in the catalogue only since last week (a library joining,
    # a catalogue migration): not a new title.
    old_but_just_loaded = age(TitleFactory(year=2001), days=7)
    for title in (new, older, old_but_just_loaded):
        holds(beta, title)
        holds(gamma, title)
    assert chosen(alpha, new) == [(gamma.pk, Scope.OTHER_PROVINCE)]
    assert chosen(alpha, older) == [(beta.pk, Scope.PROVINCE), (gamma.pk, Scope.OTHER_PROVINCE)]
    assert chosen(alpha, old_but_just_loaded) == [(beta.pk, Scope.PROVINCE), (gamma.pk, Scope.OTHER_PROVINCE)]
    # Six months later the new one is lent too.
    assert chosen(alpha, new, now=NOW + datetime.timedelta(days=160)) == [
        (beta.pk, Scope.PROVINCE), (gamma.pk, Scope.OTHER_PROVINCE)]


# --- who can lend at all --------------------------------------------------------------------

def test_an_inactive_library_or_branch_and_no_copy_available_are_skipped(lenders):
    alpha, beta, gamma, dormant = lenders.alpha, lenders.beta, lenders.gamma, lenders.dormant
    title = TitleFactory()
    holds(dormant, title, available=9)
    assert not dormant.is_active and first_branch(dormant) is not None
    assert chosen(alpha, title) == []
    holds(gamma, title, available=0)  # all out on loan
    assert chosen(alpha, title) == []
    first, second = beta.branches.filter(is_active=True).order_by("name")[:2]
    holds(beta, title, available=1, branch=first)
    holds(beta, title, available=5, branch=second)
    second.is_active = False
    second.save(update_fields=["is_active"])
    [candidate] = lender_candidates(requesting_organisation=alpha, title=title, now=NOW)
    assert (candidate.organisation_id, candidate.branch_id) == (beta.pk, first.pk)
