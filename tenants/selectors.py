"""Reads from the national registry."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch
from django.utils import timezone

from .calendar import public_holidays
from .models import Branch, ClosedDate, Domain, LibraryOrganisation, OpeningPeriod, Poi, Province

HOST_CACHE_SECONDS = 300


def _host_cache_key(hostname):
    return f"tenants:host:{hostname}"


def library_for_host(hostname):
    """The library organisation a host name routes to, or None.

    Cached in Redis so that routing a request costs no query (and so no extra
    `SET search_path`); tenants.signals drops the entry when a domain or an
    organisation changes."""
    key = _host_cache_key(hostname)
    try:
        cached = cache.get(key)
    except Exception:  # Redis down: routing still works from the database.
        cached = None
    if cached is not None:
        return cached or None
    domain = (
        Domain.objects.select_related("tenant", "tenant__province", "tenant__province__poi")
        .filter(domain=hostname)
        .first()
    )
    organisation = domain.tenant if domain else None
    try:
        # An unknown host is cached too (as False) but briefly, so a new one appears soon.
        cache.set(key, organisation or False, HOST_CACHE_SECONDS if organisation else 30)
    except Exception:
        pass
    return organisation


def host_cache_forget(hostnames):
    try:
        cache.delete_many([_host_cache_key(h) for h in hostnames])
    except Exception:
        pass


def is_national_host(hostname):
    return hostname in settings.LSB_NATIONAL_HOSTS


def library_address(organisation, *, scheme="http", port=None):
    """The address of a library's own screens, on its primary host name."""
    domain = organisation.get_primary_domain()
    if domain is None:
        return None
    suffix = f":{port}" if port and port not in (80, 443) else ""
    return f"{scheme}://{domain.domain}{suffix}/"




def branch_choices(organisation):
    """The library's active branches by name: what a screen offers to choose from."""
    return list(Branch.objects.filter(organisation=organisation, is_active=True).order_by("name"))


def branches_of(organisation, *, active_only=True):
    qs = Branch.objects.filter(organisation=organisation)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.prefetch_related(
        Prefetch("opening_periods", queryset=OpeningPeriod.objects.order_by("weekday", "opens")),
        Prefetch(
            "closed_dates",
            queryset=ClosedDate.objects.filter(date__gte=timezone.localdate()).order_by("date"),
            to_attr="upcoming_closed_dates",
        ),
    ).order_by("name")


def opening_week(branch):
    """[(weekday label, [periods])] Monday to Sunday, from prefetched opening periods."""
    by_day = {day: [] for day in OpeningPeriod.Weekday.values}
    for period in branch.opening_periods.all():
        by_day[period.weekday].append(period)
    return [(OpeningPeriod.Weekday(day).label, by_day[day]) for day in OpeningPeriod.Weekday.values]


def registry_overview():
    """Provinces with their POI and active library organisations, for the national page."""
    return Province.objects.select_related("poi").prefetch_related(
        Prefetch(
            "library_organisations",
            queryset=LibraryOrganisation.objects.filter(is_active=True).prefetch_related("domains").order_by("name"),
        )
    ).order_by("name")


def pois():
    return Poi.objects.prefetch_related("provinces", "hubs").order_by("name")


# --- Opening hours and closed days on the library administrators' screens ---


def library_branch(organisation, branch_id):
    """One branch of this library organisation (active or not), or None: never another library's."""
    try:
        branch_id = int(branch_id)
    except (TypeError, ValueError):
        return None
    return Branch.objects.filter(organisation=organisation, pk=branch_id).first()


def branch_opening_days(branch):
    """[(weekday value, label, [OpeningPeriod])] Monday to Sunday."""
    by_day = {day: [] for day in OpeningPeriod.Weekday.values}
    for period in OpeningPeriod.objects.filter(branch=branch).order_by("weekday", "opens"):
        by_day[period.weekday].append(period)
    return [(day, OpeningPeriod.Weekday(day).label, by_day[day]) for day in OpeningPeriod.Weekday.values]


def branch_closed_dates_upcoming(branch, today=None):
    today = today or timezone.localdate()
    return list(ClosedDate.objects.filter(branch=branch, date__gte=today).order_by("date"))


def branches_hours_overview(organisation, today=None):
    """Every branch of the library (inactive ones too) with today's periods and the
    next day it is closed on a date (its own closed date or a public holiday).

    [{"branch", "has_hours", "today": [periods], "closed_today": reason or None,
      "next_closed": (date, reason) or None}]"""
    today = today or timezone.localdate()
    holiday_list = [(day, name) for day, name in public_holidays([today.year, today.year + 1]) if day >= today]
    overview = []
    for branch in branches_of(organisation, active_only=False):
        periods = list(branch.opening_periods.all())
        closed = [(c.date, c.reason) for c in branch.upcoming_closed_dates]
        dated = sorted(closed + holiday_list)
        closed_today = next((reason for day, reason in dated if day == today), None)
        overview.append({
            "branch": branch,
            "has_hours": bool(periods),
            "today": [] if closed_today else [p for p in periods if p.weekday == today.weekday()],
            "closed_today": closed_today,
            "next_closed": next(((day, reason) for day, reason in dated if day > today), None),
        })
    return overview
