"""The steps interlibrary loan asks of a library's schema (tenants.outbox): each runs
in that library's schema with Actor.system("outbox", library), exactly once.

    ibl.lender_hold          at the lender: hold a copy for the request (its loan
                             rules for libraries decide); no copy to hold: the lender
                             declines at once and the next lender is asked
    ibl.lender_hold_cancel   at the lender: withdraw that hold (cancelled, declined
                             elsewhere, timed out)
    ibl.lender_renew         at the lender: renew its loan to the requesting library
    ibl.requester_unfilled   at the requesting library: tell the member no library
                             could lend it
    ibl.lender_lost          at the lender: its loan to the requesting library ends as
                             lost (the copy lost or damaged on its way; compensation is
                             settled between the libraries, ibl.Settlement)
    ibl.requester_copy_gone  at the requesting library: the stand-in of a lost copy leaves
    ibl.requester_recall     at the requesting library: the member's loan of a recalled
                             copy is due within a week

Payloads: ids and the request's reference only.
"""

from django.utils.translation import gettext_lazy as _

from circulation.borrowers import Borrower
from circulation.models import ACTIVE_HOLD_STATUSES, Hold
from core.errors import ServiceError
from tenants.models import LibraryOrganisation
from tenants.outbox import outbox_handler

from .models import Ask, IblRequest, RequestState


@outbox_handler("ibl.lender_hold", label=_("IBL: exemplaar reserveren voor een andere bibliotheek"))
def lender_hold(*, actor, payload):
    from circulation.services.holds import hold_place

    from .services.requests import ibl_decline

    request = IblRequest.objects.filter(pk=payload["request"]).first()
    if request is None or request.state != RequestState.ASKED or request.lender_id != actor.organisation.pk:
        return None  # cancelled or moved on meanwhile: nothing to hold
    requester = LibraryOrganisation.objects.get(pk=payload["requester"])
    borrower = Borrower.library(requester, payload["reference"])
    if Hold.objects.filter(borrowing_library_id=requester.pk, borrowing_library_ref=payload["reference"],
                           status__in=ACTIVE_HOLD_STATUSES).exists():
        return None
    try:
        return hold_place(actor=actor, borrower=borrower, title_id=payload["title"],
                          pickup_branch_id=payload["branch"])
    except ServiceError:
        # No copy this library lends to libraries (its loan rules, or all out): it declines at once.
        return ibl_decline(actor=actor, request_id=request.pk, reason=Ask.Reason.NO_HOLDABLE_COPY,
                           hold_cancelled=True)


@outbox_handler("ibl.lender_hold_cancel", label=_("IBL: reservering voor een andere bibliotheek intrekken"))
def lender_hold_cancel(*, actor, payload):
    from circulation.services.holds import hold_cancel

    for hold in Hold.objects.filter(borrowing_library_id=payload["requester"],
                                    borrowing_library_ref=payload["reference"], status__in=ACTIVE_HOLD_STATUSES):
        hold_cancel(actor=actor, hold_id=hold.pk, reason="IBL-aanvraag elders vervuld of ingetrokken")


@outbox_handler("ibl.lender_renew", label=_("IBL: uitlening aan een andere bibliotheek verlengen"))
def lender_renew(*, actor, payload):
    import datetime

    from circulation.services.loans import renew

    # As of the day the member renewed (the lender answered for that day).
    on = datetime.date.fromisoformat(payload["on"]) if payload.get("on") else None
    return renew(actor=actor, loan_id=payload["loan"], today=on)


@outbox_handler("ibl.requester_unfilled", label=_("IBL: het lid laten weten dat niemand het kan leveren"))
def requester_unfilled(*, actor, payload):
    from .services.notify import member_tell_unfilled

    return member_tell_unfilled(actor=actor, request_id=payload["request"], member_id=payload["member"])


@outbox_handler("ibl.lender_lost", label=_("IBL: uitlening aan een andere bibliotheek beëindigen als verloren"))
def lender_lost(*, actor, payload):
    from circulation.models import Loan
    from circulation.services.interlibrary import library_loan_lost

    if not Loan.objects.filter(pk=payload["loan"], ended_at__isnull=True).exists():
        return None  # back home meanwhile, or ended already
    return library_loan_lost(actor=actor, loan_id=payload["loan"],
                             detail=f"Verloren of beschadigd in het IBL-transport (ibl:{payload['request']})")


@outbox_handler("ibl.requester_copy_gone", label=_("IBL: verloren exemplaar van een andere bibliotheek afboeken"))
def requester_copy_gone(*, actor, payload):
    from circulation.services.interlibrary import ibl_copy_gone

    return ibl_copy_gone(actor=actor, barcode=payload["barcode"],
                         detail=f"Verloren of beschadigd (ibl:{payload['request']})")


@outbox_handler("ibl.requester_recall", label=_("IBL: teruggeroepen exemplaar eerder inleveren"))
def requester_recall(*, actor, payload):
    import datetime

    from circulation.models import Loan
    from circulation.services.interlibrary import loan_due_shorten

    request = IblRequest.objects.filter(pk=payload["request"], requesting_organisation=actor.organisation).first()
    if request is None or request.requester_item_id is None:
        return None  # not here yet: its due date takes the recall into account when it is lent
    loan = Loan.objects.filter(item_id=request.requester_item_id, ended_at__isnull=True).first()
    if loan is None:
        return None
    return loan_due_shorten(actor=actor, loan_id=loan.pk, due_on=datetime.date.fromisoformat(payload["due_on"]))
