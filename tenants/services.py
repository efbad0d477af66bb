"""Writes to the national registry. Provisioning a library organisation creates
its schema inside the same transaction as its registry rows, so a failure at
any step leaves nothing behind: PostgreSQL DDL is transactional.

Provisioning is national work (the public schema: national admin, commands):
the organisation and branch are the objects being made. A library's own
administrators maintain its branches' opening hours and closed days: those
services take an `actor` (core.actors.Actor) of the library whose schema the
connection is in and refuse a branch of another library. Staff or the system
only; the library-administrator role is checked by the staff edge (staff sits
above this floor). Refusals are core.errors.ServiceError codes (tenants/errors.py)."""

import datetime
import hashlib
import logging
import re
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists

from core.actors import ActorKind
from core.errors import ServiceError, ServiceErrors
from core.plausible import date_check

from .migration import applied_migrations, migrations_known

from .models import Branch, ClosedDate, Domain, LibraryOrganisation, OpeningPeriod, normalise_postcode

logger = logging.getLogger(__name__)


def _no_progress(message):
    pass


def schema_name_for(slug):
    """The PostgreSQL schema of a library organisation: lib_<slug>, safe as an identifier."""
    name = "lib_" + re.sub(r"[^a-z0-9_]", "_", slug.lower())
    return name[:63]


def library_host_for(slug):
    return f"{slug}.{settings.LSB_BASE_DOMAIN}"


def tenant_template_ensure(*, progress=_no_progress):
    """Make sure the template schema new tenants are cloned from exists and has
    every migration applied (a library created after a deploy but before
    migrate_schemas must not get yesterday's tables).

    Returns True when it had to create or migrate the template."""
    template = settings.TENANT_BASE_SCHEMA
    exists = schema_exists(template)
    if exists:
        applied = applied_migrations(template)
        if applied is not None and migrations_known() <= applied:
            return False
    progress(f"Sjabloonschema {template} {'bijwerken' if exists else 'aanmaken en migreren'}…")
    with transaction.atomic():
        connection.set_schema_to_public()
        if not exists:
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{template}"')
        call_command("migrate_schemas", tenant=True, schema_name=template, interactive=False, verbosity=0)
        connection.set_schema_to_public()
    return True


def _clone_function_install():
    """Install django-tenants' clone_schema() database function when it is missing
    or out of date. It is some 4,000 lines of PL/pgSQL: recreating it on every
    provisioning (as django-tenants does) bloats the catalogue and slows each next
    provisioning on the same connection."""
    version = "lsb:" + hashlib.sha1(CLONE_SCHEMA_FUNCTION.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(p.oid, 'pg_proc') FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = 'clone_schema'"
        )
        if (row := cursor.fetchone()) and row[0] == version:
            return
        CloneSchema()._create_clone_schema_function()
        cursor.execute(
            "COMMENT ON FUNCTION public.clone_schema(text, text, public.cloneparms[]) IS %s", [version]
        )


def _schema_clone_from_template(schema_name):
    """Copy the (current) template schema, its django_migrations rows included."""
    _clone_function_install()
    with connection.cursor() as cursor:
        cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [settings.TENANT_BASE_SCHEMA, schema_name])


def library_organisation_create(
    *, name, slug, isil, province, is_active=True, branches=(), progress=_no_progress
):
    """Provision a library organisation: registry row, schema, host name, branches.

    `branches` is a sequence of dicts with the keyword arguments of branch_create
    (without organisation). Raises ValidationError (a ServiceError, or the model's
    own validation) on bad input, changing nothing.
    """
    started = time.monotonic()
    if connection.schema_name != get_public_schema_name():
        raise ServiceError("library.create_outside_public")

    organisation = LibraryOrganisation(
        name=name,
        slug=slug,
        isil=isil,
        province=province,
        is_active=is_active,
        schema_name=schema_name_for(slug),
    )
    organisation.full_clean()
    host = library_host_for(slug)
    if Domain.objects.filter(domain=host).exists():
        raise ServiceError("library.host_taken", field="slug", host=host)

    tenant_template_ensure(progress=progress)
    with transaction.atomic():
        progress(f"Registreren: {name} ({isil})")
        organisation.save()
        progress(f"Schema {organisation.schema_name} aanmaken uit sjabloon {settings.TENANT_BASE_SCHEMA}…")
        if schema_exists(organisation.schema_name, case_sensitive=False):
            raise ServiceError("library.schema_exists", field="slug", schema=organisation.schema_name)
        _schema_clone_from_template(organisation.schema_name)
        progress(f"Adres {host}")
        Domain.objects.create(domain=host, tenant=organisation, is_primary=True)
        for branch in branches:
            progress(f"Vestiging {branch['name']}")
            branch_create(organisation=organisation, **branch)
    progress(f"Klaar in {time.monotonic() - started:.1f} s: http://{host}/")
    return organisation


def library_organisation_update(*, organisation, name, isil, province, is_active, opac_colour=None):
    """Change the registry data of a library organisation (not its schema or host);
    `opac_colour` (#rrggbb, None keeps it): its colour in the members' catalogue."""
    with transaction.atomic():
        locked = LibraryOrganisation.objects.select_for_update().get(pk=organisation.pk)
        locked.name = name
        locked.isil = isil
        locked.province = province
        locked.is_active = is_active
        if opac_colour is not None:
            locked.opac_colour = opac_colour
        locked.full_clean()
        locked.save(update_fields=["name", "isil", "province", "is_active", "opac_colour", "updated_at"])
    return locked


def branch_create(*, organisation, code, name, street, postcode, city, opening_hours=(), closed_dates=()):
    """Add a branch. opening_hours: (weekday, opens, closes) tuples; closed_dates: (date, reason)."""
    branch = Branch(
        organisation=organisation,
        code=code,
        name=name,
        street=street,
        postcode=normalise_postcode(postcode),
        city=city,
    )
    branch.full_clean()
    with transaction.atomic():
        branch.save()
        for weekday, opens, closes in opening_hours:
            period = OpeningPeriod(branch=branch, weekday=weekday, opens=opens, closes=closes)
            if closes <= opens:
                raise ServiceError("branch.opening_time_reversed", opens=f"{opens:%H:%M}", closes=f"{closes:%H:%M}")
            period.save()
        for date, reason in closed_dates:
            ClosedDate.objects.create(branch=branch, date=date, reason=reason)
    return branch


def branch_update(*, branch, name, street, postcode, city, is_active):
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        locked.name = name
        locked.street = street
        locked.postcode = normalise_postcode(postcode)
        locked.city = city
        locked.is_active = is_active
        locked.full_clean()
        locked.save(update_fields=["name", "street", "postcode", "city", "is_active", "updated_at"])
    return locked


def registry_reference_load():
    """Create or update the provinces, POIs and hubs from tenants.reference (idempotent)."""
    from .models import Poi, PoiHub, Province
    from .reference import POIS, PROVINCES

    names = dict(PROVINCES)
    with transaction.atomic():
        for code, name, province_codes, (hub_name, street, postcode, city) in POIS:
            poi, _ = Poi.objects.update_or_create(code=code, defaults={"name": name})
            for province_code in province_codes:
                Province.objects.update_or_create(code=province_code, defaults={"name": names[province_code], "poi": poi})
            PoiHub.objects.update_or_create(
                poi=poi, name=hub_name, defaults={"street": street, "postcode": normalise_postcode(postcode), "city": city}
            )


# --- Opening hours and closed days, maintained by the library's own administrators ---

MAX_PERIODS_PER_DAY = 4
MAX_CLOSED_RANGE_DAYS = 366


def _weekday_label(weekday):
    return OpeningPeriod.Weekday(weekday).label


def _opening_periods_clean(periods):
    """[(weekday, opens, closes)] sorted, or ServiceError(s) with every problem."""
    problems = []
    by_day = {}
    for entry in periods:
        try:
            weekday, opens, closes = entry
        except (TypeError, ValueError):
            raise ServiceError("branch_hours.period_malformed")
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ServiceError("branch_hours.day_unknown", day=repr(weekday))
        if not isinstance(opens, datetime.time) or not isinstance(closes, datetime.time):
            raise ServiceError("branch_hours.time_invalid", day=_weekday_label(weekday).capitalize())
        by_day.setdefault(weekday, []).append((opens, closes))
    cleaned = []
    for weekday in sorted(by_day):
        label = _weekday_label(weekday).capitalize()
        day = sorted(by_day[weekday])
        if len(day) > MAX_PERIODS_PER_DAY:
            problems.append(ServiceError("branch_hours.too_many_periods", day=label, max=MAX_PERIODS_PER_DAY))
        for opens, closes in day:
            if closes <= opens:
                problems.append(ServiceError("branch_hours.closes_before_opens", day=label,
                                             opens=f"{opens:%H:%M}", closes=f"{closes:%H:%M}"))
        for (opens, closes), (next_opens, next_closes) in zip(day, day[1:]):
            if next_opens < closes:
                problems.append(ServiceError("branch_hours.overlap", day=label,
                                             first=f"{opens:%H:%M}–{closes:%H:%M}",
                                             second=f"{next_opens:%H:%M}–{next_closes:%H:%M}"))
        cleaned.extend((weekday, opens, closes) for opens, closes in day)
    if problems:
        raise problems[0] if len(problems) == 1 else ServiceErrors(problems)
    if not cleaned:
        # tenants.calendar counts a branch without any hours as open every day.
        raise ServiceError("branch_hours.empty_week")
    return cleaned


def _branch_of_actor(actor, branch):
    """The actor's library (the connection's schema) and its branch; a branch of
    another library is refused. Staff or the system only."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
    if branch.organisation_id != organisation.pk:
        raise ServiceError("branch.not_of_library")
    return organisation


def branch_opening_hours_set(*, actor, branch, periods):
    """Replace a branch's weekly opening hours. periods: (weekday 0=Mon..6, opens, closes).

    A weekday without periods is a closed day. Raises ServiceError(s), changing nothing."""
    _branch_of_actor(actor, branch)
    cleaned = _opening_periods_clean(periods)
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        OpeningPeriod.objects.filter(branch=locked).delete()
        created = OpeningPeriod.objects.bulk_create(
            OpeningPeriod(branch=locked, weekday=weekday, opens=opens, closes=closes)
            for weekday, opens, closes in cleaned
        )
    logger.info("Openingstijden van vestiging %s gewijzigd door %s: %s", branch.pk, actor.ref, cleaned)
    return created


def _closed_reason_clean(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("closed_date.reason_missing", field="reason")
    max_length = ClosedDate._meta.get_field("reason").max_length
    if len(reason) > max_length:
        raise ServiceError("closed_date.reason_too_long", field="reason", max_length=max_length)
    return reason


# A closed date may be recorded up to a year after it (a storm closed a branch
# yesterday: no fines for that day) and planned up to ten years ahead.
CLOSED_DATE_PAST_DAYS = 366
CLOSED_DATE_FUTURE_DAYS = 10 * 366


def _closed_date_clean(date, field="date"):
    if not isinstance(date, datetime.date) or isinstance(date, datetime.datetime):
        raise ServiceError("closed_date.date_invalid", field="date")
    today = timezone.localdate()
    return date_check(date, field=field, label=_("De sluitingsdag"),
                      earliest=today - datetime.timedelta(days=CLOSED_DATE_PAST_DAYS),
                      latest=today + datetime.timedelta(days=CLOSED_DATE_FUTURE_DAYS))


def closed_date_add(*, actor, branch, date, reason):
    """Close a branch on one date. A date already closed is refused, naming its reason."""
    _branch_of_actor(actor, branch)
    date = _closed_date_clean(date)
    reason = _closed_reason_clean(reason)
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        existing = ClosedDate.objects.filter(branch=locked, date=date).first()
        if existing is not None:
            raise ServiceError("closed_date.already_closed", branch=locked.name, date=f"{date:%d-%m-%Y}",
                               reason=existing.reason)
        closed = ClosedDate.objects.create(branch=locked, date=date, reason=reason)
    logger.info("Sluitingsdag %s (%s) voor vestiging %s toegevoegd door %s", date, reason, branch.pk, actor.ref)
    return closed


def closed_dates_add_range(*, actor, branch, start, end, reason):
    """Close a branch from start to end inclusive (at most MAX_CLOSED_RANGE_DAYS days),
    e.g. a week of renovation. Dates already closed keep their own reason and are skipped.

    Returns (created ClosedDates, skipped existing ClosedDates)."""
    _branch_of_actor(actor, branch)
    start = _closed_date_clean(start)
    end = _closed_date_clean(end, field="until")
    reason = _closed_reason_clean(reason)
    if end < start:
        raise ServiceError("closed_date.end_before_start", field="until")
    days = (end - start).days + 1
    if days > MAX_CLOSED_RANGE_DAYS:
        raise ServiceError("closed_date.range_too_long", field="until", max=MAX_CLOSED_RANGE_DAYS, days=days)
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        skipped = list(ClosedDate.objects.filter(branch=locked, date__gte=start, date__lte=end).order_by("date"))
        taken = {closed.date for closed in skipped}
        created = ClosedDate.objects.bulk_create(
            ClosedDate(branch=locked, date=start + datetime.timedelta(days=n), reason=reason)
            for n in range(days)
            if start + datetime.timedelta(days=n) not in taken
        )
    logger.info(
        "Sluitingsdagen %s t/m %s (%s) voor vestiging %s toegevoegd door %s (%d nieuw)",
        start, end, reason, branch.pk, actor.ref, len(created),
    )
    return created, skipped


def closed_date_remove(*, actor, branch, closed_date_id):
    """Open a branch again on a closed date (of this branch only)."""
    _branch_of_actor(actor, branch)
    with transaction.atomic():
        locked = Branch.objects.select_for_update().get(pk=branch.pk)
        closed = ClosedDate.objects.filter(branch=locked, pk=closed_date_id).first()
        if closed is None:
            raise ServiceError("closed_date.unknown")
        closed.delete()
    logger.info("Sluitingsdag %s voor vestiging %s verwijderd door %s", closed.date, branch.pk, actor.ref)
    return closed
