"""Members for tests, registered through the real service (call inside the
library's schema, e.g. within tenant_context)."""

import datetime
import itertools

from core.actors import Actor
from members.models import MemberCategory, SubscriptionType
from members.services.registration import member_register

_numbers = itertools.count(1)


def default_categories():
    """The usual set-up of a library, in the current schema (idempotent):
    subscriptions jeugd (free, youth), standaard (EUR 45) and basis (EUR 25);
    categories jeugd 0-17 and volwassene 18+."""
    youth, _ = SubscriptionType.objects.get_or_create(
        code="jeugd", defaults={"name": "Jeugd", "annual_fee_cents": 0, "for_youth": True, "max_loans": 20,
                                "includes": "Boeken en tijdschriften"},
    )
    standard, _ = SubscriptionType.objects.get_or_create(
        code="standaard", defaults={"name": "Standaard", "annual_fee_cents": 4500, "max_loans": 20,
                                    "includes": "Boeken, tijdschriften, e-books"},
    )
    basic, _ = SubscriptionType.objects.get_or_create(
        code="basis", defaults={"name": "Basis", "annual_fee_cents": 2500, "max_loans": 5},
    )
    youth_category, _ = MemberCategory.objects.get_or_create(
        code="jeugd", defaults={"name": "Jeugd", "min_age": 0, "max_age": 17, "default_subscription": youth},
    )
    adult_category, _ = MemberCategory.objects.get_or_create(
        code="volwassene", defaults={"name": "Volwassene", "min_age": 18, "max_age": None,
                                     "default_subscription": standard},
    )
    return {"youth": youth, "standard": standard, "basic": basic, "youth_category": youth_category,
            "adult_category": adult_category}


def next_card_number(prefix="T"):
    return f"{prefix}{next(_numbers):07d}"


def make_member(*, actor=None, **fields):
    """Register a member in the current schema's library with sensible defaults
    (registered by the system unless `actor` says who)."""
    actor = actor or Actor.system("test")
    default_categories()
    values = {
        "card_number": next_card_number(), "first_name": "Anna", "last_name": "de Vries",
        "date_of_birth": datetime.date(1985, 3, 14), "street": "Oudegracht", "house_number": "12",
        "postcode": "3511 AB", "city": "Utrecht", "email": "anna@example.nl", "pin": "1234",
    }
    values.update(fields)
    return member_register(actor=actor, **values)
