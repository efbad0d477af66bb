"""Creating a library organisation: registry row, schema cloned from the template,
host name, branches; all or nothing."""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context, schema_exists, tenant_context

from tenants.models import Branch, Domain, LibraryOrganisation, Province
from tenants.services import library_organisation_create

from ..factories import make_library
from ..refusals import refused


def tables_in(schema):
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_create_makes_schema_host_and_branches(db):
    organisation = make_library(slug="nieuw", province="NH", branch_count=2)

    assert organisation.schema_name == "lib_nieuw"
    assert schema_exists("lib_nieuw")
    # Cloned from the migrated template: same tables, migrations recorded.
    assert tables_in("lib_nieuw") == tables_in("tenant_template")
    assert {"django_migrations", "django_content_type"} <= tables_in("lib_nieuw")
    with schema_context("lib_nieuw"), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM lib_nieuw.django_migrations")
        assert cursor.fetchone()[0] > 0
    assert Domain.objects.get(tenant=organisation).domain == "nieuw.localhost"
    assert organisation.poi.code == "probiblio"
    assert list(Branch.objects.filter(organisation=organisation).values_list("code", flat=True)) == ["v1", "v2"]


def test_postcode_is_normalised(db):
    organisation = make_library(slug="postcode")
    assert set(organisation.branches.values_list("postcode", flat=True)) == {"3511 AA"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"isil": "0200000000"}, "ISIL"),
        ({"slug": "alpha"}, "korte naam"),
        ({"isil": "NL-7700000001", "slug": "dubbel"}, "ISIL"),
        ({"name": "Testbibliotheek alpha", "slug": "anders"}, "naam"),
    ],
)
def test_bad_or_duplicate_input_is_refused_and_changes_nothing(db, libraries, change, message):
    before = (LibraryOrganisation.objects.count(), Domain.objects.count(), Branch.objects.count())
    arguments = {
        "name": "Een nieuwe bibliotheek",
        "slug": "eennieuwe",
        "isil": "NL-7799999999",
        "province": Province.objects.get(code="UT"),
        **change,
    }
    with pytest.raises(ValidationError) as refused:
        library_organisation_create(**arguments)
    assert message.lower() in str(refused.value).lower()
    assert (LibraryOrganisation.objects.count(), Domain.objects.count(), Branch.objects.count()) == before
    assert not schema_exists("lib_eennieuwe")


def test_libraries_are_provisioned_from_the_national_schema_only(db, libraries):
    with tenant_context(libraries.alpha):
        with refused("library.create_outside_public"):
            library_organisation_create(name="Binnenuit", slug="binnenuit", isil="NL-7755555555",
                                        province=Province.objects.get(code="UT"))
    assert not LibraryOrganisation.objects.filter(slug="binnenuit").exists()


def test_failure_halfway_leaves_no_half_made_tenant(db):
    """The second branch has a bad postcode: by then the schema exists, so all of it must go."""
    with pytest.raises(ValidationError, match="postcode"):
        library_organisation_create(
            name="Half gemaakt",
            slug="halfgemaakt",
            isil="NL-7712121212",
            province=Province.objects.get(code="UT"),
            branches=[
                {"code": "a", "name": "A", "street": "Straat 1", "postcode": "3511 AA", "city": "Utrecht"},
                {"code": "b", "name": "B", "street": "Straat 2", "postcode": "ABCD 12", "city": "Utrecht"},
            ],
        )
    assert not LibraryOrganisation.objects.filter(slug="halfgemaakt").exists()
    assert not Domain.objects.filter(domain="halfgemaakt.localhost").exists()
    assert not Branch.objects.filter(code__in=["a", "b"], name__in=["A", "B"]).exists()
    assert not schema_exists("lib_halfgemaakt")


def test_create_library_command_shows_progress(db, capsys):
    call_command(
        "create_library",
        "--name=Bibliotheek Commando",
        "--slug=commando",
        "--isil=NL-7734343434",
        "--province=fr",
        "--branch=hoofd|Hoofdvestiging|Nieuwestad 1|8911 CA|Leeuwarden",
    )
    output = capsys.readouterr().out
    assert "Schema lib_commando aanmaken uit sjabloon tenant_template" in output
    assert "Vestiging Hoofdvestiging" in output
    assert "Klaar in" in output
    organisation = LibraryOrganisation.objects.get(slug="commando")
    assert organisation.poi.code == "fers"
    assert organisation.branches.get().postcode == "8911 CA"


def test_create_library_command_reports_bad_input(db):
    with pytest.raises(CommandError, match="Onbekende provincie"):
        call_command("create_library", name="X", slug="x", isil="NL-7700000099", province="XX")
    with pytest.raises(CommandError, match="Niet aangemaakt"):
        call_command("create_library", name="X", slug="x", isil="geen-isil", province="UT")
    assert not LibraryOrganisation.objects.filter(slug="x").exists()


def test_a_stale_template_is_migrated_before_it_is_cloned(db):
    """A library created after a deploy but before migrate_schemas still gets every table."""
    from tenants.migration import applied_migrations, migrations_known

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM tenant_template.django_migrations WHERE app = 'sessions'")
    assert not migrations_known() <= applied_migrations("tenant_template")

    organisation = make_library(slug="nadeploy")

    assert migrations_known() <= applied_migrations("tenant_template")
    assert migrations_known() <= applied_migrations(organisation.schema_name)
