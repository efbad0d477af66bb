"""How migrate_schemas runs over ~150 tenant schemas.

- The template schema new tenants are cloned from is migrated first, so a tenant
  created after a deploy gets the current tables.
- A schema whose django_migrations already lists every migration is skipped
  without loading Django's migrate command for it: a run with nothing to apply
  takes one query per schema.
- A tenant whose migration fails is named, and the others are still migrated;
  the command fails at the end, listing the failures.
"""

import sys
import traceback

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.migration_executors import get_executor as get_default_executor
from django_tenants.migration_executors.base import run_migrations
from django_tenants.migration_executors.standard import StandardExecutor
from django_tenants.utils import get_public_schema_name, quote_schema_name, schema_exists


def migrations_known():
    """Every migration in the project, as (app, name), as a tenant schema records them."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return set(loader.graph.nodes)


def applied_migrations(schema_name):
    """The (app, name) pairs recorded in one schema, or None when it has no record table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'django_migrations'",
            [schema_name],
        )
        if cursor.fetchone() is None:
            return None
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema_name)}.django_migrations")
        return set(cursor.fetchall())


class TenantMigrationFailed(CommandError):
    pass


class ResilientExecutor(StandardExecutor):
    codename = "lsb"

    def run_migrations(self, tenants=None):
        schemas = list(tenants or [])
        public = get_public_schema_name()
        if public in schemas:
            run_migrations(self.args, self.options, self.codename, public)
            schemas.remove(public)
        if not schemas:
            return

        whole_run = len(schemas) > 1 or self.options.get("schema_name") is None
        template = settings.TENANT_BASE_SCHEMA
        if whole_run and template not in schemas and schema_exists(template):
            schemas.insert(0, template)

        # A targeted migration (app label, fake, plan...) always goes through Django.
        targeted = any(self.options.get(flag) for flag in ("app_label", "migration_name", "fake", "plan", "prune"))
        known = None if targeted else migrations_known()

        failures = []
        skipped = 0
        stdout = sys.stdout
        verbosity = int(self.options.get("verbosity", 1))
        connection.set_schema_to_public()
        for index, schema_name in enumerate(schemas):
            if known is not None:
                applied = applied_migrations(schema_name)
                if applied is not None and known <= applied:
                    skipped += 1
                    continue
            try:
                run_migrations(
                    self.args, self.options, self.codename, schema_name, idx=index, count=len(schemas)
                )
            except Exception as error:  # noqa: BLE001 - reported per tenant, the run goes on
                failures.append((schema_name, error))
                stdout.write(f"[{index + 1}/{len(schemas)} {schema_name}] MIGRATIE MISLUKT: {error}\n")
                if verbosity >= 2:
                    traceback.print_exc()
            finally:
                connection.set_schema_to_public()
        if verbosity >= 1:
            stdout.write(
                f"Tenant-schema's: {len(schemas)}, bijgewerkt: {len(schemas) - skipped - len(failures)}, "
                f"al actueel: {skipped}, mislukt: {len(failures)}\n"
            )
        if failures:
            names = ", ".join(f"{name} ({error})" for name, error in failures)
            raise TenantMigrationFailed(f"Migratie mislukt voor {len(failures)} schema('s): {names}")


def get_executor(codename=None):
    if codename in (None, "standard", ResilientExecutor.codename):
        return ResilientExecutor
    return get_default_executor(codename)
