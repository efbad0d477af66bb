from django import template

register = template.Library()


@register.filter
def euro_plain(cents):
    """1250 -> '12,50' (for an input field)."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole},{rest:02d}"


@register.filter
def percent(basis_points):
    """900 -> '9', 1250 -> '12,5' (basis points as a percentage)."""
    if basis_points is None:
        return ""
    whole, rest = divmod(int(basis_points), 100)
    return f"{whole}" if not rest else f"{whole},{rest:02d}".rstrip("0")
