from django import template

from collection.models import ItemStatus

register = template.Library()


@register.filter
def status_label(value):
    """'on_loan' -> 'Uitgeleend'; empty stays empty."""
    if not value:
        return ""
    try:
        return ItemStatus(value).label
    except ValueError:
        return value
