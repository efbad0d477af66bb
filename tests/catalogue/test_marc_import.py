"""MARC import into the national catalogue: the real test files as they are, and
deliberately broken copies of them."""

import hashlib
import io

import pytest
from django.db import connection
from pymarc import Field, Leader, MARCReader, Record, Subfield

from catalogue import services
from catalogue.marc import BadRecord, read_records, title_fields
from catalogue.models import Audience, MarcFormat, MarcImportStatus, MaterialType, Title
from catalogue.tasks import marc_import_process
from tests.factories import TitleFactory, marc_record

from .marc_support import (  # noqa: F401 (fixture)
    marc_bytes, media_root, problems_of, run_import, upload_import, warnings_of,
)

pytestmark = pytest.mark.django_db


def records_of(name):
    return list(MARCReader(io.BytesIO(marc_bytes(name)), to_unicode=True))


# --- real files ---------------------------------------------------------------------


def test_real_file_becomes_titles_with_normalised_fields():
    marc_import = run_import(marc_bytes("marc.dat"), file_name="marc.dat")

    assert marc_import.status == MarcImportStatus.DONE
    assert marc_import.format == MarcFormat.ISO2709
    assert (marc_import.records_read, marc_import.created, marc_import.skipped) == (20, 20, 0)
    assert Title.objects.count() == 20

    pragmatic = Title.objects.get(control_number="11778504")
    assert pragmatic.source == ""
    assert pragmatic.title == "The pragmatic programmer"
    assert pragmatic.subtitle == "from journeyman to master"
    assert pragmatic.responsibility == "Andrew Hunt, David Thomas"
    assert pragmatic.contributors == [
        {"name": "Hunt, Andrew", "role": "auteur"},  # 100: the main entry is the author
        {"name": "Thomas, David", "role": ""},  # 700 without a relator: no role is made up
    ]
    assert pragmatic.contributors_text == "Hunt, Andrew; Thomas, David"
    assert pragmatic.isbns == ["9780201616224"]  # ISBN-10 020161622X, as ISBN-13
    assert pragmatic.publisher == "Addison-Wesley"
    assert pragmatic.year == 2000
    assert pragmatic.language == "eng"
    assert pragmatic.material_type == MaterialType.BOOK
    assert pragmatic.audience == Audience.UNKNOWN  # 008/22 blank
    assert pragmatic.subjects == ["Computer programming"]
    assert pragmatic.title_folded == "the pragmatic programmer"
    assert pragmatic.contributors_folded == "hunt andrew thomas david"
    stored = bytes(pragmatic.marc)
    assert pragmatic.marc_checksum == hashlib.sha1(stored).hexdigest()
    assert Record(stored).title.startswith("The pragmatic programmer")

    patterns = Title.objects.get(control_number="1598167")
    assert patterns.isbns == ["9780201633610"]  # '0201633612 (acid-free paper)'
    assert patterns.year == 1995  # 'c1995.'
    assert patterns.series == ""  # 440 is obsolete; LSB reads 490/830
    assert patterns.subjects == [
        "Object-oriented programming (Computer science)",
        "Computer software -- Reusability",
        "Software patterns",
    ]
    # The search vector is generated from the stored fields.
    assert Title.objects.filter(pk=patterns.pk, search_vector__isnull=False).exists()


def test_importing_the_same_files_twice_changes_nothing():
    first = run_import(marc_bytes("marc.dat"))
    run_import(marc_bytes("test.dat"))
    before = {pk: (checksum, updated) for pk, checksum, updated in
              Title.objects.values_list("pk", "marc_checksum", "updated_at")}
    assert len(before) == 30

    again = run_import(marc_bytes("marc.dat"))
    again_test = run_import(marc_bytes("test.dat"))

    assert first.created == 20
    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 20, 0)
    assert (again_test.created, again_test.updated, again_test.unchanged) == (0, 0, 10)
    after = {pk: (checksum, updated) for pk, checksum, updated in
             Title.objects.values_list("pk", "marc_checksum", "updated_at")}
    assert after == before


def test_marcxml_is_imported_and_twice_changes_nothing():
    marc_import = run_import(marc_bytes("batch.xml"), file_name="batch.xml")
    assert marc_import.format == MarcFormat.MARCXML
    assert (marc_import.created, marc_import.skipped) == (2, 0)
    ray_charles = Title.objects.get(title="The Great Ray Charles")
    assert ray_charles.material_type == MaterialType.MUSIC_CD  # leader/06 'j'
    assert bytes(ray_charles.marc)[9:10] == b"a"  # stored as UTF-8 ISO 2709
    assert Title.objects.get(title="The White House").material_type == MaterialType.ELECTRONIC  # 'm'

    zen = run_import(marc_bytes("utf8.xml"))
    assert zen.created == 1
    again = run_import(marc_bytes("batch.xml"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_marc8_records_are_stored_as_the_utf8_conversion():
    marc_import = run_import(marc_bytes("marc8.dat"))

    assert marc_import.created == 1
    title = Title.objects.get(control_number="2")
    # Exactly the record pymarc's test data gives as its conversion to Unicode.
    assert bytes(title.marc) == marc_bytes("marc8-to-unicode.dat")
    assert bytes(title.marc)[9:10] == b"a"
    assert "De la solitude à la communauté" in Record(bytes(title.marc))["240"]["a"]
    assert title.title == "Escape from loneliness"
    assert title.contributors == [{"name": "Tournier, Paul", "role": "auteur"}]

    # The converted file itself is the same record: nothing to change.
    converted = run_import(marc_bytes("marc8-to-unicode.dat"))
    assert (converted.created, converted.updated, converted.unchanged) == (0, 0, 1)


def test_every_good_record_of_bad_records_is_committed_and_each_bad_one_reported():
    marc_import = run_import(marc_bytes("bad_records.mrc"), file_name="bad_records.mrc")

    assert marc_import.status == MarcImportStatus.DONE
    assert marc_import.records_read == 9
    # Records 1 and 8 are the two good ones: the very same record twice, so one title.
    assert (marc_import.created, marc_import.unchanged, marc_import.skipped) == (1, 1, 7)
    assert list(Title.objects.values_list("title", flat=True)) == ["The pragmatic programmer"]
    problems = problems_of(marc_import)
    assert [(number, offset) for number, offset, _ in problems] == [
        (2, 127), (3, 254), (4, 381), (5, 509), (6, 637), (7, 764), (9, 917),
    ]
    reasons = [reason for _, _, reason in problems]
    assert "basisadres 99937 ligt buiten het record" in reasons[0]
    assert "basisadres 0" in reasons[1]
    assert "kapotte directory" in reasons[2]
    assert "kapotte directory" in reasons[3]  # undecodable bytes in the directory
    assert "basisadres (leader/12-16) is geen getal" in reasons[4]
    assert "geen velden" in reasons[5]
    assert "afgebroken record" in reasons[6]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad_subfield_code.dat", "kapotte directory: veld 245"),
        ("bad_tag.xml", "kapotte leader: 17 tekens in plaats van 24"),
    ],
)
def test_records_with_a_broken_directory_or_leader_are_refused_with_their_reason(name, reason):
    marc_import = run_import(marc_bytes(name), file_name=name)

    assert marc_import.status == MarcImportStatus.DONE
    assert (marc_import.created, marc_import.skipped) == (0, 1)
    [(number, _, found)] = problems_of(marc_import)
    assert number == 1
    assert reason in found
    assert not Title.objects.exists()


@pytest.mark.parametrize(
    ("name", "control_number", "code", "warning"),
    [
        # Undecodable MARC-8 (EACC) in an 880 the catalogue does not need.
        ("bad_eacc_encoding.dat", "ocn503001208", "marc_warning.encoding_marc8",
         "veld 880 $a: ongeldige tekencodering (MARC-8)"),
        # A subfield code that is no character, in 260 (publisher): that subfield is left out.
        ("utf8_invalid.mrc", "144917", "marc_warning.subfield_code", "veld 260: subveld met ongeldige code weggelaten"),
    ],
)
def test_oddities_outside_the_needed_fields_are_imported_with_a_warning_naming_the_field(
        name, control_number, code, warning):
    marc_import = run_import(marc_bytes(name), file_name=name)

    assert (marc_import.created, marc_import.skipped, marc_import.warnings) == (1, 0, 1)
    [(number, found_code, found)] = warnings_of(marc_import)
    assert (number, found_code) == (1, code)
    assert warning in found
    assert Title.objects.get().control_number == control_number


def test_utf8_text_under_a_marc8_leader_is_read_as_utf8():
    """The same record twice: once correctly flagged UTF-8 (leader/09 'a'), once
    with leader/09 blank. The second is read as the UTF-8 it is, with a warning,
    and stored exactly as the first: importing it changes nothing."""
    flagged = run_import(marc_bytes("utf8_with_leader_flag.dat"))
    stored = Title.objects.get()
    unflagged = run_import(marc_bytes("utf8_without_leader_flag.dat"))

    assert (flagged.created, unflagged.created, unflagged.unchanged, unflagged.skipped) == (1, 0, 1, 0)
    assert [code for _, code, _ in warnings_of(unflagged)] == ["marc_warning.utf8_labelled_marc8"]
    stored.refresh_from_db()
    assert "\ufffd" not in Record(bytes(stored.marc))["240"]["a"]


def test_structural_edge_cases_that_are_still_whole_records_are_imported():
    for name in ("alphatag.dat", "bad_marc8_escape.dat", "utf8_errors.dat", "utf8_with_leader_flag.dat"):
        marc_import = run_import(marc_bytes(name), file_name=name)
        assert (marc_import.created + marc_import.updated, marc_import.skipped) == (1, 0), name
    assert Title.objects.get(control_number="000000001").title == "Chemistry experiments for children"
    assert Title.objects.get(control_number="2429943").title == "Bulletin de la Société linnenne de Bordeaux"


# --- deliberately broken copies -------------------------------------------------------


def split_records(data):
    return [chunk + b"\x1d" for chunk in data.split(b"\x1d")[:-1]]


def test_truncated_file_keeps_every_whole_record(tmp_path):
    data = marc_bytes("marc.dat")
    records = split_records(data)
    cut = sum(len(record) for record in records[:4]) + 300  # in the middle of record 5
    path = tmp_path / "truncated.mrc"
    path.write_bytes(data[:cut])

    marc_import = run_import(path.read_bytes())

    assert (marc_import.created, marc_import.skipped) == (4, 1)
    [(number, offset, reason)] = problems_of(marc_import)
    assert (number, offset) == (5, sum(len(record) for record in records[:4]))
    assert "afgebroken record" in reason


def test_corrupted_directory_skips_that_record_only(tmp_path):
    records = split_records(marc_bytes("marc.dat"))
    third = bytearray(records[2])
    third[24 + 12 * 3 + 3] = ord("x")  # the length of the 4th directory entry
    records[2] = bytes(third)
    path = tmp_path / "directory.mrc"
    path.write_bytes(b"".join(records))

    marc_import = run_import(path.read_bytes())

    assert (marc_import.created, marc_import.skipped) == (19, 1)
    [(number, offset, reason)] = problems_of(marc_import)
    assert (number, offset) == (3, len(records[0]) + len(records[1]))
    assert "kapotte directory: ongeldige ingang" in reason
    assert marc_import.problems.get().control_number == "13610512"
    assert not Title.objects.filter(control_number="13610512").exists()


def test_invalid_utf8_with_leader_flag_a_is_an_error_not_replaced(tmp_path):
    good = marc_bytes("one.dat")
    assert good[9:10] == b"a"
    broken = good.replace(b"ActivePerl", b"Active\xffPerl"[:10])  # same length, one invalid byte
    assert len(broken) == len(good) and broken != good
    path = tmp_path / "invalid-utf8.mrc"
    path.write_bytes(broken + good)

    marc_import = run_import(path.read_bytes())

    [(number, offset, reason)] = problems_of(marc_import)
    assert (number, offset) == (1, 0)
    assert "ongeldige tekencodering (UTF-8) in veld 245 $a" in reason
    # The good copy behind it is imported, with its text intact.
    assert marc_import.created == 1
    assert Title.objects.get().title == "ActivePerl with ASP and ADO"


def test_record_without_title_is_reported(tmp_path):
    record = records_of("one.dat")[0]
    record.remove_fields("245")
    path = tmp_path / "no-title.mrc"
    path.write_bytes(marc_bytes("marc.dat") + record.as_marc())

    marc_import = run_import(path.read_bytes())

    assert (marc_import.created, marc_import.skipped) == (20, 1)
    problem = marc_import.problems.get()
    assert problem.record_number == 21
    assert problem.byte_offset == len(marc_bytes("marc.dat"))
    assert problem.reason == "titel ontbreekt (245 $a)"
    assert problem.control_number == "fol05731351"


def test_record_with_a_wrong_length_is_skipped_and_reading_resumes_after_it():
    records = split_records(marc_bytes("marc.dat"))[:3]
    second = b"9" + records[1][1:]  # leader length 9xxxx: past the end of the record
    marc_import = run_import(records[0] + second + records[2])
    # The reader resynchronises on the record terminator: record 3 is read.
    assert marc_import.created == 2
    [(number, offset, reason)] = problems_of(marc_import)
    assert (number, offset) == (2, len(records[0]))
    assert f"maar het record eindigt na {len(records[1])} bytes" in reason


def test_invalid_xml_commits_the_records_before_it_and_reports_where(tmp_path):
    data = marc_bytes("batch.xml")
    cut = data.index(b"</marc:record>") + len(b"</marc:record>") + 200
    path = tmp_path / "broken.xml"
    path.write_bytes(data[:cut] + b"<datafield <<")

    marc_import = run_import(path.read_bytes())

    assert marc_import.format == MarcFormat.MARCXML
    assert (marc_import.created, marc_import.skipped) == (1, 1)
    problem = marc_import.problems.get()
    assert problem.record_number == 2
    assert problem.line and problem.line > 1
    assert problem.reason.startswith(f"ongeldige XML op regel {problem.line}")
    assert Title.objects.get().title == "The Great Ray Charles"


def test_records_are_read_one_at_a_time_not_the_whole_file_first():
    class CountingStream(io.BytesIO):
        read_so_far = 0

        def read(self, size=-1):
            chunk = super().read(size)
            self.read_so_far += len(chunk)
            return chunk

    big_iso = marc_bytes("marc.dat") * 20  # 400 records, 400 kB
    stream = CountingStream(big_iso)
    first = next(read_records(stream, MarcFormat.ISO2709))
    assert first.ok and stream.read_so_far < len(big_iso) / 4

    xml = marc_bytes("batch.xml")
    start, end = xml.index(b"<marc:record>"), xml.rindex(b"</marc:record>") + len(b"</marc:record>")
    big_xml = xml[:start] + xml[start:end] * 200 + xml[end:]  # 400 records
    stream = CountingStream(big_xml)
    first = next(read_records(stream, MarcFormat.MARCXML))
    assert first.ok and stream.read_so_far < len(big_xml) / 4


# --- matching -----------------------------------------------------------------------


def test_a_record_sharing_an_isbn_updates_the_title_rather_than_duplicating_it():
    existing = TitleFactory(title="Pragmatic programmer (oude beschrijving)", isbns=["9780201616224"],
                            source="OUDEBRON", control_number="X1")

    marc_import = run_import(marc_bytes("marc.dat"))

    assert (marc_import.created, marc_import.updated) == (19, 1)
    assert Title.objects.count() == 20
    existing.refresh_from_db()
    assert existing.title == "The pragmatic programmer"
    assert (existing.source, existing.control_number) == ("", "11778504")
    assert existing.isbns == ["9780201616224"]


def test_a_changed_record_updates_its_title_and_only_then():
    run_import(marc_record(title="Het gouden ei", author="Krabbé, Tim", isbn="9789046706022",
                           control_number="NBD1", source="NBD").as_marc())
    title = Title.objects.get()
    stamp = title.updated_at

    same = run_import(marc_record(title="Het gouden ei", author="Krabbé, Tim", isbn="9789046706022",
                                  control_number="NBD1", source="NBD").as_marc())
    assert (same.updated, same.unchanged) == (0, 1)
    title.refresh_from_db()
    assert title.updated_at == stamp

    changed = run_import(marc_record(title="Het gouden ei", author="Krabbé, Tim", isbn="9789046706022",
                                     control_number="NBD1", source="NBD", year=2021).as_marc())
    assert (changed.created, changed.updated) == (0, 1)
    title.refresh_from_db()
    assert title.year == 2021 and title.updated_at > stamp
    assert title.contributors_folded == "krabbe tim"
    assert Title.objects.count() == 1


def test_two_records_of_one_source_sharing_an_isbn_stay_two_titles():
    """Same 003, different 001: the source says they are different records (a set
    and its volume, two bindings), however they share an ISBN."""
    data = b"".join(
        marc_record(title=title, isbn="9789046706022", control_number=number, source="NBD").as_marc()
        for title, number in (("Verzameld werk", "NBD1"), ("Verzameld werk deel 1", "NBD2"))
    )
    first = run_import(data)
    again = run_import(data)
    assert first.created == 2
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_records_without_control_number_or_isbn_match_on_their_content():
    data = marc_record(title="Zonder nummer").as_marc()
    assert run_import(data).created == 1
    assert (run_import(data).created, run_import(data).unchanged) == (0, 1)
    assert Title.objects.count() == 1


def test_a_title_created_by_one_record_is_matched_by_the_next_in_the_same_batch():
    data = (marc_record(title="Eerste versie", control_number="NBD9", source="NBD").as_marc()
            + marc_record(title="Tweede versie", control_number="NBD9", source="NBD").as_marc())
    marc_import = run_import(data)
    assert (marc_import.created, marc_import.updated) == (1, 1)
    assert list(Title.objects.values_list("title", flat=True)) == ["Tweede versie"]


def test_matching_works_across_batches():
    marc_import = run_import(marc_bytes("marc.dat") + marc_bytes("marc.dat"), batch_size=7)
    assert (marc_import.created, marc_import.unchanged) == (20, 20)
    assert Title.objects.count() == 20


# --- crash and rerun ----------------------------------------------------------------


class Crash(Exception):
    pass


def test_an_import_that_dies_halfway_keeps_its_batches_and_continues_when_run_again(media_root, libraries, staff):
    marc_import = upload_import(libraries.alpha, staff.alpha_collection, "marc.dat", marc_bytes("marc.dat"))

    def crash_after_first_batch(current):
        raise Crash

    with pytest.raises(Crash):
        with services.default_storage.open(marc_import.stored_file, "rb") as stream:
            services.marc_import_run(marc_import=marc_import, stream=stream, batch_size=8,
                                     progress=crash_after_first_batch)
    marc_import.refresh_from_db()
    assert marc_import.status == MarcImportStatus.RUNNING
    assert (marc_import.records_read, marc_import.created) == (8, 8)
    assert Title.objects.count() == 8  # the committed batch is whole

    marc_import_process(marc_import.pk)  # the task, run again: continues after record 8

    marc_import.refresh_from_db()
    assert marc_import.status == MarcImportStatus.DONE
    assert (marc_import.records_read, marc_import.created, marc_import.unchanged) == (20, 20, 0)
    assert Title.objects.count() == 20

    finished_at = marc_import.finished_at
    marc_import_process(marc_import.pk)  # a finished import is left alone
    marc_import.refresh_from_db()
    assert marc_import.finished_at == finished_at and marc_import.created == 20


def test_an_import_another_worker_is_running_is_not_run_twice(media_root, libraries, staff):
    import psycopg
    from django.conf import settings

    marc_import = upload_import(libraries.alpha, staff.alpha_collection, "marc.dat", marc_bytes("marc.dat"))
    database = settings.DATABASES["default"]
    with psycopg.connect(host=database["HOST"], port=database["PORT"], user=database["USER"],
                         dbname=connection.settings_dict["NAME"], autocommit=True) as other_worker:
        other_worker.execute("SELECT pg_advisory_lock(%s, %s)", [services._LOCK_NAMESPACE_IMPORT, marc_import.pk])
        assert services.marc_import_execute(marc_import_id=marc_import.pk) is None
    marc_import.refresh_from_db()
    assert marc_import.status == MarcImportStatus.QUEUED and not Title.objects.exists()


def test_an_upload_that_has_disappeared_fails_the_import_with_a_clear_message(media_root, libraries, staff):
    marc_import = upload_import(libraries.alpha, staff.alpha_collection, "marc.dat", marc_bytes("marc.dat"))
    services.default_storage.delete(marc_import.stored_file)

    marc_import_process(marc_import.pk)

    marc_import.refresh_from_db()
    assert marc_import.status == MarcImportStatus.FAILED
    assert marc_import.error_code == "marc_import.file_gone"
    assert marc_import.error_message == "Het geüploade bestand is niet (meer) te lezen."


# --- record -> fields -----------------------------------------------------------------


def record_with(leader="00000nam a2200000 a 4500", fixed="200101s2020    ne            000 1 dut d", fields=()):
    record = Record(leader=Leader(leader), force_utf8=True)
    record.add_field(Field(tag="001", data="LSB1"), Field(tag="008", data=fixed))
    record.add_field(Field(tag="245", indicators=["1", "0"], subfields=[Subfield("a", "Titel :"),
                                                                          Subfield("b", "ondertitel /"),
                                                                          Subfield("c", "door Iemand.")]))
    for tag, indicators, subfields in fields:
        record.add_field(Field(tag=tag, indicators=indicators, subfields=[Subfield(*pair) for pair in subfields]))
    return record


def fixed_with(position, value, base="200101s2020    ne            000 1 dut d"):
    return base[:position] + value + base[position + len(value):]


@pytest.mark.parametrize(
    ("leader", "fixed", "expected"),
    [
        ("00000nam a2200000 a 4500", None, MaterialType.BOOK),
        ("00000nam a2200000 a 4500", fixed_with(23, "d"), MaterialType.LARGE_PRINT),
        ("00000nim a2200000 a 4500", None, MaterialType.AUDIOBOOK),
        ("00000njm a2200000 a 4500", None, MaterialType.MUSIC_CD),
        ("00000ngm a2200000 a 4500", None, MaterialType.DVD),
        ("00000nmm a2200000 a 4500", fixed_with(26, "g"), MaterialType.GAME),
        ("00000nrm a2200000 a 4500", None, MaterialType.GAME),
        ("00000nmm a2200000 a 4500", None, MaterialType.ELECTRONIC),
        ("00000ncm a2200000 a 4500", None, MaterialType.SHEET_MUSIC),
        ("00000ndm a2200000 a 4500", None, MaterialType.SHEET_MUSIC),
        ("00000nas a2200000 a 4500", None, MaterialType.MAGAZINE),
        ("00000nem a2200000 a 4500", None, MaterialType.MAP),
        ("00000npm a2200000 a 4500", None, MaterialType.OTHER),
    ],
)
def test_material_type_from_leader_and_008(leader, fixed, expected):
    record = record_with(leader=leader, **({"fixed": fixed} if fixed else {}))
    assert title_fields(record)["material_type"] == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("j", Audience.YOUTH), ("a", Audience.YOUTH), ("d", Audience.YOUTH), ("e", Audience.ADULT),
     ("g", Audience.ADULT), (" ", Audience.UNKNOWN), ("f", Audience.UNKNOWN)],
)
def test_audience_from_008_22(code, expected):
    assert title_fields(record_with(fixed=fixed_with(22, code)))["audience"] == expected


def test_fields_from_a_dutch_record():
    record = record_with(
        fixed=fixed_with(35, "   "),
        fields=[
            ("020", [" ", " "], [("a", "90-245-1234-8 (geb.)")]),  # ISBN-10 with a wrong check digit
            ("020", [" ", " "], [("a", "978-90-467-0602-2")]),
            ("020", [" ", " "], [("a", "9789046706022")]),  # the same ISBN again
            ("022", [" ", " "], [("a", "0317-8471")]),
            ("024", ["3", " "], [("a", "8712345678906")]),
            ("024", ["1", " "], [("a", "012345678905")]),  # a UPC (ind1 1): not an EAN field
            ("041", ["0", " "], [("a", "dut")]),
            ("100", ["1", " "], [("a", "Krabbé, Tim,"), ("e", "auteur.")]),
            ("700", ["1", " "], [("a", "Berg, Jan van den"), ("4", "ill")]),
            ("710", ["2", " "], [("a", "Rijksmuseum."), ("b", "Afdeling Beeld")]),
            ("250", [" ", " "], [("a", "3e druk.")]),
            ("260", [" ", " "], [("b", "Oude Uitgever,"), ("c", "1999")]),
            ("264", [" ", "1"], [("a", "Amsterdam :"), ("b", "Prometheus,"), ("c", "[2020]")]),
            ("490", ["1", " "], [("a", "Grote reeks ;"), ("v", "3")]),
            ("650", [" ", "4"], [("a", "Schaken"), ("x", "Geschiedenis"), ("z", "Nederland.")]),
            ("655", [" ", "4"], [("a", "Thrillers.")]),
        ],
    )
    fields = title_fields(record)
    assert (fields["title"], fields["subtitle"], fields["responsibility"]) == ("Titel", "ondertitel", "door Iemand")
    assert fields["isbns"] == ["9789046706022"]
    assert fields["issns"] == ["0317-8471"]
    assert fields["eans"] == ["8712345678906"]
    assert fields["language"] == "dut"  # 008/35-37 blank: from 041
    assert fields["contributors"] == [
        {"name": "Krabbé, Tim", "role": "auteur"},
        {"name": "Berg, Jan van den", "role": "illustrator"},
        {"name": "Rijksmuseum. Afdeling Beeld", "role": ""},  # 710 without a relator
    ]
    assert fields["edition"] == "3e druk"
    assert (fields["publisher"], fields["year"]) == ("Prometheus", 2020)  # 264 before 260
    assert fields["series"] == "Grote reeks"
    assert fields["subjects"] == ["Schaken -- Geschiedenis -- Nederland", "Thrillers"]
    assert fields["subjects_text"] == "Schaken -- Geschiedenis -- Nederland; Thrillers"
    assert fields["title_folded"] == "titel"
    assert fields["contributors_folded"] == "krabbe tim berg jan van den rijksmuseum afdeling beeld"


def test_year_falls_back_to_008_and_language_to_blank():
    fields = title_fields(record_with(fixed="200101s1987    ne            000 1     d"))
    assert fields["year"] == 1987
    assert fields["language"] == ""


def test_a_control_number_too_long_for_the_catalogue_is_a_bad_record():
    record = record_with()
    record["001"].data = "X" * 65
    with pytest.raises(BadRecord, match="controlenummer"):
        title_fields(record)


def test_relator_terms_become_dutch_roles_or_stay_as_given():
    """LoC's own relator terms (700/710 $e): mapped to the Dutch role where one exists;
    a term without a mapping kept as given, never made 'auteur'; a 700 without any
    relator has no role, the main entry (100) is the author."""
    run_import(marc_bytes("loc-relators.mrc"))
    roles = {person["name"]: person["role"] for title in Title.objects.all() for person in title.contributors}

    assert roles["Vawter, Will"] == "illustrator"  # $e ill.
    assert roles["Bowen-Merrill Company"] == "uitgever"  # 710 $e publisher.
    assert roles["Janvier, Catharine A"] == "vertaler"  # $e tr.
    assert roles["Tarbell, Martha"] == "auteur"  # $e joint author.
    assert roles["Voulet, Pierre"] == "redacteur en vertaler"  # $e ed. and tr.
    assert roles["Bynneman, Henry"] == "drukker"  # $e printer.
    assert roles["Harrison, Luke"] == "boekverkoper"  # $e bookseller.
    anreus = Title.objects.get(control_number="00009645").contributors
    assert anreus == [{"name": "Anreus, Alejandro", "role": "auteur"},  # 100
                      {"name": "Anreus, Alejandro", "role": "inscriber"},  # 700 $e inscriber.: no Dutch role known
                      {"name": "Paul Avrich Collection (Library of Congress)", "role": ""}]
    assert roles["Golding, Arthur"] == ""  # 700 without $e or $4
    assert roles["Marlorat, Augustin"] == "auteur"  # 100 without relator
    assert not any("ill." in role or role.endswith(".") for role in roles.values())
