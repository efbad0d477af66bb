"""Member sign-in with card and PIN (members.services.auth): one answer for every
wrong guess, a lock per card and per address, the desk sees it and unlocks it."""

import datetime

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from core.actors import Actor
from members.models import CardSignIn
from members.selectors.auth import card_sign_in_state
from members.services.auth import member_authenticate, member_sign_in_unlock

from ..conftest import host_client
from ..refusals import refused
from .factories import make_member


@pytest.fixture(autouse=True)
def forget_address_counts():
    yield
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter("*member-sign-in:address:*"):
        client.delete(key)


def test_the_right_card_and_pin_sign_in_however_the_card_is_typed(in_alpha):
    member = make_member(card_number="AB1234567", pin="4321")
    assert member_authenticate(card_number=" ab12 34567 ", pin="4321").pk == member.pk


def test_an_unknown_card_and_a_wrong_pin_get_the_same_answer(in_alpha):
    make_member(card_number="AB1234567", pin="4321")
    make_member(card_number="NOPIN0001", pin="")
    with refused("auth.invalid") as wrong_pin:
        member_authenticate(card_number="AB1234567", pin="0000")
    with refused("auth.invalid") as unknown:
        member_authenticate(card_number="ZZ9999999", pin="0000")
    with refused("auth.invalid"):
        member_authenticate(card_number="NOPIN0001", pin="")
    assert wrong_pin.value.messages == unknown.value.messages == ["Pasnummer of pincode klopt niet."]


@override_settings(MEMBER_SIGN_IN_MAX_FAILURES=3, MEMBER_SIGN_IN_LOCK_MINUTES=15)
def test_repeated_failures_lock_the_card_for_the_right_pin_too(in_alpha):
    make_member(card_number="AB1234567", pin="4321")
    now = timezone.now()
    for _attempt in range(2):
        with refused("auth.invalid"):
            member_authenticate(card_number="AB1234567", pin="0000", now=now, channel="sip2")
    with refused("auth.locked"):
        member_authenticate(card_number="AB1234567", pin="0000", now=now)
    with refused("auth.locked", match="tijdelijk geblokkeerd"):
        member_authenticate(card_number="AB1234567", pin="4321", now=now + datetime.timedelta(minutes=14))
    # After the lock period the right PIN works again, and clears the count.
    assert member_authenticate(card_number="AB1234567", pin="4321", now=now + datetime.timedelta(minutes=16))
    assert CardSignIn.objects.get(card_number="AB1234567").failures == 0


@override_settings(MEMBER_SIGN_IN_MAX_FAILURES=3)
def test_a_success_clears_earlier_failures(in_alpha):
    make_member(card_number="AB1234567", pin="4321")
    for _attempt in range(2):
        with refused("auth.invalid"):
            member_authenticate(card_number="AB1234567", pin="0000")
    member_authenticate(card_number="AB1234567", pin="4321")
    for _attempt in range(2):
        with refused("auth.invalid"):
            member_authenticate(card_number="AB1234567", pin="0000")
    assert card_sign_in_state("AB1234567")["locked"] is False


@override_settings(MEMBER_SIGN_IN_ADDRESS_MAX_FAILURES=4, MEMBER_SIGN_IN_MAX_FAILURES=100)
def test_one_address_guessing_many_cards_is_stopped(in_alpha):
    member = make_member(card_number="AB1234567", pin="4321")
    for number in range(4):
        with refused("auth.invalid"):
            member_authenticate(card_number=f"ZZ000000{number}", pin="0000", address="203.0.113.9")
    with refused("auth.address_locked"):
        member_authenticate(card_number="AB1234567", pin="4321", address="203.0.113.9")
    # Another address (and a self-service machine, which passes none) is not affected.
    assert member_authenticate(card_number="AB1234567", pin="4321", address="198.51.100.7").pk == member.pk
    assert member_authenticate(card_number="AB1234567", pin="4321").pk == member.pk


@override_settings(MEMBER_SIGN_IN_MAX_FAILURES=2)
def test_the_desk_sees_why_a_card_is_locked_and_unlocks_it(in_alpha, staff):
    member = make_member(card_number="AB1234567", pin="4321")
    for _attempt in range(2):
        with pytest.raises(Exception):
            member_authenticate(card_number="AB1234567", pin="0000", channel="opac")
    state = card_sign_in_state("AB1234567")
    assert state["locked"] and state["last_channel"] == "opac"

    with refused("actor.no_role"):
        member_sign_in_unlock(actor=Actor.staff(staff.alpha_collection), member_id=member.pk)
    assert card_sign_in_state("AB1234567")["locked"]

    member_sign_in_unlock(actor=Actor.staff(staff.alpha_desk), member_id=member.pk)
    assert card_sign_in_state("AB1234567") is None
    assert CardSignIn.objects.get(card_number="AB1234567").unlocked_by == f"staff:{staff.alpha_desk.pk}"
    assert member_authenticate(card_number="AB1234567", pin="4321").pk == member.pk


@override_settings(MEMBER_SIGN_IN_MAX_FAILURES=2)
def test_the_member_page_shows_the_lock_and_its_unlock_button(client, in_alpha, staff):
    member = make_member(card_number="AB1234567", pin="4321")
    for _attempt in range(2):
        with pytest.raises(Exception):
            member_authenticate(card_number="AB1234567", pin="0000", channel="sip2")
    client.force_login(staff.alpha_desk)
    page = host_client(client, "alpha").get(f"/leden/{member.pk}/")
    assert page.status_code == 200
    assert "Geblokkeerd tot" in page.content.decode() and "via SIP2" in page.content.decode()
    answer = client.post(f"/leden/{member.pk}/aanmelden-vrijgeven/")
    assert answer.status_code == 302
    assert card_sign_in_state("AB1234567") is None


def test_another_librarys_card_does_not_sign_in_here(libraries, member_defaults):
    from django_tenants.utils import tenant_context

    with tenant_context(libraries.beta):
        make_member(card_number="BETA000001", pin="4321")
    with tenant_context(libraries.alpha):
        with refused("auth.invalid"):
            member_authenticate(card_number="BETA000001", pin="4321")
