"""The national catalogue keeps its authority: a library's import never changes a
national record; matching is safe (a blank 003 is nobody's source, a record
without 001 keeps the title's 001); every change keeps the previous version, and
a cataloguer can restore it. Built from real Library of Congress records
(tests/data/marc/loc-scripts.mrc), as a library's own catalogue would hold them:
with its own 003/001, its own wording and its holdings (852)."""

import io

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context
from pymarc import Field, MARCReader, Record, Subfield

from catalogue import services
from catalogue.marc import decode_iso2709
from catalogue.models import (
    LocalRecord, MarcImportRecord, MatchRule, RecordOutcome, Title, TitleChange, TitleVersion,
)
from core.actors import Actor
from core.errors import error_codes
from staff.models import Role
from tests.factories import staff_with_role

from .marc_support import marc_bytes, run_import

pytestmark = pytest.mark.django_db

PRODIGE = "00035640"  # 'Prodige à voir', ISBN 9042908351 and 2877234819 (LoC, NFD diacritics)
KLEIST = "00041360"  # 'Heinrich von Kleist und die Aufklärung', ISBN 1571130470
IRKUTSK = "00299607"  # 'Ėkonomika Irkutskoĭ oblasti', with its Cyrillic 880


def loc(control_number):
    """A real LoC record from tests/data/marc/loc-scripts.mrc, as a pymarc Record."""
    for record in MARCReader(io.BytesIO(marc_bytes("loc-scripts.mrc")), to_unicode=True, force_utf8=True):
        if record["001"].data.strip() == control_number:
            return record
    raise AssertionError(f"{control_number} is not in loc-scripts.mrc")


def national(control_number):
    """The national feed's record: the LoC record with the national service's 003."""
    record = loc(control_number)
    record.remove_fields("003")
    record.add_ordered_field(Field(tag="003", data="DLC"))
    return record


def as_library_record(record, *, control_number, source="NL-AlLIB", title=None, publisher=None, barcode="A0001"):
    """The same book as a library's own catalogue describes it: its own 003/001, its
    own wording where given, and its holdings in 852."""
    record = Record(data=record.as_marc(), to_unicode=True, force_utf8=True)
    record.remove_fields("001", "003")
    record.add_ordered_field(Field(tag="001", data=control_number))
    record.add_ordered_field(Field(tag="003", data=source))
    if title:
        record["245"]["a"] = title
    if publisher:
        record["260"]["b"] = publisher
    record.add_ordered_field(Field(tag="852", indicators=[" ", " "], subfields=[
        Subfield("a", "NL-AlLIB"), Subfield("b", "v1"), Subfield("h", "ROMA VAN"), Subfield("p", barcode)]))
    return record


def stored_form(record):
    """The bytes the catalogue stores for a record (clean: NFC, UTF-8)."""
    _, marc, _ = decode_iso2709(record.as_marc())
    return marc


def protected(title):
    title.refresh_from_db()
    return (title.owner_id, title.source, title.control_number, bytes(title.marc), title.marc_checksum, title.title,
            title.publisher, title.year, title.isbns, title.contributors)


def log_of(marc_import):
    return list(MarcImportRecord.objects.filter(marc_import=marc_import).order_by("record_number")
                .values_list("record_number", "rule", "outcome"))


def cataloguer(organisation):
    user = staff_with_role(organisation, Role.COLLECTION)
    user.user_permissions.add(Permission.objects.get(codename="catalogue_national"))
    return type(user).objects.get(pk=user.pk)  # without a cached permission set


def import_as(user, organisation, data):
    """An import started by `user` at `organisation`'s desk, run as the worker runs it."""
    with tenant_context(organisation):
        marc_import = services.marc_import_register(actor=Actor.staff(user, organisation), file_name="upload.mrc")
        return services.marc_import_run(marc_import=marc_import, stream=io.BytesIO(data))


# --- a library's import never changes a national record ------------------------------------


def test_a_local_import_cannot_change_a_national_records_protected_fields(libraries):
    run_import(national(PRODIGE).as_marc())
    title = Title.objects.get()
    before = protected(title)
    assert title.owner_id is None and title.source == "DLC"

    local = as_library_record(national(PRODIGE), control_number="ALP-77", title="Prodige a voir (lokaal)",
                              publisher="Uitgeverij Lokaal")
    marc_import = run_import(local.as_marc(), organisation=libraries.alpha)

    assert protected(title) == before  # title, source, 001, publisher, year, ISBNs, makers, the record itself
    assert b"ALPHA" not in bytes(title.marc) and b"\x1e852" not in bytes(title.marc)[24:]
    assert not TitleVersion.objects.exists()
    assert (marc_import.created, marc_import.updated, marc_import.attached) == (0, 0, 1)
    assert log_of(marc_import) == [(1, MatchRule.ISBN, RecordOutcome.ATTACHED)]
    # The library's record is attached to the national title: its identity and its holdings.
    local_record = LocalRecord.objects.get()
    assert (local_record.title_id, local_record.organisation_id) == (title.pk, libraries.alpha.pk)
    assert (local_record.source, local_record.control_number, local_record.holdings) == ("NL-AlLIB", "ALP-77", 1)
    assert Record(bytes(local_record.marc))["852"]["p"] == "A0001"

    # Its next import finds the title by its own 003/001, and changes nothing.
    again = run_import(local.as_marc(), organisation=libraries.alpha)
    assert log_of(again) == [(1, MatchRule.LOCAL_RECORD, RecordOutcome.UNCHANGED)]
    assert (again.unchanged, again.attached, LocalRecord.objects.count()) == (1, 0, 1)
    assert protected(title) == before


def test_a_local_record_carrying_the_national_003_and_001_cannot_change_it_either(libraries):
    run_import(national(KLEIST).as_marc())
    title = Title.objects.get()
    before = protected(title)
    copy = national(KLEIST)
    copy["245"]["a"] = "Kleist en de Verlichting"  # same 003/001, the library's own title

    marc_import = run_import(copy.as_marc(), organisation=libraries.alpha)

    assert log_of(marc_import) == [(1, MatchRule.IDENTITY, RecordOutcome.ATTACHED)]
    assert protected(title) == before
    assert LocalRecord.objects.get().control_number == title.control_number


def test_national_feed_and_local_file_in_either_order_end_the_same(libraries):
    """Done means: the national feed and a library's local file of the same titles,
    in any order: the national records unchanged, the library's holdings attached."""
    # PRODIGE: national feed first. KLEIST: the library's file first.
    run_import(national(PRODIGE).as_marc())
    local_file = (as_library_record(national(PRODIGE), control_number="ALP-1", title="Prodige (lokaal)").as_marc()
                  + as_library_record(national(KLEIST), control_number="ALP-2", title="Kleist (lokaal)",
                                      barcode="A0002").as_marc())
    first_local = run_import(local_file, organisation=libraries.alpha)
    assert log_of(first_local) == [(1, MatchRule.ISBN, RecordOutcome.ATTACHED), (2, MatchRule.NONE,
                                                                                 RecordOutcome.CREATED)]
    kleist = Title.objects.get(isbns__contains=["9781571130471"])
    assert kleist.owner_id == libraries.alpha.pk and kleist.title == "Kleist (lokaal)"
    assert b"\x1e852" not in bytes(kleist.marc)[24:] and "852" not in Record(bytes(kleist.marc))

    feed = run_import(national(PRODIGE).as_marc() + national(KLEIST).as_marc())
    assert log_of(feed) == [(1, MatchRule.IDENTITY, RecordOutcome.UNCHANGED),
                            (2, MatchRule.ISBN, RecordOutcome.TAKEN_OVER)]
    again = run_import(local_file, organisation=libraries.alpha)
    assert log_of(again) == [(1, MatchRule.LOCAL_RECORD, RecordOutcome.UNCHANGED),
                             (2, MatchRule.LOCAL_RECORD, RecordOutcome.UNCHANGED)]

    # Both titles are exactly the national records, owned by the national service.
    for control_number in (PRODIGE, KLEIST):
        title = Title.objects.get(control_number=control_number)
        assert (title.owner_id, title.source) == (None, "DLC")
        assert bytes(title.marc) == stored_form(national(control_number))
    assert Title.objects.count() == 2
    # The library's records (identity and holdings) are attached to both.
    attached = {record.control_number: record for record in LocalRecord.objects.filter(organisation=libraries.alpha)}
    assert set(attached) == {"ALP-1", "ALP-2"}
    assert Record(bytes(attached["ALP-2"].marc))["852"]["p"] == "A0002"
    # The take-over kept the library's description as a version.
    [version] = TitleVersion.objects.filter(title=kleist)
    assert (version.change, version.owner_id, version.control_number) == (
        TitleChange.TAKEN_OVER, libraries.alpha.pk, "ALP-2")


def test_only_the_records_own_source_or_a_national_cataloguer_updates_it(libraries):
    run_import(national(IRKUTSK).as_marc())
    title = Title.objects.get()
    first = bytes(title.marc)

    corrected = national(IRKUTSK)
    corrected["245"]["a"] = "Ėkonomika Irkutskoĭ oblasti (herziene beschrijving) /"
    feed = run_import(corrected.as_marc())
    title.refresh_from_db()
    assert log_of(feed) == [(1, MatchRule.IDENTITY, RecordOutcome.UPDATED)]
    assert title.title == "Ėkonomika Irkutskoĭ oblasti (herziene beschrijving)"
    version = TitleVersion.objects.get()
    assert (bytes(version.marc), version.change, version.actor_ref, version.marc_import_id,
            version.organisation_id, version.record_number) == (
        first, TitleChange.UPDATED, "system:import_marc", feed.pk, None, 1)

    # A library's collection staff cannot; a national cataloguer can, even at a library's desk.
    by_library = corrected
    by_library["245"]["a"] = "Economie van de oblast Irkoetsk"
    collection_user = staff_with_role(libraries.alpha, Role.COLLECTION)
    refused = import_as(collection_user, libraries.alpha, by_library.as_marc())
    assert log_of(refused) == [(1, MatchRule.IDENTITY, RecordOutcome.ATTACHED)]
    title.refresh_from_db()
    assert title.title.endswith("(herziene beschrijving)")

    updated = import_as(cataloguer(libraries.alpha), libraries.alpha, by_library.as_marc())
    assert log_of(updated) == [(1, MatchRule.IDENTITY, RecordOutcome.UPDATED)]
    title.refresh_from_db()
    assert (title.title, title.owner_id) == ("Economie van de oblast Irkoetsk", None)
    assert TitleVersion.objects.filter(title=title).count() == 2


# --- matching -----------------------------------------------------------------------


def test_a_blank_003_does_not_make_two_importers_the_same_source(libraries):
    """marc.dat's LoC records have no 003. A library's record numbered 11778504 too,
    without 003, about another book, is not that title."""
    run_import(marc_bytes("marc.dat"))
    pragmatic = Title.objects.get(control_number="11778504")
    before = protected(pragmatic)
    other_book = loc(KLEIST)
    other_book.remove_fields("001", "003")
    other_book.add_ordered_field(Field(tag="001", data="11778504"))

    marc_import = run_import(other_book.as_marc(), organisation=libraries.alpha)

    assert log_of(marc_import)[0][1:] == (MatchRule.NONE, RecordOutcome.CREATED)
    assert protected(pragmatic) == before
    created = Title.objects.get(owner=libraries.alpha)
    assert (created.source, created.control_number, created.title) == (
        "", "11778504", "Heinrich von Kleist und die Aufklärung")
    # The same library's file again: its own numbering without 003 finds its own title.
    again = run_import(other_book.as_marc(), organisation=libraries.alpha)
    assert log_of(again) == [(1, MatchRule.IDENTITY, RecordOutcome.UNCHANGED)]


def test_a_record_without_001_that_matches_by_isbn_keeps_the_titles_001():
    run_import(national(PRODIGE).as_marc())
    without_number = national(PRODIGE)
    without_number.remove_fields("001", "003")
    without_number["245"]["a"] = "Prodige à voir, herdruk :"

    marc_import = run_import(without_number.as_marc())

    title = Title.objects.get()
    assert log_of(marc_import) == [(1, MatchRule.ISBN, RecordOutcome.UPDATED)]
    assert (title.source, title.control_number, title.title) == ("DLC", PRODIGE, "Prodige à voir, herdruk")
    stored = Record(bytes(title.marc))
    assert stored["001"].data == PRODIGE and stored["003"].data == "DLC"


def test_every_matching_rule_is_reported_per_record(libraries):
    run_import(national(PRODIGE).as_marc() + national(KLEIST).as_marc())
    prodige = Title.objects.get(control_number=PRODIGE)
    no_number = loc(IRKUTSK)
    no_number.remove_fields("001", "003", "020")
    run_import(no_number.as_marc(), organisation=libraries.alpha)  # a title of alpha's, known by its content only
    exported = national(PRODIGE)
    exported.add_ordered_field(Field(tag="035", indicators=[" ", " "], subfields=[Subfield("a", f"(LSB){prodige.pk}")]))
    local_kleist = as_library_record(national(KLEIST), control_number="ALP-9")
    new_book = loc(PRODIGE)
    new_book.remove_fields("001", "003", "020")
    new_book["245"]["a"] = "Een ander boek"

    records = [exported, national(KLEIST), local_kleist, no_number, new_book]
    first = run_import(b"".join(record.as_marc() for record in records), organisation=libraries.alpha)
    assert [rule for _, rule, _ in log_of(first)] == [
        MatchRule.LSB_NUMBER, MatchRule.IDENTITY, MatchRule.ISBN, MatchRule.CONTENT, MatchRule.NONE]
    second = run_import(local_kleist.as_marc(), organisation=libraries.alpha)
    assert log_of(second) == [(1, MatchRule.LOCAL_RECORD, RecordOutcome.UNCHANGED)]


def test_holdings_never_enter_a_title_even_when_the_library_describes_it_first(libraries):
    local = as_library_record(loc(IRKUTSK), control_number="ALP-3")
    run_import(local.as_marc(), organisation=libraries.alpha)
    title = Title.objects.get()
    assert title.owner_id == libraries.alpha.pk
    assert "852" not in Record(bytes(title.marc))
    assert Record(bytes(LocalRecord.objects.get(title=title).marc))["852"]["p"] == "A0001"


# --- another library may add what a library's title lacks, never what the service described


def test_another_library_adds_what_a_library_described_title_lacks(libraries):
    bare = as_library_record(loc(KLEIST), control_number="ALP-4")
    bare.remove_fields("650", "600", "651", "504", "300")
    run_import(bare.as_marc(), organisation=libraries.alpha)
    title = Title.objects.get()
    assert title.subjects == [] and title.owner_id == libraries.alpha.pk

    richer = as_library_record(loc(KLEIST), control_number="BET-4", source="NL-BeLIB", title="Kleist (beta)")
    marc_import = run_import(richer.as_marc(), organisation=libraries.beta)

    title.refresh_from_db()
    assert log_of(marc_import) == [(1, MatchRule.ISBN, RecordOutcome.ENRICHED)]
    assert title.title == "Heinrich von Kleist und die Aufklärung"  # not beta's wording
    assert (title.owner_id, title.control_number) == (libraries.alpha.pk, "ALP-4")
    assert title.subjects  # beta's subject headings, which alpha's record lacked
    assert "300" in Record(bytes(title.marc)) and "852" not in Record(bytes(title.marc))
    assert TitleVersion.objects.get(title=title).change == TitleChange.ENRICHED
    assert LocalRecord.objects.filter(organisation=libraries.beta, control_number="BET-4").exists()


def test_a_national_record_is_not_enriched_by_a_library(libraries):
    bare = national(KLEIST)
    bare.remove_fields("650", "600", "651")
    run_import(bare.as_marc())
    title = Title.objects.get()
    before = protected(title)

    marc_import = run_import(as_library_record(loc(KLEIST), control_number="ALP-5").as_marc(),
                             organisation=libraries.alpha)

    assert log_of(marc_import) == [(1, MatchRule.ISBN, RecordOutcome.ATTACHED)]
    assert protected(title) == before and title.subjects == []


# --- history and undo ---------------------------------------------------------------


def test_a_cataloguer_restores_the_previous_version(libraries):
    run_import(national(PRODIGE).as_marc())
    title = Title.objects.get()
    original = protected(title)
    changed = national(PRODIGE)
    changed["245"]["a"] = "Prodige à voir : tweede beschrijving"
    changed.remove_fields("020")
    run_import(changed.as_marc())
    title.refresh_from_db()
    assert title.title == "Prodige à voir : tweede beschrijving"
    version = TitleVersion.objects.get()

    user = cataloguer(libraries.alpha)
    with tenant_context(libraries.alpha):
        services.title_version_restore(actor=Actor.staff(user, libraries.alpha), version_id=version.pk)

    assert protected(title) == original
    assert set(title.isbns) == {"9789042908352", "9782877234818"}
    version.refresh_from_db()
    assert version.restored_at is not None and version.restored_by_ref == f"staff:{user.pk}"
    # What the restore replaced is a version too: the restore can be undone.
    replaced = TitleVersion.objects.get(change=TitleChange.RESTORED)
    assert Record(bytes(replaced.marc))["245"]["a"] == "Prodige à voir : tweede beschrijving"
    with tenant_context(libraries.alpha):
        services.title_version_restore(actor=Actor.staff(user, libraries.alpha), version_id=replaced.pk)
    title.refresh_from_db()
    assert title.title == "Prodige à voir : tweede beschrijving"


def test_restoring_is_refused_to_who_may_not_and_changes_nothing(libraries, staff):
    bare = as_library_record(loc(KLEIST), control_number="ALP-6")
    bare.remove_fields("650", "600", "651")
    run_import(bare.as_marc(), organisation=libraries.alpha)
    run_import(as_library_record(loc(KLEIST), control_number="BET-6", source="NL-BeLIB").as_marc(),
               organisation=libraries.beta)
    title = Title.objects.get()
    enriched = protected(title)
    version = TitleVersion.objects.get()

    beta_collection = staff_with_role(libraries.beta, Role.COLLECTION)
    refusals = [
        (libraries.beta, Actor.staff(beta_collection, libraries.beta)),  # another library's staff
        (libraries.alpha, Actor.staff(staff.alpha_desk, libraries.alpha)),  # no collection role
        (libraries.alpha, Actor.system("nightly", libraries.alpha)),
    ]
    for organisation, actor in refusals:
        with tenant_context(organisation):
            with pytest.raises(ValidationError) as error:
                services.title_version_restore(actor=actor, version_id=version.pk)
        assert error_codes(error.value) == ["title_version.not_allowed"]
    assert protected(title) == enriched
    assert TitleVersion.objects.count() == 1
    with tenant_context(libraries.alpha), pytest.raises(ValidationError) as error:
        services.title_version_restore(actor=Actor.staff(staff.alpha_collection, libraries.alpha), version_id=999999)
    assert error_codes(error.value) == ["title_version.unknown"]

    # The library that described the title undoes another library's addition.
    with tenant_context(libraries.alpha):
        services.title_version_restore(actor=Actor.staff(staff.alpha_collection, libraries.alpha),
                                       version_id=version.pk)
    title.refresh_from_db()
    assert title.subjects == []


def test_the_national_feed_takes_over_a_library_title_even_when_the_record_is_the_same(libraries):
    """A library copied the national record before the feed delivered it: the title
    becomes the national service's, not the library's, and the library keeps its record."""
    run_import(national(IRKUTSK).as_marc(), organisation=libraries.alpha)
    title = Title.objects.get()
    assert title.owner_id == libraries.alpha.pk

    feed = run_import(national(IRKUTSK).as_marc())

    title.refresh_from_db()
    assert log_of(feed) == [(1, MatchRule.IDENTITY, RecordOutcome.TAKEN_OVER)]
    assert (title.owner_id, title.source, title.control_number) == (None, "DLC", IRKUTSK)
    assert TitleVersion.objects.get().owner_id == libraries.alpha.pk
    assert LocalRecord.objects.get().organisation_id == libraries.alpha.pk
    # Again: nothing left to do.
    assert log_of(run_import(national(IRKUTSK).as_marc())) == [(1, MatchRule.IDENTITY, RecordOutcome.UNCHANGED)]


def test_the_shared_part_cut_from_the_bytes_is_the_record_without_holdings_written_again():
    """The import cuts a library's holdings and LSB's number out of the record's own bytes
    (fast); that is exactly the record written again without them."""
    from catalogue.marc import marc_bytes as write, shared_bytes, shared_part

    for record in MARCReader(io.BytesIO(marc_bytes("loc-scripts.mrc")), to_unicode=True, force_utf8=True):
        library = as_library_record(record, control_number="X1")
        library.add_ordered_field(Field(tag="035", indicators=[" ", " "], subfields=[Subfield("a", "(LSB)42")]))
        library.add_ordered_field(Field(tag="035", indicators=[" ", " "], subfields=[Subfield("a", "(OCoLC)42")]))
        data, marc, _ = decode_iso2709(library.as_marc())
        shared = shared_part(data)
        assert shared is not data
        assert shared_bytes(shared, marc) == write(shared)
        assert [field[0] for field in shared.fields].count("035") == 1 + [
            field.tag for field in record.fields].count("035")
        assert "852" not in shared.data
