"""Member sign-in with card number and PIN: one service for the OPAC, SIP2 and the API.

Decisions:
- One answer (auth.invalid) for an unknown card, a card without a PIN, an erased
  or merged record and a wrong PIN: nothing tells a guesser which cards exist. The
  PIN is checked against a stand-in hash when there is no member, so the time an
  answer takes does not tell either.
- After MEMBER_SIGN_IN_MAX_FAILURES failures with one card within
  MEMBER_SIGN_IN_WINDOW_MINUTES the card is locked for MEMBER_SIGN_IN_LOCK_MINUTES,
  for the right PIN too (auth.locked, with the time it ends). The count lives in
  the library's schema (CardSignIn), so the desk sees why a card is locked and
  can unlock it; it is taken under the card row's lock, so guesses sent at once
  all count.
- Per network address (the OPAC and the API pass one; a self-service machine
  does not, since every member at it shares its address): after
  MEMBER_SIGN_IN_ADDRESS_MAX_FAILURES failures within the window every sign-in
  from it is refused until the lock period ends (auth.address_locked), counted in
  Redis so every web process shares the count.
- A failure is recorded even though the sign-in is refused: the count is written
  in its own transaction, committed before the refusal is raised.
- Only this library's own members sign in here; guests sign in at their home library.
"""

import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.errors import ServiceError
from staff.models import Role
from staff.permissions import require_role

from ..cards import card_number_normalise
from ..models import CardSignIn, Member, OnlineRegistration

_STAND_IN_HASH = None


def _setting(name, default):
    return getattr(settings, name, default)


def _max_failures():
    return _setting("MEMBER_SIGN_IN_MAX_FAILURES", 5)


def _window():
    return datetime.timedelta(minutes=_setting("MEMBER_SIGN_IN_WINDOW_MINUTES", 15))


def _lock_period():
    return datetime.timedelta(minutes=_setting("MEMBER_SIGN_IN_LOCK_MINUTES", 15))


def _address_key(address):
    return f"member-sign-in:address:{address}"


def _stand_in_hash():
    global _STAND_IN_HASH
    if _STAND_IN_HASH is None:
        _STAND_IN_HASH = make_password("lsb-no-such-card")
    return _STAND_IN_HASH


def member_authenticate(*, card_number, pin, address=None, channel="opac", now=None):
    """The Member whose card and PIN these are, or ServiceError auth.invalid /
    auth.locked / auth.address_locked. `address`: the client's network address
    (None for a self-service machine)."""
    now = now or timezone.now()
    card_number = card_number_normalise(card_number)
    pin = pin or ""
    if address and cache.get(_address_key(address), 0) >= _setting("MEMBER_SIGN_IN_ADDRESS_MAX_FAILURES", 20):
        raise ServiceError("auth.address_locked")

    member = (Member.objects.filter(card_number=card_number, erased_at__isnull=True, merged_into__isnull=True)
              .only("pk", "card_number", "pin_hash").first() if card_number else None)
    state = CardSignIn.objects.filter(card_number=card_number).first() if card_number else None
    if state is not None and state.locked_until and state.locked_until > now:
        raise ServiceError("auth.locked", until=timezone.localtime(state.locked_until).strftime("%H:%M"))

    pin_right = check_password(pin, member.pin_hash if member is not None and member.pin_hash else _stand_in_hash())
    if member is not None and member.pin_hash and pin and pin_right:
        if state is not None and state.failures:
            CardSignIn.objects.filter(pk=state.pk).update(failures=0, first_failure_at=None, locked_until=None)
        if OnlineRegistration.objects.filter(member_id=member.pk, email_verified_at__isnull=True).exists():
            # Registered online and the e-mail address not yet verified (members.services.online).
            raise ServiceError("auth.email_unverified")
        return Member.objects.get(pk=member.pk)

    locked_until = _count_failure(card_number, channel, now) if card_number else None
    if address:
        _count_address_failure(address)
    if locked_until is not None:
        raise ServiceError("auth.locked", until=timezone.localtime(locked_until).strftime("%H:%M"))
    raise ServiceError("auth.invalid")


def _count_failure(card_number, channel, now):
    """Count one failure for the card (its own committed transaction); the end of
    the lock when this failure locks the card, else None."""
    with transaction.atomic():
        CardSignIn.objects.get_or_create(card_number=card_number)
        state = CardSignIn.objects.select_for_update().get(card_number=card_number)
        if state.first_failure_at is None or now - state.first_failure_at > _window():
            state.failures, state.first_failure_at = 0, now
        state.failures += 1
        state.last_failure_at, state.last_channel = now, channel
        if state.failures >= _max_failures():
            state.locked_until = now + _lock_period()
            state.failures, state.first_failure_at = 0, None
        state.save()
        return state.locked_until if state.locked_until and state.locked_until > now else None


def _count_address_failure(address):
    key = _address_key(address)
    timeout = int(_lock_period().total_seconds())
    if not cache.add(key, 1, timeout=timeout):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=timeout)


def member_sign_in_unlock(*, actor, member_id):
    """Desk staff unlock a member's card after failed sign-ins."""
    actor.require_current_library()
    require_role(actor, Role.DESK)
    member = Member.objects.filter(pk=member_id).only("pk", "card_number").first()
    if member is None:
        raise ServiceError("member.not_found")
    with transaction.atomic():
        updated = CardSignIn.objects.filter(card_number=member.card_number).update(
            failures=0, first_failure_at=None, locked_until=None, unlocked_by=actor.ref)
    return bool(updated)
