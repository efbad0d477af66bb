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
  total waived on that charge stays within WAIVE_DESK_LIMIT_CENTS; other roles,
  members and machines not at all. The system (actor kind system) may waive.
- Who books: every service takes an `actor` (core.actors.Actor) of the library
  whose schema the connection is in. A charge is posted by staff of this
  library, by the system, or as part of another service acting for a member (a
  reservation fee when a member places a hold in the OPAC, a loan fee at a
  self-service machine): members only on their own account. Payments are taken
  by desk staff, self-service machines (SIP2 fee paid) and the system (an online
  payment confirmed), never recorded by a member themself. Entries, blocks and
  audit rows keep `actor.ref`.
- Locks: the member row first (every write to one member's account takes it, so
  two desks taking a payment for the same member are serialised), then the
  charge, then blocks. Automatic blocks are refreshed in the same transaction as
  the entry that changed the balance; they are the rules' doing
  (system:member_rules), whoever booked the entry.
- Only manual and lost-card blocks are lifted by staff; balance and expiry blocks
  lift themselves when their cause is gone.

Refusals are core.errors.ServiceError codes (members/errors.py); when a service
raises it has changed nothing.
"""

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import locks
from core.actors import Actor
from core.errors import ServiceError
from core.locks import lock_row
from core.money import MAX_AMOUNT_CENTS, euro
from members.models import AuditEntry, Block, LedgerEntry, Member, MemberRules
from members.selectors.access import require_staff_role
from members.selectors.ledger import (
    RULES_PK,
    automatic_blocks_due,
    charge_waived_cents,
    member_balance_cents,
)
from members.services.privacy import audit_record
from staff.models import Role
from staff.permissions import actor_has_role
from staff.selectors import works_at

# Desk staff may waive up to this much of one charge (in total); more needs a library admin.
WAIVE_DESK_LIMIT_CENTS = 500

MAX_RETENTION_DAYS = 3650

AUTOMATIC_KINDS = (Block.Kind.BALANCE, Block.Kind.EXPIRED)
STAFF_LIFTABLE_KINDS = (Block.Kind.MANUAL, Block.Kind.LOST_CARD)

# Automatic blocks are set and lifted by the library's rules, whoever's write changed the balance.
RULES_PROCESS = "member_rules"


# --- helpers -----------------------------------------------------------------------

def _check_amount(amount_cents):
    if type(amount_cents) is not int:  # noqa: E721 - bool and float are refused on purpose
        raise ServiceError("ledger.amount_not_whole_cents", field="amount_cents")
    if amount_cents <= 0:
        raise ServiceError("ledger.amount_not_positive", field="amount_cents")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise ServiceError("ledger.amount_too_high", field="amount_cents", max=euro(MAX_AMOUNT_CENTS))


def _text(value, *, max_length, label, field):
    value = (value or "").strip()
    if len(value) > max_length:
        raise ServiceError("member.text_too_long", field=field, label=label, max_length=max_length)
    return value


def _lock_member_row(member_id, *, nested):
    """Lock the member row: as the borrower rank of the lock order when this service
    opens the transaction; inside a caller's transaction (circulation booking a fee
    after locking the loan) the caller holds the borrower's row already (the order
    puts it before loans and holds), so it is taken again without a rank."""
    queryset = Member.objects.filter(pk=member_id)
    if nested:
        return queryset.select_for_update().first()
    return lock_row(locks.BORROWER, queryset)


def _lock_member(member_id, *, nested):
    """Lock the member row and refuse members that can no longer have an account."""
    locked = _lock_member_row(member_id, nested=nested)
    if locked is None:
        raise ServiceError("member.not_found")
    if locked.erased_at is not None:
        raise ServiceError("ledger.member_erased")
    if locked.merged_into_id is not None:
        raise ServiceError("ledger.member_merged")
    return locked


def _money_audit(actor, member, entry):
    audit_record(
        actor=actor, member=member, action=AuditEntry.Action.MONEY,
        detail={"entry": entry.pk, "kind": entry.kind, "amount_cents": entry.amount_cents,
                "charge_type": entry.charge_type, "payment_method": entry.payment_method,
                "waives": entry.waives_id},
    )


def _rules_actor(actor):
    return Actor.system(RULES_PROCESS, actor.organisation)


# --- ledger ------------------------------------------------------------------------

def ledger_charge(*, actor, member, charge_type, amount_cents, description="", reference=""):
    """Post a charge on a member's account; then refresh their automatic blocks.

    Also a step of other services (a loan fee at checkout, a fine at checkin, a
    reservation fee, a card replacement), which check their own roles: staff need
    a role at this library (the desk's charge screen asks the desk role); a member
    actor only on their own account (a fee of something they do themselves);
    machines and the system of this library may."""
    organisation = actor.require_current_library()
    actor.require_member(member.pk)
    if actor.is_staff and not works_at(actor.staff_user, organisation):
        raise ServiceError("actor.no_role")
    _check_amount(amount_cents)
    if charge_type not in LedgerEntry.ChargeType.values:
        raise ServiceError("charge.type_missing", field="charge_type")
    description = _text(description, max_length=200, label=_("De omschrijving"), field="description")
    reference = _text(reference, max_length=64, label=_("De verwijzing"), field="reference")
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member(member.pk, nested=nested)
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.CHARGE, charge_type=charge_type, amount_cents=amount_cents,
            description=description or LedgerEntry.ChargeType(charge_type).label, reference=reference,
            created_by=actor.user_or_none, actor_ref=actor.ref,
        )
        _money_audit(actor, locked, entry)
        member_blocks_refresh(actor=actor, member=locked)
    return entry


def ledger_payment(*, actor, member, amount_cents, method, description="", reference=""):
    """Record a payment (cash, PIN terminal, online). More than is open leaves a credit.

    Desk staff, a self-service machine of this library or the system; a member
    cannot record their own payment (actor.not_allowed). With `reference` (e.g. a
    machine's transaction id, sent again after a lost answer) the payment is
    recorded once: the same reference for the same member returns the first one."""
    actor.require_current_library()
    if actor.is_member:
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    if not actor.is_machine:
        require_staff_role(actor, Role.DESK)
    _check_amount(amount_cents)
    if method not in LedgerEntry.PaymentMethod.values:
        raise ServiceError("payment.method_missing", field="method")
    description = _text(description, max_length=200, label=_("De omschrijving"), field="description")
    reference = _text(reference, max_length=64, label=_("De verwijzing"), field="reference")
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member(member.pk, nested=nested)
        if reference:
            earlier = LedgerEntry.objects.filter(member=locked, kind=LedgerEntry.Kind.PAYMENT,
                                                 reference=reference).first()
            if earlier is not None:
                return earlier
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.PAYMENT, payment_method=method, amount_cents=amount_cents,
            description=description, reference=reference, created_by=actor.user_or_none, actor_ref=actor.ref,
        )
        _money_audit(actor, locked, entry)
        member_blocks_refresh(actor=actor, member=locked)
    return entry


def waive_allowed(*, actor, already_waived_cents, amount_cents):
    """May this actor waive `amount_cents` more of a charge? (for screens and the service)"""
    if actor.is_system:
        return True
    if actor_has_role(actor, Role.LIBRARY_ADMIN):
        return True
    if actor_has_role(actor, Role.DESK):
        return already_waived_cents + amount_cents <= WAIVE_DESK_LIMIT_CENTS
    return False


def ledger_waive(*, actor, charge, amount_cents, reason):
    """Waive (part of) a charge, with a reason. See the module docstring for the limits:
    staff by their role (waive_allowed), the system; members and machines never."""
    actor.require_current_library()
    if not (actor.is_staff or actor.is_system):
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    _check_amount(amount_cents)
    reason = _text(reason, max_length=200, label=_("De reden"), field="reason")
    if not reason:
        raise ServiceError("waiver.reason_missing", field="reason")
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member(charge.member_id, nested=nested)
        charge = LedgerEntry.objects.select_for_update().get(pk=charge.pk)
        if charge.kind != LedgerEntry.Kind.CHARGE or charge.member_id != locked.pk:
            raise ServiceError("waiver.not_a_charge")
        waived = charge_waived_cents(charge)
        open_on_charge = charge.amount_cents - waived
        if open_on_charge <= 0:
            raise ServiceError("waiver.already_waived")
        if amount_cents > open_on_charge:
            raise ServiceError("waiver.more_than_open", field="amount_cents", open=euro(open_on_charge))
        balance = member_balance_cents(locked)
        if amount_cents > balance:
            if balance <= 0:
                raise ServiceError("waiver.no_balance")
            raise ServiceError("waiver.more_than_balance", field="amount_cents", balance=euro(balance))
        if not waive_allowed(actor=actor, already_waived_cents=waived, amount_cents=amount_cents):
            raise ServiceError("waiver.over_desk_limit", limit=euro(WAIVE_DESK_LIMIT_CENTS))
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.WAIVER, amount_cents=amount_cents, waives=charge,
            description=reason, created_by=actor.user_or_none, actor_ref=actor.ref,
        )
        _money_audit(actor, locked, entry)
        member_blocks_refresh(actor=actor, member=locked)
    return entry


def ledger_charge_reverse(*, actor, charge, amount_cents, reason):
    """Reverse (part of) a charge the library should not have made after all, with a
    reason: the replacement charge of a lost copy that turned up. Unlike a waiver it
    is not limited by what the member still owes: when they paid already, it leaves
    a credit ("tegoed") that later charges use up. Never more than is still open on
    the charge. A step of circulation's checkin: staff with a role at this library,
    a self-service machine or the system; members never."""
    organisation = actor.require_current_library()
    if not (actor.is_staff or actor.is_machine or actor.is_system):
        raise ServiceError("actor.not_allowed", kind=actor.kind)
    if actor.is_staff and not works_at(actor.staff_user, organisation):
        raise ServiceError("actor.no_role")
    _check_amount(amount_cents)
    reason = _text(reason, max_length=200, label=_("De reden"), field="reason")
    if not reason:
        raise ServiceError("waiver.reason_missing", field="reason")
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member(charge.member_id, nested=nested)
        charge = LedgerEntry.objects.select_for_update().get(pk=charge.pk)
        if charge.kind != LedgerEntry.Kind.CHARGE or charge.member_id != locked.pk:
            raise ServiceError("waiver.not_a_charge")
        open_on_charge = charge.amount_cents - charge_waived_cents(charge)
        if open_on_charge <= 0:
            raise ServiceError("waiver.already_waived")
        if amount_cents > open_on_charge:
            raise ServiceError("waiver.more_than_open", field="amount_cents", open=euro(open_on_charge))
        entry = LedgerEntry.objects.create(
            member=locked, kind=LedgerEntry.Kind.WAIVER, amount_cents=amount_cents, waives=charge,
            description=reason, reference=charge.reference, created_by=actor.user_or_none, actor_ref=actor.ref,
        )
        _money_audit(actor, locked, entry)
        member_blocks_refresh(actor=actor, member=locked)
    return entry


# --- blocks ------------------------------------------------------------------------

def member_blocks_refresh(*, actor, member, today=None):
    """Set and lift the automatic BALANCE and EXPIRED blocks as the library's rules say.

    `actor` is whoever's write asked for the refresh; the blocks themselves are
    recorded as the rules' (system:member_rules). Idempotent; returns (kinds set,
    kinds lifted). Erased and merged records get none."""
    actor.require_current_library()
    rules_actor = _rules_actor(actor)
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member_row(member.pk, nested=nested)
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
                block = Block.objects.create(member=locked, kind=kind, reason=str(due[kind]),
                                             actor_ref=rules_actor.ref)
                set_kinds.append(kind)
                audit_record(actor=rules_actor, member=locked, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": kind, "set": True})
            elif kind not in due and kind in active:
                block = active[kind]
                block.lifted_at = now
                block.lifted_actor_ref = rules_actor.ref
                block.save(update_fields=["lifted_at", "lifted_actor_ref"])
                lifted_kinds.append(kind)
                audit_record(actor=rules_actor, member=locked, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": kind, "lifted": True})
    return set_kinds, lifted_kinds


def members_blocks_refresh_all(*, actor, today=None):
    """Refresh the automatic blocks of every member of this library whose blocks are
    out of step with the rules (after a rules change, and daily). One short
    transaction per member. Returns how many members changed."""
    from members.selectors.ledger import members_needing_block_refresh

    actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    changed = 0
    for member_id in members_needing_block_refresh(today=today):
        set_kinds, lifted_kinds = member_blocks_refresh(actor=actor, member=Member(pk=member_id), today=today)
        changed += bool(set_kinds or lifted_kinds)
    return changed


def block_add(*, actor, member, reason):
    """A manual block, with the reason the desk will see (desk staff or the system)."""
    actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    reason = _text(reason, max_length=500, label=_("De reden"), field="reason")
    if not reason:
        raise ServiceError("block.reason_missing", field="reason")
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member(member.pk, nested=nested)
        block = Block.objects.create(member=locked, kind=Block.Kind.MANUAL, reason=reason,
                                     created_by=actor.user_or_none, actor_ref=actor.ref)
        audit_record(actor=actor, member=locked, action=AuditEntry.Action.BLOCK,
                     detail={"block": block.pk, "kind": block.kind, "set": True})
    return block


def block_lift(*, actor, block):
    """Lift a manual or lost-card block (desk staff or the system). Automatic blocks lift themselves."""
    actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    nested = connection.in_atomic_block
    with transaction.atomic():
        locked = _lock_member_row(block.member_id, nested=nested)
        block = Block.objects.select_for_update().get(pk=block.pk)
        if block.kind not in STAFF_LIFTABLE_KINDS:
            raise ServiceError("block.lifts_itself")
        if block.lifted_at is not None:
            raise ServiceError("block.already_lifted")
        block.lifted_at = timezone.now()
        block.lifted_by = actor.user_or_none
        block.lifted_actor_ref = actor.ref
        block.save(update_fields=["lifted_at", "lifted_by", "lifted_actor_ref"])
        audit_record(actor=actor, member=locked, action=AuditEntry.Action.BLOCK,
                     detail={"block": block.pk, "kind": block.kind, "lifted": True})
    return block


# --- rules -------------------------------------------------------------------------

def member_rules_update(*, actor, balance_block_cents, block_when_expired, loan_history_retention_days,
                        online_confirmation=None, guest_charge_max_cents=None):
    """Save the library's member rules (library admin) and, once committed, refresh
    every member's automatic blocks in the background. `online_confirmation`
    (MemberRules.OnlineConfirmation; None keeps it): when an online registration is
    active."""
    organisation = actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    if type(balance_block_cents) is not int or not 0 <= balance_block_cents <= MAX_AMOUNT_CENTS:  # noqa: E721
        raise ServiceError("member_rules.balance_block_out_of_range", field="balance_block_cents",
                           max=euro(MAX_AMOUNT_CENTS))
    if type(loan_history_retention_days) is not int or not 0 <= loan_history_retention_days <= MAX_RETENTION_DAYS:  # noqa: E721
        raise ServiceError("member_rules.retention_out_of_range", field="loan_history_retention_days",
                           max=MAX_RETENTION_DAYS)
    if guest_charge_max_cents is not None and (
            type(guest_charge_max_cents) is not int or not 0 <= guest_charge_max_cents <= MAX_AMOUNT_CENTS):  # noqa: E721
        raise ServiceError("member_rules.guest_charge_max_out_of_range", field="guest_charge_max_cents",
                           max=euro(MAX_AMOUNT_CENTS))
    if online_confirmation is not None and online_confirmation not in MemberRules.OnlineConfirmation.values:
        raise ValueError(f"unknown online confirmation {online_confirmation!r}")
    schema = organisation.schema_name
    with transaction.atomic():
        MemberRules.objects.get_or_create(pk=RULES_PK)
        rules = MemberRules.objects.select_for_update().get(pk=RULES_PK)
        rules.balance_block_cents = balance_block_cents
        rules.block_when_expired = bool(block_when_expired)
        rules.loan_history_retention_days = loan_history_retention_days
        if online_confirmation is not None:
            rules.online_confirmation = online_confirmation
        if guest_charge_max_cents is not None:
            rules.guest_charge_max_cents = guest_charge_max_cents
        rules.save()
        transaction.on_commit(lambda: _enqueue_blocks_refresh(schema))
    return rules


def _enqueue_blocks_refresh(schema):
    from members.tasks import member_blocks_refresh_library

    member_blocks_refresh_library.apply_async(headers={"_schema_name": schema})
