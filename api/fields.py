"""Strict JSON fields: a number where the schema says string, a string where it
says integer, is refused (400) rather than converted, so what is accepted is
exactly what the schema documents."""

import re

from django.core.validators import RegexValidator
from rest_framework import serializers


class FullMatch(RegexValidator):
    """A pattern the whole value must match (Python's `$` also matches before a final
    newline; JSON Schema's does not)."""

    def __call__(self, value):
        if not self.regex.fullmatch(str(value)):
            raise serializers.ValidationError(self.message, code=self.code)


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Geef tekst (een JSON-string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Geef een geheel getal (een JSON-getal)."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


# The shapes LSB gives card numbers, barcodes and PINs (members.models, collection.models).
CARD_PATTERN = r"^[0-9A-Za-z]{1,20}$"
BARCODE_PATTERN = r"^[0-9A-Za-z]{1,20}$"
MAX_ID = 2**63 - 1


def card_field(**kwargs):
    kwargs.setdefault("help_text", "Card number (pasnummer)")
    return StrictCharField(max_length=20, min_length=1, trim_whitespace=False,
                           validators=[FullMatch(CARD_PATTERN)], **kwargs)


def barcode_field(**kwargs):
    kwargs.setdefault("help_text", "The item's barcode")
    return StrictCharField(max_length=20, min_length=1, trim_whitespace=False,
                           validators=[FullMatch(BARCODE_PATTERN)], **kwargs)


def id_field(**kwargs):
    return StrictIntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class StrictDateField(serializers.DateField):
    """A date exactly as JSON Schema's "date" format writes it: YYYY-MM-DD."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not DATE_RE.fullmatch(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


class StrictQueryIntegerField(serializers.IntegerField):
    """An integer query parameter written as JSON writes integers (no spaces, signs or decimals)."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not INTEGER_RE.fullmatch(data):
            self.fail("invalid")
        return super().to_internal_value(data)


DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INTEGER_RE = re.compile(r"-?(0|[1-9][0-9]*)")
