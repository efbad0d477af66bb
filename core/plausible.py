"""Plausible ranges for dates and amounts typed by people or read from files.

A date in year 1 or 9999, or an amount of € 100.000 typed in Arabic-Indic digits,
is a typing error (or an attack), never a real value: the services refuse it with
one Dutch sentence (core.errors: input.date_out_of_range, input.amount_out_of_range)
and change nothing. Each service says what is plausible for its field:

    date_check(acquired_on, field="acquired_on", label=_("De aanschafdatum"),
               earliest=datetime.date(1800, 1, 1), latest=today)
    amount_check(price_cents, field="price", label=_("De prijs"))
"""

import datetime

from .errors import ServiceError
from .money import MAX_AMOUNT_CENTS, euro

# Dates before this are no date LSB works with (birth dates have their own rule).
EARLIEST = datetime.date(1800, 1, 1)


def date_check(value, *, field, label, earliest=EARLIEST, latest=None):
    """`value` (a date, or None: nothing to check) when earliest <= value <= latest,
    else ServiceError input.date_out_of_range naming the range."""
    if value is None:
        return None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        raise ServiceError("input.date_invalid", field=field, label=label)
    latest = latest or datetime.date(2100, 12, 31)
    if not earliest <= value <= latest:
        raise ServiceError("input.date_out_of_range", field=field, label=label, date=f"{value:%d-%m-%Y}",
                           earliest=f"{earliest:%d-%m-%Y}", latest=f"{latest:%d-%m-%Y}")
    return value


def amount_check(cents, *, field, label, minimum=0, maximum=MAX_AMOUNT_CENTS):
    """`cents` (an int, or None: nothing to check) when minimum <= cents <= maximum,
    else ServiceError input.amount_out_of_range."""
    if cents is None:
        return None
    if type(cents) is not int:  # noqa: E721 - bool and float are refused on purpose
        raise ServiceError("input.amount_invalid", field=field, label=label)
    if not minimum <= cents <= maximum:
        raise ServiceError("input.amount_out_of_range", field=field, label=label, minimum=euro(minimum),
                           maximum=euro(maximum))
    return cents
