"""What another library may know about one of this library's members: whether
they may borrow there, as a category, and who looked.

A lending desk (guest lending, gastlenen) is told "may borrow: yes / no" and, for
no, one category per reason: blocked by the home library, balance above the home
library's limit, membership expired, card replaced (or reported lost, or no longer
valid). Never the home library's free-text block reason, an amount or a date.
"""

from core.errors import ServiceError

from ..models import AuditEntry

# The members app's reason codes (members.selectors.ledger.member_may_borrow) -> category.
CATEGORY_OF = {
    "member.blocked_by_library": "guest.blocked_by_home",
    "member.balance_too_high": "guest.balance_too_high",
    "member.membership_expired": "guest.membership_expired",
    "member.card_reported_lost": "guest.card_replaced",
    "member.erased_may_not_borrow": "guest.card_replaced",
    "member.merged_may_not_borrow": "guest.card_replaced",
}


def guest_reason_category(reason):
    """A reason why a member may not borrow (a ServiceError with a members code),
    as the category another library is told: a ServiceError guest.* without
    parameters (an unknown code counts as blocked by the home library)."""
    return ServiceError(CATEGORY_OF.get(getattr(reason, "code", ""), "guest.blocked_by_home"))


def guest_lookups(member, *, limit=20):
    """The latest lookups of this member's card by other libraries' desks and
    machines (members.outbox.guest_lookup wrote them), newest first."""
    return list(AuditEntry.objects.filter(member_id_ref=member.pk, action=AuditEntry.Action.GUEST_LOOKUP)
                .order_by("-at", "-pk")[:limit])


def guest_charges_recent(*, limit=200):
    """The latest charges other libraries asked for on our members (GuestCharge),
    newest first, with member and ledger entry."""
    from ..models import GuestCharge

    return list(GuestCharge.objects.select_related("member", "entry").order_by("-created_at", "-pk")[:limit])
