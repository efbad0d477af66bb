"""Reads for the desk, the member page, the hold shelf and the pick list."""

import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from catalogue.models import Title
from collection.models import Item, ItemStatus
from members.models import FormerCard
from members.selectors.ledger import member_balance_cents, membership_expired
from tenants.models import Branch, GuestLoan, LibraryOrganisation

from .borrowers import borrower_find, guest_lookups_audited
from .models import ACTIVE_HOLD_STATUSES, Hold, HoldStatus, Loan, LoanRule, Transfer


def title_texts(title_ids):
    """{title id: its title text} for these titles (what desk rows and ledger lines show)."""
    return dict(Title.objects.filter(pk__in=set(title_ids)).values_list("pk", "title"))


def _attach_titles(rows, attribute="title_id"):
    # Only what lists show: the full MARC record and search columns stay in the database.
    titles = {
        title.pk: title
        for title in Title.objects.filter(pk__in={getattr(row, attribute) for row in rows}).only(
            "pk", "title", "subtitle", "responsibility", "contributors_text", "year", "isbns"
        )
    }
    for row in rows:
        row.title = titles.get(getattr(row, attribute))
    return rows


def _attach_branches(rows, *attributes):
    ids = {getattr(row, attribute) for row in rows for attribute in attributes if getattr(row, attribute)}
    names = dict(Branch.objects.filter(pk__in=ids).values_list("pk", "name"))
    for row in rows:
        for attribute in attributes:
            setattr(row, attribute.removesuffix("_id") + "_name", names.get(getattr(row, attribute), ""))
    return rows


def open_loans(borrower_filter, *, today=None):
    """Open loans (a Loan filter such as Borrower.loans_filter()), soonest due first,
    each with .title and .overdue_days."""
    today = today or timezone.localdate()
    loans = list(
        Loan.objects.filter(ended_at__isnull=True, **borrower_filter).select_related("item").order_by("due_on", "pk")
    )
    for loan in loans:
        loan.overdue_days = max(0, (today - loan.due_on).days)
    return _attach_titles(loans)


def member_loans(member, *, today=None):
    return open_loans({"member_id": member.pk}, today=today)


def member_guest_loans(member, organisation):
    """Loans of this member at other library organisations (guest lending), from the
    national index, with .title and .lending_name."""
    cards = [member.card_number] + list(FormerCard.objects.filter(member=member).values_list("card_number", flat=True))
    rows = list(
        GuestLoan.objects.filter(home_organisation=organisation, card_number__in=cards)
        .select_related("lending_organisation")
        .order_by("due_on", "pk")
    )
    for row in rows:
        row.lending_name = row.lending_organisation.name
    return _attach_titles(rows)


def member_loan_history(member, *, limit=50):
    loans = list(
        Loan.objects.filter(member=member, ended_at__isnull=False).select_related("item").order_by("-ended_at")[:limit]
    )
    return _attach_titles(loans)


def member_holds(member):
    holds = list(
        Hold.objects.filter(member=member, status__in=ACTIVE_HOLD_STATUSES).select_related("item", "assigned_item")
        .order_by("placed_at", "pk")
    )
    _attach_branches(holds, "pickup_branch_id")
    return _attach_titles(holds)


def loans_lent_today(borrower_filter, *, branch_id=None, today=None):
    """What the receipt (bon) lists: today's loans (and renewals are shown with their
    new due date) of this borrower, open now."""
    today = today or timezone.localdate()
    loans = Loan.objects.filter(ended_at__isnull=True, **borrower_filter).filter(loaned_at__date=today)
    if branch_id is not None:
        loans = loans.filter(branch_id=branch_id)
    return _attach_titles(list(loans.select_related("item").order_by("loaned_at", "pk")))


def loan_get(loan_id):
    return Loan.objects.select_related("item", "member").filter(pk=loan_id).first()


def title_queue(title_id):
    """The waiting holds of a title in queue order, with positions and expected dates."""
    holds = list(
        Hold.objects.filter(title_id=title_id, status__in=ACTIVE_HOLD_STATUSES).select_related("member", "item")
        .order_by("queue_at", "pk")
    )
    return _attach_branches(holds, "pickup_branch_id")


def hold_shelf(branch_id, *, today=None):
    """The hold shelf of a branch: ready (with last pickup day), expiring today or
    tomorrow, expired (to take off the shelf and check in: not picked up, or the
    hold ended otherwise while its copy lay here), and on their way here."""
    today = today or timezone.localdate()
    ready = list(
        Hold.objects.filter(pickup_branch_id=branch_id, status=HoldStatus.READY)
        .select_related("member", "assigned_item").order_by("shelf_until", "pk")
    )
    # Not picked up, and also cancelled (or fulfilled with another copy) while ready:
    # their copy is still on this shelf for nobody. One row per copy (its latest hold).
    expired, seen = [], set()
    for hold in (
        Hold.objects.filter(pickup_branch_id=branch_id,
                            status__in=[HoldStatus.EXPIRED, HoldStatus.CANCELLED, HoldStatus.FULFILLED],
                            assigned_item__status=ItemStatus.ON_HOLD_SHELF,
                            assigned_item__current_branch_id=branch_id)
        .filter(~Exists(Hold.objects.filter(assigned_item=OuterRef("assigned_item"), status=HoldStatus.READY)))
        .select_related("member", "assigned_item").order_by("-ended_at", "-pk")
    ):
        if hold.assigned_item_id not in seen:
            seen.add(hold.assigned_item_id)
            expired.append(hold)
    expired.sort(key=lambda hold: (hold.shelf_until or today, hold.pk))
    incoming = list(
        Hold.objects.filter(pickup_branch_id=branch_id, status=HoldStatus.IN_TRANSIT)
        .select_related("member", "assigned_item").order_by("pk")
    )
    for hold in ready:
        hold.expiring = hold.shelf_until <= today + datetime.timedelta(days=1)
    return {
        "ready": _attach_titles(ready),
        "expired": _attach_titles(expired),
        "incoming": _attach_titles(incoming),
    }


def pick_list(branch_id, *, today=None, limit=500):
    """Which copies staff at this branch should take off the shelf for waiting holds.

    Every waiting hold that can be filled now (queue order, not suspended) is
    offered to one branch at a time, the whole library over: to the pickup
    branch when a copy it may fill is on the shelf there, else to the one branch
    with such a copy whose transport to the pickup branch is shortest (measured
    transfers, else the library's transfer days; then by name). One copy is
    offered to one hold only, and only copies the hold's borrower may hold (the
    loan rules) count. Returns the holds offered to this branch, each with
    .copies (the candidates here, the one to take first)."""
    from .expected import transfer_days_between
    from .rules import loan_rule_choose_in, loan_rules_matrix, rule_dimensions

    today = today or timezone.localdate()
    on_shelf = Item.objects.filter(status=ItemStatus.AVAILABLE, not_for_loan=False, ibl_owner_id__isnull=True)
    waiting = list(
        Hold.objects.filter(status=HoldStatus.WAITING)
        .filter(Q(suspended_until__isnull=True) | Q(suspended_until__lte=today))
        .filter(Q(not_needed_after__isnull=True) | Q(not_needed_after__gte=today))
        .filter(Exists(on_shelf.filter(title_id=OuterRef("title_id"))))
        .select_related("member", "item")
        .order_by("queue_at", "pk")[:limit]
    )
    copies = {}
    for item in on_shelf.filter(title_id__in={hold.title_id for hold in waiting}).order_by("shelf_location", "barcode"):
        copies.setdefault(item.title_id, []).append(item)
    matrix = loan_rules_matrix()
    names = dict(Branch.objects.filter(pk__in={item.current_branch_id for group in copies.values() for item in group})
                 .values_list("pk", "name"))
    transfer_days = transfer_days_between(today)

    def holdable(hold, item):
        category_id = hold.member.category_id if hold.member_id else None
        return loan_rule_choose_in(matrix, **rule_dimensions(hold.borrower_kind, category_id),
                                   item_type=item.item_type, branch_id=item.owning_branch_id).rule.holdable

    rows, offered = [], set()
    for hold in waiting:
        candidates = [item for item in copies.get(hold.title_id, [])
                      if item.pk not in offered and hold.item_id in (None, item.pk) and holdable(hold, item)]
        if not candidates:
            continue
        branches = {item.current_branch_id for item in candidates}
        chosen = (hold.pickup_branch_id if hold.pickup_branch_id in branches else min(
            branches, key=lambda branch: (transfer_days(branch, hold.pickup_branch_id), names.get(branch, ""), branch)))
        here = [item for item in candidates if item.current_branch_id == chosen]
        offered.add(here[0].pk)
        if chosen == branch_id:
            hold.copies = here
            rows.append(hold)
    _attach_branches(rows, "pickup_branch_id")
    return _attach_titles(rows)


def _open_transfers(**branch_filter):
    """Items in transit (not yet received), oldest first, with .title and both branch names."""
    transfers = list(
        Transfer.objects.filter(received_at__isnull=True, **branch_filter).select_related("item").order_by("sent_at")
    )
    _attach_branches(transfers, "from_branch_id", "to_branch_id")
    for transfer in transfers:
        transfer.title_id = transfer.item.title_id
    return _attach_titles(transfers)


def transfers_to(branch_id):
    return _open_transfers(to_branch_id=branch_id)


def transfers_from(branch_id):
    return _open_transfers(from_branch_id=branch_id)


def overdue_loans(*, today=None, limit=500):
    today = today or timezone.localdate()
    loans = list(
        Loan.objects.filter(ended_at__isnull=True, due_on__lt=today).select_related("item", "member")
        .order_by("due_on", "pk")[:limit]
    )
    for loan in loans:
        loan.overdue_days = (today - loan.due_on).days
    return _attach_titles(loans)


def loan_rules():
    rules = list(LoanRule.objects.select_related("member_category").order_by(
        "for_guests", "for_libraries", "member_category__name", "item_type", "branch_id", "pk"))
    return _attach_branches(rules, "branch_id")


def guest_home(loan):
    if not loan.guest_organisation_id:
        return None
    return LibraryOrganisation.objects.filter(pk=loan.guest_organisation_id).first()


def title_and_branch_name(title_id, branch_id):
    """A title's text and a branch's name in one statement (the checkin's row and destination)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT title FROM {Title._meta.db_table} WHERE id = %s), "
            f"(SELECT name FROM {Branch._meta.db_table} WHERE id = %s)", [title_id, branch_id])
        title, name = cursor.fetchone()
    return title or "", name or ""


def borrower_panel(library, card, actor=None):
    """The desk's member panel: who is at the desk, may they borrow, what they have.
    Raises the Dutch ValidationError of borrower_find for a card that cannot borrow here.
    With `actor`, a guest card's lookup is told to its home library (guest_lookups_audited)."""
    with guest_lookups_audited(actor):
        borrower = borrower_find(organisation=library, card_number=card)
    panel = {"borrower": borrower, "loans": open_loans(borrower.loans_filter())}
    panel["overdue_count"] = sum(1 for loan in panel["loans"] if loan.overdue_days)
    if borrower.member is not None:
        # Only the numbers here (one query); the holds themselves are on the member page.
        statuses = list(Hold.objects.filter(member=borrower.member, status__in=ACTIVE_HOLD_STATUSES)
                        .values_list("status", flat=True))
        panel["balance_cents"] = member_balance_cents(borrower.member)
        panel["holds_count"] = len(statuses)
        panel["holds_ready"] = statuses.count(HoldStatus.READY)
        panel["expired"] = membership_expired(borrower.member)
    return panel


def title_copies_public(title_id):
    """This library's copies of a title for the members' catalogue, per owning
    branch by name: [(branch name, [copy dicts])], each copy with its status, shelf
    location and, when lent, its due date; nothing about who has it."""
    items = list(
        Item.objects.filter(title_id=title_id).exclude(status=ItemStatus.WITHDRAWN)
        .select_related("owning_branch", "current_branch")
        .order_by("owning_branch__name", "shelf_location", "call_number", "barcode")
    )
    due = dict(Loan.objects.filter(item_id__in=[item.pk for item in items], ended_at__isnull=True)
               .values_list("item_id", "due_on"))
    groups = {}
    for item in items:
        group = groups.setdefault(item.owning_branch.name, [])
        group.append({"status": item.status, "status_label": item.get_status_display(),
                      "available": item.status == ItemStatus.AVAILABLE and not item.not_for_loan,
                      "not_for_loan": item.not_for_loan, "shelf_location": item.shelf_location,
                      "call_number": item.call_number, "due_on": due.get(item.pk),
                      "current_branch": item.current_branch.name if item.current_branch_id else ""})
    return list(groups.items())
