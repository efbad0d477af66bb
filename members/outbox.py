"""Steps other libraries ask of this library's members through the outbox
(tenants.outbox): they run in this library's schema with a system actor."""

from django.utils.translation import gettext_lazy as _

from tenants.outbox import outbox_handler

from .models import Member
from .services.ledger import ledger_charge


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
def guest_charge(*, actor, payload):
    """A charge for a loan at another library (a guest's loan fee, fine or lost
    item) on the member's account here, their home library.

    payload: {"member": <member id here>, "charge_type": a LedgerEntry.ChargeType,
              "amount_cents": int, "description": text, "reference": "loan:<id>:..."}"""
    return ledger_charge(
        actor=actor, member=_live_record(payload["member"]), charge_type=payload["charge_type"],
        amount_cents=payload["amount_cents"], description=payload.get("description", ""),
        reference=payload.get("reference", ""),
    )
