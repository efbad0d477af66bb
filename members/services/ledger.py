"""Every write to a member's account and blocks: charges, payments, waivers,
manual blocks, the automatic blocks the library's rules call for, and the rules.

Decisions (see also members.selectors.ledger):
- Amounts are integer cents, > 0, at most core.money.MAX_AMOUNT_CENTS.
  Entries are never changed or deleted; a wrong charge is corrected by a waiver.
- Balance = charges - payments - waivers. Payments are not tied to a charge.
  Paying more than is open is allowed and leaves a credit (negative balance,
  "tegoed") that later charges use up.
- A waiver cancels (part of) one charge: never more than is still open on that
  charge (its amount minus earlier waivers), and never more than the member owes
  in total, so a waiver cannot turn into a credit: money already paid is not
  "waived" (that would be a refund, which LSB does not do).
- Who may waive: a library administrator any amount; desk staff only while the
  total waived on that charge stays within WAIVE_DESK_LIMIT_CENTS; other roles
  not at all. System code (staff_user None) may waive.
- Locks: the member row first (every write to one member's account takes it, so
  two desks taking a payment for the same member are serialised), then the
  charge, then blocks. Automatic blocks are refreshed in the same transaction as
  the entry that changed the balance.
- Only manual and lost-card blocks are lifted by staff; balance and expiry blocks
  lift themselves when their cause is gone.

Errors are ValidationErrors with Dutch messages; when a service raises it has
changed nothing.
"""

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.money import MAX_AMOUNT_CENTS, euro
from members.models import AuditEntry, Block, LedgerEntry, Member, MemberRules
from members.selectors.ledger import (
    RULES_PK,
    automatic_blocks_due,
    charge_waived_cents,
    member_balance_cents,
)
from members.services.privacy import audit_record
from staff.models import Role
from staff.selectors import has_role

# Desk staff may waive up to this much of one charge (in total); more needs a library admin.
WAIVE_DESK_LIMIT_CENTS = 500

MAX_RETENTION_DAYS = 3650

AUTOMATIC_KINDS = (Block.Kind.BALANCE, Block.Kind.EXPIRED)
STAFF_LIFTABLE_KINDS = (Block.Kind.MANUAL, Block.Kind.LOST_CARD)


# --- helpers -----------------------------------------------------------------------

def _current_library():
    """The library whose schema the connection is in (services run inside it)."""
    from tenants.models import LibraryOrganisation

    library = LibraryOrganisation.objects.filter(schema_name=connection.schema_name).first()
    if library is None:
        raise RuntimeError(f"Member account services called outside a library schema ({connection.schema_name})")
    return library


def _check_amount(amount_cents):
    if type(amount_cents) is not int:  # noqa: E721 - bool and float are refused on purpose
        raise ValidationError("Het bedrag moet een geheel aantal centen zijn.")
    if amount_cents <= 0:
        raise ValidationError("Het bedrag moet groter zijn dan € 0,00.")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise ValidationError(f"Het bedrag mag niet hoger zijn dan {euro(MAX_AMOUNT_CENTS)}.")


def _text(value, *, max_length, label):
    value = (value or "").strip()
    if len(value) > max_length:
        raise ValidationError(f"{label} mag hoogstens {max_length} tekens lang zijn.")
    return value


def _lock_member(member):
    """Lock the member row and refuse members that can no longer have an account."""
    locked = Member.objects.select_for_update().get(pk=member.pk)
    if locked.erased_at is not None:
        raise ValidationError("De gegevens van dit lid zijn gewist; er kan niets meer worden geboekt.")
    if locked.merged_into_id is not None:
        raise ValidationError("Dit lid is samengevoegd met een ander lid; boek op dat lidmaatschap.")
    return locked


def _money_audit(staff_user, member, entry):
    audit_record(
        staff_user=staff_user, member=member, action=AuditEntry.Action.MONEY,
        detail={"entry": entry.pk, "kind": entry.kind, "amount_cents": entry.amount_cents,
                "charge_type": entry.charge_type, "payment_method": entry.payment_method,
                "waives": entry.waives_id},
    )


# --- ledger ------------------------------------------------------------------------

def ledger_charge(*, member, charge_type, amount_cents, staff_user, description="", reference=""):
    """Post a charge on a member's account; then refresh their automatic blocks."""
    _check_amount(amount_cents)
    if charge_type not in LedgerEntry.ChargeType.values:
        raise ValidationError("Kies een soort kosten.")
    description = _text(description, max_length=200, label="De omschrijving")
    reference = _text(reference, max_length=64, label="De verwijzing")
    with transaction.atomic():
        locked = _lock_member(member)
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.CHARGE, charge_type=charge_type, amount_cents=amount_cents,
            description=description or LedgerEntry.ChargeType(charge_type).label, reference=reference,
            created_by=staff_user,
        )
        _money_audit(staff_user, locked, entry)
        member_blocks_refresh(member=locked)
    return entry


def ledger_payment(*, member, amount_cents, method, staff_user, description=""):
    """Record a payment (cash, PIN terminal, online). More than is open leaves a credit."""
    _check_amount(amount_cents)
    if method not in LedgerEntry.PaymentMethod.values:
        raise ValidationError("Kies hoe er betaald is: contant, pin of online.")
    description = _text(description, max_length=200, label="De omschrijving")
    with transaction.atomic():
        locked = _lock_member(member)
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.PAYMENT, payment_method=method, amount_cents=amount_cents,
            description=description, created_by=staff_user,
        )
        _money_audit(staff_user, locked, entry)
        member_blocks_refresh(member=locked)
    return entry


def waive_allowed(*, staff_user, already_waived_cents, amount_cents, library=None):
    """May this staff member waive `amount_cents` more of a charge? (for screens and the service)"""
    if staff_user is None:
        return True
    library = library or _current_library()
    if has_role(staff_user, library, Role.LIBRARY_ADMIN):
        return True
    if has_role(staff_user, library, Role.DESK):
        return already_waived_cents + amount_cents <= WAIVE_DESK_LIMIT_CENTS
    return False


def ledger_waive(*, charge, amount_cents, reason, staff_user):
    """Waive (part of) a charge, with a reason. See the module docstring for the limits."""
    _check_amount(amount_cents)
    reason = _text(reason, max_length=200, label="De reden")
    if not reason:
        raise ValidationError("Geef een reden voor de kwijtschelding.")
    with transaction.atomic():
        locked = _lock_member(charge.member)
        charge = LedgerEntry.objects.select_for_update().get(pk=charge.pk)
        if charge.kind != LedgerEntry.Kind.CHARGE or charge.member_id != locked.pk:
            raise ValidationError("Alleen kosten kunnen worden kwijtgescholden.")
        waived = charge_waived_cents(charge)
        open_on_charge = charge.amount_cents - waived
        if open_on_charge <= 0:
            raise ValidationError("Deze kosten zijn al helemaal kwijtgescholden.")
        if amount_cents > open_on_charge:
            raise ValidationError(
                f"U kunt hoogstens {euro(open_on_charge)} van deze kosten kwijtschelden (wat er nog openstaat)."
            )
        balance = member_balance_cents(locked)
        if amount_cents > balance:
            if balance <= 0:
                raise ValidationError("Dit lid heeft geen openstaand saldo; er valt niets kwijt te schelden.")
            raise ValidationError(
                f"U kunt hoogstens {euro(balance)} kwijtschelden: de rest van deze kosten is al betaald."
            )
        if not waive_allowed(staff_user=staff_user, already_waived_cents=waived, amount_cents=amount_cents):
            raise ValidationError(
                f"Baliemedewerkers mogen per kostenpost hoogstens {euro(WAIVE_DESK_LIMIT_CENTS)} kwijtschelden; "
                "vraag een bibliotheekbeheerder."
            )
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.WAIVER, amount_cents=amount_cents, waives=charge,
            description=reason, created_by=staff_user,
        )
        _money_audit(staff_user, locked, entry)
        member_blocks_refresh(member=locked)
    return entry


# --- blocks ------------------------------------------------------------------------

def member_blocks_refresh(*, member, today=None):
    """Set and lift the automatic BALANCE and EXPIRED blocks as the library's rules say.

    Idempotent; returns (kinds set, kinds lifted). Erased and merged records get none."""
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if locked.erased_at is not None or locked.merged_into_id is not None:
            due = {}
        else:
            due = automatic_blocks_due(locked, today=today)
        active = {
            block.kind: block
            for block in Block.objects.select_for_update().filter(
                member_id=locked.pk, kind__in=AUTOMATIC_KINDS, lifted_at__isnull=True
            )
        }
        now = timezone.now()
        set_kinds, lifted_kinds = [], []
        for kind in AUTOMATIC_KINDS:
            if kind in due and kind not in active:
                block = Block.objects.create(member=locked, kind=kind, reason=due[kind])
                set_kinds.append(kind)
                audit_record(staff_user=None, member=locked, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": kind, "set": True})
            elif kind not in due and kind in active:
                block = active[kind]
                block.lifted_at = now
                block.save(update_fields=["lifted_at"])
                lifted_kinds.append(kind)
                audit_record(staff_user=None, member=locked, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": kind, "lifted": True})
    return set_kinds, lifted_kinds


def members_blocks_refresh_all(*, today=None):
    """Refresh the automatic blocks of every member of this library whose blocks are
    out of step with the rules (after a rules change, and daily). One short
    transaction per member. Returns how many members changed."""
    from members.selectors.ledger import members_needing_block_refresh

    changed = 0
    for member_id in members_needing_block_refresh(today=today):
        set_kinds, lifted_kinds = member_blocks_refresh(member=Member(pk=member_id), today=today)
        changed += bool(set_kinds or lifted_kinds)
    return changed


def block_add(*, member, reason, staff_user):
    """A manual block, with the reason the desk will see."""
    reason = _text(reason, max_length=500, label="De reden")
    if not reason:
        raise ValidationError("Geef de reden van de blokkade.")
    with transaction.atomic():
        locked = _lock_member(member)
        block = Block.objects.create(member=locked, kind=Block.Kind.MANUAL, reason=reason, created_by=staff_user)
        audit_record(staff_user=staff_user, member=locked, action=AuditEntry.Action.BLOCK,
                     detail={"block": block.pk, "kind": block.kind, "set": True})
    return block


def block_lift(*, block, staff_user):
    """Lift a manual or lost-card block. Automatic blocks lift themselves."""
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=block.member_id)
        block = Block.objects.select_for_update().get(pk=block.pk)
        if block.kind not in STAFF_LIFTABLE_KINDS:
            raise ValidationError(
                "Deze blokkade vervalt vanzelf zodra het saldo onder de grens is of het lidmaatschap verlengd is."
            )
        if block.lifted_at is not None:
            raise ValidationError("Deze blokkade is al opgeheven.")
        block.lifted_at = timezone.now()
        block.lifted_by = staff_user
        block.save(update_fields=["lifted_at", "lifted_by"])
        audit_record(staff_user=staff_user, member=locked, action=AuditEntry.Action.BLOCK,
                     detail={"block": block.pk, "kind": block.kind, "lifted": True})
    return block


# --- rules -------------------------------------------------------------------------

def member_rules_update(*, staff_user, balance_block_cents, block_when_expired, loan_history_retention_days):
    """Save the library's member rules (library admin) and, once committed, refresh
    every member's automatic blocks in the background."""
    if type(balance_block_cents) is not int or not 0 <= balance_block_cents <= MAX_AMOUNT_CENTS:  # noqa: E721
        raise ValidationError(f"De saldogrens moet tussen € 0,00 en {euro(MAX_AMOUNT_CENTS)} liggen.")
    if type(loan_history_retention_days) is not int or not 0 <= loan_history_retention_days <= MAX_RETENTION_DAYS:  # noqa: E721
        raise ValidationError(f"De bewaartermijn moet tussen 0 en {MAX_RETENTION_DAYS} dagen liggen.")
    schema = connection.schema_name
    with transaction.atomic():
        MemberRules.objects.get_or_create(pk=RULES_PK)
        rules = MemberRules.objects.select_for_update().get(pk=RULES_PK)
        rules.balance_block_cents = balance_block_cents
        rules.block_when_expired = bool(block_when_expired)
        rules.loan_history_retention_days = loan_history_retention_days
        rules.save()
        transaction.on_commit(lambda: _enqueue_blocks_refresh(schema))
    return rules


def _enqueue_blocks_refresh(schema):
    from members.tasks import member_blocks_refresh_library

    member_blocks_refresh_library.apply_async(headers={"_schema_name": schema})
