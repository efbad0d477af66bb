"""Late lines and claims (rappels), and the library's acquisitions settings."""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ServiceError, ServiceErrors

from ..models import OrderingSettings, OrderLine, OrderStatus
from .common import acquisitions_actor, settings_locked


def late_lines_flag(*, actor, today=None):
    """Flag every line of a sent order with copies still to come whose expected
    date plus the library's grace days has passed. Idempotent: a flagged line is
    left as it is (until a claim is sent or it is complete). Returns how many were
    flagged now."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    settings = OrderingSettings.objects.filter(pk=1).first()
    grace = settings.claim_grace_days if settings else 7
    with transaction.atomic():
        return (OrderLine.objects
                .filter(order__status=OrderStatus.ORDERED, claim_flagged_on__isnull=True,
                        expected_on__lt=today - datetime.timedelta(days=grace))
                .filter(quantity__gt=F("quantity_cancelled") + F("quantity_received"))
                .update(claim_flagged_on=today))


def claims_sent(*, actor, line_ids, today=None):
    """The claims of these flagged lines went to the supplier: each line's count goes
    up, the flag is cleared, and the line is expected again after the supplier's
    delivery time."""
    acquisitions_actor(actor)
    today = today or timezone.localdate()
    with transaction.atomic():
        lines = list(OrderLine.objects.select_for_update().select_related("order__supplier")
                     .filter(pk__in=set(line_ids)).order_by("pk"))
        errors = [ServiceError("claim.not_flagged", line=line.reference) for line in lines
                  if line.claim_flagged_on is None]
        if len(lines) != len(set(line_ids)):
            errors.append(ServiceError("line.not_found"))
        if errors:
            raise ServiceErrors(errors)
        for line in lines:
            line.claims_sent += 1
            line.last_claimed_on = today
            line.claim_flagged_on = None
            line.expected_on = today + datetime.timedelta(days=line.order.supplier.delivery_days)
        OrderLine.objects.bulk_update(lines, ["claims_sent", "last_claimed_on", "claim_flagged_on", "expected_on"])
    return lines


def ordering_settings_update(*, actor, holds_per_copy, claim_grace_days):
    """Change the purchase-suggestion ratio and the days of grace before a claim;
    the late lines are flagged again for the new grace period once this commits."""
    organisation = acquisitions_actor(actor)
    errors = []
    try:
        ratio = Decimal(str(holds_per_copy).replace(",", ".").strip())
        if not ratio.is_finite() or not Decimal("0.5") <= ratio <= 100 or ratio != ratio.quantize(Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:
        errors.append(ServiceError("settings.ratio_invalid", field="holds_per_copy"))
    try:
        grace = int(claim_grace_days)
        if not 0 <= grace <= 365:
            raise ValueError
    except (TypeError, ValueError):
        errors.append(ServiceError("settings.grace_invalid", field="claim_grace_days"))
    if errors:
        raise ServiceErrors(errors)
    with transaction.atomic():
        settings = settings_locked()
        settings.holds_per_copy, settings.claim_grace_days = ratio, grace
        settings.save(update_fields=["holds_per_copy", "claim_grace_days", "updated_at"])
        schema = organisation.schema_name
        transaction.on_commit(lambda: _late_lines_task(schema))
    return settings


def _late_lines_task(schema):
    from ..tasks import late_lines_library

    late_lines_library.apply_async(kwargs={"today": timezone.localdate().isoformat()},
                                   headers={"_schema_name": schema})
