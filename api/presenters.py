"""Domain objects (from the services and selectors) as the API's response bodies
(api/serializers.py documents them)."""

from django.utils import timezone

from core.errors import error_as_dict


def errors_of(reasons):
    return [error_as_dict(reason) for reason in reasons]


def _title_text(title):
    return getattr(title, "title", None) or ""


def loan(value, *, today=None):
    today = today or timezone.localdate()
    title = getattr(value, "title", None)
    return {
        "id": value.pk,
        "barcode": value.item.barcode,
        "title_id": value.title_id,
        "title": _title_text(title) if title is not None else "",
        "loaned_at": value.loaned_at,
        "due_on": value.due_on,
        "renewals": value.renewals,
        "overdue_days": max(0, (today - value.due_on).days),
        "branch_id": value.branch_id,
    }


def hold(value):
    return {
        "id": value.pk,
        "member_id": value.member_id,
        "title_id": value.title_id,
        "title": _title_text(getattr(value, "title", None)),
        "item_barcode": value.item.barcode if value.item_id else None,
        "pickup_branch_id": value.pickup_branch_id,
        "pickup_branch_name": getattr(value, "pickup_branch_name", "") or "",
        "status": value.status,
        "placed_at": value.placed_at,
        "expected_on": value.expected_on,
        "expected_position": value.expected_position,
        "shelf_until": value.shelf_until,
    }


def member_summary(value):
    return {
        "id": value.pk,
        "card_number": value.card_number,
        "full_name": value.full_name,
        "date_of_birth": value.date_of_birth,
        "postcode": value.postcode,
        "city": value.city,
    }


def member(value, *, may_borrow, reasons, balance_cents):
    return {
        **member_summary(value),
        "first_name": value.first_name,
        "name_prefix": value.name_prefix,
        "last_name": value.last_name,
        "street": value.street,
        "house_number": value.house_number,
        "email": value.email,
        "phone": value.phone,
        "category": value.category.code,
        "subscription": value.subscription.code,
        "expires_on": value.expires_on,
        "preferred_branch_id": value.preferred_branch_id,
        "may_borrow": may_borrow,
        "reasons": errors_of(reasons),
        "balance_cents": balance_cents,
    }


def item(value, *, title_text, due_on):
    return {
        "barcode": value.barcode,
        "title_id": value.title_id,
        "title": title_text or "",
        "item_type": value.item_type,
        "collection": value.collection,
        "status": value.status,
        "status_label": str(value.get_status_display()),
        "not_for_loan": value.not_for_loan,
        "owning_branch_id": value.owning_branch_id,
        "current_branch_id": value.current_branch_id,
        "shelf_location": value.shelf_location,
        "call_number": value.call_number,
        "due_on": due_on,
    }


def title(value, summary):
    return {
        "id": value.pk,
        "title": value.title,
        "subtitle": value.subtitle,
        "responsibility": value.responsibility,
        "contributors": value.contributors_text,
        "year": value.year,
        "isbns": list(value.isbns or []),
        "publisher": value.publisher,
        "series": value.series,
        "language": value.language,
        "material_type": value.material_type,
        "audience": value.audience,
        "here": {"total": summary.own_total, "available": summary.own_available},
        "elsewhere": {"total": summary.other_total, "available": summary.other_available},
    }


def checkin(result, *, barcode, title_text):
    item_value = result.item
    return {
        "barcode": getattr(item_value, "barcode", barcode),
        "title_id": item_value.title_id,
        "title": title_text or "",
        "route": result.route,
        "code": result.code,
        "params": {key: _plain(value) for key, value in (result.params or {}).items()},
        "message": result.message,
        "destination_branch_id": result.destination_branch_id,
        "hold_id": getattr(result.hold, "pk", None),
        "loan_ended": result.loan is not None,
        "fine_cents": result.fine_cents,
        "notes": [{"code": note.code, "params": {key: _plain(value) for key, value in note.params.items()},
                   "message": note.message} for note in result.notes],
    }


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
