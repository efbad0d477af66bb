"""migrate_schemas over many tenants: skips what is current, names a failing
tenant and still migrates the others."""

import pytest
from django.core.management import call_command
from django.db import connection

from tenants.migration import TenantMigrationFailed, applied_migrations

from ..factories import make_library

SESSIONS_0001 = ("sessions", "0001_initial")


def forget_migration(schema):
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {schema}.django_migrations WHERE app = %s AND name = %s", list(SESSIONS_0001)
        )


def test_a_run_with_nothing_to_apply_skips_every_schema(db, capsys):
    call_command("migrate_schemas", interactive=False)
    output = capsys.readouterr().out
    assert "mislukt: 0" in output
    assert "bijgewerkt: 0" in output


def test_one_failing_tenant_is_named_and_the_others_are_still_migrated(db, capsys):
    broken = make_library(slug="kapot")
    healthy = make_library(slug="gezond")
    # Both schemas 'forget' a migration, so both need migrating; in `kapot` a
    # constraint makes recording it fail, as a real broken schema would.
    forget_migration(broken.schema_name)
    forget_migration(healthy.schema_name)
    with connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE {broken.schema_name}.django_migrations ADD CONSTRAINT broken CHECK (app <> 'sessions')"
        )

    with pytest.raises(TenantMigrationFailed) as failed:
        call_command("migrate_schemas", interactive=False)

    assert "lib_kapot" in str(failed.value)
    assert "lib_gezond" not in str(failed.value)
    assert "lib_kapot] MIGRATIE MISLUKT" in capsys.readouterr().out
    assert SESSIONS_0001 in applied_migrations(healthy.schema_name)
    assert SESSIONS_0001 not in applied_migrations(broken.schema_name)
