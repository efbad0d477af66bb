"""Writes to the national registry. Provisioning a library organisation creates
its schema inside the same transaction as its registry rows, so a failure at
any step leaves nothing behind: PostgreSQL DDL is transactional."""

import hashlib
import re
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.clone import CLONE_SCHEMA_FUNCTION, CloneSchema
from django_tenants.utils import get_public_schema_name, schema_exists

from .migration import applied_migrations, migrations_known

from .models import Branch, ClosedDate, Domain, LibraryOrganisation, OpeningPeriod, normalise_postcode


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
    (without organisation). Raises ValidationError on bad input, changing nothing.
    """
    started = time.monotonic()
    if connection.schema_name != get_public_schema_name():
        raise ValidationError("Bibliotheekorganisaties worden aangemaakt vanuit het landelijke schema.")

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
        raise ValidationError({"slug": f"Het adres {host} is al in gebruik."})

    tenant_template_ensure(progress=progress)
    with transaction.atomic():
        progress(f"Registreren: {name} ({isil})")
        organisation.save()
        progress(f"Schema {organisation.schema_name} aanmaken uit sjabloon {settings.TENANT_BASE_SCHEMA}…")
        if schema_exists(organisation.schema_name, case_sensitive=False):
            raise ValidationError({"slug": f"Het schema {organisation.schema_name} bestaat al."})
        _schema_clone_from_template(organisation.schema_name)
        progress(f"Adres {host}")
        Domain.objects.create(domain=host, tenant=organisation, is_primary=True)
        for branch in branches:
            progress(f"Vestiging {branch['name']}")
            branch_create(organisation=organisation, **branch)
    progress(f"Klaar in {time.monotonic() - started:.1f} s: http://{host}/")
    return organisation


def library_organisation_update(*, organisation, name, isil, province, is_active):
    """Change the registry data of a library organisation (not its schema or host)."""
    with transaction.atomic():
        locked = LibraryOrganisation.objects.select_for_update().get(pk=organisation.pk)
        locked.name = name
        locked.isil = isil
        locked.province = province
        locked.is_active = is_active
        locked.full_clean()
        locked.save(update_fields=["name", "isil", "province", "is_active", "updated_at"])
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
                raise ValidationError(f"Openingstijd {opens:%H:%M}-{closes:%H:%M}: sluiten moet na openen.")
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
