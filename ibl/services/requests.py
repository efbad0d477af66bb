"""IBL requests: a member (in the OPAC) or the desk asks for a title for a pickup
branch; a lender is chosen and asked; it sends or declines, or does not answer
in time, and the next lender is asked; with none left the member is told.

Every service takes the `actor` (core.actors). The requesting side runs in the
requesting library's schema (its member, its pickup branch); the lender's answers
in the lender's schema. What one library needs in the other's schema goes through
the outbox (tenants.outbox): the lender's hold on a copy for the request
(ibl.lender_hold), withdrawing it (ibl.lender_hold_cancel), telling the member
(ibl.requester_unfilled). Payloads carry ids only.

Locks (core.locks): the member (borrower rank) first when the member is read,
then the request (the last rank).
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalogue.models import Title
from circulation.borrowers import block_reasons
from circulation.models import ACTIVE_HOLD_STATUSES, Hold, Loan
from circulation.services.holds import holdable_copies
from collection.services import branch_of
from core import locks
from core.actors import ActorKind
from core.errors import ServiceError, ServiceErrors
from members.models import Member
from staff.models import Role
from staff.permissions import actor_has_role, require_role
from tenants.models import LibraryOrganisation
from tenants.outbox import enqueue

from ..models import ACTIVE_STATES, Ask, IblRequest, IblTerms, RequestState
from ..planning import Planner, is_working_day, next_working_day
from .common import ANSWER_WORKING_DAYS, event, lock_request, terms_of, transition
from .lenders import lender_candidates

OVERRIDE_REASON_MAX = 200
CANCELLABLE_STATES = (RequestState.REQUESTED, RequestState.ASKED)


def answer_due(asked_at, working_days=None):
    """The end of the N-th working day after `asked_at` (Europe/Amsterdam)."""
    working_days = ANSWER_WORKING_DAYS if working_days is None else working_days
    day = timezone.localtime(asked_at).date()
    for _ in range(working_days):
        day = next_working_day(day + datetime.timedelta(days=1))
    end = datetime.datetime.combine(day, datetime.time(23, 59))
    return timezone.make_aware(end)


def expected_arrival(*, lending_branch_id, pickup_branch_id, today, asked=True, planner=None):
    """When the copy is expected at the pickup branch: sent by the lender within a
    working day (while asked), then the planned legs (ibl.planning)."""
    planner = planner or Planner()
    start = next_working_day(today + datetime.timedelta(days=1)) if asked else today
    return planner.arrival(from_branch_id=lending_branch_id, to_branch_id=pickup_branch_id, start=start)


def _title(title_id):
    try:
        title = Title.objects.filter(pk=int(title_id)).first()
    except (TypeError, ValueError):
        title = None
    if title is None:
        raise ServiceError("ibl.title_unknown", field="title_id", title_id=title_id)
    return title


def ibl_request_create(*, actor, member_id, title_id, pickup_branch_id, override_reason="", now=None):
    """A member asks (or the desk asks for them) for a title their library lacks,
    to pick up at a branch of this library. Refused (ServiceError/ServiceErrors,
    nothing changed) for a member who may not borrow, a second request for the same
    title, a title they hold or have on loan here, a title this library can fill
    itself with a holdable copy (unless desk staff override with a reason), and a
    title no other library lends. The first lender is asked at once (outbox)."""
    organisation = actor.require_current_library()
    actor.require_member(member_id)
    actor.require_kind(ActorKind.MEMBER, ActorKind.STAFF, ActorKind.SYSTEM)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    now = now or timezone.now()
    override_reason = (override_reason or "").strip()[:OVERRIDE_REASON_MAX]
    with transaction.atomic():
        pickup = branch_of(organisation, pickup_branch_id, label="De ophaalvestiging")
        title = _title(title_id)
        member = locks.lock_row(locks.BORROWER, Member.objects.select_related("category").filter(pk=member_id))
        if member is None or member.erased_at is not None:
            raise ServiceError("ibl.member_unknown")
        may, reasons = block_reasons(member)
        if not may:
            raise ServiceErrors([ServiceError("ibl.member_may_not_request"), *reasons])
        if IblRequest.objects.filter(requesting_organisation=organisation, member_id=member.pk, title=title,
                                     state__in=ACTIVE_STATES).exists():
            raise ServiceError("ibl.duplicate", title=title.title)
        if Hold.objects.filter(member=member, title_id=title.pk, status__in=ACTIVE_HOLD_STATUSES).exists():
            raise ServiceError("ibl.hold_exists", title=title.title)
        if Loan.objects.filter(member=member, title_id=title.pk, ended_at__isnull=True).exists():
            raise ServiceError("ibl.on_loan_already", title=title.title)
        if holdable_copies(title_id=title.pk, member_category_id=member.category_id):
            if not override_reason:
                raise ServiceError("ibl.own_copy_holdable", title=title.title, library=organisation.name)
            if not actor_has_role(actor, Role.DESK):
                raise ServiceError("ibl.override_not_allowed")
        else:
            override_reason = ""
        organisation = LibraryOrganisation.objects.select_related("province").get(pk=organisation.pk)
        candidates = lender_candidates(requesting_organisation=organisation, title=title, now=now)
        if not candidates:
            raise ServiceError("ibl.no_lender", title=title.title)
        try:
            with transaction.atomic():
                request = IblRequest.objects.create(
                    requesting_organisation=organisation, pickup_branch=pickup, member_id=member.pk, title=title,
                    override_reason=override_reason, fee_cents=terms_of(organisation.pk).request_fee_cents,
                    actor_ref=actor.ref,
                )
        except IntegrityError:  # the same request from another desk or tab, just now
            raise ServiceError("ibl.duplicate", title=title.title) from None
        locks.note_lock(locks.IBL_REQUEST)  # the new row is ours alone until commit
        event(request, actor=actor, to_state=RequestState.REQUESTED,
              detail=f"Aangevraagd, ophalen in {pickup.name}" + (f" (uitzondering: {override_reason})"
                                                                 if override_reason else ""))
        ask_next(request, actor=actor, now=now, candidates=candidates, requester=organisation)
    return request


def ask_next(request, *, actor, now, candidates=None, requester=None):
    """Ask the next lender for a (locked) request, or end it as unfilled and tell
    the member. `actor` is whoever moves it on (the requester, a lender declining,
    the system), in its own library's schema (the outbox's source)."""
    if candidates is None:  # (a new request passes the ones it found)
        tried = set(request.asks.values_list("lender_id", flat=True))
        requester = requester or LibraryOrganisation.objects.select_related("province").get(
            pk=request.requesting_organisation_id)
        candidates = lender_candidates(requesting_organisation=requester, title=request.title, exclude=tried,
                                       now=now)
    if not candidates:
        request.lender = None
        request.lending_branch = None
        request.ended_at = now
        request.expected_on = None
        request.end_reason = "Geen bibliotheek kon het leveren"
        transition(request, RequestState.UNFILLED, actor=actor, detail="Geen uitlener meer over",
                   fields=["lender", "lending_branch", "ended_at", "expected_on", "end_reason"])
        enqueue(actor=actor, target=request.requesting_organisation_id, kind="ibl.requester_unfilled",
                dedupe_key=f"ibl:{request.pk}:unfilled",
                payload={"request": request.pk, "member": request.member_id, "title": request.title_id})
        return None
    chosen = candidates[0]
    Ask.objects.create(request=request, lender_id=chosen.organisation_id, branch_id=chosen.branch_id,
                       scope=chosen.scope, asked_at=now, answer_due_at=answer_due(now), actor_ref=actor.ref)
    if not IblTerms.objects.filter(pk=chosen.organisation_id).update(last_asked_at=now):
        IblTerms.objects.bulk_create([IblTerms(organisation_id=chosen.organisation_id, last_asked_at=now)],
                                     ignore_conflicts=True)
    request.lender_id = chosen.organisation_id
    request.lending_branch_id = chosen.branch_id
    request.scope = chosen.scope
    request.expected_on = expected_arrival(lending_branch_id=chosen.branch_id,
                                           pickup_branch_id=request.pickup_branch_id,
                                           today=timezone.localdate(now))
    lender_name = LibraryOrganisation.objects.filter(pk=chosen.organisation_id).values_list("name", flat=True).first()
    transition(request, RequestState.ASKED, actor=actor, detail=f"Gevraagd aan {lender_name} ({chosen.scope})",
               fields=["lender", "lending_branch", "scope", "expected_on"])
    enqueue(actor=actor, target=chosen.organisation_id, kind="ibl.lender_hold",
            dedupe_key=f"ibl:{request.pk}:hold:{chosen.organisation_id}",
            payload={"request": request.pk, "title": request.title_id, "branch": chosen.branch_id,
                     "requester": request.requesting_organisation_id, "reference": request.reference})
    return chosen


def _pending_ask(request):
    return Ask.objects.filter(request=request, lender_id=request.lender_id, outcome=Ask.Outcome.PENDING).first()


def _withdraw_from_lender(request, *, actor, outcome, reason="", reason_text="", now):
    """End the lender's pending ask (declined, timed out, withdrawn) and have its
    hold for the request cancelled in its schema (outbox)."""
    ask = _pending_ask(request)
    if ask is None:
        return None
    ask.outcome = outcome
    ask.reason = reason
    ask.reason_text = reason_text[:200]
    ask.answered_at = now
    ask.actor_ref = actor.ref
    ask.save(update_fields=["outcome", "reason", "reason_text", "answered_at", "actor_ref"])
    if outcome != Ask.Outcome.DECLINED or actor.organisation is None or actor.organisation.pk != ask.lender_id:
        enqueue(actor=actor, target=ask.lender_id, kind="ibl.lender_hold_cancel",
                dedupe_key=f"ibl:{request.pk}:hold_cancel:{ask.lender_id}",
                payload={"request": request.pk, "requester": request.requesting_organisation_id,
                         "reference": request.reference, "title": request.title_id})
    return ask


def ibl_request_cancel(*, actor, request_id, reason="", now=None):
    """The member (their own) or the desk of the requesting library cancels a
    request that has not been sent yet; the lender's hold on a copy is withdrawn."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.MEMBER, ActorKind.STAFF, ActorKind.SYSTEM)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    now = now or timezone.now()
    with transaction.atomic():
        request = lock_request(request_id)
        if request.requesting_organisation_id != organisation.pk:
            raise ServiceError("ibl.not_found")
        actor.require_member(request.member_id)
        if request.state not in CANCELLABLE_STATES:
            if not request.is_active:
                raise ServiceError("ibl.closed", state=request.get_state_display().lower())
            raise ServiceError("ibl.cancel_too_late", state=request.get_state_display().lower())
        reason = (reason or "").strip()[:200] or ("Geannuleerd door het lid" if actor.is_member
                                                  else "Geannuleerd")
        _withdraw_from_lender(request, actor=actor, outcome=Ask.Outcome.WITHDRAWN, now=now)
        request.ended_at = now
        request.end_reason = reason
        request.expected_on = None
        transition(request, RequestState.CANCELLED, actor=actor, detail=reason,
                   fields=["ended_at", "end_reason", "expected_on"])
    return request


def ibl_decline(*, actor, request_id, reason, reason_text="", now=None, hold_cancelled=False):
    """The lender cannot supply (staff of the lender, or the system when it has no
    copy to hold): the ask is declined with its reason and the next lender is
    asked. The lender's hold on a copy is cancelled here, in its own schema."""
    organisation = actor.require_current_library()
    actor.require_kind(ActorKind.STAFF, ActorKind.SYSTEM)
    if actor.is_staff:
        require_role(actor, Role.DESK)
    if reason not in Ask.Reason.values:
        raise ServiceError("ibl.decline_reason_unknown", field="reason")
    if reason == Ask.Reason.OTHER and not (reason_text or "").strip():
        raise ServiceError("ibl.decline_reason_text_missing", field="reason_text")
    now = now or timezone.now()
    with transaction.atomic():
        if not hold_cancelled:
            _cancel_library_hold(actor, request_id)
        request = lock_request(request_id)
        if request.lender_id != organisation.pk or request.state != RequestState.ASKED:
            raise ServiceError("ibl.not_asked_here", library=organisation.name)
        ask = _withdraw_from_lender(request, actor=actor, outcome=Ask.Outcome.DECLINED, reason=reason,
                                    reason_text=(reason_text or "").strip(), now=now)
        event(request, actor=actor, detail=f"{organisation.name} kan niet leveren: "
                                            f"{Ask.Reason(reason).label}" + (f" ({reason_text})" if reason_text else ""))
        ask_next(request, actor=actor, now=now)
    return ask


def _cancel_library_hold(actor, request_id):
    """Cancel this library's active hold for the request (the lending side), if any."""
    from circulation.services.holds import hold_cancel

    request = IblRequest.objects.filter(pk=request_id).only("pk", "requesting_organisation_id").first()
    if request is None:
        return
    hold = Hold.objects.filter(borrowing_library_id=request.requesting_organisation_id,
                               borrowing_library_ref=request.reference, status__in=ACTIVE_HOLD_STATUSES).first()
    if hold is not None:
        hold_cancel(actor=actor, hold_id=hold.pk, reason="IBL: kan niet leveren")


def asks_expire(*, now=None):
    """Move every request whose lender did not answer within its working days on to
    the next lender (the timed-out lender's hold is withdrawn). Each request in its
    own transaction, as the requesting library (the outbox's source). Idempotent.
    Returns the request ids moved on."""
    from django_tenants.utils import tenant_context

    from core.actors import Actor

    now = now or timezone.now()
    moved = []
    due = list(Ask.objects.filter(outcome=Ask.Outcome.PENDING, answer_due_at__lt=now)
               .values_list("request_id", "request__requesting_organisation_id").order_by("answer_due_at", "pk"))
    requesters = {o.pk: o for o in LibraryOrganisation.objects.filter(pk__in={row[1] for row in due})}
    for request_id, requester_id in due:
        requester = requesters[requester_id]
        with tenant_context(requester):
            actor = Actor.system("ibl", requester)
            with transaction.atomic():
                request = lock_request(request_id)
                ask = _pending_ask(request)
                if request.state != RequestState.ASKED or ask is None or ask.answer_due_at >= now:
                    continue
                _withdraw_from_lender(request, actor=actor, outcome=Ask.Outcome.TIMED_OUT, now=now)
                event(request, actor=actor, detail=f"Geen antwoord van {request.lender.name} binnen "
                                                   f"{ANSWER_WORKING_DAYS} werkdagen")
                ask_next(request, actor=actor, now=now)
                moved.append(request_id)
    return moved


__all__ = ["answer_due", "ask_next", "asks_expire", "expected_arrival", "ibl_decline", "ibl_request_cancel",
           "ibl_request_create", "is_working_day"]
