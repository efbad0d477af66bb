"""Lock-out after repeated failed staff sign-ins (django-axes): the desk's sign-in
on every library host and the national admin's /admin/ sign-in.

Decisions:
- Per account: STAFF_SIGN_IN_MAX_FAILURES failures (default 5) with one username
  lock that account for STAFF_SIGN_IN_LOCK_MINUTES (default 15), on every host and
  from every address, the right password included. A right password on a host
  where the account has no role counts as a failure (staff.forms.LibrarySignInForm).
- Per network address: STAFF_SIGN_IN_ADDRESS_MAX_FAILURES failures (default 30,
  more than per account: a branch's desks share one address) from one address lock
  every sign-in from it for the same time.
- The address is REMOTE_ADDR, or behind LSB_TRUSTED_PROXIES proxies (e.g. 1 for one
  load balancer that appends to X-Forwarded-For) the address the outermost trusted
  proxy saw; a client cannot choose it by sending the header itself.
- A success clears the account's failures. The lock-out page is Dutch (status 429)
  and names who can lift it: a library administrator frees their own staff's
  accounts on /balie/beheer/ (staff_sign_in_unlock), the national administrator
  any account or address in the national admin (Axes: access attempts).
- The counts live in the public schema (axes' AccessAttempt): staff accounts are
  national. They hold username, address, browser and path, never the password.
"""

from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit


def client_address(request):
    """The client's network address for the lock-out (see the module docstring)."""
    proxies = getattr(settings, "LSB_TRUSTED_PROXIES", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def username_of(request, credentials):
    """The username a sign-in tried, as the lock-out counts it: at most 150
    characters (Django's usernames; a longer one is no account, and axes stores 255)."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    return None if username is None else str(username)[:150]


class StaffSignInHandler(AxesDatabaseHandler):
    """Axes' database handler with its own limit per address: AXES_LOCKOUT_PARAMETERS
    is ["username", "ip_address"]; the account's failures count against
    AXES_FAILURE_LIMIT, the address's against STAFF_SIGN_IN_ADDRESS_MAX_FAILURES."""

    def get_failures(self, request, credentials=None):
        by_username, by_address = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        if by_address >= settings.STAFF_SIGN_IN_ADDRESS_MAX_FAILURES:
            return max(by_username, get_failure_limit(request, credentials))
        return by_username


def locked_out(request, credentials, *args, **kwargs):
    """The answer to a sign-in while its account or address is locked out."""
    return render(request, "staff/locked_out.html", {
        "minutes": settings.STAFF_SIGN_IN_LOCK_MINUTES,
        "national": getattr(request, "library", None) is None,
    }, status=429)


def sign_in_locked(username):
    """Is this account locked out now (for the library admin's staff list)?"""
    from axes.models import AccessAttempt
    from django.utils import timezone

    since = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start"))["total"] or 0
    return failures >= settings.AXES_FAILURE_LIMIT
