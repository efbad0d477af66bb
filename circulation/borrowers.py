"""Who is at the desk: a scanned card number becomes a Borrower.

A card of this library is an own member. A card of another library organisation
(found in the national card index) is a guest: LSB reads, in the guest's home
library schema, only whether they may borrow and which member record holds the
card; nothing personal is copied here. Reads only; the services lock what they
change.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from collection.models import Item
from members.models import FormerCard, Member
from members.selectors.ledger import member_may_borrow
from tenants.models import CardIndex, LibraryOrganisation


@dataclass
class Borrower:
    card_number: str
    member: Member | None = None  # an own member
    home: LibraryOrganisation | None = None  # a guest's home library
    home_member_id: int | None = None
    may_borrow: bool = True
    reasons: list = field(default_factory=list)
    locked: bool = False  # an own member's row is locked by this transaction

    @property
    def is_guest(self):
        return self.home is not None

    @property
    def category_id(self):
        return self.member.category_id if self.member is not None else None

    @property
    def subscription_max_loans(self):
        return self.member.subscription.max_loans if self.member is not None else None

    @property
    def label(self):
        if self.is_guest:
            return f"Gastlener van {self.home.name} (pas {self.card_number})"
        return f"{self.member.full_name} (pas {self.card_number})"

    def loans_filter(self):
        """Keyword arguments selecting this borrower's loans in the lending library."""
        if self.is_guest:
            return {"guest_card_number": self.card_number, "guest_organisation_id": self.home.pk}
        return {"member_id": self.member.pk}


def normalise_card(card_number):
    return (card_number or "").strip()


def borrower_find(*, organisation, card_number, check=True, lock=False):
    """The Borrower for a scanned card, or a ValidationError saying (in Dutch) why
    this card cannot be used here. With check, may_borrow/reasons are filled in.
    With lock (inside a transaction), an own member's row is locked in the same
    query, and may_borrow is read under that lock (so a block or charge another
    desk committed while this one waited counts); guests are locked by the
    circulation services."""
    card_number = normalise_card(card_number)
    if not card_number:
        raise ValidationError("Scan eerst de pas van het lid.")
    members = Member.objects.select_related("category", "subscription")
    if lock:
        members = members.select_for_update(of=("self",))
    member = members.filter(card_number=card_number).first()
    if member is not None:
        if member.erased_at is not None:
            raise ValidationError("Deze pas hoort bij een gewist lid en is niet meer geldig.")
        borrower = Borrower(card_number=card_number, member=member, locked=lock)
        if check:
            borrower.may_borrow, borrower.reasons = member_may_borrow(member)
        return borrower
    former = FormerCard.objects.select_related("member").filter(card_number=card_number).first()
    if former is not None:
        raise ValidationError(
            f"Pas {card_number} is vervangen ({former.reason}) en is niet meer geldig; vraag om de nieuwe pas."
        )
    if Item.objects.filter(barcode=card_number).exists():
        raise ValidationError(f"{card_number} is de barcode van een exemplaar, geen pas. Scan eerst de pas van het lid.")
    entry = CardIndex.objects.select_related("organisation").filter(card_number=card_number).first()
    if entry is None:
        raise ValidationError(f"Pas {card_number} is onbekend: niet van deze bibliotheek en niet in de landelijke pasindex.")
    if entry.organisation_id == organisation.pk:
        # In our index but not in our schema: a card that was merged away or erased.
        raise ValidationError(f"Pas {card_number} is niet meer geldig bij {organisation.name}.")
    if not entry.is_active:
        raise ValidationError(f"Pas {card_number} is geblokkeerd door {entry.organisation.name} (vervangen of verloren).")
    home = entry.organisation
    if not home.is_active:
        raise ValidationError(f"{home.name} doet (nog) niet mee aan LSB; deze pas kan hier niet lenen.")
    with schema_context(home.schema_name):
        home_member = Member.objects.filter(card_number=card_number).first()
        if home_member is None:
            raise ValidationError(f"Pas {card_number} is niet (meer) geldig bij {home.name}.")
        borrower = Borrower(card_number=card_number, home=home, home_member_id=home_member.pk)
        if check:
            may, reasons = member_may_borrow(home_member)
            borrower.may_borrow = may
            borrower.reasons = [f"Bij de eigen bibliotheek ({home.name}): {reason}" for reason in reasons]
    return borrower
