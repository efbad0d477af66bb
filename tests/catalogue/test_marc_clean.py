"""What the import lets in: real records with oddities in fields the catalogue does
not need are imported with a warning naming the field; every stored text is NFC
without control characters whatever the input encoding; a file that is not MARC21
is refused at once with one Dutch message; uploaded files do not stay on disk."""

import io
import os
import random
import unicodedata
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pymarc import Field, MARCReader, Record, Subfield, record_to_xml

from catalogue import services
from catalogue.marc import decode_iso2709
from catalogue.models import MarcImport, MarcImportStatus, Title
from catalogue.tasks import marc_import_process, marc_uploads_clean
from core.actors import Actor
from core.errors import error_codes

from .marc_support import marc_bytes, media_root, problems_of, run_import, upload_import, warnings_of  # noqa: F401

pytestmark = pytest.mark.django_db


def loc_records(name="loc-scripts.mrc"):
    return list(MARCReader(io.BytesIO(marc_bytes(name)), to_unicode=True, force_utf8=True))


def every_text(title):
    """Every text the catalogue stores for a title: its columns and its record's values."""
    texts = [title.title, title.vernacular_title, title.subtitle, title.responsibility, title.contributors_text,
             title.publisher, title.series, title.subjects_text, title.title_folded, title.contributors_folded,
             title.subtitle_series_folded, title.subjects_folded]
    texts += [person["name"] for person in title.contributors] + [person["role"] for person in title.contributors]
    record = Record(bytes(title.marc), to_unicode=True, force_utf8=True)
    for field in record.fields:
        texts += [field.data] if field.is_control_field() else [value for _, value in field.subfields]
    return texts


def is_clean(text):
    return unicodedata.is_normalized("NFC", text) and not any(
        ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)


# --- lenient where pymarc is lenient ------------------------------------------------------


def test_a_seven_hundred_with_indicators_of_the_wrong_length_is_imported_with_a_warning():
    """A real LoC record (00007177) whose 700 got three indicator characters, as records
    from large national libraries sometimes have: imported, with a warning naming 700."""
    chunk = next(chunk + b"\x1d" for chunk in marc_bytes("loc-relators.mrc").split(b"\x1d") if b"00007177" in chunk)
    marker = b"\x1e1 \x1faGolding, Arthur"
    assert marker in chunk
    broken = chunk.replace(marker, b"\x1e1 0\x1faGolding, Arthur")
    # The directory gives the old lengths: the 700 is one byte longer, the fields after it start one later.
    raw = bytearray(broken)
    base = int(raw[12:17])
    directory = raw[24:base - 1]
    entries = [directory[i:i + 12] for i in range(0, len(directory), 12)]
    position = broken.index(b"1 0\x1faGolding") - base
    fixed = []
    for entry in entries:
        tag, length, start = entry[:3], int(entry[3:7]), int(entry[7:12])
        if start <= position < start + length:
            length += 1
        elif start > position:
            start += 1
        fixed.append(tag + f"{length:04d}{start:05d}".encode())
    raw[24:base - 1] = b"".join(fixed)
    raw[0:5] = f"{len(raw):05d}".encode()

    marc_import = run_import(bytes(raw))

    assert (marc_import.created, marc_import.skipped) == (1, 0)
    [(number, code, warning)] = warnings_of(marc_import)
    assert (number, code) == (1, "marc_warning.indicators")
    assert warning.startswith("veld 700: indicatoren '1 0' ongeldig, gelezen als '1 '")
    title = Title.objects.get()
    assert {"name": "Golding, Arthur", "role": ""} in title.contributors


def test_a_directory_entry_with_an_invalid_tag_leaves_out_that_field_only():
    """pymarc's bad_indicator.dat: a field tagged '0 2' without indicators; the record's
    own 020 is intact."""
    marc_import = run_import(marc_bytes("bad_indicator.dat"))

    assert (marc_import.created, marc_import.skipped) == (1, 0)
    assert warnings_of(marc_import) == [(1, "marc_warning.bad_tag", "veld met ongeldig label '0 2' weggelaten")]
    title = Title.objects.get()
    assert (title.control_number, title.title, title.isbns) == ("426705", "Aristocrats of color", ["9780253325525"])


def test_a_stray_delimiter_in_the_001_is_removed_and_the_record_imported():
    marc_import = run_import(marc_bytes("loc-control-field-delimiter.mrc"))

    assert (marc_import.created, marc_import.warnings) == (1, 1)
    assert warnings_of(marc_import)[0][1:] == ("marc_warning.control_characters", "veld 001: stuurtekens verwijderd")
    title = Title.objects.get()
    assert title.control_number == "00038361"
    assert b"\x1f" not in Record(bytes(title.marc))["001"].data.encode()


def test_a_broken_title_field_still_refuses_the_record():
    record = loc_records()[0]
    chunk = record.as_marc()
    title_bytes = record["245"]["a"].encode()
    broken = chunk.replace(title_bytes, title_bytes[:-2] + b"\xc3\x28")  # an invalid UTF-8 sequence, same length

    marc_import = run_import(broken)

    assert (marc_import.created, marc_import.skipped) == (0, 1)
    assert "ongeldige tekencodering (UTF-8) in veld 245 $a" in problems_of(marc_import)[0][2]


# --- clean text ---------------------------------------------------------------------------


def test_every_stored_text_is_nfc_without_control_characters_whatever_the_encoding():
    """LoC's UTF-8 records are decomposed (NFD); marc.dat is MARC-8; the Greek record is
    MARCXML; one LoC record gets an ESC, a C1 control and a tab in its notes."""
    records = loc_records()
    assert not unicodedata.is_normalized("NFC", records[13]["245"]["a"])  # as LoC delivers it
    dirty = records[0]
    dirty.add_ordered_field(Field(tag="500", indicators=[" ", " "],
                                  subfields=[Subfield("a", "Noot\x1b(B met\x85 stuurtekens\tin de tekst.")]))
    files = [marc_bytes("loc-scripts.mrc"), marc_bytes("marc.dat"), dirty.as_marc(),
             marc_bytes("oclc-814388508-greek.xml")]
    for data in files:
        run_import(data)

    assert Title.objects.count() == 15 + 20 + 1
    for title in Title.objects.all():
        for text in every_text(title):
            assert is_clean(text), (title.control_number, text)
    note = [field for field in Record(bytes(Title.objects.get(control_number__contains="00299607").marc))
            .get_fields("500") if "Noot" in field["a"]]
    assert note[0]["a"] == "Noot(B met stuurtekens in de tekst."


def test_numeric_character_references_become_the_characters_they_stand_for():
    """LoC's Mongolian record writes Ү and ө, which MARC-8 lacks, as &#x04AE; and &#x04E9;."""
    run_import(marc_bytes("loc-scripts.mrc"))
    title = Title.objects.get(control_number__contains="00289934")
    assert title.vernacular_title == "Үнэний цагаан мөр"
    assert b"&#x" not in bytes(title.marc)


# --- not a MARC file ------------------------------------------------------------------------


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
NOT_MARC = [
    ("omslag.png", PNG, "marc_import.not_marc_image", "Dit is geen MARC21-bestand, maar een afbeelding."),
    ("foto.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", "marc_import.not_marc_image",
     "Dit is geen MARC21-bestand, maar een afbeelding."),
    ("lijst.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "marc_import.not_marc_document",
     "Dit is geen MARC21-bestand, maar een document (PDF, Word, zip of gzip)."),
    ("catalogus.html", b"<!DOCTYPE html>\n<html lang=\"nl\"><head><title>Catalogus</title></head><body></body></html>",
     "marc_import.not_marc_html", "Dit is geen MARC21-bestand, maar een webpagina (HTML)."),
    ("leeg.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
                 b"</collection>\n", "marc_import.not_marc_xml",
     "Dit is geen MARC21-bestand: het XML-bestand bevat geen MARC-records."),
    ("rss.xml", b'<?xml version="1.0"?><rss version="2.0"><channel><title>Nieuws</title></channel></rss>',
     "marc_import.not_marc_xml", "Dit is geen MARC21-bestand: het XML-bestand bevat geen MARC-records."),
    ("records.json", b'[{"leader": "00000nam a2200000 a 4500", "fields": []}]', "marc_import.not_marc_json",
     "Dit is geen MARC21-bestand, maar JSON. Exporteer als MARC21 (ISO 2709) of MARCXML."),
    ("ruis.mrc", random.Random(11).randbytes(20000), "marc_import.not_marc", "Dit is geen MARC21-bestand."),
    ("leden.csv", b"pasnummer;naam;postcode\n2010000001;Jansen;3511AA\n", "marc_import.not_marc",
     "Dit is geen MARC21-bestand."),
    ("iccu.mrc", None, "marc_import.unimarc", "Dit is een UNIMARC-bestand, geen MARC21-bestand. LSB leest alleen MARC21."),
    ("iccu.xml", "xml", "marc_import.unimarc", "Dit is een UNIMARC-bestand, geen MARC21-bestand. LSB leest alleen MARC21."),
]


def not_marc_data(data):
    if data is None:
        return marc_bytes("testunimarc.dat")
    if data == "xml":  # the same real UNIMARC record as MARCXML
        record = next(MARCReader(io.BytesIO(marc_bytes("testunimarc.dat")), to_unicode=True, force_utf8=True))
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">'
                + record_to_xml(record) + b"</collection>")
    return data


@pytest.mark.parametrize(("name", "data", "code", "message"), NOT_MARC, ids=[row[0] for row in NOT_MARC])
def test_an_upload_that_is_not_marc_is_refused_at_once_and_nothing_is_stored(
        libraries, staff, media_root, name, data, code, message):
    from django_tenants.utils import tenant_context

    with tenant_context(libraries.alpha), pytest.raises(ValidationError) as error:
        services.marc_import_create(actor=Actor.staff(staff.alpha_collection, libraries.alpha),
                                    upload=SimpleUploadedFile(name, not_marc_data(data)))
    assert error_codes(error.value) == [code]
    assert error.value.messages == [message]
    assert not MarcImport.objects.exists()
    assert not os.path.exists(media_root / "marc_imports") or not any((media_root / "marc_imports").iterdir())


@pytest.mark.parametrize(("name", "data", "code", "message"), NOT_MARC[:4] + NOT_MARC[-3:],
                         ids=[row[0] for row in NOT_MARC[:4] + NOT_MARC[-3:]])
def test_the_command_fails_an_import_that_is_not_marc_with_one_reason(name, data, code, message):
    marc_import = run_import(not_marc_data(data), file_name=name)

    assert marc_import.status == MarcImportStatus.FAILED
    assert (marc_import.error_code, marc_import.error_message) == (code, message)
    assert not marc_import.problems.exists() and not Title.objects.exists()


def test_a_file_that_stops_being_marc_stops_the_import_instead_of_listing_thousands_of_records():
    """A MARC-looking start, then nothing readable: the import stops after 50 unreadable
    records, with one reason, instead of a problem line per end-of-record byte."""
    garbage = b"00026nam  22000251  4500\x1e\x1d" + random.Random(5).randbytes(200000)

    marc_import = run_import(garbage)

    assert marc_import.status == MarcImportStatus.FAILED
    assert marc_import.error_code == "marc_import.not_marc_stream"
    assert marc_import.error_message == ("Dit is geen MARC21-bestand: de eerste 50 records zijn alle onleesbaar. "
                                         "De import is gestopt.")
    assert not marc_import.problems.exists()


# --- uploaded files do not stay ---------------------------------------------------------------


def test_the_uploaded_file_is_deleted_once_the_import_has_finished(libraries, staff, media_root):
    marc_import = upload_import(libraries.alpha, staff.alpha_collection, "marc.dat", marc_bytes("marc.dat"))
    stored = marc_import.stored_file
    assert services.default_storage.exists(stored)

    marc_import_process(marc_import.pk)

    marc_import.refresh_from_db()
    assert (marc_import.status, marc_import.created, marc_import.stored_file) == (MarcImportStatus.DONE, 20, "")
    assert not services.default_storage.exists(stored)


def test_the_daily_clean_up_removes_what_no_import_will_read(libraries, staff, media_root):
    waiting = upload_import(libraries.alpha, staff.alpha_collection, "wacht.mrc", marc_bytes("one.dat"))
    forgotten = upload_import(libraries.alpha, staff.alpha_collection, "vergeten.mrc", marc_bytes("one.dat"))
    MarcImport.objects.filter(pk=forgotten.pk).update(created_at=timezone.now() - timedelta(days=8))
    orphan = services.default_storage.save("marc_imports/zonderimport/weg.mrc", ContentFile(b"oud"))
    old = (timezone.now() - timedelta(days=8)).timestamp()
    os.utime(media_root / orphan, (old, old))
    recent_orphan = services.default_storage.save("marc_imports/bezig/net.mrc", ContentFile(b"nieuw"))

    assert marc_uploads_clean() == 2

    forgotten.refresh_from_db()
    assert forgotten.status == MarcImportStatus.FAILED
    assert forgotten.error_message == "Het geüploade bestand is na 7 dagen opgeruimd zonder dat het is ingelezen."
    assert not services.default_storage.exists(orphan)
    # An import still waiting for its worker, and a file being uploaded right now, stay.
    assert services.default_storage.exists(waiting.stored_file)
    assert services.default_storage.exists(recent_orphan)


def test_a_record_decoded_twice_is_stored_the_same():
    """The stored form of a record is stable: reading what the catalogue stored gives
    the same bytes (so importing it again changes nothing)."""
    for chunk in marc_bytes("loc-scripts.mrc").split(b"\x1d")[:-1]:
        _, stored, _ = decode_iso2709(chunk + b"\x1d")
        _, again, warnings = decode_iso2709(stored)
        assert again == stored and warnings == []


def test_the_command_reports_what_it_did_and_why_a_file_was_refused(libraries, tmp_path, capsys):
    from django.core.management import call_command

    from .marc_support import marc_file

    call_command("import_marc", str(marc_file("bad_indicator.dat")), str(marc_file("marc.dat")))
    out = capsys.readouterr().out
    assert "bad_indicator.dat (MARC21 (ISO 2709)): 1 records" in out and "warnings 1" in out
    assert "record 1 (byte 0) 001 426705: warning: veld met ongeldig label '0 2' weggelaten" in out
    assert "marc.dat (MARC21 (ISO 2709)): 20 records" in out and "new 20" in out

    call_command("import_marc", "--library", "alpha", str(marc_file("marc.dat")))
    assert "unchanged 20" in capsys.readouterr().out  # the same records: alpha's import finds them unchanged

    picture = tmp_path / "omslag.png"
    picture.write_bytes(PNG)
    call_command("import_marc", str(picture))
    assert "Dit is geen MARC21-bestand, maar een afbeelding." in capsys.readouterr().err
