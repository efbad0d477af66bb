"""Every write to a library's collection: adding, editing, moving, changing the
status of and withdrawing items, and stocktakes; plus the national holdings
index those writes keep in step.

Every service takes the `actor` (core.actors) and works in the schema of the
actor's library (`actor.require_current_library()`); the collection screens'
services need the collection role (`actor.no_role` otherwise). Each runs in one
transaction. Locks follow core.locks: first the items (by primary key), then the
holdings rows (by title id, then branch id). The holdings row of a title x branch
is locked before its counts are recomputed from the items, so the last desk to
commit always writes counts that include every other desk's committed change.

Refusals are core.errors.ServiceError codes (collection/errors.py), one per
problem (for a scanned batch: one per barcode, together in a ServiceErrors); when
a service raises, it has changed nothing.
"""

import re
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name, schema_exists

from catalogue.models import Holding, Title
from core import locks
from core.errors import ServiceError, ServiceErrors
from core.plausible import amount_check, date_check
from staff.models import Role
from staff.permissions import actor_has_role, require_role
from tenants.models import Branch, LibraryOrganisation

from .item_index import item_index_add
from .models import (
    BARCODE_PATTERN,
    CollectionKind,
    Item,
    ItemEvent,
    ItemStatus,
    ItemType,
    Stocktake,
    StocktakeScan,
    WithdrawalReason,
)

_BARCODE_RE = re.compile(BARCODE_PATTERN)

# Which status an item may go to from which. Nothing leaves 'withdrawn'; an item
# that is out of the building (on loan, on the hold shelf, in transit, lent to
# another library) cannot be withdrawn until it is back.
ALLOWED_TRANSITIONS = {
    ItemStatus.AVAILABLE: {
        ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF, ItemStatus.MISSING,
        ItemStatus.DAMAGED, ItemStatus.WITHDRAWN, ItemStatus.IN_PROCESSING, ItemStatus.ON_INTERLIBRARY_LOAN,
    },
    ItemStatus.ON_LOAN: {
        ItemStatus.AVAILABLE, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF, ItemStatus.MISSING,
        ItemStatus.DAMAGED,
    },
    ItemStatus.IN_TRANSIT: {
        ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF, ItemStatus.MISSING, ItemStatus.DAMAGED,
        ItemStatus.ON_INTERLIBRARY_LOAN, ItemStatus.ON_LOAN,
    },
    ItemStatus.ON_HOLD_SHELF: {
        ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.MISSING,
        ItemStatus.ON_INTERLIBRARY_LOAN,  # put ready for a library's request, then sent to it
    },
    ItemStatus.MISSING: {
        ItemStatus.AVAILABLE, ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING, ItemStatus.WITHDRAWN,
    },
    ItemStatus.DAMAGED: {
        ItemStatus.AVAILABLE, ItemStatus.IN_PROCESSING, ItemStatus.MISSING, ItemStatus.WITHDRAWN,
    },
    ItemStatus.IN_PROCESSING: {
        ItemStatus.AVAILABLE, ItemStatus.DAMAGED, ItemStatus.MISSING, ItemStatus.WITHDRAWN,
    },
    ItemStatus.ON_INTERLIBRARY_LOAN: {
        ItemStatus.AVAILABLE, ItemStatus.IN_TRANSIT, ItemStatus.MISSING, ItemStatus.DAMAGED,
        ItemStatus.ON_HOLD_SHELF,  # back from a library and checked in for a hold here
    },
    ItemStatus.WITHDRAWN: set(),
}

# Why an item in this status cannot be withdrawn (one code per status, shown per barcode).
_WITHDRAW_REFUSALS = {
    ItemStatus.ON_LOAN: "item.withdraw_on_loan",
    ItemStatus.ON_HOLD_SHELF: "item.withdraw_on_hold_shelf",
    ItemStatus.IN_TRANSIT: "item.withdraw_in_transit",
    ItemStatus.ON_INTERLIBRARY_LOAN: "item.withdraw_on_interlibrary_loan",
    ItemStatus.WITHDRAWN: "item.withdraw_already",
}

EDITABLE_FIELDS = ("shelf_location", "call_number", "item_type", "collection", "price_cents", "acquired_on",
                   "notes", "not_for_loan")

# Advisory lock namespace for the holdings of one organisation: holding_refresh
# takes it shared, holdings_rebuild exclusive (see there).
_HOLDINGS_LOCK_NAMESPACE = 4711


# --- helpers -----------------------------------------------------------------------

def scanned_barcodes(text):
    """The barcodes in scanner input: one per line (or separated by spaces/commas), stripped."""
    if isinstance(text, str):
        parts = re.split(r"[\s,;]+", text)
    else:
        parts = [str(value) for value in text]
    return [part.strip() for part in parts if part and part.strip()]


def barcode_error(barcode):
    """The refusal of a malformed barcode (item.barcode_invalid), or None when it is well-formed."""
    if not _BARCODE_RE.match(barcode):
        return ServiceError("item.barcode_invalid", barcode=barcode)
    return None


def branch_of(organisation, branch_id, *, label=None):
    """The active branch `branch_id` of this library, or a refusal (branch.*).
    `label` names the branch in the sentence (default "Vestiging")."""
    label = label if label is not None else _("Vestiging")
    try:
        branch_id = int(branch_id)
    except (TypeError, ValueError):
        raise ServiceError("branch.choose", library=organisation.name) from None
    branch = Branch.objects.filter(pk=branch_id).first()
    if branch is None or branch.organisation_id != organisation.pk:
        raise ServiceError("branch.other_library", label=label, library=organisation.name)
    if not branch.is_active:
        raise ServiceError("branch.inactive", label=label, branch=branch.name)
    return branch


def _event(item, kind, actor, **fields):
    return ItemEvent(item=item, kind=kind, staff_user=actor.user_or_none, actor_ref=actor.ref, **fields)


def _status_set(item, to_status, *, actor, detail="", withdrawal_reason=""):
    """Change an (already locked) item's status in memory and return its event.

    The single place where the status of an item changes; checks the transition."""
    to_status = ItemStatus(to_status)
    from_status = ItemStatus(item.status)
    if to_status == from_status:
        raise ServiceError("item.status_unchanged", barcode=item.barcode, status=to_status.label)
    if to_status not in ALLOWED_TRANSITIONS[from_status]:
        raise ServiceError("item.status_not_allowed", barcode=item.barcode, from_status=from_status.label,
                           to_status=to_status.label)
    item.status = to_status
    if to_status == ItemStatus.WITHDRAWN:
        item.withdrawn_at = timezone.now()
        item.withdrawal_reason = withdrawal_reason
    kind = ItemEvent.Kind.WITHDRAWN if to_status == ItemStatus.WITHDRAWN else ItemEvent.Kind.STATUS
    return _event(item, kind, actor, from_status=from_status, to_status=to_status, detail=detail)


def _lock_items_by_barcode(barcodes):
    """Lock the items with these barcodes (in primary-key order); returns {barcode: item}."""
    items = locks.lock_rows(locks.ITEM, Item.objects.filter(barcode__in=barcodes))
    return {item.barcode: item for item in items}


# --- national holdings index -----------------------------------------------------

_HOLDING_LOCK_SQL = """
    WITH rebuild_guard AS (SELECT pg_advisory_xact_lock_shared(%(namespace)s, %(organisation)s))
    INSERT INTO {holding} (title_id, organisation_id, branch_id, total, available, updated_at)
    SELECT %(title)s, %(organisation)s, %(branch)s, 0, 0, now() FROM rebuild_guard
    ON CONFLICT (title_id, organisation_id, branch_id) DO UPDATE SET total = {holding}.total
"""
_HOLDING_COUNT_SQL = """
    UPDATE {holding} SET (total, available, updated_at) = (
        SELECT count(*) FILTER (WHERE status <> 'withdrawn'),
               count(*) FILTER (WHERE status = 'available' AND NOT not_for_loan), now()
          FROM {item} WHERE title_id = %(title)s AND owning_branch_id = %(branch)s AND ibl_owner_id IS NULL)
    WHERE title_id = %(title)s AND organisation_id = %(organisation)s AND branch_id = %(branch)s
    RETURNING id, total, available
"""


def holding_refresh(*, organisation, title_id, branch_id):
    """Recompute one row of the national holdings index from this library's items.

    Call it inside the transaction that changed the items, after changing them.
    First statement: take the organisation's rebuild guard (shared) and lock the
    row, inserting it when missing (a conflicting insert locks the existing row).
    Second: count in a fresh snapshot, so a concurrent desk that changed items of
    the same title and branch either committed before our lock (and is counted)
    or waits for us. Rows whose total drops to 0 are deleted. Two statements: this
    runs at every checkout and checkin. Returns the Holding, or None when deleted.

    A step of the services here (which have checked the actor): `organisation` is
    their current library."""
    params = {"namespace": _HOLDINGS_LOCK_NAMESPACE, "organisation": organisation.pk, "title": title_id,
              "branch": branch_id}
    table = Holding._meta.db_table
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        locks.note_lock(locks.HOLDINGS)
        cursor.execute(_HOLDING_LOCK_SQL.format(holding=table), params)
        cursor.execute(_HOLDING_COUNT_SQL.format(holding=table, item=Item._meta.db_table), params)
        holding_id, total, available = cursor.fetchone()
        if total == 0:
            Holding.objects.filter(pk=holding_id).delete()
            return None
    return Holding(pk=holding_id, title_id=title_id, organisation_id=organisation.pk, branch_id=branch_id,
                   total=total, available=available)


def _holdings_refresh(organisation, keys):
    """Refresh several holdings rows in the fixed lock order: title id, then branch id."""
    for title_id, branch_id in sorted(set(keys)):
        holding_refresh(organisation=organisation, title_id=title_id, branch_id=branch_id)


@dataclass
class HoldingDifference:
    organisation: str
    schema_name: str
    title_id: int
    branch_id: int
    was: tuple  # (total, available) in the index before, or None when missing
    now: tuple  # (total, available) from the items, or None when the row was removed

    def __str__(self):
        def show(counts):
            return "geen rij" if counts is None else f"{counts[0]} totaal / {counts[1]} beschikbaar"

        return (
            f"{self.organisation} ({self.schema_name}): titel {self.title_id}, vestiging {self.branch_id}: "
            f"was {show(self.was)}, nu {show(self.now)}"
        )


def _no_progress(message):
    pass


def holdings_rebuild(*, progress=_no_progress, organisations=None):
    """Recompute the national holdings index from every library schema (one aggregate
    query per schema) and repair each difference. Returns the differences repaired.

    Per library it holds that library's holdings lock exclusively, so no desk of
    that library refreshes a holding between the count and the repair."""
    if connection.schema_name != get_public_schema_name():
        raise RuntimeError("holdings_rebuild runs in the public schema")
    if organisations is None:
        organisations = LibraryOrganisation.objects.exclude(schema_name=get_public_schema_name())
    organisations = list(organisations.order_by("schema_name"))
    differences = []
    for number, organisation in enumerate(organisations, start=1):
        if not schema_exists(organisation.schema_name):
            progress(f"[{number}/{len(organisations)}] {organisation.schema_name}: geen schema, overgeslagen")
            continue
        found = _holdings_rebuild_one(organisation)
        differences.extend(found)
        progress(f"[{number}/{len(organisations)}] {organisation.schema_name}: {len(found)} verschil(len) hersteld")
    return differences


def _holdings_rebuild_one(organisation):
    item_table = f"{connection.ops.quote_name(organisation.schema_name)}.{Item._meta.db_table}"
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_HOLDINGS_LOCK_NAMESPACE, organisation.pk])
            cursor.execute(
                f"SELECT title_id, owning_branch_id, count(*),"
                f" count(*) FILTER (WHERE status = %s AND NOT not_for_loan)"
                f" FROM {item_table} WHERE status <> %s AND ibl_owner_id IS NULL GROUP BY title_id, owning_branch_id",
                [ItemStatus.AVAILABLE, ItemStatus.WITHDRAWN],
            )
            actual = {(row[0], row[1]): (row[2], row[3]) for row in cursor.fetchall()}
        indexed = {
            (h.title_id, h.branch_id): h
            for h in Holding.objects.select_for_update().filter(organisation=organisation).order_by("title_id",
                                                                                                     "branch_id")
        }
        differences = []
        valid_titles = set(Title.objects.filter(pk__in={key[0] for key in actual}).values_list("pk", flat=True))
        valid_branches = set(Branch.objects.filter(organisation=organisation).values_list("pk", flat=True))
        to_create = []
        for key in sorted(set(actual) | set(indexed)):
            counts = actual.get(key)
            if counts is not None and (key[0] not in valid_titles or key[1] not in valid_branches):
                counts = None  # items pointing at a title or branch that no longer exists: not indexable
            holding = indexed.get(key)
            was = (holding.total, holding.available) if holding else None
            if was == counts:
                continue
            differences.append(HoldingDifference(organisation.name, organisation.schema_name, key[0], key[1],
                                                 was, counts))
            if counts is None:
                holding.delete()
            elif holding is None:
                to_create.append(Holding(title_id=key[0], organisation=organisation, branch_id=key[1],
                                         total=counts[0], available=counts[1]))
            else:
                holding.total, holding.available = counts
                holding.save(update_fields=["total", "available", "updated_at"])
        Holding.objects.bulk_create(to_create)
    return differences


# --- items ---------------------------------------------------------------------------

def item_add(*, actor, title_id, barcodes, branch_id, shelf_location="", call_number="",
             item_type=ItemType.BOOK, collection=CollectionKind.ADULT, price_cents=None, acquired_on=None,
             not_for_loan=False, notes="", status=ItemStatus.AVAILABLE):
    """Add the scanned barcodes as items of a title, owned by (and at) a branch of this library.

    `status` is available (the collection screens) or in processing (copies
    received from a supplier, made available by item_processing_done): the
    acquisitions role may add items in processing, everything else needs the
    collection role.

    All or nothing: any bad barcode (invalid, scanned twice, already in use), an
    unknown title or a branch of another library refuses the whole batch."""
    organisation = actor.require_current_library()
    if status not in (ItemStatus.AVAILABLE, ItemStatus.IN_PROCESSING):
        raise ValueError(f"item_add adds available items or items in processing, not {status!r}")
    if not (status == ItemStatus.IN_PROCESSING and actor_has_role(actor, Role.ACQUISITIONS)):
        require_role(actor, Role.COLLECTION)
    barcodes = scanned_barcodes(barcodes)
    errors = []
    title = None
    try:
        title = Title.objects.filter(pk=int(title_id)).only("pk", "title").first()
    except (TypeError, ValueError):
        pass
    if title is None:
        errors.append(ServiceError("title.unknown", title_id=title_id))
    try:
        branch = branch_of(organisation, branch_id)
    except ServiceError as error:
        errors.append(error)
    if item_type not in ItemType.values:
        errors.append(ServiceError("item.type_unknown", item_type=item_type))
    if collection not in CollectionKind.values:
        errors.append(ServiceError("item.collection_unknown", collection=collection))
    if not barcodes:
        errors.append(ServiceError("item.no_barcodes"))
    seen = set()
    for barcode in barcodes:
        problem = barcode_error(barcode)
        if problem:
            errors.append(problem)
        elif barcode in seen:
            errors.append(ServiceError("item.barcode_scanned_twice", barcode=barcode))
        seen.add(barcode)
    existing = Item.objects.filter(barcode__in=seen).select_related("title").only("barcode", "title__title")
    for item in existing:
        errors.append(ServiceError("item.barcode_in_use", barcode=item.barcode, title=item.title.title))
    for check in (lambda: _acquired_on_check(acquired_on), lambda: _price_check(price_cents)):
        try:
            check()
        except ServiceError as error:
            errors.append(error)
    if errors:
        raise ServiceErrors(errors)

    acquired_on = acquired_on or timezone.localdate()
    items = [
        Item(barcode=barcode, title_id=title.pk, owning_branch_id=branch.pk, current_branch_id=branch.pk,
             shelf_location=shelf_location.strip(), call_number=call_number.strip(), item_type=item_type,
             collection=collection, price_cents=price_cents, acquired_on=acquired_on, not_for_loan=not_for_loan,
             notes=notes, status=status)
        for barcode in barcodes
    ]
    try:
        with transaction.atomic():
            Item.objects.bulk_create(items)
            item_index_add(organisation, items)
            ItemEvent.objects.bulk_create(
                _event(item, ItemEvent.Kind.ADDED, actor, to_status=item.status, to_branch_id=branch.pk,
                       detail=f"{branch.name}, {item.shelf_location}".rstrip(", "))
                for item in items
            )
            holding_refresh(organisation=organisation, title_id=title.pk, branch_id=branch.pk)
    except IntegrityError:
        # Another desk added one of these barcodes after our check.
        taken = sorted(Item.objects.filter(barcode__in=seen).values_list("barcode", flat=True))
        raise ServiceErrors([ServiceError("item.barcode_added_meanwhile", barcode=barcode) for barcode in taken]
                            or [ServiceError("item.add_failed")]) from None
    return items


def _acquired_on_check(value):
    """An acquisition date from 1800 up to today (core.plausible)."""
    return date_check(value, field="acquired_on", label=_("De aanschafdatum"), latest=timezone.localdate())


def _price_check(value):
    return amount_check(value, field="price", label=_("De prijs"))


def item_update(*, actor, barcode, **changes):
    """Edit an item's descriptive fields (EDITABLE_FIELDS). Status, branch and
    withdrawal have their own services."""
    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"item_update cannot change {', '.join(sorted(unknown))}")
    if "item_type" in changes and changes["item_type"] not in ItemType.values:
        raise ServiceError("item.type_unknown", field="item_type", item_type=changes["item_type"])
    if "collection" in changes and changes["collection"] not in CollectionKind.values:
        raise ServiceError("item.collection_unknown", field="collection", collection=changes["collection"])
    if "acquired_on" in changes:
        _acquired_on_check(changes["acquired_on"])
    if "price_cents" in changes:
        _price_check(changes["price_cents"])
    with transaction.atomic():
        item = _lock_items_by_barcode([barcode]).get(barcode)
        if item is None:
            raise ServiceError("item.not_found", barcode=barcode)
        if item.status == ItemStatus.WITHDRAWN:
            raise ServiceError("item.withdrawn_not_editable", barcode=barcode)
        changed = []
        for name, value in changes.items():
            if isinstance(value, str):
                value = value.strip()
            if getattr(item, name) != value:
                changed.append(f"{Item._meta.get_field(name).verbose_name}: {getattr(item, name) or '—'} → "
                               f"{value if value not in (None, '') else '—'}")
                setattr(item, name, value)
        if not changed:
            return item
        item.save(update_fields=[*changes, "updated_at"])
        _event(item, ItemEvent.Kind.EDITED, actor, detail="; ".join(changed)).save()
        if "not_for_loan" in changes:
            holding_refresh(organisation=organisation, title_id=item.title_id, branch_id=item.owning_branch_id)
    return item


def item_move(*, actor, barcodes, branch_id, shelf_location, call_number=None):
    """Move items (one or a scanned batch) to another branch and/or shelf location
    of this library: they then belong there. Updates the holdings of both branches.
    `branch_id` is where they go (not the actor's branch)."""
    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    barcodes = scanned_barcodes(barcodes)
    branch = branch_of(organisation, branch_id, label=_("De nieuwe vestiging"))
    shelf_location = (shelf_location or "").strip()
    if not barcodes:
        raise ServiceError("item.no_barcodes", field="barcodes")
    with transaction.atomic():
        items = _lock_items_by_barcode(barcodes)
        errors = []
        for barcode in dict.fromkeys(barcodes):
            item = items.get(barcode)
            if item is None:
                errors.append(barcode_error(barcode) or ServiceError("item.not_found", barcode=barcode))
            elif item.status == ItemStatus.WITHDRAWN:
                errors.append(ServiceError("item.withdrawn_not_movable", barcode=barcode))
            elif (item.owning_branch_id, item.current_branch_id, item.shelf_location) == (
                    branch.pk, branch.pk, shelf_location) and call_number in (None, item.call_number):
                errors.append(ServiceError("item.already_there", barcode=barcode, branch=branch.name,
                                           place=shelf_location or _("zonder plaats")))
        if errors:
            raise ServiceErrors(errors)
        affected = set()
        events = []
        for item in items.values():
            affected.add((item.title_id, item.owning_branch_id))
            events.append(_event(item, ItemEvent.Kind.MOVED, actor, from_branch_id=item.owning_branch_id,
                                 to_branch_id=branch.pk,
                                 detail=f"{item.shelf_location or '—'} → {branch.name}, {shelf_location or '—'}"))
            item.owning_branch_id = branch.pk
            item.current_branch_id = branch.pk
            item.shelf_location = shelf_location
            if call_number is not None:
                item.call_number = call_number.strip()
            item.updated_at = timezone.now()
            affected.add((item.title_id, branch.pk))
        Item.objects.bulk_update(items.values(), ["owning_branch", "current_branch", "shelf_location",
                                                  "call_number", "updated_at"])
        ItemEvent.objects.bulk_create(events)
        _holdings_refresh(organisation, affected)
    return list(items.values())


# The statuses staff set by hand (the collection screens), and only on a copy in
# the building: the others belong to a loan, a hold or a transfer and are set by
# circulation (and interlibrary loan) together with that record.
MANUAL_STATUSES = (ItemStatus.AVAILABLE, ItemStatus.MISSING, ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING)

# Why a copy that is out cannot get a status by hand (one code per status, naming what to do instead).
_OUT_REFUSALS = {
    ItemStatus.ON_LOAN: "item.status_out_on_loan",
    ItemStatus.ON_HOLD_SHELF: "item.status_out_on_hold_shelf",
    ItemStatus.IN_TRANSIT: "item.status_out_in_transit",
    ItemStatus.ON_INTERLIBRARY_LOAN: "item.status_out_on_interlibrary_loan",
}
# Out with a borrower, damage may be reported: the loan goes on, checkin keeps it.
_DAMAGE_REPORTABLE = (ItemStatus.ON_LOAN, ItemStatus.ON_INTERLIBRARY_LOAN)


def item_status_change(*, actor, barcode, to_status, detail=""):
    """Change an item's status by hand (the collection screens): only the manual
    statuses (MANUAL_STATUSES), only for a copy in the building, through the same
    transition table as circulation's changes (item_circulation_update).
    Withdrawing needs a reason: use item_withdraw.

    A copy that is out keeps its loan, hold or transfer: the change is refused
    (item.status_out_*: check it in first, cancel the hold, ...), except damage
    reported while it is on loan (or lent to a library): the status stays, the
    damage is noted on the copy (damage_reported_at) and checkin makes it damaged
    and sends it to the collection staff."""
    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    if to_status not in ItemStatus.values:
        raise ServiceError("item.status_unknown", field="to_status", status=to_status)
    if to_status == ItemStatus.WITHDRAWN:
        raise ServiceError("item.withdraw_needs_reason", field="to_status")
    if to_status not in MANUAL_STATUSES:
        raise ServiceError("item.status_by_circulation", field="to_status", status=ItemStatus(to_status).label)
    with transaction.atomic():
        item = _lock_items_by_barcode([barcode]).get(barcode)
        if item is None:
            raise ServiceError("item.not_found", barcode=barcode)
        if item.status in _DAMAGE_REPORTABLE and to_status == ItemStatus.DAMAGED:
            if item.damage_reported_at is not None:
                raise ServiceError("item.damage_already_reported", barcode=barcode,
                                   at=f"{timezone.localtime(item.damage_reported_at):%d-%m-%Y}")
            item.damage_reported_at = timezone.now()
            item.save(update_fields=["damage_reported_at", "updated_at"])
            detail = (detail or "").strip()
            _event(item, ItemEvent.Kind.EDITED, actor,
                   detail="Beschadiging gemeld terwijl uitgeleend; bij inname naar collectiebeheer"
                   + (f": {detail}" if detail else "")).save()
            return item
        if item.status in _OUT_REFUSALS:
            raise ServiceError(_OUT_REFUSALS[item.status], barcode=barcode, to_status=ItemStatus(to_status).label)
        event = _status_set(item, to_status, actor=actor, detail=detail)
        item.save(update_fields=["status", "updated_at"])
        event.save()
        holding_refresh(organisation=organisation, title_id=item.title_id, branch_id=item.owning_branch_id)
    return item


def item_processing_done(*, actor, barcodes):
    """Items in processing (received from a supplier, being covered and labelled)
    become available: one scan or a batch. The collection or acquisitions role.
    All or nothing: a barcode that is unknown or not in processing refuses the batch."""
    organisation = actor.require_current_library()
    if not actor_has_role(actor, Role.ACQUISITIONS):
        require_role(actor, Role.COLLECTION)
    barcodes = scanned_barcodes(barcodes)
    if not barcodes:
        raise ServiceError("item.no_barcodes", field="barcodes")
    with transaction.atomic():
        items = _lock_items_by_barcode(barcodes)
        errors = []
        for barcode in dict.fromkeys(barcodes):
            item = items.get(barcode)
            if item is None:
                errors.append(barcode_error(barcode) or ServiceError("item.not_found", barcode=barcode))
            elif item.status != ItemStatus.IN_PROCESSING:
                errors.append(ServiceError("item.not_in_processing", barcode=barcode,
                                           status=ItemStatus(item.status).label))
        if errors:
            raise ServiceErrors(errors)
        events = [_status_set(item, ItemStatus.AVAILABLE, actor=actor, detail=str(_("Bewerking klaar")))
                  for item in items.values()]
        now = timezone.now()
        for item in items.values():
            item.updated_at = now
        Item.objects.bulk_update(items.values(), ["status", "updated_at"])
        ItemEvent.objects.bulk_create(events)
        _holdings_refresh(organisation, {(item.title_id, item.owning_branch_id) for item in items.values()})
    return list(items.values())


def item_lock(barcode):
    """Lock one item by barcode for a circulation write (rank item, core.locks); None when unknown."""
    return locks.lock_row(locks.ITEM, Item.objects.filter(barcode=barcode))


def _item_save_with_event(item, fields, event):
    """Save these fields of an item and its event (if any) in one statement: every
    checkout and checkin does this."""
    columns = [Item._meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{field.column} = %s" for field in columns)
    values = [field.get_db_prep_save(getattr(item, field.attname), connection) for field in columns]
    if event is None:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Item._meta.db_table} SET {assignments} WHERE id = %s", values + [item.pk])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH changed AS (UPDATE {Item._meta.db_table} SET {assignments} WHERE id = %s RETURNING id)"
            f" INSERT INTO {ItemEvent._meta.db_table} (item_id, kind, from_status, to_status, from_branch_id,"
            " to_branch_id, detail, staff_user_id, actor_ref, at)"
            " SELECT id, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM changed RETURNING id",
            values + [item.pk, event.kind, event.from_status, event.to_status, event.from_branch_id,
                      event.to_branch_id, event.detail, event.staff_user_id, event.actor_ref, item.updated_at],
        )
        event.pk = cursor.fetchone()[0]


def item_circulation_update(*, actor, item, to_status=None, current_branch_id=None, loaned_at=None, detail="",
                            damage_report_done=False):
    """Circulation's change of an item it has locked (item_lock) in its own
    transaction: status (through the same transition table as every status
    change), where it is now, and the loan statistics the weeding list reads.
    With `damage_report_done` the damage reported while it was out is dealt with
    (checkin made it damaged): damage_reported_at is cleared.

    `actor` is circulation's actor (the desk, the machine, the member, the
    system): the item's event records it. No role check: circulation has decided.

    The national holdings row is recomputed only when the item's availability
    changed: most circulation moves (on loan -> in transit) leave it as it is."""
    organisation = actor.require_current_library()
    fields = ["updated_at"]
    event = None
    was_available = item.is_available
    if to_status is not None and to_status != item.status:
        event = _status_set(item, to_status, actor=actor, detail=detail)
        fields.append("status")
    if current_branch_id is not None and current_branch_id != item.current_branch_id:
        item.current_branch_id = current_branch_id
        fields.append("current_branch")
    if loaned_at is not None:
        item.last_loaned_at = loaned_at
        item.loan_count += 1
        fields += ["last_loaned_at", "loan_count"]
    if damage_report_done and item.damage_reported_at is not None:
        item.damage_reported_at = None
        fields.append("damage_reported_at")
    if len(fields) == 1:
        return item
    item.updated_at = timezone.now()
    _item_save_with_event(item, fields, event)
    # Another library's copy here on interlibrary loan is not in the holdings index.
    if was_available != item.is_available and item.ibl_owner_id is None:
        _holding_available_adjust(organisation, item, 1 if item.is_available else -1)
    return item


_HOLDING_ADJUST_SQL = """
    WITH rebuild_guard AS (SELECT pg_advisory_xact_lock_shared(%(namespace)s, %(organisation)s))
    UPDATE {holding} SET available = available + %(delta)s, updated_at = now() FROM rebuild_guard
    WHERE title_id = %(title)s AND organisation_id = %(organisation)s AND branch_id = %(branch)s
    RETURNING {holding}.id
"""


def _holding_available_adjust(organisation, item, delta):
    """One copy more or less available: adjust the national holdings row in place
    (one statement under the row lock, so concurrent desks add up; the check
    constraint keeps it within 0..total). Circulation only changes availability, so
    this suffices for every scan; a missing row is recounted."""
    params = {"namespace": _HOLDINGS_LOCK_NAMESPACE, "organisation": organisation.pk, "title": item.title_id,
              "branch": item.owning_branch_id, "delta": delta}
    locks.note_lock(locks.HOLDINGS)
    with connection.cursor() as cursor:
        cursor.execute(_HOLDING_ADJUST_SQL.format(holding=Holding._meta.db_table), params)
        adjusted = cursor.fetchone()
    if adjusted is None:
        holding_refresh(organisation=organisation, title_id=item.title_id, branch_id=item.owning_branch_id)


def item_withdraw(*, actor, barcodes, reason, detail=""):
    """Withdraw (afschrijven) one item or a scanned batch with a reason.

    Items that are out (on loan, on the hold shelf, in transit, on IBL) are refused
    by barcode, and then the whole batch changes nothing."""
    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    if reason not in WithdrawalReason.values:
        raise ServiceError("item.withdrawal_reason_missing", field="reason")
    barcodes = scanned_barcodes(barcodes)
    if not barcodes:
        raise ServiceError("item.no_barcodes", field="barcodes")
    with transaction.atomic():
        items = _lock_items_by_barcode(barcodes)
        errors = []
        for barcode in dict.fromkeys(barcodes):
            item = items.get(barcode)
            if item is None:
                errors.append(barcode_error(barcode) or ServiceError("item.not_found", barcode=barcode))
            elif item.status in _WITHDRAW_REFUSALS:
                errors.append(ServiceError(_WITHDRAW_REFUSALS[item.status], barcode=barcode))
        if errors:
            raise ServiceErrors(errors)
        label = WithdrawalReason(reason).label
        events = [
            _status_set(item, ItemStatus.WITHDRAWN, actor=actor, withdrawal_reason=reason,
                        detail=f"{label}{': ' + detail.strip() if detail.strip() else ''}")
            for item in items.values()
        ]
        now = timezone.now()
        for item in items.values():
            item.updated_at = now
        Item.objects.bulk_update(items.values(), ["status", "withdrawn_at", "withdrawal_reason", "updated_at"])
        ItemEvent.objects.bulk_create(events)
        _holdings_refresh(organisation, {(item.title_id, item.owning_branch_id) for item in items.values()})
    return list(items.values())


# --- stocktake -------------------------------------------------------------------------

def stocktake_start(*, actor, branch_id, shelf_location):
    """Start scanning one shelf: a branch (the one scanned, not necessarily the
    actor's) and a shelf location of this library."""
    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    branch = branch_of(organisation, branch_id)
    shelf_location = (shelf_location or "").strip()
    if not shelf_location:
        raise ServiceError("stocktake.shelf_missing", field="shelf_location")
    return Stocktake.objects.create(branch_id=branch.pk, shelf_location=shelf_location,
                                    started_by=actor.user_or_none, actor_ref=actor.ref)


def _open_stocktake(stocktake_id):
    stocktake = Stocktake.objects.select_for_update().filter(pk=stocktake_id).first()
    if stocktake is None:
        raise ServiceError("stocktake.not_found")
    if stocktake.finished_at is not None:
        raise ServiceError("stocktake.finished")
    return stocktake


def stocktake_scan(*, actor, stocktake_id, barcode):
    """Record one scanned barcode on the shelf. Unknown barcodes are recorded too
    (they are misplaced: something on the shelf LSB does not know). Scanning the
    same barcode again is harmless. Returns (scan, created)."""
    actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    barcode = (barcode or "").strip()
    problem = barcode_error(barcode)
    if problem:
        raise problem
    with transaction.atomic():
        stocktake = _open_stocktake(stocktake_id)
        item = Item.objects.filter(barcode=barcode).first()
        return StocktakeScan.objects.get_or_create(stocktake=stocktake, barcode=barcode, defaults={"item": item})


@dataclass
class StocktakeOutcome:
    seen: int = 0
    marked_missing: list = field(default_factory=list)
    found: list = field(default_factory=list)


def stocktake_finish(*, actor, stocktake_id, mark_missing=False):
    """Close a stocktake: every scanned item gets last_seen_at; items reported
    missing before but scanned now are available again; and, when the user
    confirms (mark_missing), the items expected on the shelf but not scanned get
    the status missing."""
    from .selectors import stocktake_result

    organisation = actor.require_current_library()
    require_role(actor, Role.COLLECTION)
    with transaction.atomic():
        stocktake = _open_stocktake(stocktake_id)
        result = stocktake_result(stocktake=stocktake)
        scanned_ids = list(stocktake.scans.exclude(item=None).values_list("item_id", flat=True))
        to_missing = [item.pk for item in result.missing] if mark_missing else []
        items = {item.pk: item for item in locks.lock_rows(
            locks.ITEM, Item.objects.filter(pk__in=[*scanned_ids, *to_missing]))}
        now = timezone.now()
        outcome = StocktakeOutcome()
        events = []
        affected = set()
        for item_id in scanned_ids:
            item = items[item_id]
            item.last_seen_at = now
            outcome.seen += 1
            events.append(_event(item, ItemEvent.Kind.SEEN, actor,
                                 detail=f"Inventarisatie {stocktake.shelf_location}"))
            if item.status == ItemStatus.MISSING:
                events.append(_status_set(item, ItemStatus.AVAILABLE, actor=actor,
                                          detail="Teruggevonden bij inventarisatie"))
                outcome.found.append(item)
                affected.add((item.title_id, item.owning_branch_id))
        for item_id in to_missing:
            item = items[item_id]
            if item.status != ItemStatus.AVAILABLE:  # changed since the result was computed
                continue
            events.append(_status_set(item, ItemStatus.MISSING, actor=actor,
                                      detail=f"Niet gevonden bij inventarisatie {stocktake.shelf_location}"))
            outcome.marked_missing.append(item)
            affected.add((item.title_id, item.owning_branch_id))
        for item in items.values():
            item.updated_at = now
        Item.objects.bulk_update(items.values(), ["last_seen_at", "status", "updated_at"])
        ItemEvent.objects.bulk_create(events)
        _holdings_refresh(organisation, affected)
        stocktake.finished_at = now
        stocktake.save(update_fields=["finished_at"])
    return outcome
