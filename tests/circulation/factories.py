"""Items, titles and rules for circulation tests, made through the real services
(call inside the library's schema)."""

import itertools

from collection.services import item_add
from tests.factories import TitleFactory, collection_actor

from circulation.models import LoanRule

_barcodes = itertools.count(1)


def next_barcode(prefix="C"):
    return f"{prefix}{next(_barcodes):08d}"


def make_items(organisation, *, branch, title=None, count=1, actor=None, **fields):
    """`count` new copies of a title (a new one unless given) owned by `branch`, added
    by `actor` (default: a collection staff member of the library)."""
    title = title or TitleFactory()
    barcodes = [next_barcode() for _ in range(count)]
    item_add(actor=actor or collection_actor(organisation), title_id=title.pk, barcodes=barcodes,
             branch_id=branch.pk, **fields)
    from collection.models import Item

    return [Item.objects.get(barcode=barcode) for barcode in barcodes]


def make_rule(**fields):
    values = {"loan_days": 21, "max_renewals": 2, "fine_per_day_cents": 0, "fine_max_cents": 0}
    values.update(fields)
    return LoanRule.objects.create(**values)
