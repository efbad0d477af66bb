"""The library administrators' list of steps between this library and others
(tenants.outbox): what this library asked of another (a guest's charge at their
home library) and what others asked of it; failed and stuck ones can be tried again."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tenants.outbox import outbox_for_library, outbox_retry

from .models import Role
from .permissions import actor_for_request, library_staff_required


@library_staff_required(Role.LIBRARY_ADMIN)
def outbox_list(request):
    open_messages, done = outbox_for_library(request.library)
    return render(request, "staff/outbox.html", {"open_messages": open_messages, "done": done})


@require_POST
@library_staff_required(Role.LIBRARY_ADMIN)
def outbox_message_retry(request, message_id):
    try:
        outbox_retry(actor=actor_for_request(request), message_id=message_id)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, f"Bericht {message_id} wordt opnieuw geprobeerd.")
    return redirect("staff:outbox")
