"""Interlibrary loan's answers to circulation (circulation.interlibrary), registered
when Django starts (ibl.apps). They run inside circulation's transaction in the
library's own schema, after circulation's row locks.

- The due date of a member's loan of a lender's copy: the last day they can hand
  it in so that the return legs bring it back to the lender by the lender's due
  date (the lender's loan rules for libraries), on a day the branch is open.
- A renewal asks the lender at once: circulation's own renewal check for the
  lender's loan, read in the lender's schema (its rules: renewals allowed, nobody
  of its own waiting); when it says yes the member's loan is renewed here and the
  lender's loan there, through the outbox (ibl.lender_renew).
- A stand-in handed in (lent and returned, or never collected) goes home: the
  request is returning and its return legs are planned once this commits.
- A copy of ours back from a library: the request is complete.
- A copy of ours checked in that the POI brought home from elsewhere (a stray
  copy found at a hub): its transport ends.
"""

import datetime

from django.db import connection
from django_tenants.utils import schema_context

from core.errors import ServiceError
from tenants.calendar import BranchCalendar
from tenants.models import LibraryOrganisation, PoiHub
from tenants.outbox import enqueue

from .models import IblRequest, Leg, RequestState
from .planning import Planner
from .services.common import event, lock_request_row, transition
from .services.transport import legs_arrive_all, legs_plan_on_commit, stray_back_home

# A member keeps a lender's copy at least this long, whatever the transport.
MIN_MEMBER_DAYS = 7
RECALL_DAYS = 7


def _standin_request(item, *, lock=False):
    queryset = (IblRequest.objects.filter(requesting_organisation__schema_name=connection.schema_name,
                                          requester_item_id=item.pk)
                .select_related("lender", "pickup_branch", "title").order_by("-pk"))
    if lock:
        found = queryset.first()
        if found is None:
            return None
        return lock_request_row(IblRequest.objects.select_related(
            "lender", "pickup_branch", "title", "requesting_organisation").filter(pk=found.pk))
    return queryset.first()


def member_due_on(request, *, lender_due_on, today, branch_id):
    """The member's due date for a lender's copy due back at the lender on
    `lender_due_on`: the latest day it can leave `branch_id` and arrive in time, an
    open day of that branch, at least MIN_MEMBER_DAYS away."""
    planner = Planner()
    earliest = today + datetime.timedelta(days=MIN_MEMBER_DAYS)
    latest = planner.latest_start(from_branch_id=branch_id, to_branch_id=request.lending_branch_id,
                                  arrive_by=lender_due_on, earliest=earliest)
    calendar = BranchCalendar(branch_id, start=today, end=max(latest, earliest) + datetime.timedelta(days=1))
    day = latest
    while day > earliest and not calendar.is_open(day):
        day -= datetime.timedelta(days=1)
    return max(day, earliest)


class CirculationAnswers:
    """circulation.interlibrary.InterlibraryLoan, for the ibl app."""

    def standin_due_on(self, *, item, branch_id, today):
        request = _standin_request(item)
        if request is None or request.lender_due_on is None:
            raise ServiceError("ibl.standin_unknown", barcode=item.barcode)
        due = member_due_on(request, lender_due_on=request.lender_due_on, today=today, branch_id=branch_id)
        if request.recalled_at is not None:  # the lender wants it back: a week at most
            due = min(due, today + datetime.timedelta(days=RECALL_DAYS))
        return due

    def standin_lent(self, *, actor, loan):
        request = _standin_request(loan.item, lock=True)
        if request is None or request.state != RequestState.ARRIVED:
            return
        request.lent_at = loan.loaned_at
        transition(request, RequestState.LENT, actor=actor, detail=f"Uitgeleend aan het lid tot {loan.due_on:%d-%m-%Y}",
                   fields=["lent_at"])

    def _lender_answer(self, request, today):
        lender = request.lender
        from circulation.services.loans import renewal_check

        with schema_context(lender.schema_name):
            refusals, new_due = renewal_check(loan_id=request.lender_loan_id, today=today)
        return refusals, new_due

    def standin_renewal(self, *, loan, today):
        request = _standin_request(loan.item)
        if request is None or request.lender_loan_id is None:
            raise ServiceError("ibl.standin_unknown", barcode=loan.item.barcode)
        if request.recalled_at is not None:
            raise ServiceError("ibl.renewal_recalled", lender=request.lender.name)
        refusals, new_lender_due = self._lender_answer(request, today)
        if refusals:
            raise ServiceError("ibl.renewal_refused", lender=request.lender.name, reason=str(refusals[0]))
        due = member_due_on(request, lender_due_on=new_lender_due, today=today, branch_id=loan.branch_id)
        if due <= loan.due_on:
            raise ServiceError("ibl.renewal_too_early", title=request.title.title[:80],
                               due_on=f"{loan.due_on:%d-%m-%Y}")
        return due

    def standin_renewed(self, *, actor, loan, today):
        request = _standin_request(loan.item, lock=True)
        if request is None:
            return
        _refusals, new_lender_due = self._lender_answer(request, today)
        if new_lender_due is not None:
            request.lender_due_on = new_lender_due
            request.save(update_fields=["lender_due_on", "updated_at"])
        event(request, actor=actor, detail=f"Verlengd tot {loan.due_on:%d-%m-%Y}; de uitlener verlengt tot "
                                            f"{request.lender_due_on:%d-%m-%Y}")
        enqueue(actor=actor, target=request.lender_id, kind="ibl.lender_renew",
                dedupe_key=f"{request.reference}:renew:{loan.renewals}",
                payload={"request": request.pk, "loan": request.lender_loan_id, "on": today.isoformat()})

    def standin_returned(self, *, actor, item, loan, branch, now):
        request = _standin_request(item, lock=True)
        if request is None:
            raise ServiceError("ibl.standin_unknown", barcode=item.barcode)
        hub = PoiHub.objects.filter(pk=Planner().branch(branch.pk).hub_id).values_list("name", flat=True).first()
        params = {"library": request.lender.name, "hub": hub or ""}
        if request.state in (RequestState.ARRIVED, RequestState.LENT):
            request.handed_in_at = now
            request.handed_in_branch_id = branch.pk
            request.not_collected = loan is None
            transition(request, RequestState.RETURNING, actor=actor,
                       detail=("Niet opgehaald; terug naar " if loan is None else "Ingeleverd; terug naar ")
                       + request.lender.name, fields=["handed_in_at", "handed_in_branch", "not_collected"])
            legs_plan_on_commit(request.pk)
        notes = [("ibl.note_not_collected", {})] if loan is None else []
        return "ibl.route_home", params, notes

    def standin_gone(self, *, item):
        request = _standin_request(item)
        lender = request.lender.name if request else (
            LibraryOrganisation.objects.filter(pk=item.ibl_owner_id).values_list("name", flat=True).first() or "")
        return "ibl.route_gone", {"library": lender}

    def own_copy_back(self, *, actor, item, branch, now):
        return stray_back_home(actor=actor, barcode=item.barcode, branch=branch, now=now)

    def library_loan_returned(self, *, actor, loan, branch, now):
        organisation = actor.organisation
        found = (IblRequest.objects.filter(lender=organisation, lender_loan_id=loan.pk).values_list("pk", flat=True)
                 .first())
        if found is None:
            return []
        request = lock_request_row(IblRequest.objects.select_related("requesting_organisation").filter(pk=found))
        if not request.is_active:
            return []
        notes = []
        if request.state != RequestState.RETURNING:
            notes.append(("ibl.note_home_early", {"state": request.get_state_display().lower()}))
        legs_arrive_all(request, Leg.Direction.BACK, actor=actor, now=now, note="Onderweg niet gescand")
        request.ended_at = now
        transition(request, RequestState.COMPLETED, actor=actor,
                   detail=f"Terug bij {organisation.name} ({branch.name}); afgerond", fields=["ended_at"])
        notes.append(("ibl.note_completed", {"library": request.requesting_organisation.name}))
        return notes
