"""Reads about member sign-in (members.services.auth)."""

from django.utils import timezone

from ..cards import card_number_normalise
from ..models import CardSignIn


def card_sign_in_state(card_number, *, now=None):
    """Why a card is locked, for the desk: {locked_until, failures, last_failure_at,
    last_channel} or None when the card has no failures and no lock."""
    now = now or timezone.now()
    state = CardSignIn.objects.filter(card_number=card_number_normalise(card_number)).first()
    if state is None or (not state.failures and not (state.locked_until and state.locked_until > now)):
        return None
    return {
        "locked": bool(state.locked_until and state.locked_until > now),
        "locked_until": state.locked_until,
        "failures": state.failures,
        "last_failure_at": state.last_failure_at,
        "last_channel": state.last_channel,
    }
