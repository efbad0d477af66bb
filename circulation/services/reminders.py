"""The nightly circulation work of one library: automatic renewal, due-soon
reminders, overdue notices 1-2-3, expiry of holds not picked up, and fresh
expected dates. Run by Celery beat (circulation.tasks), once per library.

Each member's part is one transaction: their renewals and the notice telling
them about it commit together or not at all, so a worker that dies mid-run
loses nothing and a rerun does only what is left. Notices carry a dedupe key
(notices.services.notice_queue), so a task that runs twice sends each notice once.
A guest's reminders and overdue notices are sent by their home library, which
holds their address: a step for it through the outbox (notices.guest_notice),
naming the member by their id there, never by name or card.

Every function takes the `actor` of the run (Actor.system("nightly") from the
task). No transaction spans the library: each member's (or each title's) work
is one short transaction, taking its locks in core.locks' order (the member's
items, the member, their loans, then holds), so the desk never waits on the night.
"""

import datetime
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django_tenants.utils import schema_context

from collection.models import Item
from core import locks
from core.locks import lock_rows
from core.money import euro
from tenants.models import Branch, LibraryOrganisation
from tenants.outbox import enqueue as outbox_enqueue

from ..models import BorrowerKind, HoldStatus, Loan
from ..rules import loan_rule_choose
from .holds import holds_expected_refresh_for_title, holds_expire
from .loans import _card_holder, _fine_cents, _loan_borrower, _renew_locked, title_fields

# The loans whose borrower is told: own members here, guests through their home library.
_TOLD = Q(member__isnull=False) | (Q(borrower_kind=BorrowerKind.GUEST) & ~Q(guest_card_number=""))


def _queue(actor, member, kind, dedupe_key, context, branch_id=None):
    from notices.services import notice_queue

    return notice_queue(actor=actor, member=member, kind=kind, dedupe_key=dedupe_key, context=context,
                        branch=branch_id)


def _borrower_key(loan):
    """Whose loan it is, to group a notice's loans: a member, or a guest card of a home library."""
    if loan.member_id is not None:
        return ("member", loan.member_id)
    return ("guest", loan.guest_organisation_id, loan.guest_card_number)


def _notify(actor, loans, kind, day, context, branch_id):
    """The notice of `kind` about these loans of one borrower, for `day` (what makes it
    due: the due date, the run's date): queued here for an own member; for a guest a
    step for their home library (notices.guest_notice), which holds their address."""
    first = loans[0]
    if first.member_id is not None:
        return _queue(actor, first.member, kind, f"{kind}:{first.member_id}:{day.isoformat()}", context, branch_id)
    from notices.outbox import notice_payload

    home = LibraryOrganisation.objects.filter(pk=first.guest_organisation_id, is_active=True).first()
    if home is None:
        return None
    with schema_context(home.schema_name):
        holder = _card_holder(first.guest_card_number)
    if holder is None:
        return None  # no longer a member there: nobody to tell
    lending = actor.organisation
    key = f"{lending.pk}:{kind}:{holder.pk}:{day.isoformat()}"
    branch = Branch.objects.filter(pk=branch_id).values_list("name", flat=True).first() or ""
    return outbox_enqueue(
        actor=actor, target=home, kind="notices.guest_notice", dedupe_key=f"guest_notice:{key}",
        payload={"member": holder.pk, "kind": kind, "key": key, **{
            f"context.{name}": value
            for name, value in notice_payload({**context, "bibliotheek": lending.name, "vestiging": branch}).items()}},
    )


def _auto_renew_allowed(loan):
    return loan_rule_choose(
        for_guests=False, member_category_id=loan.member.category_id, item_type=loan.item.item_type,
        branch_id=loan.branch_id,
    ).rule.auto_renew


def loans_auto_renew(*, actor, today):
    """Renew every loan of an own member due today (the task runs in the night
    before the due date's opening hours) whose rule allows automatic renewal and
    that may be renewed; tell each member what was and was not renewed, and why.
    Returns (renewed, refused) counts.

    One transaction per member, with the locks of a renewal in their order: the
    member's items, the member, their loans; each loan is renewed in a savepoint of
    its own (a refused one leaves the others)."""
    actor.require_current_library()
    due = (
        Loan.objects.filter(ended_at__isnull=True, due_on=today, member__isnull=False)
        .select_related("member", "item").order_by("member_id", "pk")
    )
    by_member = defaultdict(list)
    for loan in due:
        if _auto_renew_allowed(loan):
            by_member[loan.member_id].append(loan)
    renewed_count = refused_count = 0
    for member_id, candidates in by_member.items():
        with transaction.atomic():
            lock_rows(locks.ITEM, Item.objects.filter(pk__in=[loan.item_id for loan in candidates]))
            borrower = _loan_borrower(actor, candidates[0])
            loans = lock_rows(locks.LOAN, Loan.objects.select_related("item", "member").filter(
                pk__in=[loan.pk for loan in candidates], member_id=member_id), of=("self",))
            rows = []
            first_branch = None
            for loan in loans:
                if loan.ended_at is not None or loan.due_on != today:
                    continue  # returned or renewed meanwhile (a rerun)
                first_branch = first_branch or loan.branch_id
                row = {**title_fields(loan.title_id), "barcode": loan.item.barcode}
                try:
                    with transaction.atomic():
                        loan = _renew_locked(actor, loan, today=today, borrower=borrower)
                    rows.append({**row, "verlengd": True, "inleverdatum": loan.due_on, "reden": ""})
                    renewed_count += 1
                except ValidationError as error:
                    rows.append({**row, "verlengd": False, "inleverdatum": loan.due_on,
                                 "reden": " ".join(error.messages)})
                    refused_count += 1
            if rows:
                _queue(actor, borrower.member, "auto_renewal", f"auto_renewal:{member_id}:{today.isoformat()}",
                       {"titels": rows}, first_branch)
    return renewed_count, refused_count


def due_soon_reminders(*, actor, today, days_before):
    """One reminder per borrower and due date, `days_before` days ahead (or fewer
    when a run was missed), each in a transaction of its own: own members here,
    guests through their home library. Returns how many notices were queued (or
    asked of a home library)."""
    actor.require_current_library()
    horizon = today + datetime.timedelta(days=days_before)
    loans = (
        Loan.objects.filter(_TOLD, ended_at__isnull=True, due_on__gt=today, due_on__lte=horizon)
        .select_related("member", "item").order_by("member_id", "guest_organisation_id", "guest_card_number",
                                                   "due_on", "pk")
    )
    groups = defaultdict(list)
    for loan in loans:
        groups[(_borrower_key(loan), loan.due_on)].append(loan)
    queued = 0
    for (_borrower, due_on), group in groups.items():
        with transaction.atomic():
            rows = [{**title_fields(loan.title_id), "barcode": loan.item.barcode, "inleverdatum": loan.due_on}
                    for loan in group]
            notice = _notify(actor, group, "due_soon", due_on, {"titels": rows, "inleverdatum": due_on},
                             group[0].branch_id)
            queued += notice is not None
    return queued


def overdue_notices(*, actor, today, level_days):
    """Overdue notices 1-2-3: a loan `level_days[k-1]` or more days overdue gets
    notice k once (the highest level it has reached; levels skipped while a run was
    missed are not sent late). One notice per borrower per level and day, listing
    every loan at that level, each borrower in a transaction of their own (their
    loans locked, in primary-key order); a guest's through their home library.
    Returns {level: notices queued}."""
    actor.require_current_library()
    counts = {}
    for level in (3, 2, 1):
        days = level_days[level - 1]
        cutoff = today - datetime.timedelta(days=days)
        loans = (
            Loan.objects.filter(_TOLD, ended_at__isnull=True, due_on__lte=cutoff, overdue_level__lt=level)
            .select_related("member", "item").order_by("member_id", "guest_organisation_id", "guest_card_number",
                                                       "due_on", "pk")
        )
        by_borrower = defaultdict(list)
        for loan in loans:
            by_borrower[_borrower_key(loan)].append(loan)
        counts[level] = 0
        for group in by_borrower.values():
            with transaction.atomic():
                locked = lock_rows(locks.LOAN, Loan.objects.filter(
                    pk__in=[loan.pk for loan in group], ended_at__isnull=True, overdue_level__lt=level))
                if not locked:
                    continue
                rows = []
                fine = 0
                for loan in group:
                    fine += _fine_cents(loan, today)
                    rows.append({**title_fields(loan.title_id), "barcode": loan.item.barcode,
                                 "inleverdatum": loan.due_on, "dagen_te_laat": (today - loan.due_on).days})
                notice = _notify(actor, group, f"overdue_{level}", today,
                                 {"titels": rows, "inleverdatum": min(loan.due_on for loan in group),
                                  "boete": euro(fine) if fine else ""}, group[0].branch_id)
                Loan.objects.filter(pk__in=[loan.pk for loan in locked]).update(overdue_level=level)
                counts[level] += notice is not None
    return counts


def holds_nightly(*, actor, today):
    """Expire holds not picked up, and recompute every waiting hold's expected date
    (a date passes every night); title by title."""
    expired = holds_expire(actor=actor, today=today)
    return len(expired), holds_expected_refresh_all(actor=actor, today=today)


def holds_expected_refresh_all(*, actor, today):
    """Recompute the expected date of every waiting hold of this library, title by
    title in short transactions (nightly, and after the loan rules or circulation
    settings changed). Returns how many titles."""
    from ..models import Hold

    actor.require_current_library()
    title_ids = set(Hold.objects.filter(status=HoldStatus.WAITING).values_list("title_id", flat=True).distinct())
    for title_id in sorted(title_ids):
        with transaction.atomic():
            holds_expected_refresh_for_title(title_id, today=today)
    return len(title_ids)
