"""Lending: checkout, checkin, renewal, lost and claims-returned, and the money
they post. The desk screens, the OPAC, the API and SIP2 all call these.

Decisions:
- Locks, always in this order: the item row, then the borrower (the member row,
  or for a guest an advisory lock on the card), then the loan, then holds. Two
  desks lending the same copy: the second waits for the item lock and then sees
  the loan (and the unique "one open loan per item" index stands behind it).
  Two desks lending to one member: serialised on the member row, so limits hold.
- A refusal is a CirculationRefused (a ValidationError) listing every reason;
  nothing is changed. Some reasons may be overridden by a desk coordinator
  (Role.DESK_SUPERVISOR or library admin) with a reason, which is logged.
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
from django_tenants.utils import schema_context

from collection.models import ItemStatus
from collection.services import barcode_error, branch_of, item_circulation_update, item_lock
from core.actors import Actor
from core.money import euro
from members.models import LedgerEntry, Member
from members.selectors.ledger import member_may_borrow
from members.services.ledger import ledger_charge
from staff.models import Role
from staff.selectors import has_role
from tenants import calendar
from tenants.models import CardIndex, GuestLoan
from tenants.outbox import enqueue as outbox_enqueue

from ..borrowers import borrower_find
from ..desk_context import desk_context_lock
from ..models import CirculationEvent, CirculationSettings, Loan, Transfer
from ..rules import loan_rule_choose, loan_rule_choose_by_fingerprint

SETTINGS_PK = 1
_GUEST_LOCK_NAMESPACE = 4712
OVERRIDE_REASON_MAX = 200


class CirculationRefused(ValidationError):
    """A checkout or renewal the rules refuse; `.refusals` lists every Refusal."""

    def __init__(self, refusals):
        self.refusals = list(refusals)
        super().__init__([refusal.message for refusal in self.refusals])

    @property
    def overridable(self):
        return all(refusal.overridable for refusal in self.refusals)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    overridable: bool = False


@dataclass
class CheckoutResult:
    loan: Loan
    renewed: bool = False
    fee_cents: int = 0
    overridden: list = field(default_factory=list)


@dataclass
class CheckinResult:
    item: object
    route: str  # shelf, transit, hold_shelf, hold_transit, keep (see ROUTE_* below)
    message: str  # the big routing text for the desk
    destination_branch_id: int | None = None
    loan: Loan | None = None
    fine_cents: int = 0
    notes: list = field(default_factory=list)
    hold: object = None


ROUTE_SHELF = "shelf"
ROUTE_TRANSIT = "transit"
ROUTE_HOLD_SHELF = "hold_shelf"
ROUTE_HOLD_TRANSIT = "hold_transit"
ROUTE_KEEP = "keep"  # leave aside: withdrawn, damaged, in processing, lent to another library


# --- helpers -----------------------------------------------------------------------

def _in_library_schema(organisation):
    if connection.schema_name != organisation.schema_name:
        raise RuntimeError(
            f"Circulation services for {organisation.schema_name} called in schema {connection.schema_name}"
        )


def circulation_settings_get():
    return CirculationSettings.objects.filter(pk=SETTINGS_PK).first() or CirculationSettings(pk=SETTINGS_PK)


def may_override(staff_user, organisation):
    return staff_user is not None and has_role(staff_user, organisation, Role.DESK_SUPERVISOR)


def _clean_barcode(barcode):
    barcode = (barcode or "").strip()
    if not barcode:
        raise ValidationError("Scan de barcode van een exemplaar.")
    error = barcode_error(barcode)
    if error:
        raise ValidationError(error)
    return barcode


def _refuse_card_as_item(barcode):
    if Member.objects.filter(card_number=barcode).exists() or CardIndex.objects.filter(card_number=barcode).exists():
        raise ValidationError(f"{barcode} is een pasnummer, geen exemplaar. Scan de barcode van het boek.")


def _lock_item(barcode):
    barcode = _clean_barcode(barcode)
    item = item_lock(barcode)
    if item is None:
        _refuse_card_as_item(barcode)
        raise ValidationError(f"Exemplaar {barcode} is onbekend in deze bibliotheek.")
    return item


def _desk_context(organisation, *, barcode, branch_id, today):
    """Lock the scanned item and read the scan's context (circulation.desk_context);
    the desk's branch must be an active branch of this library."""
    barcode = _clean_barcode(barcode)
    try:
        branch_id = int(branch_id)
    except (TypeError, ValueError):
        raise ValidationError(f"Kies een vestiging van {organisation.name}.")
    context = desk_context_lock(barcode=barcode, branch_id=branch_id, today=today)
    if context is None:
        branch_of(organisation, branch_id, label="De vestiging van de balie")
        _refuse_card_as_item(barcode)
        raise ValidationError(f"Exemplaar {barcode} is onbekend in deze bibliotheek.")
    branch = context.branch
    if branch is None or branch.organisation_id != organisation.pk:
        raise ValidationError(f"De vestiging van de balie hoort niet bij {organisation.name}.")
    if not branch.is_active:
        raise ValidationError(f"De vestiging van de balie {branch.name} is niet actief.")
    return context


_OPEN_LOAN_COUNTS_SQL = """
    SELECT count(*), count(*) FILTER (WHERE item.item_type = %(item_type)s)
      FROM {loan} AS loan JOIN {item} AS item ON item.id = loan.item_id
     WHERE loan.ended_at IS NULL AND {borrower}
"""


def _open_loan_counts(borrower, item_type):
    """(open loans, open loans of this item type) of a borrower here."""
    if borrower.is_guest:
        condition = "loan.guest_card_number = %(card)s AND loan.guest_organisation_id = %(home)s"
    else:
        condition = "loan.member_id = %(member)s"
    sql = _OPEN_LOAN_COUNTS_SQL.format(loan=Loan._meta.db_table, item="collection_item", borrower=condition)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"item_type": item_type, "card": borrower.card_number,
                             "home": borrower.home.pk if borrower.is_guest else None,
                             "member": borrower.member.pk if borrower.member is not None else None})
        return cursor.fetchone()


def _lock_borrower(borrower):
    """Serialise everything one borrower does here (limits are counted under it)."""
    if borrower.is_guest:
        # pg_advisory_xact_lock(int4, int4): the unsigned CRC moved into the signed int4 range.
        key = zlib.crc32(f"{borrower.home.pk}:{borrower.card_number}".encode()) - (1 << 31)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_GUEST_LOCK_NAMESPACE, key])
    elif not borrower.locked:
        borrower.member = Member.objects.select_related("category", "subscription").select_for_update(
            of=("self",)
        ).get(pk=borrower.member.pk)
        # Read again under the lock: a block or charge another desk committed while we
        # waited for it counts (what borrower_find read before may be stale).
        borrower.may_borrow, borrower.reasons = member_may_borrow(borrower.member)
        borrower.locked = True


def _charge(borrower_or_loan_member, *, home, charge_type, amount_cents, staff_user, description, reference):
    """Post a charge on the borrower's account: here for a member. For a guest it is
    a step for their home library (tenants.outbox), carried out in its schema once
    this transaction commits; the desk shows the amount now."""
    if amount_cents <= 0:
        return None
    member, home_member_id = borrower_or_loan_member
    if home is None:
        return ledger_charge(member=member, charge_type=charge_type, amount_cents=amount_cents,
                             staff_user=staff_user, description=description, reference=reference)
    actor = Actor.staff(staff_user) if staff_user is not None else Actor.system("circulation")
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
    """(member, home member id) and home library of a loan's borrower, for charges."""
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


def _charge_fine(loan, *, returned_on, staff_user, title_text=None):
    fine = _fine_cents(loan, returned_on)
    if fine:
        title_text = title_text or _title_text(loan.title_id)
        payer, home = _loan_payer(loan)
        if payer is not None:
            _charge(payer, home=home, charge_type=LedgerEntry.ChargeType.FINE, amount_cents=fine,
                    staff_user=staff_user,
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
        for_guests=borrower.is_guest, member_category_id=borrower.category_id, item_type=item.item_type,
        branch_id=branch_id,
    )


# --- checkout ----------------------------------------------------------------------

_ITEM_REFUSALS = {
    ItemStatus.WITHDRAWN: ("withdrawn", "is afgeschreven en kan niet worden uitgeleend.", False),
    ItemStatus.MISSING: ("missing", "staat als vermist geregistreerd.", True),
    ItemStatus.DAMAGED: ("damaged", "is als beschadigd gemeld.", True),
    ItemStatus.IN_PROCESSING: ("in_processing", "is nog in bewerking.", True),
    ItemStatus.IN_TRANSIT: ("in_transit", "is onderweg naar een andere vestiging.", True),
    ItemStatus.ON_INTERLIBRARY_LOAN: ("on_ibl", "is uitgeleend aan een andere bibliotheek (IBL).", False),
}


def _travels_for_another(item, borrower):
    """Is this copy in transit to fill another member's hold?"""
    from ..models import Hold, HoldStatus

    hold = Hold.objects.filter(assigned_item=item, status=HoldStatus.IN_TRANSIT).first()
    return hold is not None and (borrower.member is None or hold.member_id != borrower.member.pk)


def checkout(*, organisation, branch_id, staff_user, card_number, barcode, override_reason="", now=None):
    """Lend the item with `barcode` to the card holder at a branch of this library.

    Scanning an item the borrower already has renews it. Returns a CheckoutResult;
    raises CirculationRefused (every reason) or ValidationError, changing nothing.
    With `override_reason`, a desk coordinator lends despite overridable refusals."""
    _in_library_schema(organisation)
    from .holds import hold_for_checkout, holds_expected_refresh_for_title

    now = now or timezone.now()
    today = timezone.localdate(now)
    override_reason = (override_reason or "").strip()[:OVERRIDE_REASON_MAX]
    with transaction.atomic():
        context = _desk_context(organisation, barcode=barcode, branch_id=branch_id, today=today)
        branch, item = context.branch, context.item
        borrower = borrower_find(organisation=organisation, card_number=card_number, lock=True)
        _lock_borrower(borrower)
        # The item lock covers its loans: every loan write locks the item first.
        open_loan = context.open_loan
        if open_loan is not None:
            same = (
                open_loan.member_id == borrower.member.pk if not borrower.is_guest and open_loan.member_id
                else open_loan.guest_card_number == borrower.card_number
            )
            if same:
                loan = _renew_locked(organisation, open_loan, staff_user=staff_user, today=today, borrower=borrower)
                return CheckoutResult(loan=loan, renewed=True)
            raise CirculationRefused([Refusal("on_loan", f"Exemplaar {item.barcode} is al uitgeleend aan een ander lid. "
                                                         "Neem het eerst in.")])

        refusals = []
        if borrower.member is not None and (borrower.member.merged_into_id is not None):
            refusals.append(Refusal("merged", "Dit lid is samengevoegd met een ander lid; gebruik de pas van dat lid."))
        elif not borrower.may_borrow:
            refusals.extend(Refusal("blocked", reason, True) for reason in borrower.reasons)
        if item.status in _ITEM_REFUSALS:
            code, text, overridable = _ITEM_REFUSALS[ItemStatus(item.status)]
            refusals.append(Refusal(code, f"Exemplaar {item.barcode} {text}", overridable))
        hold = None
        if item.status == ItemStatus.ON_HOLD_SHELF:
            hold = hold_for_checkout(item=item, borrower=borrower)
            if hold is None:
                refusals.append(Refusal("held", f"Exemplaar {item.barcode} ligt klaar voor een ander lid (reservering)."))
        if item.status == ItemStatus.IN_TRANSIT and _travels_for_another(item, borrower):
            refusals.append(Refusal("held", f"Exemplaar {item.barcode} is onderweg voor een reservering van een ander lid."))
        if item.not_for_loan:
            refusals.append(Refusal("not_for_loan", f"Exemplaar {item.barcode} is niet uitleenbaar.", True))

        choice = loan_rule_choose_by_fingerprint(
            context.rules_fingerprint, for_guests=borrower.is_guest, member_category_id=borrower.category_id,
            item_type=item.item_type, branch_id=branch.pk,
        )
        rule = choice.rule
        total, of_type = _open_loan_counts(borrower, item.item_type)
        max_total = rule.max_loans_total if rule.max_loans_total is not None else borrower.subscription_max_loans
        if max_total is not None and total >= max_total:
            refusals.append(Refusal("limit_total", f"Het maximum van {max_total} exemplaren tegelijk is bereikt.", True))
        if rule.max_loans_of_type is not None and of_type >= rule.max_loans_of_type:
            refusals.append(Refusal(
                "limit_type",
                f"Het maximum van {rule.max_loans_of_type} exemplaren van de soort "
                f"{item.get_item_type_display().lower()} is bereikt.", True,
            ))

        overridden = []
        if refusals:
            if not override_reason or not all(refusal.overridable for refusal in refusals):
                raise CirculationRefused(refusals)
            if not may_override(staff_user, organisation):
                raise CirculationRefused(refusals + [Refusal(
                    "no_permission", "Alleen een baliecoördinator mag een uitzondering maken.")])
            overridden = refusals

        due_on = context.calendar.due_date(start=today, loan_days=rule.loan_days)
        loan = Loan.objects.create(
            item=item, title_id=item.title_id,
            member=None if borrower.is_guest else borrower.member,
            guest_card_number=borrower.card_number if borrower.is_guest else "",
            guest_organisation_id=borrower.home.pk if borrower.is_guest else None,
            rule=None if choice.is_default else rule,
            fine_per_day_cents=rule.fine_per_day_cents, fine_max_cents=rule.fine_max_cents,
            branch_id=branch.pk, loaned_at=now, due_on=due_on, created_by=staff_user,
            override_reason=override_reason if overridden else "",
        )
        if item.status == ItemStatus.IN_TRANSIT:
            Transfer.objects.filter(item=item, received_at__isnull=True).update(
                received_at=now, received_branch_id=branch.pk
            )
        if item.status in (ItemStatus.MISSING, ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING, ItemStatus.ON_LOAN):
            # ON_LOAN without an open loan cannot happen through the services; repair it if it does.
            # Found at the desk: back to available first (the transition table's route).
            item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                    to_status=ItemStatus.AVAILABLE, detail="Gevonden bij uitlenen (uitzondering)")
        item_circulation_update(
            organisation=organisation, item=item, staff_user=staff_user, to_status=ItemStatus.ON_LOAN,
            current_branch_id=branch.pk, loaned_at=now, detail=f"Uitgeleend tot {due_on:%d-%m-%Y}",
        )
        if overridden:
            CirculationEvent.objects.create(
                kind=CirculationEvent.Kind.OVERRIDE, loan=loan, item_id_ref=item.pk, staff_user=staff_user,
                detail=f"{override_reason} — geweigerd was: " + " ".join(refusal.message for refusal in overridden),
            )
        if borrower.is_guest:
            GuestLoan.objects.create(
                card_number=borrower.card_number, home_organisation=borrower.home, lending_organisation=organisation,
                loan_id=loan.pk, title_id=item.title_id, item_barcode=item.barcode, loaned_at=now, due_on=due_on,
            )
        fee = rule.loan_fee_cents
        if fee:
            _charge((borrower.member, borrower.home_member_id), home=borrower.home,
                    charge_type=LedgerEntry.ChargeType.LOAN_FEE, amount_cents=fee, staff_user=staff_user,
                    description=f"Leengeld: {_title_text(item.title_id)}", reference=f"loan:{loan.pk}:fee:0")
        if context.title_has_holds:
            if borrower.member is not None:
                from .holds import holds_fulfil_on_checkout

                holds_fulfil_on_checkout(organisation=organisation, item=item, borrower=borrower, now=now)
            holds_expected_refresh_for_title(item.title_id, today=today)
    return CheckoutResult(loan=loan, fee_cents=fee, overridden=overridden)


def _lock_open_loan(loan_id):
    """Lock an open loan of this library the way every loan write does: its item first."""
    loan = Loan.objects.select_related("item").filter(pk=loan_id).first()
    if loan is None or loan.ended_at is not None:
        raise ValidationError("Deze uitlening bestaat niet of is al beëindigd.")
    item_lock(loan.item.barcode)
    loan = Loan.objects.select_related("item", "member").select_for_update(of=("self",)).get(pk=loan_id)
    if loan.ended_at is not None:
        raise ValidationError("Deze uitlening is intussen al beëindigd.")
    return loan


# --- renew -------------------------------------------------------------------------

def _renew_refusals(organisation, loan, *, borrower, today):
    from .holds import holds_waiting_for_loan

    refusals = []
    if borrower is not None and not borrower.may_borrow:
        refusals.extend(Refusal("blocked", reason) for reason in borrower.reasons)
    item = loan.item
    choice = loan_rule_choose(
        for_guests=bool(loan.guest_card_number),
        member_category_id=loan.member.category_id if loan.member_id else None,
        item_type=item.item_type, branch_id=loan.branch_id,
    )
    rule = choice.rule
    if loan.renewals >= rule.max_renewals:
        refusals.append(Refusal(
            "max_renewals",
            f"{_title_text(loan.title_id)}: al {loan.renewals} keer verlengd, het maximum is {rule.max_renewals}.",
        ))
    if holds_waiting_for_loan(loan):
        refusals.append(Refusal("holds", f"{_title_text(loan.title_id)}: een ander lid heeft dit gereserveerd."))
    new_due = calendar.due_date(loan.branch_id, start=today, loan_days=rule.loan_days)
    if new_due <= loan.due_on:
        refusals.append(Refusal(
            "too_early", f"{_title_text(loan.title_id)}: verlengen geeft nu geen latere inleverdatum "
                         f"(nu al {loan.due_on:%d-%m-%Y}).",
        ))
    return refusals, rule, new_due


def _renew_locked(organisation, loan, *, staff_user, today, borrower=None):
    """Renew a loan whose item and borrower this transaction has locked."""
    from .holds import holds_expected_refresh_for_title

    if borrower is None:
        borrower = _loan_borrower(organisation, loan)
    refusals, rule, new_due = _renew_refusals(organisation, loan, borrower=borrower, today=today)
    if refusals:
        raise CirculationRefused(refusals)
    title_text = _title_text(loan.title_id)
    _charge_fine(loan, returned_on=today, staff_user=staff_user, title_text=title_text)
    loan.renewals += 1
    loan.due_on = new_due
    # A renewal starts the fine count afresh from the new due date under today's terms.
    loan.fine_per_day_cents = rule.fine_per_day_cents
    loan.fine_max_cents = rule.fine_max_cents
    loan.overdue_level = 0
    loan.save(update_fields=["renewals", "due_on", "fine_per_day_cents", "fine_max_cents", "overdue_level"])
    if rule.loan_fee_cents:
        payer, home = _loan_payer(loan)
        if payer is not None:
            _charge(payer, home=home, charge_type=LedgerEntry.ChargeType.LOAN_FEE, amount_cents=rule.loan_fee_cents,
                    staff_user=staff_user, description=f"Leengeld (verlenging): {title_text}",
                    reference=f"loan:{loan.pk}:fee:{loan.renewals}")
    if loan.guest_card_number:
        GuestLoan.objects.filter(lending_organisation=organisation, loan_id=loan.pk).update(due_on=new_due)
    holds_expected_refresh_for_title(loan.title_id, today=today)
    return loan


def _loan_borrower(organisation, loan):
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
    except ValidationError as error:
        # The card is no longer valid (erased, replaced): renewal is refused for that reason.
        from ..borrowers import Borrower

        return Borrower(card_number=card, member=loan.member, may_borrow=False, reasons=error.messages)
    _lock_borrower(borrower)
    return borrower


def renew(*, organisation, staff_user, loan_id, today=None):
    """Renew one open loan. Raises CirculationRefused with the reasons, changing nothing."""
    _in_library_schema(organisation)
    today = today or timezone.localdate()
    with transaction.atomic():
        loan = _lock_open_loan(loan_id)
        return _renew_locked(organisation, loan, staff_user=staff_user, today=today)


@dataclass
class RenewOutcome:
    loan: Loan
    renewed: bool
    reasons: list


def renew_all(*, organisation, staff_user, card_number, today=None):
    """Renew every open loan of a borrower; each one on its own (one refused loan
    does not stop the others). Returns a RenewOutcome per loan."""
    _in_library_schema(organisation)
    borrower = borrower_find(organisation=organisation, card_number=card_number)
    outcomes = []
    for loan_id in Loan.objects.filter(ended_at__isnull=True, **borrower.loans_filter()).order_by("due_on", "pk").values_list(
        "pk", flat=True
    ):
        try:
            loan = renew(organisation=organisation, staff_user=staff_user, loan_id=loan_id, today=today)
            outcomes.append(RenewOutcome(loan=loan, renewed=True, reasons=[]))
        except ValidationError as error:
            loan = Loan.objects.select_related("item").get(pk=loan_id)
            outcomes.append(RenewOutcome(loan=loan, renewed=False, reasons=error.messages))
    return outcomes


# --- checkin -----------------------------------------------------------------------

def _end_loan(organisation, loan, *, ending, branch_id, staff_user, now):
    loan.ended_at = now
    loan.ending = ending
    loan.ended_branch_id = branch_id
    if loan.guest_card_number:
        GuestLoan.objects.filter(lending_organisation=organisation, loan_id=loan.pk).delete()


def _branch_name(branch_id):
    from tenants.models import Branch

    branch = Branch.objects.filter(pk=branch_id).only("name").first()
    return branch.name if branch else f"vestiging {branch_id}"


def checkin(*, organisation, branch_id, staff_user, barcode, now=None):
    """Take an item back at a branch of this library: end its loan (charging any
    fine), then route it: to a hold (this branch's hold shelf or in transit to the
    pickup branch), back on this branch's shelf (its home, or a floating item), or
    in transit home. An item that was not on loan is handled too: a received
    transfer, or a status repaired and noted. Returns a CheckinResult."""
    _in_library_schema(organisation)
    from .holds import hold_receive, hold_trap, holds_expected_refresh_for_title

    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        context = _desk_context(organisation, barcode=barcode, branch_id=branch_id, today=today)
        branch, item = context.branch, context.item
        notes = []
        fine = 0
        # The item lock covers its loans: every loan write locks the item first.
        loan = context.open_loan
        if loan is not None:
            fine = _charge_fine(loan, returned_on=today, staff_user=staff_user)
            loan.fine_cents = fine
            _end_loan(organisation, loan, ending=Loan.Ending.RETURNED, branch_id=branch.pk, staff_user=staff_user, now=now)
            loan.save(update_fields=["ended_at", "ending", "ended_branch_id", "fine_cents"])
            if fine:
                notes.append(f"Te laat ingeleverd: {euro(fine)} boete op de rekening gezet.")
        else:
            keep = _checkin_not_on_loan(organisation, item, branch, staff_user=staff_user, now=now, notes=notes)
            if keep is not None:
                return keep

        if item.status == ItemStatus.IN_TRANSIT:
            transfer = Transfer.objects.select_for_update().filter(item=item, received_at__isnull=True).first()
            if transfer is not None:
                transfer.received_at = now
                transfer.received_branch_id = branch.pk
                transfer.save(update_fields=["received_at", "received_branch_id"])
                if transfer.hold_id is not None and transfer.to_branch_id == branch.pk:
                    result = hold_receive(organisation=organisation, item=item, transfer=transfer,
                                          staff_user=staff_user, now=now)
                    if result is not None:
                        result.notes = notes + result.notes
                        return result

        result = None
        if context.title_has_holds:
            result = hold_trap(organisation=organisation, item=item, branch=branch, staff_user=staff_user, now=now)
        if result is None:
            result = _route_home(organisation, item, branch, staff_user=staff_user, now=now,
                                 floating_item_types=context.floating_item_types)
        result.loan = loan
        result.fine_cents = fine
        result.notes = notes + result.notes
        if context.title_has_holds:
            holds_expected_refresh_for_title(item.title_id, today=today)
    return result


def _checkin_not_on_loan(organisation, item, branch, *, staff_user, now, notes):
    """An item scanned at checkin without an open loan. Returns a final result when
    it must be left aside, else None (and the caller routes it)."""
    status = ItemStatus(item.status)
    if status == ItemStatus.WITHDRAWN:
        return CheckinResult(item=item, route=ROUTE_KEEP, message="AFGESCHREVEN — LEG APART",
                             notes=["Dit exemplaar is afgeschreven; geef het aan de collectiemedewerker."])
    if status in (ItemStatus.DAMAGED, ItemStatus.IN_PROCESSING):
        return CheckinResult(item=item, route=ROUTE_KEEP, message=f"{status.label.upper()} — LEG APART",
                             notes=[f"Dit exemplaar heeft de status {status.label.lower()}; het was niet uitgeleend."])
    if status == ItemStatus.ON_INTERLIBRARY_LOAN:
        return CheckinResult(item=item, route=ROUTE_KEEP, message="IBL — NAAR DE IBL-BAK",
                             notes=["Dit exemplaar is aan een andere bibliotheek uitgeleend (IBL)."])
    if status == ItemStatus.ON_HOLD_SHELF:
        from .holds import hold_ready_for_item

        hold = hold_ready_for_item(item)
        if hold is not None:
            return CheckinResult(item=item, route=ROUTE_HOLD_SHELF, hold=hold,
                                 message="RESERVERINGSPLANK", destination_branch_id=hold.pickup_branch_id,
                                 notes=[f"Ligt al klaar voor pas {hold.member.card_number} tot "
                                        f"{hold.shelf_until:%d-%m-%Y}."])
        # On the hold shelf without a hold: repair and route as usual below.
    if status == ItemStatus.ON_LOAN:
        notes.append("Stond als uitgeleend zonder uitlening; status hersteld.")
    elif status == ItemStatus.MISSING:
        last = Loan.objects.filter(item=item).order_by("-loaned_at").first()
        if last is not None and last.ending in (Loan.Ending.LOST, Loan.Ending.CLAIMS_RETURNED):
            notes.append(f"Was als {last.get_ending_display().lower()} gemeld; teruggevonden. Een vergoeding voor "
                         "verlies kan op de rekening van het lid worden kwijtgescholden.")
        else:
            notes.append("Stond als vermist geregistreerd; teruggevonden.")
    elif status == ItemStatus.AVAILABLE:
        notes.append("Was niet uitgeleend.")
    if status in (ItemStatus.ON_LOAN, ItemStatus.MISSING, ItemStatus.ON_HOLD_SHELF):
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.AVAILABLE, detail="Status hersteld bij inname")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.CHECKIN_REPAIR, item_id_ref=item.pk,
                                        staff_user=staff_user, detail=f"Van {status.label} naar beschikbaar bij inname")
    return None


def _route_home(organisation, item, branch, *, staff_user, now, floating_item_types=None):
    """Back on this branch's shelf (home branch, or a floating item type), else in
    transit to the home branch."""
    if floating_item_types is None:
        floating_item_types = circulation_settings_get().floating_item_types
    floating = item.item_type in floating_item_types
    if item.owning_branch_id == branch.pk or floating:
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.AVAILABLE, current_branch_id=branch.pk,
                                detail=f"Ingenomen in {branch.name}")
        notes = ["Zwevende collectie: blijft in deze vestiging."] if floating and item.owning_branch_id != branch.pk else []
        return CheckinResult(item=item, route=ROUTE_SHELF, message="TERUG IN DE KAST",
                             destination_branch_id=branch.pk, notes=notes)
    to_branch = item.owning_branch_id
    _transfer_start(organisation, item, from_branch_id=branch.pk, to_branch_id=to_branch,
                    reason=Transfer.Reason.HOME, staff_user=staff_user, now=now)
    return CheckinResult(item=item, route=ROUTE_TRANSIT, message=f"TRANSPORT NAAR {_branch_name(to_branch).upper()}",
                         destination_branch_id=to_branch)


def _transfer_start(organisation, item, *, from_branch_id, to_branch_id, reason, staff_user, now, hold=None):
    Transfer.objects.filter(item=item, received_at__isnull=True).update(received_at=now, received_branch_id=from_branch_id)
    transfer = Transfer.objects.create(item=item, from_branch_id=from_branch_id, to_branch_id=to_branch_id,
                                       reason=reason, hold=hold, sent_at=now, sent_by=staff_user)
    if item.status not in (ItemStatus.AVAILABLE, ItemStatus.ON_LOAN, ItemStatus.IN_TRANSIT, ItemStatus.ON_HOLD_SHELF):
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.AVAILABLE, detail="Status hersteld")
    if item.status != ItemStatus.IN_TRANSIT:
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.IN_TRANSIT, current_branch_id=from_branch_id,
                                detail=f"Transport naar {_branch_name(to_branch_id)}")
    else:
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                current_branch_id=from_branch_id)
    return transfer


# --- lost and claims returned ------------------------------------------------------

def _expected_refresh(title_id, today):
    """A copy that went missing no longer counts for the holds waiting on its title."""
    from .holds import holds_expected_refresh_for_title

    holds_expected_refresh_for_title(title_id, today=today)


def loan_mark_lost(*, organisation, staff_user, loan_id, replacement_cents=None, today=None):
    """The borrower has lost the item: the loan ends as lost, the item becomes
    missing, and the fine so far plus the replacement price (the item's price, or
    `replacement_cents` given by staff) are charged."""
    _in_library_schema(organisation)
    today = today or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        loan = _lock_open_loan(loan_id)
        item = loan.item
        price = replacement_cents if replacement_cents is not None else item.price_cents
        if price is None:
            raise ValidationError("Dit exemplaar heeft geen prijs; vul de vervangingsprijs in.")
        if type(price) is not int or price < 0:  # noqa: E721
            raise ValidationError("De vervangingsprijs moet een bedrag in centen van 0 of meer zijn.")
        title_text = _title_text(loan.title_id)
        loan.fine_cents = _charge_fine(loan, returned_on=today, staff_user=staff_user, title_text=title_text)
        _end_loan(organisation, loan, ending=Loan.Ending.LOST, branch_id=None, staff_user=staff_user, now=now)
        loan.save(update_fields=["ended_at", "ending", "ended_branch_id", "fine_cents"])
        if price:
            payer, home = _loan_payer(loan)
            if payer is not None:
                _charge(payer, home=home, charge_type=LedgerEntry.ChargeType.LOST_ITEM, amount_cents=price,
                        staff_user=staff_user, description=f"Verloren: {title_text} ({item.barcode})",
                        reference=f"loan:{loan.pk}:lost")
        item_circulation_update(organisation=organisation, item=item, staff_user=staff_user,
                                to_status=ItemStatus.MISSING, detail="Verloren gemeld door het lid")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.LOST, loan=loan, item_id_ref=item.pk,
                                        staff_user=staff_user, detail=f"Vervangingsprijs {euro(price)}")
        _expected_refresh(loan.title_id, today)
    return loan


def loan_claims_returned(*, organisation, staff_user, loan_id, note=""):
    """The borrower says it was returned but it is not here: the loan ends (no
    further fine), the item becomes missing, and it is logged for follow-up."""
    _in_library_schema(organisation)
    now = timezone.now()
    with transaction.atomic():
        loan = _lock_open_loan(loan_id)
        _end_loan(organisation, loan, ending=Loan.Ending.CLAIMS_RETURNED, branch_id=None, staff_user=staff_user, now=now)
        loan.save(update_fields=["ended_at", "ending", "ended_branch_id"])
        item_circulation_update(organisation=organisation, item=loan.item, staff_user=staff_user,
                                to_status=ItemStatus.MISSING, detail="Volgens het lid ingeleverd; niet gevonden")
        CirculationEvent.objects.create(kind=CirculationEvent.Kind.CLAIMS_RETURNED, loan=loan,
                                        item_id_ref=loan.item_id, staff_user=staff_user,
                                        detail=(note or "").strip()[:500] or "Lid zegt het te hebben ingeleverd")
        _expected_refresh(loan.title_id, timezone.localdate(now))
    return loan
