"""The member's OPAC session, kept apart from staff sign-in.

A signed-in member is one key in the (server-side) session: OPAC_MEMBER_KEY with
the member's id, the library's id, when they signed in and were last seen, and a
fingerprint of their PIN hash. It never touches Django's authentication
(request.user stays whoever the staff sign-in says, or anonymous), so a member's
session grants no staff rights; and the OPAC never reads request.user, so a staff
session never acts as a member. The session key is rotated on sign-in and
sign-out (no fixation). A member session ends after OPAC_SESSION_IDLE_MINUTES
without a request, after OPAC_SESSION_MAX_HOURS in all, when the PIN changes
elsewhere, or when the member is erased or merged.
"""

import functools
import hashlib
import time
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from core.actors import Actor
from members.selectors.access import member_for_actor

OPAC_MEMBER_KEY = "opac_member"


def idle_seconds():
    return 60 * getattr(settings, "OPAC_SESSION_IDLE_MINUTES", 30)


def max_seconds():
    return 3600 * getattr(settings, "OPAC_SESSION_MAX_HOURS", 12)


def _fingerprint(member):
    return hashlib.sha256(f"{member.pk}:{member.pin_hash}".encode()).hexdigest()[:16]


def member_sign_in(request, member):
    """Start the member's session (after members.services.auth.member_authenticate)."""
    request.session.pop(OPAC_MEMBER_KEY, None)
    request.session.cycle_key()
    now = int(time.time())
    request.session[OPAC_MEMBER_KEY] = {"id": member.pk, "library": request.library.pk, "since": now,
                                        "seen": now, "fp": _fingerprint(member)}


def member_session_refresh(request, member):
    """Keep the session after the member changed their own PIN."""
    data = request.session.get(OPAC_MEMBER_KEY)
    if data:
        data["fp"] = _fingerprint(member)
        request.session[OPAC_MEMBER_KEY] = data


def member_sign_out(request):
    if OPAC_MEMBER_KEY in request.session:
        del request.session[OPAC_MEMBER_KEY]
        request.session.cycle_key()


def member_actor(request, member):
    return Actor.member(member.pk, request.library)


def signed_in_member(request):
    """The member signed in on this library's host in this session, or None (an
    expired or invalid session is ended here)."""
    if getattr(request, "_opac_member_checked", False):
        return request._opac_member
    request._opac_member_checked = True
    request._opac_member = None
    library = getattr(request, "library", None)
    data = request.session.get(OPAC_MEMBER_KEY) if library is not None else None
    if not isinstance(data, dict):
        return None
    now = int(time.time())
    valid = (data.get("library") == library.pk and now - data.get("seen", 0) <= idle_seconds()
             and now - data.get("since", 0) <= max_seconds())
    member = None
    if valid:
        member = member_for_actor(Actor.member(data["id"], library), data["id"], purpose="opac")
        valid = member is not None and _fingerprint(member) == data.get("fp")
    if not valid:
        member_sign_out(request)
        request.opac_session_ended = True
        return None
    if now - data["seen"] > 60:  # write the session at most once a minute
        data["seen"] = now
        request.session[OPAC_MEMBER_KEY] = data
    request._opac_member = member
    return member


def member_required(view):
    """The view needs a signed-in member of this library; else to the sign-in page."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        member = signed_in_member(request) if getattr(request, "library", None) is not None else None
        if member is None:
            query = {"volgende": request.get_full_path()}
            if getattr(request, "opac_session_ended", False):
                query["verlopen"] = "1"
            return redirect(f"{reverse('opac:sign-in')}?{urlencode(query)}")
        request.opac_member = member
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response
    return wrapped
