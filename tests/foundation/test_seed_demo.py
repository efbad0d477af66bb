"""seed_demo builds the demo the run command shows, and running it again changes nothing."""

from django.core.management import call_command
from django_tenants.utils import tenant_context

from catalogue.models import Holding, Title
from collection.models import Item
from members.models import LedgerEntry, Member
from staff.models import LibraryRole, PoiAdministrator, Role, StaffUser
from tenants import demo
from tenants.models import Branch, LibraryOrganisation, Poi, PoiHub, Province


def snapshot():
    counts = [model.objects.count() for model in
              (Province, Poi, PoiHub, LibraryOrganisation, Branch, StaffUser, LibraryRole, PoiAdministrator, Title,
               Holding)]
    for organisation in LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES]):
        with tenant_context(organisation):
            counts.extend([Item.objects.count(), Member.objects.count(), LedgerEntry.objects.count()])
    return counts


def test_seed_demo_creates_the_demo_and_is_idempotent(db, capsys):
    call_command("seed_demo")
    first = snapshot()
    output = capsys.readouterr().out
    assert "Demo klaar" in output

    assert Province.objects.count() == 12 and Poi.objects.count() == 9
    demo_libraries = LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES])
    assert demo_libraries.count() >= 4
    assert demo_libraries.values("province").distinct().count() >= 2
    assert all(library.branches.count() >= 2 for library in demo_libraries)
    roles = set(LibraryRole.objects.filter(organisation__in=demo_libraries).values_list("role", flat=True))
    assert roles == set(Role.values)
    assert PoiAdministrator.objects.filter(user__username="bisc.beheer").exists()
    assert StaffUser.objects.get(username="landelijk").is_superuser
    assert StaffUser.objects.get(username="utrecht.balie").check_password(demo.DEMO_PASSWORD)
    assert Title.objects.filter(source="LSBDEMO").count() == 18
    assert Holding.objects.filter(organisation__slug="utrecht").exists()
    with tenant_context(demo_libraries.get(slug="utrecht")):
        assert Member.objects.count() == len(demo.MEMBERS)
        youth = Member.objects.get(first_name="Sara")
        assert youth.category.is_youth and youth.subscription.annual_fee_cents == 0
        assert not LedgerEntry.objects.filter(member=youth).exists()  # free under 18
        assert LedgerEntry.objects.filter(member__first_name="Anna", charge_type="subscription").exists()

    call_command("seed_demo")
    assert snapshot() == first
