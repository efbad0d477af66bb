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


def collection_actor(organisation, *, branch_id=None):
    """A collection staff member of `organisation` as the services' actor (the
    library's first one; made when it has none): for adding and changing items."""
    from core.actors import Actor

    user = (StaffUser.objects.filter(library_roles__organisation=organisation, library_roles__role=Role.COLLECTION)
            .order_by("pk").first() or staff_with_role(organisation, Role.COLLECTION))
    return Actor.staff(user, organisation, branch_id=branch_id)


def marc_record(*, title, author="", isbn="", control_number="", source="LSBTEST", year=2020, language="dut",
                subjects=()):
    """A small but real MARC21 record (pymarc), as a catalogue import would receive it."""
    from pymarc import Field, Leader, Record, Subfield

    record = Record(leader=Leader("00000nam a2200000 a 4500"), force_utf8=True)
    if control_number:
        record.add_field(Field(tag="001", data=control_number), Field(tag="003", data=source))
    record.add_field(Field(tag="008", data=f"200101s{year}    ne            000 1 {language} d"))
    if isbn:
        record.add_field(Field(tag="020", indicators=[" ", " "], subfields=[Subfield("a", isbn)]))
    if author:
        record.add_field(Field(tag="100", indicators=["1", " "], subfields=[Subfield("a", author)]))
    record.add_field(Field(tag="245", indicators=["1", "0"], subfields=[Subfield("a", title)]))
    for subject in subjects:
        record.add_field(Field(tag="650", indicators=[" ", "4"], subfields=[Subfield("a", subject)]))
    return record


def _search_columns(o):
    from catalogue.normalise import search_columns

    return search_columns(title=o.title, vernacular_title=getattr(o, "vernacular_title", ""),
                          contributors_text=o.contributors_text, subtitle=getattr(o, "subtitle", ""),
                          series=getattr(o, "series", ""), subjects_text=getattr(o, "subjects_text", ""))


class TitleFactory(factory.django.DjangoModelFactory):
    """A catalogue title with its fields set directly (the importer's own tests
    go through the importer)."""

    class Meta:
        model = "catalogue.Title"

    title = factory.Sequence(lambda n: f"Testtitel {n}")
    contributors_text = "Auteur, Test"
    contributors = factory.LazyAttribute(lambda o: [{"name": o.contributors_text, "role": "auteur"}])
    control_number = factory.Sequence(lambda n: f"T{n:08d}")
    source = "LSBTEST"
    year = 2020
    language = "dut"
    marc = factory.LazyAttribute(
        lambda o: marc_record(title=o.title, author=o.contributors_text, control_number=o.control_number).as_marc()
    )
    marc_checksum = factory.LazyAttribute(lambda o: __import__("hashlib").sha1(o.marc).hexdigest())
    # The searched text, folded as the importer folds it (catalogue.normalise.search_columns).
    title_folded = factory.LazyAttribute(lambda o: _search_columns(o)["title_folded"])
    contributors_folded = factory.LazyAttribute(lambda o: _search_columns(o)["contributors_folded"])
    subtitle_series_folded = factory.LazyAttribute(lambda o: _search_columns(o)["subtitle_series_folded"])
    subjects_folded = factory.LazyAttribute(lambda o: _search_columns(o)["subjects_folded"])
