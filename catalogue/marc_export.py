"""MARC21 out: catalogue records streamed as ISO 2709 or MARCXML (a few hundred
records in memory at a time).

Every exported record carries LSB's own title number in 035 ('(LSB)1234'), so
that a library importing its export again finds its titles (the import's
lsb_number rule), and its text is clean (NFC, no control characters): MARCXML
out is always well-formed XML. Holdings fields of a stored record are never
exported as if they were the title's.

The catalogue knows its titles only. A library's catalogue with its holdings in
852 (from the library's items) is collection.marc_export, which writes its
records through these functions."""

from pymarc import Field, Record, Subfield, record_to_xml

from .marc import HOLDINGS_TAGS, LSB_SYSTEM_NUMBER_PREFIX
from .models import MarcFormat, Title
from .normalise import clean_text

CHUNK_SIZE = 500
MARCXML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
)
MARCXML_TAIL = b"</collection>\n"
CONTENT_TYPES = {MarcFormat.ISO2709: "application/marc", MarcFormat.MARCXML: "application/marcxml+xml"}
EXTENSIONS = {MarcFormat.ISO2709: "mrc", MarcFormat.MARCXML: "xml"}


def export_marc(*, marc_format, title_ids, chunk_size=CHUNK_SIZE):
    """Selected titles (in id order) as their catalogue records, as bytes piece by piece."""
    chunks = title_id_chunks(title_ids, chunk_size)
    return marc_stream(
        marc_format=marc_format,
        record_chunks=([record for _pk, record in title_records(ids)] for ids in chunks),
    )


def title_id_chunks(title_ids, chunk_size=CHUNK_SIZE):
    """The distinct title ids, ascending, in lists of at most `chunk_size`."""
    ids = sorted({int(pk) for pk in title_ids})
    return (ids[start:start + chunk_size] for start in range(0, len(ids), chunk_size))


def title_records(title_ids):
    """[(title id, pymarc Record)] of the catalogue records of these titles, in id order,
    each with its LSB number in 035 and clean text."""
    titles = Title.objects.filter(pk__in=title_ids).order_by("pk").values_list("pk", "marc")
    return [(pk, export_record(pk, bytes(marc))) for pk, marc in titles]


def export_record(pk, marc):
    """A stored record as it leaves LSB: clean text, no holdings fields, LSB's number in 035."""
    record = Record(data=marc, to_unicode=True, force_utf8=True)
    record.remove_fields(*HOLDINGS_TAGS)
    for marc_field in record.get_fields("035"):
        if any(value.strip().startswith(LSB_SYSTEM_NUMBER_PREFIX) for value in marc_field.get_subfields("a")):
            record.remove_field(marc_field)
    record.add_ordered_field(Field(tag="035", indicators=[" ", " "],
                                   subfields=[Subfield("a", f"{LSB_SYSTEM_NUMBER_PREFIX}{pk}")]))
    clean_record(record)
    return record


def clean_record(record):
    """Every text of a pymarc Record clean (NFC, no control characters), in place."""
    for marc_field in record.fields:
        if marc_field.is_control_field():
            marc_field.data = clean_text(marc_field.data or "")
        else:
            marc_field.indicators = [indicator if indicator and " " <= indicator <= "~" else " "
                                     for indicator in (marc_field.indicator1, marc_field.indicator2)]
            marc_field.subfields = [Subfield(subfield.code, clean_text(subfield.value))
                                    for subfield in marc_field.subfields]
    return record


def marc_stream(*, marc_format, record_chunks):
    """Lists of pymarc Records as ISO 2709 or MARCXML bytes, piece by piece."""
    if marc_format == MarcFormat.MARCXML:
        yield MARCXML_HEAD
    for records in record_chunks:
        for record in records:
            if marc_format == MarcFormat.MARCXML:
                yield record_to_xml(record) + b"\n"
            else:
                yield record.as_marc()
    if marc_format == MarcFormat.MARCXML:
        yield MARCXML_TAIL
