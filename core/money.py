"""Euro amounts: integer cents in the code and the database, euros on screens.

Never floats: text is parsed with Decimal and checked to have at most two decimals."""

import re
from decimal import Decimal

# Larger than any fee, fine or lost-item price; keeps a mistyped amount (and the
# integer column) within reason.
MAX_AMOUNT_CENTS = 10_000_000  # EUR 100.000,00

# [0-9], not \d: \d also matches Arabic-Indic and other digits, which are no euros here.
_EURO_RE = re.compile(r"([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)([,.]([0-9]{1,2}))?")


def euro(cents):
    """1250 -> '€ 12,50'; -300 -> '-€ 3,00' (a credit); None -> ''."""
    if cents is None:
        return ""
    cents = int(cents)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    whole_text = f"{whole:,}".replace(",", ".")
    return f"{sign}€ {whole_text},{rest:02d}"


def euro_parse(text):
    """'12,50', '12.50', '€ 12', '1.250,00' -> cents (int); None when it is not an amount.

    A dot followed by exactly three digits is a thousands separator ('1.250'),
    otherwise it is the decimal separator ('12.5')."""
    value = (text or "").replace("€", "").replace(" ", "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]+\.[0-9]{1,2}", value):  # '12.50': decimal point
        whole, fraction = value.split(".")
    else:
        match = _EURO_RE.fullmatch(value)
        if match is None:
            return None
        whole = match.group(1).replace(".", "")
        fraction = match.group(4) or "0"
    cents = int(Decimal(f"{whole}.{fraction}") * 100)
    return cents
