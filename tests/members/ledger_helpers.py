"""Members for the ledger tests, created straight in a library schema (the
registration service is tested on its own)."""

import datetime
import itertools

from members.models import Member, MemberCategory, SubscriptionType

_numbers = itertools.count(1)


def money_member(*, expires_on=None, **fields):
    """A member in the current schema (call inside tenant_context)."""
    subscription, _ = SubscriptionType.objects.get_or_create(
        code="ledger-test-adult", defaults={"name": "Ledger test volwassen", "annual_fee_cents": 4500}
    )
    category, _ = MemberCategory.objects.get_or_create(
        code="ledger-test-adult", defaults={"name": "Ledger test volwassen", "min_age": 18,
                                           "default_subscription": subscription}
    )
    number = next(_numbers)
    defaults = {
        "card_number": f"LEDGER{number:08d}", "first_name": "Test", "last_name": f"Lid {number}",
        "date_of_birth": datetime.date(1980, 1, 1), "category": category, "subscription": subscription,
        "expires_on": expires_on if expires_on is not None else datetime.date.today() + datetime.timedelta(days=300),
    }
    defaults.update(fields)
    return Member.objects.create(**defaults)


def money_cleanup(member_ids):
    """Delete committed test members with everything booked on them (current schema)."""
    from members.models import AuditEntry, Block, FormerCard, LedgerEntry, Member

    LedgerEntry.objects.filter(member_id__in=member_ids, kind=LedgerEntry.Kind.WAIVER).delete()
    LedgerEntry.objects.filter(member_id__in=member_ids).delete()
    Block.objects.filter(member_id__in=member_ids).delete()
    FormerCard.objects.filter(member_id__in=member_ids).delete()
    AuditEntry.objects.filter(member_id_ref__in=member_ids).delete()
    Member.objects.filter(pk__in=member_ids).delete()
    if not Member.objects.filter(category__code="ledger-test-adult").exists():
        MemberCategory.objects.filter(code="ledger-test-adult").delete()
        SubscriptionType.objects.filter(code="ledger-test-adult").delete()
