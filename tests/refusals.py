"""Asserting a service's refusal by its code (core.errors) and, where the desk
shows it, by its Dutch sentence."""

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError

from core.errors import error_codes


@contextmanager
def refused(*codes, match=None):
    """`with refused("member.not_found"): ...` — the block raises a ValidationError
    carrying every code given (a ServiceError, or several in ServiceErrors), whose
    sentence matches `match` (a regular expression, searched) when given."""
    with pytest.raises(ValidationError, match=match) as raised:
        yield raised
    found = error_codes(raised.value)
    missing = [code for code in codes if code not in found]
    assert not missing, f"expected codes {list(codes)}, raised {found}: {raised.value.messages}"
