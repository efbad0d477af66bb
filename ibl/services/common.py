"""What every IBL service shares: locking a request (core.locks' last rank, after
circulation's rows), recording each change of state with its actor, and the
registry look-ups the services make."""

from django.conf import settings
from django.utils import timezone

from core import locks
from core.errors import ServiceError

from ..models import IblEvent, IblRequest, IblTerms

# A lender answers (sends or declines) within this many working days, else the
# request moves on to the next lender (ibl.tasks.asks_expire).
ANSWER_WORKING_DAYS = getattr(settings, "LSB_IBL_ANSWER_WORKING_DAYS", 3)


def lock_request(request_id, *, related=True):
    """Lock one request (the last rank of core.locks); ServiceError when unknown."""
    queryset = IblRequest.objects.filter(pk=request_id)
    if related:
        queryset = queryset.select_related("requesting_organisation", "lender", "title", "pickup_branch",
                                           "lending_branch")
    request = lock_request_row(queryset)
    if request is None:
        raise ServiceError("ibl.not_found")
    return request


def lock_request_row(queryset):
    """Lock at most one request of `queryset` (its own row only, not the related rows read along)."""
    rows = locks.lock_rows(locks.IBL_REQUEST, queryset, of=("self",))
    return rows[0] if rows else None


def transition(request, to_state, *, actor, detail="", organisation=None, fields=()):
    """Move a (locked) request to `to_state`, saving `fields` too, and record the event."""
    from_state = request.state
    request.state = to_state
    request.save(update_fields=["state", "updated_at", *fields])
    event(request, actor=actor, detail=detail, from_state=from_state, to_state=to_state, organisation=organisation)
    return request


def event(request, *, actor, detail="", from_state="", to_state="", organisation=None):
    org = organisation if organisation is not None else getattr(actor, "organisation", None)
    return IblEvent.objects.create(request=request, from_state=from_state, to_state=to_state, detail=detail[:300],
                                   organisation=org, actor_ref=actor.ref)


def terms_of(organisation_id):
    """A library's IBL terms (the defaults when it has saved none), not saved."""
    return IblTerms.objects.filter(organisation_id=organisation_id).first() or IblTerms(
        organisation_id=organisation_id)


def now():
    return timezone.now()
