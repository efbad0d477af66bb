from django import template

from core.money import euro as format_euro

register = template.Library()


@register.filter
def euro(cents):
    """{{ entry.amount_cents|euro }} -> '€ 12,50'."""
    return format_euro(cents)
