"""Reservation panels for other apps' pages: the member page's holds list and the
title page's "Reserveren voor een lid" form (shown to desk staff only)."""

from django import template
from django.utils import timezone

from staff.models import Role
from staff.selectors import has_role
from tenants.selectors import branch_choices

from .. import selectors

register = template.Library()



@register.inclusion_tag("circulation/holds/_member_holds.html", takes_context=True)
def member_holds_card(context, member):
    request = context["request"]
    return {
        "member": member, "holds": selectors.member_holds(member), "branches": branch_choices(request.library),
        "today": timezone.localdate(), "next": request.get_full_path(), "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("circulation/holds/_title_hold_form.html", takes_context=True)
def title_hold_form(context, title):
    request = context["request"]
    library = request.library
    if not has_role(request.user, library, Role.DESK):
        return {"show": False}
    return {
        "show": True, "title": title, "branches": branch_choices(library),
        "csrf_token": context.get("csrf_token"), "on_queue_page": request.resolver_match.view_name == "holds:queue",
    }
