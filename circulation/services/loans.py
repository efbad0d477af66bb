"""Lending: checkout, checkin, renewal, lost and claims-returned, and the money
they post. The desk screens, the OPAC, the API and SIP2 all call these, each with
its `actor` (core.actors.Actor): staff at a desk, a member, a self-service
machine, or the nightly run.

Decisions:
- Who acts: the library is the actor's (actor.require_current_library()); a
  checkout or checkin happens at the actor's branch (the desk's, the machine's).
  A member actor acts only on their own loans (actor.not_owner otherwise); lost
  and claims-returned are staff work (Role.DESK). The actor is recorded on the
  loan, the transfers and the events (actor_ref, beside the staff account).
- Locks (core.locks), always in this order: the item row, then the borrower (the
  member row, or for a guest or a library an advisory lock), then the loan, then
  holds by primary key, then the national holdings row (collection). Two desks
  lending the same copy: the second waits for the item lock and then sees the
  loan (and the unique "one open loan per item" index stands behind it). Two
  desks lending to one member: serialised on the member row, so limits hold.
- A refusal is a CirculationRefused (core.errors.ServiceErrors) listing every
  reason, each a ServiceError with a code (circulation/errors.py) and whether it
  may be overridden; nothing is changed. Overridable reasons may be overridden by
  a desk coordinator (Role.DESK_SUPERVISOR or library admin) with a reason, which
  is logged; members and machines never override.
- Check-in routing is a code with parameters (route.*), its notes too (checkin.*);
  CheckinResult.message is the sentence the desk shows.
- Due dates come from the loan rule and the lending branch's calendar
  (tenants.calendar). The fine terms are copied onto the loan at checkout;
  the fine counts the branch's open days after the due date, up to the rule's
  maximum, and is charged when the loan ends (or when an overdue loan is renewed,
  for the days until then).
- Guests: their charges go to their account in their home library (one account
  per member, wherever they borrow; settling between libraries is outside LSB's
  ledger), and the national GuestLoan index shows the loan to the home library.
- Every item status change goes through collection.services.item_circulation_update.
"""

import zlib
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import schema_context

from collection.models import ItemStatus
from collection.services import barcode_error, branch_of, item_circulation_update, item_lock
from core import locks
from core.actors import ActorKind
from core.errors import ServiceError, ServiceErrors, error_codes, message_for
from core.locks import lock_row, lock_rows
from core.money import euro
from members.models import LedgerEntry, Member
from members.selectors.ledger import charge_waived_cents
from members.services.ledger import ledger_charge, ledger_charge_reverse
from staff.models import Role
from staff.permissions import actor_has_role, require_role
from tenants import calendar
from tenants.models import CardIndex, GuestLoan
from tenants.outbox import enqueue as outbox_enqueue

from ..borrowers import (
    Borrower,
    block_reasons,
    borrower_find,
    borrower_of_library_loan,
    borrower_open_loans_everywhere,
    borrower_resolve,
    guest_lookups_audited,
)
from ..desk_context import desk_context_lock
from ..interlibrary import interlibrary
from ..models import BorrowerKind, CirculationEvent, CirculationSettings, Loan, Transfer
from ..rules import loan_rule_choose, loan_rule_choose_by_fingerprint, rule_dimensions

SETTINGS_PK = 1
_GUEST_LOCK_NAMESPACE = 4712
OVERRIDE_REASON_MAX = 200
# Logged with the refusals a loan made offline (SIP2 'no block') went past.
OFFLINE_REASON = "Offline uitgeleend door de automaat of balie (achteraf vastgelegd)"
DESK_BRANCH = _("De vestiging van de balie")


def render(code, params=None):
    """The sentence of a code (circulation/errors.py) with its values, in the active language."""
    message = message_for(code)
    return str(message % params) if params else str(message)


def refusal(code, *, overridable=False, confirmable=False, **params):
    """One reason a checkout or renewal is refused: a ServiceError with its code and
    values, whether a desk coordinator may lend despite it (overridable), and
    whether desk staff may confirm it (confirmable: a question, not a rule; see
    checkout's `confirmed`)."""
    error = ServiceError(code, **params)
    error.overridable = overridable
    error.confirmable = confirmable
    return error


class CirculationRefused(ServiceErrors):
    """A checkout or renewal the rules refuse: every reason (ServiceErrors.errors,
    also as `.refusals`), each with its code and `overridable`."""

    @property
    def refusals(self):
        return self.errors

    @property
    def overridable(self):
        return all(getattr(error, "overridable", False) for error in self.errors)

    @property
    def confirmable(self):
        """Every reason is a question the desk may confirm (checkout's `confirmed`)."""
        return all(getattr(error, "confirmable", False) for error in self.errors)


def _as_refusal(reason, *, overridable):
    """A borrower's reason not to lend (a ServiceError: circulation.borrowers.block_reasons,
    or why their card or library is no longer valid) as a refusal."""
    return refusal(reason.code, overridable=overridable, **(reason.params or {}))


@dataclass
class CheckoutResult:
    loan: Loan
    renewed: bool = False
    fee_cents: int = 0
    overridden: list = field(default_factory=list)
    confirmed: list = field(default_factory=list)  # the questions the desk confirmed (refusals)


@dataclass
class Note:
    """A line under the routing sign at check-in: a code (checkin.*) and its values."""

    code: str
    params: dict = field(default_factory=dict)

    @property
    def message(self):
        return render(self.code, self.params)

    def __str__(self):
        return self.message


@dataclass
class CheckinResult:
    """Where a copy goes after check-in: `route` (shelf, transit, hold_shelf,
    hold_transit, keep; see ROUTE_* below) with its code (route.*) and values, and
    notes for the desk."""

    item: object
    route: str
    code: str
    params: dict = field(default_factory=dict)
    destination_branch_id: int | None = None
    loan: Loan | None = None
    fine_cents: int = 0
    notes: list = field(default_factory=list)  # Note
    hold: object = None

    @property
    def message(self):
        """The big routing sign for the desk, in capitals (also the branch or status it names)."""
        return render(self.code, self.params).upper()

    @property
    def note_texts(self):
        return [note.message for note in self.notes]


ROUTE_SHELF = "shelf"
ROUTE_TRANSIT = "transit"
ROUTE_HOLD_SHELF = "hold_shelf"
ROUTE_HOLD_TRANSIT = "hold_transit"
ROUTE_KEEP = "keep"  # leave aside: withdrawn, damaged, in processing, lent to another library


# --- helpers -----------------------------------------------------------------------

def circulation_settings_get():
    return CirculationSettings.objects.filter(pk=SETTINGS_PK).first() or CirculationSettings(pk=SETTINGS_PK)


def may_confirm(actor):
    """May this actor confirm a checkout's question (a confirmable refusal, e.g.
    checkout.waiting_hold)? Desk staff; members and machines cannot be asked."""
    return actor.is_staff and actor_has_role(actor, Role.DESK)


def may_override(actor):
    """May this actor lend despite overridable refusals? Staff with the desk
    coordinator role (or library administrators); members and machines never."""
    return actor_has_role(actor, Role.DESK_SUPERVISOR)


def _clean_barcode(barcode):
    barcode = (barcode or "").strip()
    if not barcode:
        raise ServiceError("scan.no_barcode", field="barcode")
    error = barcode_error(barcode)
    if error:
        raise error
    return barcode


def _refuse_card_as_item(barcode):
    if Member.objects.filter(card_number=barcode).exists() or CardIndex.objects.filter(card_number=barcode).exists():
        raise ServiceError("scan.card_not_item", barcode=barcode)


def _refuse_other_librarys_item(barcode):
    """Another library's copy scanned here (the national item index knows its owner):
    say whose it is, so the desk sends it on (interlibrary loan's crate for the POI)."""
    from tenants.models import ItemIndex

    owners = sorted(set(ItemIndex.objects.filter(barcode=barcode).values_list("organisation__name", flat=True)))
    if owners:
        raise ServiceError("scan.item_of_other_library", barcode=barcode, library=" / ".join(owners))


def _desk_context(organisation, *, barcode, branch_id, today):
    """Lock the scanned item and read the scan's context (circulation.desk_context);
    the actor's branch must be an active branch of this library."""
    barcode = _clean_barcode(barcode)
    try:
        branch_id = int(branch_id)
    except (TypeError, ValueError):
        raise ServiceError("branch.choose", library=organisation.name) from None
    context = desk_context_lock(barcode=barcode, branch_id=branch_id, today=today)
    if context is None:
        branch_of(organisation, branch_id, label=DESK_BRANCH)
        _refuse_card_as_item(barcode)
        _refuse_other_librarys_item(barcode)
        raise ServiceError("scan.item_unknown", barcode=barcode)
    branch = context.branch
    if branch is None or branch.organisation_id != organisation.pk:
        raise ServiceError("branch.other_library", label=DESK_BRANCH, library=organisation.name)
    if not branch.is_active:
        raise ServiceError("branch.inactive", label=DESK_BRANCH, branch=branch.name)
    return context


_OPEN_LOAN_COUNTS_SQL = """
    SELECT count(*), count(*) FILTER (WHERE item.item_type = %(item_type)s)
      FROM {loan} AS loan JOIN {item} AS item ON item.id = loan.item_id
     WHERE loan.ended_at IS NULL AND {borrower}
"""


def _open_loan_counts(borrower, item_type):
    """(open loans, open loans of this item type) of a borrower here (a library: all
    its loans here, whichever request)."""
    if borrower.is_library:
        condition = "loan.borrowing_library_id = %(library)s"
    elif borrower.is_guest:
        condition = "loan.guest_card_number = %(card)s AND loan.guest_organisation_id = %(home)s"
    else:
        condition = "loan.member_id = %(member)s"
    sql = _OPEN_LOAN_COUNTS_SQL.format(loan=Loan._meta.db_table, item="collection_item", borrower=condition)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"item_type": item_type, "card": borrower.card_number,
                             "home": borrower.home.pk if borrower.is_guest else None,
                             "member": borrower.member.pk if borrower.member is not None else None,
                             "library": borrower.borrowing_library.pk if borrower.is_library else None})
        return cursor.fetchone()


def _lock_borrower(borrower):
    """Serialise everything one borrower does here (limits are counted under it):
    the borrower rank of core.locks, after the item."""
    if borrower.lock_key is not None:  # a guest card or a library: no row of theirs here
        locks.note_lock(locks.BORROWER)
        # pg_advisory_xact_lock(int4, int4): the unsigned CRC moved into the signed int4 range.
        key = zlib.crc32(borrower.lock_key.encode()) - (1 << 31)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_GUEST_LOCK_NAMESPACE, key])
    elif not borrower.locked:
        [borrower.member] = lock_rows(
            locks.BORROWER, Member.objects.select_related("category", "subscription").filter(pk=borrower.member.pk),
            of=("self",),
        )
        # Read again under the lock: a block or charge another desk committed while we
        # waited for it counts (what borrower_find read before may be stale).
        borrower.may_borrow, borrower.reasons = block_reasons(borrower.member)
        borrower.locked = True


def _lock_payer(loan):
    """Lock the account a loan's charges go to when it is an own member's (the
    borrower rank: before the loan); a guest's charge is a step for their home
    library (tenants.outbox), a library pays nothing here."""
    if loan.member_id is not None:
        lock_row(locks.BORROWER, Member.objects.filter(pk=loan.member_id))


def _charge(borrower_or_loan_member, *, actor, home, charge_type, amount_cents, description, reference):
    """Post a charge on the borrower's account: here for a member (whose row the
    caller has locked). For a guest it is a step for their home library
    (tenants.outbox), carried out in its schema once this transaction commits; the
    desk shows the amount now."""
    if amount_cents <= 0:
        return None
    member, home_member_id = borrower_or_loan_member
    if home is None:
        return ledger_charge(actor=actor, member=member, charge_type=charge_type, amount_cents=amount_cents,
                             description=description, reference=reference)
    return outbox_enqueue(
        actor=actor, target=home, kind="members.guest_charge", dedupe_key=f"guest_charge:{reference}",
        payload={"member": home_member_id, "charge_type": charge_type, "amount_cents": amount_cents,
                 "description": description, "reference": reference},
    )


def _card_holder(card_number):
    """The live member record (current schema) that holds or held this card: the
    home library may have replaced the card since the loan (a former card) or
    merged the record into another one (follow merged_into)."""
    from members.models import FormerCard

    member = Member.objects.filter(card_number=card_number).first()
    if member is None:
        former = FormerCard.objects.select_related("member").filter(card_number=card_number).first()
        member = former.member if former is not None else None
    seen = set()
    while member is not None and member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.filter(pk=member.merged_into_id).first()
    if member is None or member.erased_at is not None:
        return None
    return member


def _loan_payer(loan):
    """(member, home member id) and home library of a loan's borrower, for charges;
    (None, None) when nobody pays here (a library organisation borrowing)."""
    if loan.is_library_loan:
        return None, None
    if loan.guest_card_number:
        from tenants.models import LibraryOrganisation

        home = LibraryOrganisation.objects.get(pk=loan.guest_organisation_id)
        with schema_context(home.schema_name):
            home_member = _card_holder(loan.guest_card_number)
        if home_member is None:
            return None, None
        return (None, home_member.pk), home
    return (loan.member, None), None


def _fine_cents(loan, returned_on):
    if loan.fine_per_day_cents == 0 or returned_on <= loan.due_on:
        return 0
    days = calendar.overdue_open_days(loan.branch_id, due_on=loan.due_on, returned_on=returned_on)
    fine = days * loan.fine_per_day_cents
    if loan.fine_max_cents:
        fine = min(fine, loan.fine_max_cents)
    return fine


def _charge_fine(actor, loan, *, returned_on, title_text=None, fine=None):
    """Charge the fine of a loan so far (the caller has locked the payer: _lock_payer)."""
    fine = _fine_cents(loan, returned_on) if fine is None else fine
    if fine:
        title_text = title_text or _title_text(loan.title_id)
        payer, home = _loan_payer(loan)
        if payer is not None:
            _charge(payer, actor=actor, home=home, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=fine,
                    description=f"Te laat: {title_text} (tot {loan.due_on:%d-%m-%Y}, ingeleverd {returned_on:%d-%m-%Y})",
                    reference=f"loan:{loan.pk}:fine:{returned_on.isoformat()}")
    return fine


def _title_text(title_id):
    """The title's text for a ledger line or a refusal, shortened."""
    from ..selectors import title_texts

    return title_texts([title_id]).get(title_id, f"titel {title_id}")[:80]


def title_fields(title_id):
    """A title's placeholders for notices: titel and auteur."""
    from catalogue.models import Title

    title = Title.objects.filter(pk=title_id).only("title", "responsibility").first()
    if title is None:
        return {"titel": f"titel {title_id}", "auteur": ""}
    return {"titel": title.title, "auteur": title.responsibility or ""}


def _rule_for(borrower, item, branch_id):
    return loan_rule_choose(
        **rule_dimensions(borrower.kind, borrower.category_id, borrower.age_group), item_type=item.item_type,
        branch_id=branch_id,
    )


# --- checkout ----------------------------------------------------------------------

# Item states that refuse a checkout: (code, overridable).
_ITEM_REFUSALS = {
    ItemStatus.WITHDRAWN: ("checkout.withdrawn", False),
    ItemStatus.MISSING: ("checkout.missing", True),
    ItemStatus.DAMAGED: ("checkout.damaged", True),
    ItemStatus.IN_PROCESSING: ("checkout.in_processing", True),
    ItemStatus.IN_TRANSIT: ("checkout.in_transit", True),
    ItemStatus.ON_INTERLIBRARY_LOAN: ("checkout.on_interlibrary_loan", False),
}


def _travels_for_another(item, borrower):
    """Is this copy in transit to fill another borrower's hold?"""
    from ..models import Hold, HoldStatus

    hold = Hold.objects.filter(assigned_item=item, status=HoldStatus.IN_TRANSIT).first()
    return hold is not None and not borrower.owns_hold(hold)


def checkout(*, actor, card_number=None, barcode, override_reason="", now=None, borrower=None, fee_acknowledged=True,
             offline=False, offline_due_on=None, confirmed=()):
    """Lend the item with `barcode` at the actor's branch (the desk's, the
    machine's) to the card holder, or to `borrower` (circulation.borrowers.Borrower,
    e.g. Borrower.library(org, reference) for the lending side of interlibrary loan:
    the copy goes out 'on interlibrary loan', no fee or fine is charged to anyone
    here). A member actor borrows only for themselves.

    Scanning an item the borrower already has renews it. Returns a CheckoutResult;
    raises CirculationRefused (every reason) or a ServiceError, changing nothing.
    With `override_reason`, a desk coordinator lends despite overridable refusals.

    Without `fee_acknowledged` a loan fee (or renewal fee) is refused with
    checkout.fee_not_acknowledged (its amount in the params) so that a
    self-service machine asks the borrower first (SIP2 BO). `offline` records a
    loan a self-service machine or desk already made while it could not reach
    LSB (SIP2 'no block', dated `now`, due `offline_due_on` when it gave one):
    overridable refusals do not stop it but are logged as an exception.

    A question (a confirmable refusal: checkout.waiting_hold, somebody else waits
    for this copy) is answered by desk staff with its code in `confirmed`; the
    confirmation is logged."""
    organisation = actor.require_current_library()
    from .holds import (
        hold_first_waiting_for_copy,
        hold_for_checkout,
        hold_ready_for_item,
        holds_expected_refresh_for_title,
        holds_fulfil_on_checkout,
    )

    now = now or timezone.now()
    today = timezone.localdate(now)
    override_reason = (override_reason or "").strip()[:OVERRIDE_REASON_MAX]
    # A guest card looked up here is told to its home library, refused or not (borrowers.guest_lookups_audited).
    with guest_lookups_audited(actor), transaction.atomic():
        context = _desk_context(organisation, barcode=barcode, branch_id=actor.branch_id, today=today)
        branch, item = context.branch, context.item
        borrower = borrower_resolve(organisation=organisation, card_number=card_number, borrower=borrower, lock=True)
        actor.require_member(borrower.member.pk if borrower.member is not None else None)
        if borrower.is_library:  # sending a copy to a library: its staff, or interlibrary loan's own steps
            actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
        _lock_borrower(borrower)
        # The item lock covers its loans: every loan write locks the item first.
        open_loan = context.open_loan
        if open_loan is not None:
            if borrower.owns_loan(open_loan):
                loan = _renew_locked(actor, open_loan, today=today, borrower=borrower,
                                     fee_acknowledged=fee_acknowledged)
                return CheckoutResult(loan=loan, renewed=True)
            raise CirculationRefused([refusal("checkout.on_loan_to_other", barcode=item.barcode)])

        refusals = []
        if borrower.member is not None and (borrower.member.merged_into_id is not None):
            refusals.append(refusal("borrower.merged"))
        elif not borrower.may_borrow:
            refusals.extend(_as_refusal(reason, overridable=True) for reason in borrower.reasons)
        if item.status in _ITEM_REFUSALS:
            code, overridable = _ITEM_REFUSALS[ItemStatus(item.status)]
            refusals.append(refusal(code, overridable=overridable, barcode=item.barcode))
        hold = None
        if item.status == ItemStatus.ON_HOLD_SHELF:
            # Ready for someone else: refused. A copy whose ready hold ended (cancelled,
            # expired) is free: it may be lent until it is taken off the shelf.
            hold = hold_for_checkout(item=item, borrower=borrower)
            if hold is None and hold_ready_for_item(item) is not None:
                refusals.append(refusal("checkout.held_for_other", barcode=item.barcode))
        if item.status == ItemStatus.IN_TRANSIT and _travels_for_another(item, borrower):
            refusals.append(refusal("checkout.travels_for_other", barcode=item.barcode))
        if item.not_for_loan:
            refusals.append(refusal("checkout.not_for_loan", overridable=True, barcode=item.barcode))
        if item.ibl_owner_id is not None and borrower.kind != BorrowerKind.MEMBER:
            # Another library's copy here on interlibrary loan: for the member who asked for it only.
            refusals.append(refusal("checkout.ibl_copy_members_only", barcode=item.barcode))
        if context.title_has_holds and hold is None and not any(
                reason.code in ("checkout.held_for_other", "checkout.travels_for_other") for reason in refusals):
            # Somebody else is first in line for a copy like this one: ask (Koha asks too).
            first = hold_first_waiting_for_copy(item=item, today=today)
            if first is not None and not borrower.owns_hold(first):
                refusals.append(refusal("checkout.waiting_hold", overridable=True, confirmable=True,
                                        barcode=item.barcode, title=_title_text(item.title_id)))

        choice = loan_rule_choose_by_fingerprint(
            context.rules_fingerprint, **rule_dimensions(borrower.kind, borrower.category_id, borrower.age_group),
            item_type=item.item_type, branch_id=branch.pk,
        )
        rule = choice.rule
        total, of_type = _open_loan_counts(borrower, item.item_type)
        max_total = rule.max_loans_total if rule.max_loans_total is not None else borrower.subscription_max_loans
        if max_total is not None and total >= max_total:
            refusals.append(refusal("checkout.limit_total", overridable=True, max=max_total))
        if rule.max_loans_of_type is not None and of_type >= rule.max_loans_of_type:
            refusals.append(refusal("checkout.limit_type", overridable=True, max=rule.max_loans_of_type,
                                    item_type=item.get_item_type_display().lower()))
        national_max = context.national_max_loans_per_card if not borrower.is_library else None
        if national_max is not None and borrower_open_loans_everywhere(borrower, organisation) >= national_max:
            refusals.append(refusal("checkout.national_limit", overridable=True, max=national_max))

        # The questions desk staff confirmed are answered; the rest stand.
        answered = ([reason for reason in refusals if reason.confirmable and reason.code in set(confirmed or ())]
                    if may_confirm(actor) else [])
        refusals = [reason for reason in refusals if reason not in answered]
        overridden = []
        if (refusals and offline and actor.kind in (ActorKind.MACHINE, ActorKind.STAFF)
                and all(reason.overridable for reason in refusals)):
            # It already happened: the copy left with the borrower while LSB could not be asked.
            override_reason = override_reason or OFFLINE_REASON
            overridden = refusals
        elif refusals:
            if not override_reason or not all(reason.overridable for reason in refusals):
                raise CirculationRefused(refusals)
            if not may_override(actor):
                raise CirculationRefused(refusals + [refusal("checkout.override_not_allowed")])
            overridden = refusals

        due_on = (offline_due_on if offline and offline_due_on
                  else context.calendar.due_date(start=today, loan_days=rule.loan_days))
        if item.ibl_owner_id is not None:  # another library's copy: its lender's terms (circulation.interlibrary)
            due_on = interlibrary().standin_due_on(item=item, branch_id=branch.pk, today=today)
        if not fee_acknowledged and borrower.pays and rule.loan_fee_cents:
            raise CirculationRefused([refusal("checkout.fee_not_acknowledged", fee=euro(rule.loan_fee_cents),
                                              amount_cents=rule.loan_fee_cents)])
        loan = Loan.objects.create(
            item=item, title_id=item.title_id, **borrower.loan_fields(),
            rule=None if choice.is_default else rule,
            # A library pays no fine here (settling between libraries is interlibrary loan's).
            fine_per_day_cents=rule.fine_per_day_cents if borrower.pays else 0,
            fine_max_cents=rule.fine_max_cents if borrower.pays else 0,
            branch_id=branch.pk, loaned_at=now, due_on=due_on, created_by=actor.user_or_none, actor_ref=actor.ref,
            override_reason=override_reason if overridden else "",
        )
        if item.status == ItemStatus.IN_TRANSIT:
            Transfer.objects.filter(item=item, received_at__isnull=True).update(
                received_at=now, received_branch_id=branch.pk
            )
        if context.title_has_holds:
            # Holds before the holdings row (core.locks): the title's waiting holds and
            # this borrower's, locked now; theirs are fulfilled.
            holds_fulfil_on_checkout(actor=actor, item=item, borrower=borrower, now=now)
        if item.status in (ItemStatus.MISSING, ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING, ItemStatus.ON_LOAN):
            # ON_LOAN without an open loan cannot happen through the services; repair it if it does.
            # Found at the desk: back to available first (the transition table's route).
            item_circulation_update(actor=actor, item=item, to_status=ItemStatus.AVAILABLE,
                                    detail="Gevonden bij uitlenen (uitzondering)")
        item_circulation_update(
            actor=actor, item=item,
            to_status=ItemStatus.ON_INTERLIBRARY_LOAN if borrower.is_library else ItemStatus.ON_LOAN,
            current_branch_id=branch.pk, loaned_at=now,
            detail=(f"Uitgeleend aan {borrower.label} tot {due_on:%d-%m-%Y}" if borrower.is_library
                    else f"Uitgeleend tot {due_on:%d-%m-%Y}"),
        )
        if overridden:
            CirculationEvent.objects.create(
                kind=CirculationEvent.Kind.OVERRIDE, loan=loan, item_id_ref=item.pk, staff_user=actor.user_or_none,
                actor_ref=actor.ref,
                detail=f"{override_reason} — geweigerd was: " + " ".join(
                    message for reason in overridden for message in reason.messages),
            )
        if answered:
            CirculationEvent.objects.create(
                kind=CirculationEvent.Kind.OVERRIDE, loan=loan, item_id_ref=item.pk, staff_user=actor.user_or_none,
                actor_ref=actor.ref,
                detail="Bevestigd aan de balie: " + " ".join(
                    message for reason in answered for message in reason.messages),
            )
        if borrower.is_guest:
            GuestLoan.objects.create(
                card_number=borrower.card_number, home_organisation=borrower.home, lending_organisation=organisation,
                loan_id=loan.pk, title_id=item.title_id, item_barcode=item.barcode, loaned_at=now, due_on=due_on,
            )
        # Another library's copy: its interlibrary-loan fee was charged when it arrived.
        fee = rule.loan_fee_cents if borrower.pays and item.ibl_owner_id is None else 0
        if fee:
            _charge((borrower.member, borrower.home_member_id), actor=actor, home=borrower.home,
                    charge_type=LedgerEntry.ChargeType.LOAN_FEE, amount_cents=fee,
                    description=f"Leengeld: {_title_text(item.title_id)}", reference=f"loan:{loan.pk}:fee:0")
        if context.title_has_holds:
            holds_expected_refresh_for_title(item.title_id, today=today, locked=True)
        if item.ibl_owner_id is not None:  # last: interlibrary loan's request (core.locks)
            interlibrary().standin_lent(actor=actor, loan=loan)
    return CheckoutResult(loan=loan, fee_cents=fee, overridden=overridden, confirmed=answered)


def _lock_open_loan(actor, loan_id, *, borrower=False, payer=False):
    """Lock an open loan of this library the way every loan write does (core.locks):
    its item, then (with `borrower`) the borrower as a renewal needs it, or (with
    `payer`) the account its charges go to, then the loan. A member actor only
    locks their own loans. Returns (loan, borrower or None)."""
    loan = Loan.objects.select_related("item", "member").filter(pk=loan_id).first()
    if loan is None or loan.ended_at is not None:
        raise ServiceError("loan.not_found")
    actor.require_member(loan.member_id)
    item_lock(loan.item.barcode)
    found = None
    if borrower:
        found = _loan_borrower(actor, loan)
    elif payer:
        _lock_payer(loan)
    [loan] = lock_rows(locks.LOAN, Loan.objects.select_related("item", "member").filter(pk=loan_id), of=("self",))
    if loan.ended_at is not None:
        raise ServiceError("loan.ended_meanwhile")
    return loan, found


# --- renew -------------------------------------------------------------------------

def _renew_refusals(loan, *, borrower, today):
    from .holds import holds_waiting_for_loan

    refusals = []
    if borrower is not None and not borrower.may_borrow:
        refusals.extend(_as_refusal(reason, overridable=False) for reason in borrower.reasons)
    item = loan.item
    choice = loan_rule_choose(
        **rule_dimensions(loan.borrower_kind, loan.member.category_id if loan.member_id else None,
                          borrower.age_group if borrower is not None else None),
        item_type=item.item_type, branch_id=loan.branch_id,
    )
    rule = choice.rule
    if item.ibl_owner_id is not None:
        # Another library's copy: its lender answers at once, by its own rules (circulation.interlibrary).
        new_due = loan.due_on
        try:
            new_due = interlibrary().standin_renewal(loan=loan, today=today)
        except ServiceError as refused:
            refusals.append(refusal(refused.code, **(refused.params or {})))
        return refusals, rule, new_due
    if loan.renewals >= rule.max_renewals:
        refusals.append(refusal("loan.max_renewals", title=_title_text(loan.title_id), renewals=loan.renewals,
                                max=rule.max_renewals))
    if holds_waiting_for_loan(loan):
        refusals.append(refusal("loan.held_for_other", title=_title_text(loan.title_id)))
    new_due = calendar.due_date(loan.branch_id, start=today, loan_days=rule.loan_days)
    if new_due <= loan.due_on:
        refusals.append(refusal("loan.renewal_too_early", title=_title_text(loan.title_id),
                                due_on=f"{loan.due_on:%d-%m-%Y}"))
    return refusals, rule, new_due


def _renew_locked(actor, loan, *, today, borrower, fee_acknowledged=True):
    """Renew a loan whose item and borrower (`borrower`, locked) this transaction
    has locked; holds are locked after them."""
    from .holds import holds_expected_refresh_for_title

    organisation = actor.organisation
    refusals, rule, new_due = _renew_refusals(loan, borrower=borrower, today=today)
    if refusals:
        raise CirculationRefused(refusals)
    if not fee_acknowledged and rule.loan_fee_cents and not loan.is_library_loan:
        raise CirculationRefused([refusal("checkout.fee_not_acknowledged", fee=euro(rule.loan_fee_cents),
                                          amount_cents=rule.loan_fee_cents)])
    title_text = _title_text(loan.title_id)
    _charge_fine(actor, loan, returned_on=today, title_text=title_text)
    loan.renewals += 1
    loan.due_on = new_due
    # A renewal starts the fine count afresh from the new due date under today's terms.
    loan.fine_per_day_cents = rule.fine_per_day_cents if not loan.is_library_loan else 0
    loan.fine_max_cents = rule.fine_max_cents if not loan.is_library_loan else 0
    loan.overdue_level = 0
    loan.save(update_fields=["renewals", "due_on", "fine_per_day_cents", "fine_max_cents", "overdue_level"])
    if rule.loan_fee_cents and loan.item.ibl_owner_id is None:
        payer, home = _loan_payer(loan)
        if payer is not None:
            _charge(payer, actor=actor, home=home, charge_type=LedgerEntry.ChargeType.LOAN_FEE,
                    amount_cents=rule.loan_fee_cents, description=f"Leengeld (verlenging): {title_text}",
                    reference=f"loan:{loan.pk}:fee:{loan.renewals}")
    if loan.guest_card_number:
        GuestLoan.objects.filter(lending_organisation=organisation, loan_id=loan.pk).update(due_on=new_due)
    holds_expected_refresh_for_title(loan.title_id, today=today)
    if loan.item.ibl_owner_id is not None:
        interlibrary().standin_renewed(actor=actor, loan=loan, today=today)
    return loan


def _loan_borrower(actor, loan):
    """The borrower of a loan, locked (the borrower rank), as a renewal sees them now."""
    organisation = actor.organisation
    if loan.is_library_loan:
        borrower = borrower_of_library_loan(organisation, loan)
        _lock_borrower(borrower)
        return borrower
    card = loan.guest_card_number or loan.member.card_number
    if loan.guest_card_number:
        # The home library may have replaced the card since: ask about the member's card now.
        from tenants.models import LibraryOrganisation

        home = LibraryOrganisation.objects.get(pk=loan.guest_organisation_id)
        with schema_context(home.schema_name):
            holder = _card_holder(card)
        if holder is not None:
            card = holder.card_number
    try:
        borrower = borrower_find(organisation=organisation, card_number=card)
    except ServiceError as error:
        # The card is no longer valid (erased, replaced): renewal is refused for that reason.
        return Borrower(card_number=card, member=loan.member, may_borrow=False, reasons=[error])
    _lock_borrower(borrower)
    return borrower


def renew(*, actor, loan_id, today=None, fee_acknowledged=True):
    """Renew one open loan (a member actor: only their own). Raises CirculationRefused
    with the reasons, or a ServiceError (loan.not_found, actor.not_owner), changing nothing.
    Without `fee_acknowledged` a renewal fee is refused (checkout.fee_not_acknowledged)."""
    actor.require_current_library()
    today = today or timezone.localdate()
    with guest_lookups_audited(actor), transaction.atomic():
        loan, borrower = _lock_open_loan(actor, loan_id, borrower=True)
        return _renew_locked(actor, loan, today=today, borrower=borrower, fee_acknowledged=fee_acknowledged)


def renewal_check(*, loan_id, today=None):
    """Would this open loan of the current library be renewed today, and until when?
    ([refusals], new due date): a read, for whoever must answer at once (interlibrary
    loan asks the lending library, inside its schema, whether the copy it lent may
    stay longer). The refusals are the ones renew would raise."""
    from core.actors import current_library

    today = today or timezone.localdate()
    loan = Loan.objects.select_related("item", "member").filter(pk=loan_id, ended_at__isnull=True).first()
    if loan is None:
        return [ServiceError("loan.not_found")], None
    borrower = borrower_of_library_loan(current_library(), loan) if loan.is_library_loan else None
    refusals, _rule, new_due = _renew_refusals(loan, borrower=borrower, today=today)
    return refusals, new_due


@dataclass
class RenewOutcome:
    loan: Loan
    renewed: bool
    reasons: list  # the sentences why not
    codes: list = field(default_factory=list)  # and their codes


def renew_all(*, actor, card_number, today=None, fee_acknowledged=True):
    """Renew every open loan of a borrower; each one on its own (one refused loan
    does not stop the others). A member actor renews only their own. Returns a
    RenewOutcome per loan."""
    organisation = actor.require_current_library()
    with guest_lookups_audited(actor):
        borrower = borrower_find(organisation=organisation, card_number=card_number)
    actor.require_member(borrower.member.pk if borrower.member is not None else None)
    outcomes = []
    for loan_id in Loan.objects.filter(ended_at__isnull=True, **borrower.loans_filter()).order_by("due_on", "pk").values_list(
        "pk", flat=True
    ):
        try:
            loan = renew(actor=actor, loan_id=loan_id, today=today, fee_acknowledged=fee_acknowledged)
            outcomes.append(RenewOutcome(loan=loan, renewed=True, reasons=[]))
        except ValidationError as error:
            loan = Loan.objects.select_related("item").get(pk=loan_id)
            outcomes.append(RenewOutcome(loan=loan, renewed=False, reasons=error.messages, codes=error_codes(error)))
    return outcomes


# --- checkin -----------------------------------------------------------------------

def _end_loan(organisation, loan, *, ending, branch_id, now):
    loan.ended_at = now
    loan.ending = ending
    loan.ended_branch_id = branch_id
    if loan.guest_card_number:
        GuestLoan.objects.filter(lending_organisation=organisation, loan_id=loan.pk).delete()


def _branch_name(branch_id):
    from tenants.models import Branch

    branch = Branch.objects.filter(pk=branch_id).only("name").first()
    return branch.name if branch else f"vestiging {branch_id}"


def checkin(*, actor, barcode, now=None):
    """Take an item back at the actor's branch (the desk's, the machine's): end its
    loan (charging any fine), then route it: to a hold (this branch's hold shelf or
    in transit to the pickup branch), back on this branch's shelf (its home, or a
    floating item), or in transit home. An item that was not on loan is handled
    too: a received transfer, or a status repaired and noted. Returns a
    CheckinResult (its route a code with values, e.g. route.transit and the branch).
    Taking a copy back is done where it is handed in: at a desk, a machine or by the
    system, not by a member's own account (actor.not_allowed)."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.MACHINE, ActorKind.SYSTEM)
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        context = _desk_context(organisation, barcode=barcode, branch_id=actor.branch_id, today=today)
        if context.item.ibl_owner_id is not None:  # another library's copy here on interlibrary loan: home it goes
            from .interlibrary import checkin_ibl_copy

            return checkin_ibl_copy(actor, context, now=now)
        result = _checkin_own_copy(actor, organisation, context, now=now, today=today)
        # Whichever way it goes on (shelf, hold, transit, kept aside), our copy is in
        # this library's hands now: interlibrary loan is asked here, once for every
        # route and last in the transaction (its lock is the last rank).
        return _library_loan_back(actor, context.open_loan, context.branch, now=now, result=result)


def _loan_returned(actor, organisation, loan, branch, *, today, now):
    """End an open loan (or None: nothing) as returned at `branch`, its fine charged
    (the payer locked first, core.locks' borrower rank): (fine in cents, notes).
    Every checkin, of our copies and of stand-ins, returns a loan this way."""
    if loan is None:
        return 0, []
    notes = []
    fine = _fine_cents(loan, today)
    if fine:
        _lock_payer(loan)
        _charge_fine(actor, loan, returned_on=today, fine=fine)
    loan.fine_cents = fine
    _end_loan(organisation, loan, ending=Loan.Ending.RETURNED, branch_id=branch.pk, now=now)
    loan.save(update_fields=["ended_at", "ending", "ended_branch_id", "fine_cents"])
    if fine:
        notes.append(Note("checkin.late_fine", {"fine": euro(fine)}))
    return fine, notes


def _checkin_own_copy(actor, organisation, context, *, now, today):
    """Checkin of one of our copies, locked (its desk context): the loan ended and
    the route, without interlibrary loan's last step (the caller's)."""
    from .holds import hold_receive, hold_trap, holds_expected_refresh_for_title, holds_lock_waiting

    branch, item = context.branch, context.item
    # The item lock covers its loans: every loan write locks the item first.
    loan = context.open_loan
    fine, notes = _loan_returned(actor, organisation, loan, branch, today=today, now=now)
    # A copy reported lost that turns up: its replacement charge is reversed (its
    # payer locked now, the borrower rank, before the holds).
    found_notes = _lost_copy_found(actor, item) if loan is None and item.status == ItemStatus.MISSING else []
    # The title's waiting holds before anything moves the holdings row (core.locks).
    waiting = holds_lock_waiting(item.title_id) if context.title_has_holds else []
    if item.damage_reported_at is not None and item.status in _DAMAGE_KEPT_FROM:
        # Damage reported while it was out: to the collection staff, not the shelf or a hold.
        result = _route_damaged(actor, item, branch)
        result.loan, result.fine_cents, result.notes = loan, fine, notes + found_notes + result.notes
        if context.title_has_holds:
            holds_expected_refresh_for_title(item.title_id, today=today, locked=True)
        return result
    if loan is None:
        keep = _checkin_not_on_loan(actor, item, branch, now=now, notes=notes)
        if keep is not None:
            return keep
        notes.extend(found_notes)

    if item.status == ItemStatus.IN_TRANSIT:
        transfer = Transfer.objects.select_for_update().filter(item=item, received_at__isnull=True).first()
        if transfer is not None:
            transfer.received_at = now
            transfer.received_branch_id = branch.pk
            transfer.save(update_fields=["received_at", "received_branch_id"])
            if transfer.hold_id is not None and transfer.to_branch_id == branch.pk:
                result = hold_receive(actor=actor, item=item, transfer=transfer, now=now)
                if result is not None:
                    result.notes = notes + result.notes
                    return result

    result = None
    if context.title_has_holds:
        result = hold_trap(actor=actor, item=item, branch=branch, now=now, waiting=waiting)
    if result is None:
        result = _route_home(actor, item, branch, now=now, floating_item_types=context.floating_item_types)
    result.loan = loan
    result.fine_cents = fine
    result.notes = notes + result.notes
    if context.title_has_holds:
        holds_expected_refresh_for_title(item.title_id, today=today, locked=True)
    return result


def _lost_copy_found(actor, item):
    """A copy whose last loan ended as lost is back: reverse its replacement charge
    (a credit on that charge, LedgerEntry waiver), less the processing fee the
    library keeps (CirculationSettings.lost_found_fee_cents); for a guest as a step
    for their home library (members.guest_charge_reverse). Returns the notes for
    the desk. Locks the payer's row (the borrower rank)."""
    last = Loan.objects.filter(item=item).order_by("-loaned_at", "-pk").first()
    if last is None or last.ending != Loan.Ending.LOST or last.is_library_loan:
        return []
    reference = f"loan:{last.pk}:lost"
    fee = circulation_settings_get().lost_found_fee_cents
    reason = f"Teruggevonden: {_title_text(last.title_id)} ({item.barcode}); vergoeding voor verlies teruggeboekt"
    if last.is_guest_loan:
        from tenants.models import LibraryOrganisation, OutboxMessage

        asked = OutboxMessage.objects.filter(source_id=actor.organisation.pk,
                                             dedupe_key=f"guest_charge:{reference}").first()
        if asked is None:
            return []
        charged = asked.payload["amount_cents"]
        amount = charged - min(fee, charged)
        if amount <= 0:
            return [Note("checkin.lost_charge_kept", {"fee": euro(charged)})]
        outbox_enqueue(
            actor=actor, target=LibraryOrganisation.objects.get(pk=last.guest_organisation_id),
            kind="members.guest_charge_reverse", dedupe_key=f"guest_charge_reverse:{reference}",
            payload={"member": asked.payload["member"], "charge_type": LedgerEntry.ChargeType.LOST_ITEM,
                     "reference": reference, "charged_cents": charged, "amount_cents": amount,
                     "reason": reason[:200]},
        )
    else:
        charge = (LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE, charge_type=LedgerEntry.ChargeType.LOST_ITEM,
                                             reference=reference).order_by("-pk").first())
        if charge is None:
            return []
        lock_row(locks.BORROWER, Member.objects.filter(pk=charge.member_id))
        charged = charge.amount_cents
        amount = min(charged - min(fee, charged), charged - charge_waived_cents(charge))
        if amount <= 0:
            return [Note("checkin.lost_charge_kept", {"fee": euro(min(fee, charged))})] if fee else []
        ledger_charge_reverse(actor=actor, charge=charge, amount_cents=amount, reason=reason[:200])
    if fee and amount < charged:
        return [Note("checkin.lost_charge_reversed_fee_kept", {"amount": euro(amount), "fee": euro(charged - amount)})]
    return [Note("checkin.lost_charge_reversed", {"amount": euro(amount)})]


def _library_loan_back(actor, loan, branch, *, now, result):
    """A copy of ours lent to a library (interlibrary loan) is back: its request is
    told; or the POI brought it home from another library: its transport ends. Last
    in the transaction (circulation.interlibrary)."""
    from .interlibrary import library_loan_returned, own_copy_back

    if loan is not None and loan.is_library_loan:
        result = library_loan_returned(actor, loan, branch, now=now, result=result)
    return own_copy_back(actor, branch, now=now, result=result)


def _checkin_not_on_loan(actor, item, branch, *, now, notes):
    """An item scanned at checkin without an open loan. Returns a final result when
    it must be left aside, else None (and the caller routes it)."""
    status = ItemStatus(item.status)
    if status == ItemStatus.WITHDRAWN:
        return CheckinResult(item=item, route=ROUTE_KEEP, code="route.keep", params={"status": status.label},
                             notes=[Note("checkin.withdrawn")])
    if status in (ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING):
        return CheckinResult(item=item, route=ROUTE_KEEP, code="route.keep", params={"status": status.label},
                             notes=[Note("checkin.status_not_on_loan", {"status": status.label.lower()})])
    if status == ItemStatus.ON_INTERLIBRARY_LOAN:
        return CheckinResult(item=item, route=ROUTE_KEEP, code="route.keep_interlibrary_loan",
                             notes=[Note("checkin.on_interlibrary_loan")])
    if status == ItemStatus.ON_HOLD_SHELF:
        from .holds import _held_for, hold_ready_for_item

        hold = hold_ready_for_item(item)
        if hold is not None:
            return CheckinResult(item=item, route=ROUTE_HOLD_SHELF, code="route.hold_shelf", hold=hold,
                                 destination_branch_id=hold.pickup_branch_id,
                                 notes=[Note("checkin.ready_already", {"held_for": _held_for(hold),
                                                                       "until": f"{hold.shelf_until:%d-%m-%Y}"})])
        # On the hold shelf without a hold: repair and route as usual below.
    if status == ItemStatus.ON_LOAN:
        notes.append(Note("checkin.on_loan_without_loan"))
    elif status == ItemStatus.MISSING:
        last = Loan.objects.filter(item=item).order_by("-loaned_at").first()
        if last is not None and last.ending in (Loan.Ending.LOST, Loan.Ending.CLAIMS_RETURNED):
            notes.append(Note("checkin.found_after_ending", {"ending": last.get_ending_display().lower()}))
        else:
            notes.append(Note("checkin.missing_found"))
    elif status == ItemStatus.AVAILABLE:
        notes.append(Note("checkin.not_on_loan"))
    if status in (ItemStatus.ON_LOAN, ItemStatus.MISSING, ItemStatus.ON_HOLD_SHELF):
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.AVAILABLE,
                                detail="Status hersteld bij inname")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.CHECKIN_REPAIR, item_id_ref=item.pk,
                                        staff_user=actor.user_or_none, actor_ref=actor.ref,
                                        detail=f"Van {status.label} naar beschikbaar bij inname")
    return None


# Statuses in which a copy with damage reported comes back (its loan ended, or it was lost and turns up).
_DAMAGE_KEPT_FROM = (ItemStatus.ON_LOAN, ItemStatus.ON_INTERLIBRARY_LOAN, ItemStatus.MISSING)


def _route_damaged(actor, item, branch):
    """A copy whose damage was reported while it was out: damaged, kept aside here
    for the collection staff (route.keep_damaged)."""
    item_circulation_update(actor=actor, item=item, to_status=ItemStatus.DAMAGED, current_branch_id=branch.pk,
                            damage_report_done=True,
                            detail=f"Ingenomen in {branch.name} met gemelde beschadiging: naar collectiebeheer")
    return CheckinResult(item=item, route=ROUTE_KEEP, code="route.keep_damaged", destination_branch_id=branch.pk,
                         notes=[Note("checkin.damage_reported")])


def _route_home(actor, item, branch, *, now, floating_item_types=None):
    """Back on this branch's shelf (home branch, or a floating item type), else in
    transit to the home branch."""
    if floating_item_types is None:
        floating_item_types = circulation_settings_get().floating_item_types
    floating = item.item_type in floating_item_types
    if item.owning_branch_id == branch.pk or floating:
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.AVAILABLE, current_branch_id=branch.pk,
                                detail=f"Ingenomen in {branch.name}")
        notes = [Note("checkin.floating")] if floating and item.owning_branch_id != branch.pk else []
        return CheckinResult(item=item, route=ROUTE_SHELF, code="route.shelf", destination_branch_id=branch.pk,
                             notes=notes)
    to_branch = item.owning_branch_id
    _transfer_start(actor, item, from_branch_id=branch.pk, to_branch_id=to_branch, reason=Transfer.Reason.HOME,
                    now=now)
    return CheckinResult(item=item, route=ROUTE_TRANSIT, code="route.transit",
                         params={"branch": _branch_name(to_branch)}, destination_branch_id=to_branch)


def _transfer_start(actor, item, *, from_branch_id, to_branch_id, reason, now, hold=None):
    Transfer.objects.filter(item=item, received_at__isnull=True).update(received_at=now, received_branch_id=from_branch_id)
    transfer = Transfer.objects.create(item=item, from_branch_id=from_branch_id, to_branch_id=to_branch_id,
                                       reason=reason, hold=hold, sent_at=now, sent_by=actor.user_or_none,
                                       actor_ref=actor.ref)
    if item.status not in (ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF):
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.AVAILABLE, detail="Status hersteld")
    if item.status != ItemStatus.IN_TRANSIT:
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.IN_TRANSIT,
                                current_branch_id=from_branch_id, detail=f"Transport naar {_branch_name(to_branch_id)}")
    else:
        item_circulation_update(actor=actor, item=item, current_branch_id=from_branch_id)
    return transfer


# --- lost and claims returned ------------------------------------------------------

def _expected_refresh(title_id, today):
    """A copy that went missing no longer counts for the holds waiting on its title."""
    from .holds import holds_expected_refresh_for_title

    holds_expected_refresh_for_title(title_id, today=today)


def loan_mark_lost(*, actor, loan_id, replacement_cents=None, today=None):
    """The borrower has lost the item (staff, Role.DESK): the loan ends as lost, the
    item becomes missing, and the fine so far plus the replacement price (the
    item's price, or `replacement_cents` given by staff) are charged."""
    organisation = actor.require_current_library()
    require_role(actor, Role.DESK)
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        loan, _borrower = _lock_open_loan(actor, loan_id, payer=True)
        item = loan.item
        price = replacement_cents if replacement_cents is not None else item.price_cents
        if price is None:
            raise ServiceError("loan.replacement_price_missing", field="price")
        if type(price) is not int or price < 0:  # noqa: E721
            raise ServiceError("loan.replacement_price_invalid", field="price")
        title_text = _title_text(loan.title_id)
        loan.fine_cents = _charge_fine(actor, loan, returned_on=today, title_text=title_text)
        _end_loan(organisation, loan, ending=Loan.Ending.LOST, branch_id=None, now=now)
        loan.save(update_fields=["ended_at", "ending", "ended_branch_id", "fine_cents"])
        if price:
            payer, home = _loan_payer(loan)
            if payer is not None:
                _charge(payer, actor=actor, home=home, charge_type=LedgerEntry.ChargeType.LOST_ITEM, amount_cents=price,
                        description=f"Verloren: {title_text} ({item.barcode})", reference=f"loan:{loan.pk}:lost")
        # On loan -> missing leaves the holdings row as it is (neither is available).
        item_circulation_update(actor=actor, item=item, to_status=ItemStatus.MISSING,
                                detail="Verloren gemeld door het lid")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.LOST, loan=loan, item_id_ref=item.pk,
                                        staff_user=actor.user_or_none, actor_ref=actor.ref,
                                        detail=f"Vervangingsprijs {euro(price)}")
        _expected_refresh(loan.title_id, today)
    return loan


def loan_claims_returned(*, actor, loan_id, note=""):
    """The borrower says it was returned but it is not here (staff, Role.DESK): the
    loan ends (no further fine), the item becomes missing, and it is logged for
    follow-up."""
    organisation = actor.require_current_library()
    require_role(actor, Role.DESK)
    now = timezone.now()
    with transaction.atomic():
        loan, _borrower = _lock_open_loan(actor, loan_id)
        _end_loan(organisation, loan, ending=Loan.Ending.CLAIMS_RETURNED, branch_id=None, now=now)
        loan.save(update_fields=["ended_at", "ending", "ended_branch_id"])
        item_circulation_update(actor=actor, item=loan.item, to_status=ItemStatus.MISSING,
                                detail="Volgens het lid ingeleverd; niet gevonden")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.CLAIMS_RETURNED, loan=loan,
                                        item_id_ref=loan.item_id, staff_user=actor.user_or_none, actor_ref=actor.ref,
                                        detail=(note or "").strip()[:500] or "Lid zegt het te hebben ingeleverd")
        _expected_refresh(loan.title_id, timezone.localdate(now))
    return loan
