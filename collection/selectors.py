"""Reads of a library's collection (its own schema) and of national availability
(the public holdings index). Every read of items is implicitly limited to the
library whose schema the connection is in."""

import datetime
import math
from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from catalogue.models import Holding, Title
from tenants.models import Branch

from .models import Item, ItemStatus, Stocktake

WEEDING_NORM_PERCENT = 10


def title_get(*, title_id):
    return Title.objects.filter(pk=title_id).first()


def item_get(*, barcode):
    """An item of this library by barcode, with its title and branches, or None."""
    return Item.objects.select_related("title", "owning_branch", "current_branch").filter(barcode=barcode).first()


def item_history(*, item):
    return item.events.select_related("staff_user").order_by("-at", "-pk")


@dataclass
class BranchItems:
    branch: Branch
    items: list
    available: int = 0


def title_items_per_branch(*, title_id, include_withdrawn=False):
    """This library's items of a title, grouped per owning branch (by branch name)."""
    items = Item.objects.filter(title_id=title_id).select_related("owning_branch", "current_branch")
    if not include_withdrawn:
        items = items.exclude(status=ItemStatus.WITHDRAWN)
    groups = {}
    for item in items.order_by("owning_branch__name", "shelf_location", "call_number", "barcode"):
        group = groups.setdefault(item.owning_branch_id, BranchItems(branch=item.owning_branch, items=[]))
        group.items.append(item)
        group.available += item.is_available
    return list(groups.values())


@dataclass
class NationalAvailability:
    libraries: list  # dicts: name, province, total, available
    total: int
    available: int

    @property
    def library_count(self):
        return len(self.libraries)

    @property
    def libraries_with_available(self):
        return sum(1 for library in self.libraries if library["available"])


def national_availability(*, title_id, organisation):
    """How many copies of a title the other (active) library organisations hold, and
    how many are available: one indexed query on the national holdings index."""
    rows = list(
        Holding.objects.filter(title_id=title_id, organisation__is_active=True)
        .exclude(organisation_id=organisation.pk)
        .values("organisation_id", name=F("organisation__name"), province=F("organisation__province__name"))
        .annotate(total=Sum("total"), available=Sum("available"))
        .order_by("-available", "name")
    )
    return NationalAvailability(
        libraries=rows,
        total=sum(row["total"] for row in rows),
        available=sum(row["available"] for row in rows),
    )


# --- weeding list -------------------------------------------------------------------

@dataclass
class WeedingBranch:
    branch: Branch
    collection_size: int
    candidates: int

    @property
    def share_percent(self):
        return round(100 * self.candidates / self.collection_size, 1) if self.collection_size else 0.0

    @property
    def norm_target(self):
        """Items to weed to reach the 10 % norm for this branch's collection."""
        return math.ceil(self.collection_size * WEEDING_NORM_PERCENT / 100)

    @property
    def reaches_norm(self):
        return self.candidates >= self.norm_target


@dataclass
class WeedingList:
    months: int
    cutoff: datetime.datetime
    items: object  # queryset, oldest first within branch + shelf location
    branches: list = field(default_factory=list)

    @property
    def candidates(self):
        return sum(b.candidates for b in self.branches)

    @property
    def collection_size(self):
        return sum(b.collection_size for b in self.branches)

    @property
    def share_percent(self):
        return round(100 * self.candidates / self.collection_size, 1) if self.collection_size else 0.0


def weeding_cutoff(months, now=None):
    """The moment `months` calendar months before now (day clipped to the month's end)."""
    now = now or timezone.now()
    month_index = now.year * 12 + now.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - datetime.timedelta(days=1)).day
    return now.replace(year=year, month=month, day=min(now.day, last_day))


def weeding_list(*, organisation, months, branch_id=None, now=None):
    """Items not loaned for `months` months: last loaned before the cutoff, or never
    loaned and acquired (added, when no acquisition date) before it. Withdrawn items
    are left out. Ordered per owning branch and shelf location, oldest first; with
    per-branch counts against the 10 % weeding norm."""
    cutoff = weeding_cutoff(months, now)
    cutoff_date = timezone.localtime(cutoff).date()
    # The items of this schema are all this library's; branch_id of another library finds none.
    items = Item.objects.exclude(status=ItemStatus.WITHDRAWN)
    if branch_id:
        items = items.filter(owning_branch_id=branch_id)
    not_loaned = (
        Q(last_loaned_at__lt=cutoff)
        | Q(last_loaned_at__isnull=True, acquired_on__lt=cutoff_date)
        | Q(last_loaned_at__isnull=True, acquired_on__isnull=True, created_at__lt=cutoff)
    )
    candidates = items.annotate(
        since=Coalesce(TruncDate("last_loaned_at"), "acquired_on", TruncDate("created_at"))
    ).filter(not_loaned)
    per_branch = {
        row["owning_branch_id"]: row
        for row in items.values("owning_branch_id").annotate(
            size=Count("pk"), candidates=Count("pk", filter=not_loaned)
        )
    }
    branches = Branch.objects.filter(pk__in=per_branch, organisation=organisation).order_by("name")
    return WeedingList(
        months=months,
        cutoff=cutoff,
        items=candidates.select_related("title", "owning_branch", "current_branch").order_by(
            "owning_branch__name", "shelf_location", "since", "call_number", "barcode"
        ),
        branches=[
            WeedingBranch(branch=b, collection_size=per_branch[b.pk]["size"],
                          candidates=per_branch[b.pk]["candidates"])
            for b in branches
        ],
    )


# --- stocktake ---------------------------------------------------------------------

@dataclass
class Misplaced:
    barcode: str
    item: Item | None
    reason: str


@dataclass
class StocktakeResult:
    stocktake: Stocktake
    expected: int
    scanned: int
    missing: list
    misplaced: list
    last_scans: list


def stocktakes_recent(*, limit=20):
    return Stocktake.objects.select_related("branch", "started_by").annotate(scan_count=Count("scans"))[:limit]


def stocktake_get(*, stocktake_id):
    return Stocktake.objects.select_related("branch").filter(pk=stocktake_id).first()


def stocktake_result(*, stocktake):
    """What a shelf scan found: the items expected on the shelf (available, at this
    branch and shelf location) that were not scanned, and the scanned barcodes that
    do not belong there (other location or branch, a status that means it should
    not be on a shelf, or unknown to this library).

    After finishing, items the stocktake marked missing still count as expected."""
    expected_statuses = [ItemStatus.AVAILABLE]
    if stocktake.finished_at is not None:
        expected_statuses.append(ItemStatus.MISSING)
    scans = list(stocktake.scans.select_related("item", "item__title", "item__current_branch").order_by("pk"))
    scanned_ids = {scan.item_id for scan in scans if scan.item_id}
    expected = Item.objects.filter(
        current_branch_id=stocktake.branch_id, shelf_location=stocktake.shelf_location, status__in=expected_statuses
    )
    missing = list(
        expected.exclude(pk__in=scanned_ids).select_related("title").order_by("call_number", "barcode")
    )
    misplaced = []
    for scan in scans:
        item = scan.item
        if item is None:
            misplaced.append(Misplaced(scan.barcode, None, "Onbekende barcode: geen exemplaar van deze bibliotheek"))
        elif item.current_branch_id != stocktake.branch_id:
            misplaced.append(Misplaced(scan.barcode, item, f"Hoort in {item.current_branch.name}, "
                                                           f"{item.shelf_location or 'zonder plaats'}"))
        elif item.shelf_location != stocktake.shelf_location:
            misplaced.append(Misplaced(scan.barcode, item, f"Hoort op plaats {item.shelf_location or '(geen)'}"))
        elif item.status != ItemStatus.AVAILABLE:
            misplaced.append(Misplaced(scan.barcode, item, f"Status {ItemStatus(item.status).label}: "
                                                           "hoort niet in de kast"))
    return StocktakeResult(
        stocktake=stocktake,
        expected=expected.count(),
        scanned=len(scans),
        missing=missing,
        misplaced=misplaced,
        last_scans=scans[-5:][::-1],
    )
