"""Factories for test data. Library organisations are provisioned through the
real service (schema and all); everything else is plain rows."""

import itertools

import factory

from staff.models import LibraryRole, PoiAdministrator, Role, StaffUser
from tenants.models import Branch, OpeningPeriod, Province
from tenants.services import library_organisation_create

PASSWORD = "correct-horse-battery-staple"
_numbers = itertools.count(1)


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffUser
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"medewerker{n}")
    first_name = "Kim"
    last_name = factory.Sequence(lambda n: f"Tester{n}")
    password = factory.django.Password(PASSWORD)


class LibraryRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LibraryRole
        django_get_or_create = ("user", "organisation", "role")

    user = factory.SubFactory(StaffUserFactory)
    role = Role.DESK


class PoiAdministratorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PoiAdministrator

    user = factory.SubFactory(StaffUserFactory, is_staff=True)


class BranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Branch

    code = factory.Sequence(lambda n: f"b{n}")
    name = factory.Sequence(lambda n: f"Vestiging {n}")
    street = "Dorpsstraat 1"
    postcode = "1234 AB"
    city = "Ergens"


class OpeningPeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningPeriod


def make_library(*, slug=None, province="UT", is_active=True, branch_count=2, name=None):
    """Provision a library organisation through the service, with branches."""
    number = next(_numbers)
    slug = slug or f"testbieb{number}"
    return library_organisation_create(
        name=name or f"Testbibliotheek {slug}",
        slug=slug,
        isil=f"NL-77{number:08d}",
        province=Province.objects.get(code=province),
        is_active=is_active,
        branches=[
            {
                "code": f"v{index}",
                "name": f"{slug.capitalize()} vestiging {index}",
                "street": f"Hoofdstraat {index}",
                "postcode": "3511 AA",
                "city": "Utrecht",
            }
            for index in range(1, branch_count + 1)
        ],
    )


def staff_with_role(organisation, role, username=None):
    user = StaffUserFactory(username=username) if username else StaffUserFactory()
    LibraryRoleFactory(user=user, organisation=organisation, role=role)
    return user
