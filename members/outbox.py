"""Steps other libraries ask of this library's members through the outbox
(tenants.outbox): they run in this library's schema with a system actor."""

from django.utils.translation import gettext_lazy as _

from tenants.outbox import outbox_handler

from .models import LedgerEntry, Member
from .selectors.ledger import charge_waived_cents
from .services.guests import guest_charge_book
from .services.ledger import ledger_charge_reverse


def _live_record(member_id):
    """The record that answers for `member_id` now: a record merged into another
    since the step was asked is followed to the one kept."""
    member = Member.objects.filter(pk=member_id).first()
    seen = set()
    while member is not None and member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.filter(pk=member.merged_into_id).first()
    if member is None:
        raise LookupError(f"member {member_id} does not exist here")
    return member


@outbox_handler("members.guest_charge", label=_("Kosten van een gastlening op de rekening thuis"))
def guest_charge(*, actor, payload, source):
    """A charge for a loan at another library (`source`: a guest's loan fee, fine or
    lost item) on the member's account here, their home library: capped by this
    library's rules and listed with the lending library (services.guests).

    payload: {"member": <member id here>, "charge_type": a LedgerEntry.ChargeType,
              "amount_cents": int, "description": text, "reference": "loan:<id>:..."}"""
    return guest_charge_book(
        actor=actor, member=_live_record(payload["member"]), lending=source, charge_type=payload["charge_type"],
        amount_cents=payload["amount_cents"], description=payload.get("description", ""),
        reference=payload.get("reference", ""),
    )


@outbox_handler("members.guest_charge_reverse",
                label=_("Kosten van een gastlening teruggeboekt op de rekening thuis"))
def guest_charge_reverse(*, actor, payload):
    """A charge for a loan at another library reversed (the replacement charge of a
    lost copy that turned up there): a credit on that charge here, the member's
    home library. Nothing when the charge is not (or no longer) open here.

    payload: {"member": <member id here>, "charge_type": a LedgerEntry.ChargeType,
              "reference": the charge's reference ("loan:<id>:lost"), "charged_cents":
              what was charged, "amount_cents": what to reverse, "reason": text}"""
    member = _live_record(payload["member"])
    # By reference, whatever amount was booked: this library may have capped the charge (services.guests).
    for charge in (LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.CHARGE,
                                              charge_type=payload["charge_type"], reference=payload["reference"])
                   .order_by("-created_at", "-pk")):
        open_cents = charge.amount_cents - charge_waived_cents(charge)
        if open_cents > 0:
            return ledger_charge_reverse(actor=actor, charge=charge, amount_cents=min(open_cents,
                                                                                     payload["amount_cents"]),
                                         reason=payload["reason"])
    return None
