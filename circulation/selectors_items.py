"""Reads about one copy or one hold that the self-service edges (REST API, SIP2)
and integrations ask for: is this copy lent now, and until when; one hold by id."""

from .models import Hold, Loan
from .selectors import _attach_branches, _attach_titles


def item_open_loan(item_id):
    """The open loan of this library's copy `item_id` (with its item), or None."""
    return Loan.objects.select_related("item").filter(item_id=item_id, ended_at__isnull=True).first()


def hold_get(hold_id):
    """One hold of this library by id (any status), with .title and .pickup_branch_name; or None."""
    hold = Hold.objects.select_related("item", "assigned_item").filter(pk=hold_id).first()
    if hold is not None:
        _attach_branches([hold], "pickup_branch_id")
        _attach_titles([hold])
    return hold
