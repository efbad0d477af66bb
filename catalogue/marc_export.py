"""MARC21 out: catalogue records streamed as ISO 2709 or MARCXML (a few hundred
records in memory at a time).

The catalogue knows its titles only. A library's catalogue with its holdings in
852 (from the library's items) is collection.marc_export, which writes its
records through these functions."""

from pymarc import Record, record_to_xml

from .models import MarcFormat, Title

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
    """[(title id, pymarc Record)] of the catalogue records of these titles, in id order."""
    titles = Title.objects.filter(pk__in=title_ids).order_by("pk").values_list("pk", "marc")
    return [(pk, Record(data=bytes(marc), to_unicode=True, force_utf8=True)) for pk, marc in titles]


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
