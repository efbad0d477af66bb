"""Desk overviews for one branch: items in transit to and from it (tracked until
received at checkin), and loans that are overdue. Thin: selectors only."""

from django.shortcuts import render
from django.utils import timezone

from staff.models import Role
from staff.permissions import library_staff_required
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
    return render(request, "circulation/overdue.html", {
        "loans": selectors.overdue_loans(), "today": timezone.localdate(),
    })
