"""A copy put in one of circulation's statuses (on loan, on the hold shelf, in
transit, lent to another library) for a test that needs one without the loan,
hold or transfer behind it: the change circulation itself makes
(collection.services.item_circulation_update, under the item lock), by the
system. Staff cannot set these statuses by hand (item_status_change refuses)."""

from django.db import transaction

from collection.services import item_circulation_update, item_lock
from core.actors import Actor


def set_status_as_circulation(organisation, barcode, status):
    """Call inside `organisation`'s schema."""
    with transaction.atomic():
        item = item_lock(barcode)
        item_circulation_update(actor=Actor.system("test", organisation), item=item, to_status=status,
                                detail="Test: status van de uitleen")
    return item
