"""The national item barcode index (tenants.ItemIndex): barcode -> the library
organisation that owns the copy. Kept here, where items are added, in the same
transaction; a copy of another library here on interlibrary loan (a stand-in
record, Item.ibl_owner_id) is not indexed: it is its owner's row that counts."""

from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from tenants.models import Branch, ItemIndex, LibraryOrganisation

from .models import Item


def item_index_add(organisation, items):
    """Index new items of `organisation` (the current library). A barcode indexed
    before for this library (an item removed and added again) points at the new item."""
    rows = [ItemIndex(barcode=item.barcode, organisation_id=organisation.pk, item_id=item.pk, title_id=item.title_id)
            for item in items if item.ibl_owner_id is None]
    if rows:
        ItemIndex.objects.bulk_create(rows, update_conflicts=True, unique_fields=["organisation", "barcode"],
                                      update_fields=["item_id", "title_id"])


def item_index_owners(barcode):
    """The library organisations that own a copy with this barcode (usually one)."""
    return list(LibraryOrganisation.objects.filter(pk__in=ItemIndex.objects.filter(barcode=barcode)
                                                   .values("organisation_id")).order_by("name"))


def item_index_home_branch(organisation, barcode):
    """(branch, item id): the active branch of `organisation` where its copy with
    this barcode belongs (the item's owning branch, read in the owner's schema), for
    a copy found elsewhere that goes home, and the copy's id there; the library's
    first active branch when the item is gone or its branch closed. (None, None)
    when the library has no copy with this barcode in the index; (None, item id)
    when it has no active branch."""
    item_id = (ItemIndex.objects.filter(barcode=barcode, organisation=organisation)
               .values_list("item_id", flat=True).first())
    if item_id is None:
        return None, None
    branch_id = None
    if schema_exists(organisation.schema_name):
        with schema_context(organisation.schema_name):
            branch_id = Item.objects.filter(pk=item_id).values_list("owning_branch_id", flat=True).first()
    branches = Branch.objects.filter(organisation=organisation, is_active=True)
    return branches.filter(pk=branch_id).first() or branches.order_by("name").first(), item_id


def _no_progress(message):
    pass


_REBUILD_SQL = """
    INSERT INTO {index} (barcode, organisation_id, item_id, title_id, created_at)
    SELECT item.barcode, %(organisation)s, item.id, item.title_id, now() FROM {items} AS item
     WHERE item.ibl_owner_id IS NULL
    ON CONFLICT (organisation_id, barcode) DO UPDATE SET item_id = EXCLUDED.item_id, title_id = EXCLUDED.title_id
"""


def item_index_rebuild(*, progress=_no_progress, organisations=None):
    """Fill the national item index from every library schema (one statement per
    library; rows of items no longer there are removed). Returns rows written."""
    if connection.schema_name != get_public_schema_name():
        raise RuntimeError("item_index_rebuild runs in the public schema")
    if organisations is None:
        organisations = LibraryOrganisation.objects.exclude(schema_name=get_public_schema_name())
    organisations = list(organisations.order_by("schema_name"))
    written = 0
    for number, organisation in enumerate(organisations, start=1):
        if not schema_exists(organisation.schema_name):
            progress(f"[{number}/{len(organisations)}] {organisation.schema_name}: geen schema, overgeslagen")
            continue
        items = f"{connection.ops.quote_name(organisation.schema_name)}.{Item._meta.db_table}"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_REBUILD_SQL.format(index=ItemIndex._meta.db_table, items=items),
                           {"organisation": organisation.pk})
            written += cursor.rowcount
            cursor.execute(
                f"DELETE FROM {ItemIndex._meta.db_table} AS entry WHERE entry.organisation_id = %s"
                f" AND NOT EXISTS (SELECT 1 FROM {items} AS item WHERE item.id = entry.item_id"
                f" AND item.barcode = entry.barcode AND item.ibl_owner_id IS NULL)",
                [organisation.pk],
            )
        progress(f"[{number}/{len(organisations)}] {organisation.schema_name}: geïndexeerd")
    return written
