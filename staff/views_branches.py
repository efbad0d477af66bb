"""The library administrators' branch screens: opening hours and closed days.

Due dates fall on open days and fines count open days (tenants.calendar, the one
branch calendar), so these screens make that calendar the library's own."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from tenants import services as tenant_services
from tenants.calendar import public_holidays
from tenants.selectors import (
    branch_closed_dates_upcoming,
    branch_opening_days,
    branches_hours_overview,
    library_branch,
)

from .forms_branches import ClosedDateForm, OpeningHoursForm
from .models import Role
from .permissions import actor_for_request, library_staff_required


def _branch_or_404(request, branch_id):
    branch = library_branch(request.library, branch_id)
    if branch is None:
        raise Http404("Deze vestiging hoort niet bij deze bibliotheek.")
    return branch


@library_staff_required(Role.LIBRARY_ADMIN)
def branch_list(request):
    return render(request, "staff/branch_list.html", {
        "overview": branches_hours_overview(request.library), "today": timezone.localdate(),
    })


def _detail(request, branch, *, hours_form=None, closed_form=None, errors=(), status=200):
    days = branch_opening_days(branch)
    today = timezone.localdate()
    return render(request, "staff/branch_hours.html", {
        "branch": branch,
        "has_hours": any(periods for _day, _label, periods in days),
        "hours_form": hours_form or OpeningHoursForm(branch_periods=days),
        "closed_form": closed_form or ClosedDateForm(),
        "closed_dates": branch_closed_dates_upcoming(branch, today),
        "holidays": public_holidays([today.year, today.year + 1]),
        "today": today,
        "errors": list(errors),
    }, status=status)


@library_staff_required(Role.LIBRARY_ADMIN)
def branch_hours(request, branch_id):
    branch = _branch_or_404(request, branch_id)
    if request.method != "POST":
        return _detail(request, branch)
    form = OpeningHoursForm(request.POST)
    if form.is_valid():
        try:
            tenant_services.branch_opening_hours_set(
                actor=actor_for_request(request), branch=branch, periods=form.cleaned_data["periods"]
            )
        except ValidationError as error:
            return _detail(request, branch, hours_form=form, errors=error.messages, status=400)
        messages.success(request, f"De openingstijden van {branch.name} zijn opgeslagen.")
        return redirect("staff:branch-hours", branch_id=branch.pk)
    return _detail(request, branch, hours_form=form, errors=form.non_field_errors(), status=400)


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def closed_date_add(request, branch_id):
    branch = _branch_or_404(request, branch_id)
    form = ClosedDateForm(request.POST)
    if not form.is_valid():
        errors = [message for field_errors in form.errors.values() for message in field_errors]
        return _detail(request, branch, closed_form=form, errors=errors, status=400)
    data = form.cleaned_data
    try:
        if data["until"] and data["until"] != data["date"]:
            created, skipped = tenant_services.closed_dates_add_range(
                actor=actor_for_request(request), branch=branch, start=data["date"], end=data["until"],
                reason=data["reason"],
            )
        else:
            created = [tenant_services.closed_date_add(
                actor=actor_for_request(request), branch=branch, date=data["date"], reason=data["reason"]
            )]
            skipped = []
    except ValidationError as error:
        return _detail(request, branch, closed_form=form, errors=error.messages, status=400)
    if len(created) == 1 and not skipped:
        messages.success(request, f"{branch.name} is gesloten op {created[0].date:%d-%m-%Y} ({created[0].reason}).")
    else:
        messages.success(request, f"{len(created)} sluitingsdagen toegevoegd voor {branch.name}.")
    if skipped:
        listed = ", ".join(f"{c.date:%d-%m-%Y} ({c.reason})" for c in skipped)
        messages.info(request, f"Al gesloten, ongewijzigd gelaten: {listed}.")
    return redirect("staff:branch-hours", branch_id=branch.pk)


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def closed_date_remove(request, branch_id, closed_date_id):
    branch = _branch_or_404(request, branch_id)
    try:
        removed = tenant_services.closed_date_remove(
            actor=actor_for_request(request), branch=branch, closed_date_id=closed_date_id
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"{branch.name} is op {removed.date:%d-%m-%Y} niet meer gesloten.")
    return redirect("staff:branch-hours", branch_id=branch.pk)
