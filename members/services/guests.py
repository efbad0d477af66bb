"""What other libraries do to this library's members through the outbox (guest
lending): the charges they ask for, capped by this library's rules, and the
lookups of a member's card at their desks and machines, in the audit log.

A charge is a step of the outbox (members/outbox.py: the asking library is taken
from the outbox message, never from its payload); a lookup is recorded by the
lending library's circulation right after its lending step ended
(circulation.borrowers.guest_lookup_audit), with a system actor of this library.
"""

from django.db import transaction
from django.utils import timezone

from core.money import euro
from staff.models import StaffUser
from tenants.models import Branch

from ..models import AuditEntry, GuestCharge, LedgerEntry
from ..selectors.ledger import member_rules_get
from .ledger import ledger_charge

DESCRIPTION_MAX = LedgerEntry._meta.get_field("description").max_length


def guest_charge_book(*, actor, member, lending, charge_type, amount_cents, description="", reference=""):
    """Book a charge `lending` (a LibraryOrganisation) asks for on `member`'s account
    here: at most MemberRules.guest_charge_max_cents per charge (0: none at all).
    The ledger line names the lending library (and the amount asked, when capped);
    a GuestCharge keeps both amounts for the library's list of such charges, where
    it can dispute one (waive the entry). Returns the GuestCharge."""
    actor.require_current_library()
    cap = member_rules_get().guest_charge_max_cents
    charged = min(amount_cents, cap)
    text = f"Gastlening bij {lending.name}: {description or LedgerEntry.ChargeType(charge_type).label}"
    if charged < amount_cents:
        text += f" (gevraagd {euro(amount_cents)}, begrensd op {euro(charged)})"
    if len(text) > DESCRIPTION_MAX:
        text = text[:DESCRIPTION_MAX - 1] + "…"
    with transaction.atomic():
        entry = None
        if charged > 0:
            entry = ledger_charge(actor=actor, member=member, charge_type=charge_type, amount_cents=charged,
                                  description=text, reference=reference)
        return GuestCharge.objects.create(
            member_id=entry.member_id if entry is not None else member.pk, entry=entry,
            lending_organisation_id=lending.pk, lending_name=lending.name[:200], charge_type=charge_type,
            asked_cents=amount_cents, charged_cents=charged, reference=reference[:64],
        )


def guest_lookup_record(*, actor, member, lending, payload):
    """Write the audit entry of another library looking up `member`'s card: which
    library (`lending`), which branch and staff account or machine, when, and what it
    was told (may borrow, the categories). Shown on the member's page and in the audit log."""
    actor.require_current_library()
    staff_id = payload.get("staff")
    staff = StaffUser.objects.filter(pk=staff_id).only("pk", "username").first() if staff_id else None
    branch = Branch.objects.filter(pk=payload.get("branch"), organisation_id=lending.pk).only("name").first() \
        if payload.get("branch") else None
    return AuditEntry.objects.create(
        staff_user_id=staff.pk if staff is not None else None, actor_ref=str(payload.get("actor", ""))[:40],
        member_id_ref=member.pk, action=AuditEntry.Action.GUEST_LOOKUP,
        detail={
            "library": lending.name, "library_id": lending.pk, "branch": branch.name if branch else "",
            "account": staff.username if staff is not None else str(payload.get("actor", "")),
            "looked_up_at": payload.get("at") or timezone.now().isoformat(timespec="seconds"),
            "may_borrow": bool(payload.get("may_borrow")), "categories": list(payload.get("categories") or []),
        },
    )
