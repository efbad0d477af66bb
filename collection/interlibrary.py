"""Copies of other library organisations here on interlibrary loan: the stand-in
record a requesting library keeps while another library's copy is with it.

When a lender's copy arrives for one of our members, the interlibrary-loan app
(through circulation.services.interlibrary) records it here as an Item with
`ibl_owner_id` (the owning library) and the lender's barcode, so that circulation
lends, renews and takes it back with its own services. A stand-in is never counted
in the national holdings index nor put in the national item index (its owner's
copy is), and it leaves again (withdrawn, 'back to its owner') when it goes home.
The same copy arriving again for a later request gets its old record back.

No role check: circulation's interlibrary-loan services have decided (as with
item_circulation_update); the actor is recorded on the item's events."""

from django.utils import timezone

from core import locks
from core.errors import ServiceError

from .models import Item, ItemEvent, ItemStatus, ItemType, WithdrawalReason
from .services import _event, barcode_error, branch_of


def item_ibl_copy_receive(*, actor, barcode, title_id, branch_id, owner_id, item_type=ItemType.BOOK, detail=""):
    """The stand-in record of library `owner_id`'s copy `barcode` arriving at
    `branch_id` (a branch of this library): available, at that branch, locked by
    this transaction (the item rank of core.locks). Refuses a barcode this library
    uses for a copy of its own, or a copy already here."""
    organisation = actor.require_current_library()
    branch = branch_of(organisation, branch_id)
    problem = barcode_error(barcode)
    if problem:
        raise problem
    if owner_id == organisation.pk:
        raise ServiceError("item.ibl_copy_own_library", barcode=barcode)
    if item_type not in ItemType.values:
        item_type = ItemType.OTHER
    existing = locks.lock_row(locks.ITEM, Item.objects.filter(barcode=barcode))
    now = timezone.now()
    if existing is not None:
        if existing.ibl_owner_id is None:
            raise ServiceError("item.ibl_barcode_own", barcode=barcode)
        if existing.ibl_owner_id != owner_id or existing.status != ItemStatus.WITHDRAWN:
            raise ServiceError("item.ibl_copy_here", barcode=barcode)
        # The same copy again, for a later request: its record comes back.
        from_status = existing.status
        existing.status = ItemStatus.AVAILABLE
        existing.withdrawn_at = None
        existing.withdrawal_reason = ""
        existing.title_id = title_id
        existing.item_type = item_type
        existing.owning_branch_id = branch.pk
        existing.current_branch_id = branch.pk
        existing.updated_at = now
        existing.save(update_fields=["status", "withdrawn_at", "withdrawal_reason", "title", "item_type",
                                     "owning_branch", "current_branch", "updated_at"])
        _event(existing, ItemEvent.Kind.STATUS, actor, from_status=from_status, to_status=existing.status,
               to_branch_id=branch.pk, detail=detail or "Opnieuw ontvangen (IBL)").save()
        return existing
    locks.note_lock(locks.ITEM)  # the new row is ours alone until commit
    item = Item.objects.create(
        barcode=barcode, title_id=title_id, owning_branch_id=branch.pk, current_branch_id=branch.pk,
        item_type=item_type, status=ItemStatus.AVAILABLE, ibl_owner_id=owner_id, shelf_location="IBL",
        acquired_on=timezone.localdate(now),
    )
    _event(item, ItemEvent.Kind.ADDED, actor, to_status=item.status, to_branch_id=branch.pk,
           detail=detail or "Ontvangen (IBL)").save()
    return item


def item_ibl_copy_leave(*, actor, item, detail=""):
    """The stand-in of another library's copy leaves this library (on its way back
    to its owner, or lost): withdrawn, with its loans and holds kept as history.
    The caller has locked the item (circulation)."""
    actor.require_current_library()
    if item.ibl_owner_id is None:
        raise ValueError("item_ibl_copy_leave is for another library's copy here on interlibrary loan")
    if item.status == ItemStatus.WITHDRAWN:
        return item
    from_status = item.status
    item.status = ItemStatus.WITHDRAWN
    item.withdrawn_at = timezone.now()
    item.withdrawal_reason = WithdrawalReason.OTHER
    item.updated_at = item.withdrawn_at
    item.save(update_fields=["status", "withdrawn_at", "withdrawal_reason", "updated_at"])
    _event(item, ItemEvent.Kind.WITHDRAWN, actor, from_status=from_status, to_status=item.status,
           detail=detail or "Terug naar de eigenaar (IBL)").save()
    return item
