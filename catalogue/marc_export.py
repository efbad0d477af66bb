"""MARC21 out: catalogue records, with a library's holdings in 852 fields,
streamed as ISO 2709 or MARCXML (a few hundred records in memory at a time).

Holdings come from the library's own items (its schema): one 852 per item,
$a ISIL, $b branch code, $c shelf location, $h call number, $p barcode.
Withdrawn items are not holdings any more and are left out.
"""

from django_tenants.utils import schema_context
from pymarc import Field, Record, Subfield, record_to_xml

from .models import MarcFormat, Title

CHUNK_SIZE = 500
MARCXML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<collection xmlns="http://www.loc.gov/MARC21/slim">\n'
)
MARCXML_TAIL = b"</collection>\n"
CONTENT_TYPES = {MarcFormat.ISO2709: "application/marc", MarcFormat.MARCXML: "application/marcxml+xml"}
EXTENSIONS = {MarcFormat.ISO2709: "mrc", MarcFormat.MARCXML: "xml"}


def export_marc(*, marc_format, organisation=None, title_ids=None, chunk_size=CHUNK_SIZE):
    """The records as bytes, piece by piece: `title_ids` (in id order), or, when
    not given, every title `organisation` has items of. With an organisation,
    each record carries that library's holdings; without one, none."""
    if organisation is None and title_ids is None:
        raise ValueError("export_marc needs title_ids, an organisation, or both")
    if marc_format == MarcFormat.MARCXML:
        yield MARCXML_HEAD
    for records in _record_chunks(organisation, title_ids, chunk_size):
        for record in records:
            if marc_format == MarcFormat.MARCXML:
                yield record_to_xml(record) + b"\n"
            else:
                yield record.as_marc()
    if marc_format == MarcFormat.MARCXML:
        yield MARCXML_TAIL


def library_title_count(*, organisation):
    """How many titles the library has items of (what its whole export holds)."""
    from collection.models import Item, ItemStatus

    with schema_context(organisation.schema_name):
        return Item.objects.exclude(status=ItemStatus.WITHDRAWN).values("title_id").distinct().count()


def _record_chunks(organisation, title_ids, chunk_size):
    if title_ids is not None:
        ids = sorted({int(pk) for pk in title_ids})
        chunks = (ids[start:start + chunk_size] for start in range(0, len(ids), chunk_size))
    else:
        chunks = _library_title_id_chunks(organisation, chunk_size)
    branch_codes = {}
    if organisation is not None:
        from tenants.models import Branch

        branch_codes = dict(Branch.objects.filter(organisation=organisation).values_list("pk", "code"))
    for ids in chunks:
        titles = Title.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "marc")
        holdings = _holdings(organisation, ids) if organisation is not None else {}
        records = []
        for pk, marc in titles:
            record = Record(data=bytes(marc), to_unicode=True, force_utf8=True)
            if organisation is not None:
                record.remove_fields("852")
                for item in holdings.get(pk, []):
                    record.add_ordered_field(_holding_field(organisation, branch_codes, item))
            records.append(record)
        yield records


def _library_title_id_chunks(organisation, chunk_size):
    """The ids of the titles the library has items of, ascending, in chunks (keyset
    pagination over the item index, so memory stays flat however big the library)."""
    from collection.models import Item, ItemStatus

    last = 0
    while True:
        with schema_context(organisation.schema_name):
            ids = list(
                Item.objects.filter(title_id__gt=last)
                .exclude(status=ItemStatus.WITHDRAWN)
                .order_by("title_id")
                .values_list("title_id", flat=True)
                .distinct()[:chunk_size]
            )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _holdings(organisation, title_ids):
    from collection.models import Item, ItemStatus

    holdings = {}
    with schema_context(organisation.schema_name):
        items = (
            Item.objects.filter(title_id__in=title_ids)
            .exclude(status=ItemStatus.WITHDRAWN)
            .order_by("title_id", "owning_branch_id", "barcode")
            .values("title_id", "owning_branch_id", "shelf_location", "call_number", "barcode")
        )
        for item in items:
            holdings.setdefault(item["title_id"], []).append(item)
    return holdings


def _holding_field(organisation, branch_codes, item):
    subfields = [Subfield("a", organisation.isil), Subfield("b", branch_codes.get(item["owning_branch_id"], ""))]
    if item["shelf_location"]:
        subfields.append(Subfield("c", item["shelf_location"]))
    if item["call_number"]:
        subfields.append(Subfield("h", item["call_number"]))
    subfields.append(Subfield("p", item["barcode"]))
    return Field(tag="852", indicators=[" ", " "], subfields=subfields)
