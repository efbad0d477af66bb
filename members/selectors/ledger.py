"""Reads about a member's account and whether they may borrow.

Balance = charges - payments - waivers, in cents. A negative balance is a credit
(tegoed): payments are not tied to charges, so paying more than is open leaves a
credit that later charges use up (see members.services.ledger).

Circulation and holds ask `member_may_borrow(member)` before lending or
reserving; it evaluates the library's automatic rules live (balance threshold,
expiry), so a change of the rules or a charge counts at once, even before the
stored automatic blocks have been refreshed.
"""

from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.errors import ServiceError
from core.money import euro
from members.models import Block, LedgerEntry, MemberRules

# The singleton rules row of each library schema (see members.services.ledger.member_rules_update).
RULES_PK = 1

ACCOUNT_ENTRIES_SHOWN = 200


def member_rules_get():
    """The library's MemberRules (the defaults, unsaved, until an admin saves them)."""
    return MemberRules.objects.filter(pk=RULES_PK).first() or MemberRules(pk=RULES_PK)


def _sum(kind):
    return Coalesce(Sum("amount_cents", filter=Q(kind=kind)), Value(0), output_field=IntegerField())


def member_balance_cents(member):
    """What the member owes in cents (negative: credit)."""
    totals = LedgerEntry.objects.filter(member_id=member.pk).aggregate(
        charges=_sum(LedgerEntry.Kind.CHARGE),
        payments=_sum(LedgerEntry.Kind.PAYMENT),
        waivers=_sum(LedgerEntry.Kind.WAIVER),
    )
    return totals["charges"] - totals["payments"] - totals["waivers"]


def charge_waived_cents(charge):
    """How much of a charge has been waived so far."""
    return charge.waivers.aggregate(
        total=Coalesce(Sum("amount_cents"), Value(0), output_field=IntegerField())
    )["total"]


def charge_get(charge_id):
    """A charge of this library (with its member), or None."""
    return (
        LedgerEntry.objects.select_related("member")
        .filter(pk=charge_id, kind=LedgerEntry.Kind.CHARGE)
        .first()
    )


def member_entries(member, *, limit=ACCOUNT_ENTRIES_SHOWN):
    """The member's ledger, newest first; charges carry `waived_cents` and `open_cents`
    (the amount that may still be waived)."""
    waived = (
        LedgerEntry.objects.filter(waives_id=OuterRef("pk"))
        .values("waives_id")
        .annotate(total=Sum("amount_cents"))
        .values("total")
    )
    entries = list(
        LedgerEntry.objects.filter(member_id=member.pk)
        .select_related("waives", "created_by")
        .annotate(waived_cents=Coalesce(Subquery(waived, output_field=IntegerField()), Value(0)))
        .order_by("-created_at", "-pk")[:limit]
    )
    for entry in entries:
        entry.open_cents = entry.amount_cents - entry.waived_cents if entry.kind == LedgerEntry.Kind.CHARGE else 0
    return entries


def member_active_blocks(member):
    return list(Block.objects.filter(member_id=member.pk, lifted_at__isnull=True).order_by("created_at", "pk"))


def membership_expired(member, today=None):
    """Has the member's membership run out (the day after 'lid tot en met')?"""
    today = today or timezone.localdate()
    return member.expires_on is not None and member.expires_on < today


def automatic_blocks_due(member, *, rules=None, balance_cents=None, today=None):
    """Which automatic blocks the rules call for now: {Block.Kind: ServiceError}
    (the code and parameters of the reason; str() of it is the sentence a block
    stores as its reason)."""
    rules = rules or member_rules_get()
    today = today or timezone.localdate()
    if balance_cents is None:
        balance_cents = member_balance_cents(member)
    due = {}
    if balance_cents > 0 and balance_cents >= rules.balance_block_cents:
        due[Block.Kind.BALANCE] = ServiceError("member.balance_too_high", balance=euro(balance_cents),
                                               limit=euro(rules.balance_block_cents))
    if rules.block_when_expired and membership_expired(member, today):
        due[Block.Kind.EXPIRED] = ServiceError("member.membership_expired", expires_on=f"{member.expires_on:%d-%m-%Y}")
    return due


def _block_reason(block):
    if block.kind == Block.Kind.LOST_CARD:
        return ServiceError("member.card_reported_lost", reason=block.reason)
    if block.kind == Block.Kind.REGISTRATION:
        return ServiceError("member.registration_unconfirmed")
    return ServiceError("member.blocked_by_library", reason=block.reason)


_BORROW_STATUS_SQL = """
    SELECT
        (SELECT coalesce(json_agg(json_build_array(kind, reason) ORDER BY created_at, id), '[]'::json)
           FROM {block} WHERE member_id = %(member)s AND lifted_at IS NULL AND kind IN ('manual', 'lost_card', 'registration')),
        (SELECT coalesce(sum(CASE WHEN kind = 'charge' THEN amount_cents ELSE -amount_cents END), 0)
           FROM {ledger} WHERE member_id = %(member)s),
        (SELECT json_build_array(balance_block_cents, block_when_expired) FROM {rules} WHERE id = %(rules)s)
"""


def member_may_borrow(member, *, today=None):
    """(may borrow/reserve, the reasons why not): each reason a ServiceError with
    its code (member.blocked_by_library, member.balance_too_high, ...) and
    parameters; str() of it is the desk's Dutch sentence.

    Manual and lost-card blocks count as stored; the automatic ones (balance,
    expiry) are evaluated from the rules now. One statement: the desk asks this
    at every checkout."""
    if member.erased_at is not None:
        return False, [ServiceError("member.erased_may_not_borrow")]
    if member.merged_into_id is not None:
        return False, [ServiceError("member.merged_may_not_borrow")]
    sql = _BORROW_STATUS_SQL.format(block=Block._meta.db_table, ledger=LedgerEntry._meta.db_table,
                                    rules=MemberRules._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"member": member.pk, "rules": RULES_PK})
        blocks, balance_cents, saved_rules = cursor.fetchone()
    rules = MemberRules(pk=RULES_PK)
    if saved_rules is not None:
        rules.balance_block_cents, rules.block_when_expired = saved_rules
    reasons = [_block_reason(Block(kind=kind, reason=reason)) for kind, reason in blocks]
    reasons.extend(automatic_blocks_due(member, rules=rules, balance_cents=balance_cents, today=today).values())
    return not reasons, reasons


def member_account(member):
    """Everything the member page shows about money and blocks."""
    balance = member_balance_cents(member)
    may_borrow, reasons = member_may_borrow(member)
    entries = member_entries(member)
    return {
        "balance_cents": balance,
        "credit_cents": -balance if balance < 0 else 0,
        "entries": entries,
        "entries_truncated": len(entries) == ACCOUNT_ENTRIES_SHOWN,
        "active_blocks": member_active_blocks(member),
        "may_borrow": may_borrow,
        "reasons": reasons,
        "rules": member_rules_get(),
    }


def members_needing_block_refresh(*, today=None):
    """Ids of members whose stored automatic blocks differ from what the rules call for.

    Set-based, so the daily/after-rules-change refresh only touches those members."""
    from members.models import Member

    rules = member_rules_get()
    today = today or timezone.localdate()
    members = Member.objects.filter(erased_at__isnull=True, merged_into__isnull=True)
    balance = (
        LedgerEntry.objects.filter(member_id=OuterRef("pk"))
        .values("member_id")
        .annotate(
            total=Sum("amount_cents", filter=Q(kind=LedgerEntry.Kind.CHARGE))
            - Coalesce(Sum("amount_cents", filter=~Q(kind=LedgerEntry.Kind.CHARGE)), Value(0))
        )
        .values("total")
    )
    members = members.annotate(
        balance=Coalesce(Subquery(balance, output_field=IntegerField()), Value(0)),
        balance_blocks=Count("blocks", filter=Q(blocks__kind=Block.Kind.BALANCE, blocks__lifted_at__isnull=True)),
        expired_blocks=Count("blocks", filter=Q(blocks__kind=Block.Kind.EXPIRED, blocks__lifted_at__isnull=True)),
    )
    balance_due = Q(balance__gt=0, balance__gte=rules.balance_block_cents)
    if rules.block_when_expired:
        expired_due = Q(expires_on__lt=today)
    else:
        expired_due = Q(pk__in=[])
    wrong = (
        (balance_due & Q(balance_blocks=0))
        | (~balance_due & Q(balance_blocks__gt=0))
        | (expired_due & Q(expired_blocks=0))
        | (~expired_due & Q(expired_blocks__gt=0))
    )
    stale_elsewhere = Block.objects.filter(
        lifted_at__isnull=True, kind__in=[Block.Kind.BALANCE, Block.Kind.EXPIRED]
    ).filter(Q(member__erased_at__isnull=False) | Q(member__merged_into__isnull=False))
    ids = set(members.filter(wrong).values_list("pk", flat=True))
    ids.update(stale_elsewhere.values_list("member_id", flat=True))
    return sorted(ids)
