"""Desk overviews for one branch: items in transit to and from it (tracked until
received at checkin), and loans that are overdue. Thin: selectors only."""

from django.shortcuts import render
from django.utils import timezone

from staff.models import Role
from staff.permissions import library_staff_required
from staff.selectors import working_branch
from tenants.models import Branch

from . import selectors

desk_staff = library_staff_required(Role.DESK)


def _chosen_branch(request):
    branches = list(Branch.objects.filter(organisation=request.library, is_active=True).order_by("name"))
    chosen = request.GET.get("vestiging")
    branch = next((branch for branch in branches if str(branch.pk) == chosen), None)
    return branch or working_branch(request.session, request.library), branches


@desk_staff
def transfers(request):
    branch, branches = _chosen_branch(request)
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
