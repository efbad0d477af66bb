"""Reservation queues read by other floors: how many holds wait per title (the
acquisitions' purchase suggestions compare them with the copies a library has)."""

from django.db.models import Count

from .models import Hold, HoldStatus


def waiting_holds_per_title(*, min_waiting=1, title_ids=None):
    """[(title id, waiting holds)] of this library, most waiting first: holds of
    members and libraries not yet served by a copy (status waiting)."""
    holds = Hold.objects.filter(status=HoldStatus.WAITING)
    if title_ids is not None:
        holds = holds.filter(title_id__in=list(title_ids))
    rows = (holds.values("title_id").annotate(waiting=Count("pk")).filter(waiting__gte=max(1, int(min_waiting)))
            .order_by("-waiting", "title_id").values_list("title_id", "waiting"))
    return list(rows)
