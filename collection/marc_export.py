"""A library's catalogue as MARC21 with its holdings: the catalogue records of the
titles it has items of (or of selected titles), each with one 852 per item of
this library ($a ISIL, $b branch code, $c shelf location, $h call number,
$p barcode), streamed through catalogue.marc_export (which adds LSB's title
number in 035, so the library's import of this export finds its titles again and
keeps these 852s out of the national record). Withdrawn items are not holdings
any more and are left out. Item texts are cleaned like the catalogue's."""

from django_tenants.utils import schema_context
from pymarc import Field, Subfield

from catalogue.marc_export import CHUNK_SIZE, marc_stream, title_id_chunks, title_records
from catalogue.normalise import clean_text
from tenants.models import Branch

from .models import Item, ItemStatus


def export_library_marc(*, marc_format, organisation, title_ids=None, chunk_size=CHUNK_SIZE):
    """The records as bytes, piece by piece: `title_ids` (in id order), or, when not
    given, every title `organisation` has items of; each carries that library's
    holdings in 852 (instead of any 852 in the stored record)."""
    if title_ids is not None:
        chunks = title_id_chunks(title_ids, chunk_size)
    else:
        chunks = _library_title_id_chunks(organisation, chunk_size)
    return marc_stream(marc_format=marc_format, record_chunks=_records_with_holdings(organisation, chunks))


def library_title_count(*, organisation):
    """How many titles the library has items of (what its whole export holds)."""
    with schema_context(organisation.schema_name):
        return Item.objects.exclude(status=ItemStatus.WITHDRAWN).values("title_id").distinct().count()


def _records_with_holdings(organisation, chunks):
    branch_codes = dict(Branch.objects.filter(organisation=organisation).values_list("pk", "code"))
    for ids in chunks:
        holdings = _holdings(organisation, ids)
        records = []
        for pk, record in title_records(ids):
            record.remove_fields("852")
            for item in holdings.get(pk, []):
                record.add_ordered_field(_holding_field(organisation, branch_codes, item))
            records.append(record)
        yield records


def _library_title_id_chunks(organisation, chunk_size):
    """The ids of the titles the library has items of, ascending, in chunks (keyset
    pagination over the item index, so memory stays flat however big the library)."""
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
    subfields = [Subfield("a", organisation.isil),
                 Subfield("b", clean_text(branch_codes.get(item["owning_branch_id"], "")))]
    if item["shelf_location"]:
        subfields.append(Subfield("c", clean_text(item["shelf_location"])))
    if item["call_number"]:
        subfields.append(Subfield("h", clean_text(item["call_number"])))
    subfields.append(Subfield("p", clean_text(item["barcode"])))
    return Field(tag="852", indicators=[" ", " "], subfields=subfields)
