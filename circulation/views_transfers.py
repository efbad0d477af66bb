"""Desk overviews for one branch: items in transit to and from it (tracked until
received at checkin), and loans that are overdue. Thin: selectors only."""

from django.shortcuts import render
from django.utils import timezone

from staff.models import Role
from members.selectors.access import members_listed
from staff.permissions import actor_for_request, library_staff_required
from staff.selectors import branch_for_screen
from tenants.selectors import branch_choices

from . import selectors

desk_staff = library_staff_required(Role.DESK)


@desk_staff
def transfers(request):
    branches = branch_choices(request.library)
    branch = branch_for_screen(request.session, request.library, request.GET.get("vestiging"), branches)
    return render(request, "circulation/transfers.html", {
        "branch": branch, "branches": branches,
        "incoming": selectors.transfers_to(branch.pk), "outgoing": selectors.transfers_from(branch.pk),
        "now": timezone.now(),
    })


@desk_staff
def overdue(request):
    loans = selectors.overdue_loans()
    # The list names the borrowers: one audit entry naming every member shown.
    members_listed(actor_for_request(request), [loan.member_id for loan in loans], purpose="te-laat")
    return render(request, "circulation/overdue.html", {"loans": loans, "today": timezone.localdate()})
