"""Who borrows: a scanned card number, or a library organisation, becomes a Borrower.

Three kinds (circulation.models.BorrowerKind), one value for all of them, so that
checkout, checkin, renewal and holds have one implementation of their rules:

- member: a card of this library is an own member.
- guest: a card of another library organisation (found in the national card
  index). LSB reads, in the guest's home library schema, only whether they may
  borrow and which member record holds the card; nothing personal is copied here.
- library: another library organisation borrowing a copy for interlibrary loan
  (the lending side): known by its registry id and the reference of its request,
  never by a person; it pays no fee or fine here and is sent no notices.

Reads only; the services lock what they change.
"""

import contextvars
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from collection.models import Item
from core import locks
from core.actors import Actor
from core.errors import ServiceError
from members.cards import card_number_normalise
from members.models import FormerCard, Member
from members.selectors.guests import guest_reason_category
from members.selectors.ledger import member_may_borrow
from members.services.guests import guest_lookup_record
from tenants.models import CardIndex, GuestLoan, LibraryOrganisation

from .models import BorrowerKind, GuestAgeGroup, Loan

LIBRARY_REFERENCE_MAX = Loan._meta.get_field("borrowing_library_ref").max_length

logger = logging.getLogger(__name__)


@dataclass
class Borrower:
    card_number: str = ""
    member: Member | None = None  # an own member
    home: LibraryOrganisation | None = None  # a guest's home library
    home_member_id: int | None = None
    borrowing_library: LibraryOrganisation | None = None  # a library organisation borrowing (IBL)
    reference: str = ""  # the borrowing library's reference (its IBL request)
    may_borrow: bool = True
    reasons: list = field(default_factory=list)
    locked: bool = False  # an own member's row is locked by this transaction
    # A guest, as their home library tells it: their age group (GuestAgeGroup, from their
    # category there; never a birth date) and the loan maximum of their subscription there.
    age_group: str | None = None
    home_max_loans: int | None = None

    @classmethod
    def library(cls, organisation, reference=""):
        """A library organisation as borrower (checked by the services: borrower_library)."""
        return cls(borrowing_library=organisation, reference=(reference or "").strip())

    @property
    def kind(self):
        if self.borrowing_library is not None:
            return BorrowerKind.LIBRARY
        if self.home is not None:
            return BorrowerKind.GUEST
        return BorrowerKind.MEMBER

    @property
    def is_guest(self):
        return self.home is not None

    @property
    def is_library(self):
        return self.borrowing_library is not None

    @property
    def pays(self):
        """Fees and fines go to a person's account (here, or at a guest's home); a
        library organisation is charged nothing here."""
        return not self.is_library

    @property
    def category_id(self):
        return self.member.category_id if self.member is not None else None

    @property
    def subscription_max_loans(self):
        """The loan maximum of the borrower's subscription (a guest's at home)."""
        if self.is_guest:
            return self.home_max_loans
        return self.member.subscription.max_loans if self.member is not None else None

    @property
    def label(self):
        if self.is_library:
            request = f", aanvraag {self.reference}" if self.reference else ""
            return f"{self.borrowing_library.name} (IBL{request})"
        if self.is_guest:
            return f"Gastlener van {self.home.name} (pas {self.card_number})"
        return f"{self.member.full_name} (pas {self.card_number})"

    @property
    def lock_key(self):
        """What the services' advisory lock serialises for a borrower without a row
        here (a guest card, a library); None for an own member (its row is locked)."""
        if self.is_library:
            return f"library:{self.borrowing_library.pk}"
        if self.is_guest:
            return f"{self.home.pk}:{self.card_number}"
        return None

    def loans_filter(self):
        """Keyword arguments selecting this borrower's loans in the lending library
        (for a library: all its loans here, whichever request)."""
        if self.is_library:
            return {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_id": self.borrowing_library.pk}
        if self.is_guest:
            return {"guest_card_number": self.card_number, "guest_organisation_id": self.home.pk}
        return {"member_id": self.member.pk}

    def loan_fields(self):
        """The borrower fields of a new Loan (exactly those of its kind)."""
        if self.is_library:
            return {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_id": self.borrowing_library.pk,
                    "borrowing_library_ref": self.reference}
        if self.is_guest:
            return {"borrower_kind": BorrowerKind.GUEST, "guest_card_number": self.card_number,
                    "guest_organisation_id": self.home.pk}
        return {"borrower_kind": BorrowerKind.MEMBER, "member": self.member}

    def hold_fields(self):
        """The borrower fields of a new Hold (members and libraries hold; guests at home)."""
        if self.is_library:
            return {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_id": self.borrowing_library.pk,
                    "borrowing_library_ref": self.reference}
        if self.is_guest:
            raise ValueError("a guest places holds at their home library")
        return {"borrower_kind": BorrowerKind.MEMBER, "member": self.member}

    def holds_filter(self):
        """Keyword arguments selecting this borrower's holds (a library: this request's)."""
        if self.is_library:
            return {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_id": self.borrowing_library.pk,
                    "borrowing_library_ref": self.reference}
        if self.is_guest:
            return {"pk__in": []}
        return {"member_id": self.member.pk}

    def owns_loan(self, loan):
        """Is this open loan this borrower's (scanning it again renews it)?"""
        if self.is_library:
            return (loan.borrower_kind == BorrowerKind.LIBRARY
                    and loan.borrowing_library_id == self.borrowing_library.pk
                    and loan.borrowing_library_ref == self.reference)
        if self.is_guest:
            return (loan.borrower_kind == BorrowerKind.GUEST and loan.guest_card_number == self.card_number
                    and loan.guest_organisation_id == self.home.pk)
        return loan.member_id is not None and loan.member_id == self.member.pk

    def owns_hold(self, hold):
        if self.is_library:
            return (hold.borrower_kind == BorrowerKind.LIBRARY
                    and hold.borrowing_library_id == self.borrowing_library.pk
                    and hold.borrowing_library_ref == self.reference)
        if self.is_guest:
            return False
        return hold.member_id is not None and hold.member_id == self.member.pk


# The members app's one clean-up of a card number (" 2010 0000 01 ", lower case).
normalise_card = card_number_normalise


def block_reasons(member, *, home=None):
    """(may borrow, [ServiceError]) for a member record: why they may not borrow or
    reserve now, as the members app says it (member.blocked_by_library,
    member.balance_too_high, member.membership_expired, ...); for a guest (`home`,
    their home library) each as borrower.blocked_at_home, naming that library and
    only the category of the reason (members.selectors.guests: blocked by the home
    library, balance above its limit, membership expired, card replaced; never the
    home library's free text, an amount or a date), with the members app's code as
    reason_code and the category's as category."""
    may, reasons = member_may_borrow(member)
    if home is None:
        return may, list(reasons)
    guest_reasons = []
    for reason in reasons:
        category = guest_reason_category(reason)
        guest_reasons.append(ServiceError("borrower.blocked_at_home", home=home.name, reason=str(category),
                                          reason_code=reason.code, category=category.code))
    return may, guest_reasons


# --- guest lookups, told to the home library -------------------------------------------

_GUEST_LOOKUPS = contextvars.ContextVar("lsb_guest_lookups", default=None)


@contextmanager
def guest_lookups_audited(actor):
    """Around a lending step or a desk lookup: every guest card borrower_find
    resolves inside is told to the card's home library (its audit log: which
    library, branch and account looked, and the answer), once the step is over,
    whether it committed or was refused (a refusal rolls its transaction back, so the
    step is recorded after it, in a transaction of its own)."""
    found = []
    token = _GUEST_LOOKUPS.set(found)
    try:
        yield
    finally:
        _GUEST_LOOKUPS.reset(token)
        for borrower in {id(b): b for b in found}.values():
            guest_lookup_audit(actor=actor, borrower=borrower)


def guest_lookup_audit(*, actor, borrower):
    """Record this lookup in the guest's home library's audit log (which library,
    branch and account looked, and the answer: members.services.guests), at most
    once per actor, card and minute.

    Written in the home library's schema directly, in a transaction of its own,
    after the lending step ended, not through the outbox: the record is append-only
    and needs nothing else to happen with it, and a refused checkout (the probing
    case) rolls back its transaction, which would take an outbox message along.
    A failure to record is logged, never the desk's problem."""
    if actor is None or not borrower.is_guest or borrower.home_member_id is None:
        return None
    now = timezone.now()
    key = f"lsb:guest-lookup:{actor.ref}:{borrower.home.pk}:{borrower.home_member_id}:{now:%Y%m%d%H%M}"
    try:
        if not cache.add(key, 1, timeout=120):
            return None
        payload = {
            "actor": actor.ref, "staff": actor.staff_user.pk if actor.is_staff else None, "branch": actor.branch_id,
            "at": now.isoformat(timespec="seconds"), "may_borrow": bool(borrower.may_borrow),
            "categories": [reason.params.get("category", reason.code) for reason in borrower.reasons],
        }
        lending = actor.organisation
        with tenant_context(borrower.home), transaction.atomic():
            member = Member.objects.filter(pk=borrower.home_member_id).first()
            if member is None:
                return None
            return guest_lookup_record(actor=Actor.system("guest_lookup", borrower.home), member=member,
                                       lending=lending, payload=payload)
    except Exception:  # the lending itself must not fail on its audit record
        logger.exception("Guest lookup of member %s at %s not recorded", borrower.home_member_id, borrower.home.pk)
        return None


def guest_age_group(member):
    """The age group a home library tells for its member borrowing elsewhere: from
    the member's category (youth or adult), None when they have none."""
    if member.category_id is None:
        return None
    return GuestAgeGroup.YOUTH if member.category.is_youth else GuestAgeGroup.ADULT


def borrower_find(*, organisation, card_number, check=True, lock=False):
    """The Borrower for a scanned card, or a ServiceError (borrower.*) saying why this
    card cannot be used here. The card number is cleaned up here (normalise_card),
    so every edge gets the same answer for the same card. With check,
    may_borrow/reasons (ServiceErrors) are filled in. With lock (inside a
    transaction, after the item: core.locks' borrower rank), an own member's row is
    locked in the same query, and may_borrow is read under that lock (so a block or
    charge another desk committed while this one waited counts); guests are locked
    by the circulation services."""
    # As scanned too: an erased member's record keeps a placeholder that is no card
    # number ("gewist-12"), and scanning it must say so.
    as_scanned = (card_number or "").strip()
    card_number = normalise_card(card_number)
    if not card_number:
        raise ServiceError("borrower.no_card", field="card_number")
    members = Member.objects.select_related("category", "subscription")
    if lock:
        locks.note_lock(locks.BORROWER)
        members = members.select_for_update(of=("self",))
    member = members.filter(card_number__in={card_number, as_scanned}).first()
    if member is not None:
        if member.erased_at is not None:
            raise ServiceError("borrower.erased", field="card_number")
        borrower = Borrower(card_number=card_number, member=member, locked=lock)
        if check:
            borrower.may_borrow, borrower.reasons = block_reasons(member)
        return borrower
    former = FormerCard.objects.select_related("member").filter(card_number=card_number).first()
    if former is not None:
        raise ServiceError("borrower.card_replaced", field="card_number", card=card_number, reason=former.reason)
    if Item.objects.filter(barcode=card_number).exists():
        raise ServiceError("borrower.card_is_item", field="card_number", card=card_number)
    entry = CardIndex.objects.select_related("organisation").filter(card_number=card_number).first()
    if entry is None:
        raise ServiceError("borrower.card_unknown", field="card_number", card=card_number)
    if entry.organisation_id == organisation.pk:
        # In our index but not in our schema: a card that was merged away or erased.
        raise ServiceError("borrower.card_invalid_here", field="card_number", card=card_number,
                           library=organisation.name)
    if not entry.is_active:
        raise ServiceError("borrower.card_blocked_at_home", field="card_number", card=card_number,
                           home=entry.organisation.name)
    home = entry.organisation
    if not home.is_active:
        raise ServiceError("borrower.home_not_in_lsb", field="card_number", home=home.name)
    with schema_context(home.schema_name):
        home_member = Member.objects.select_related("category", "subscription").filter(card_number=card_number).first()
        if home_member is None:
            raise ServiceError("borrower.card_invalid_at_home", field="card_number", card=card_number,
                               home=home.name)
        borrower = Borrower(card_number=card_number, home=home, home_member_id=home_member.pk,
                            age_group=guest_age_group(home_member),
                            home_max_loans=home_member.subscription.max_loans if home_member.subscription_id else None)
        if check:
            borrower.may_borrow, borrower.reasons = block_reasons(home_member, home=home)
    collector = _GUEST_LOOKUPS.get()
    if collector is not None and check:
        collector.append(borrower)
    return borrower


def borrower_open_loans_everywhere(borrower, organisation):
    """A card's open loans in every library together (the national cap): at home (here
    for an own member, in the home library's schema for a guest) and as a guest
    anywhere (the national GuestLoan index), on the member's current and former cards."""
    home = borrower.home if borrower.is_guest else organisation
    member_id = borrower.home_member_id if borrower.is_guest else borrower.member.pk
    with schema_context(home.schema_name):
        cards = list(Member.objects.filter(pk=member_id).values_list("card_number", flat=True))
        cards += list(FormerCard.objects.filter(member_id=member_id).values_list("card_number", flat=True))
        at_home = Loan.objects.filter(member_id=member_id, ended_at__isnull=True).count()
    return at_home + GuestLoan.objects.filter(home_organisation=home, card_number__in=cards).count()


def borrower_library(*, organisation, library, reference=""):
    """The Borrower for a library organisation borrowing from this one (the lending
    side of interlibrary loan): `library` is a LibraryOrganisation, its id or its
    ISIL code; `reference` is its request (e.g. the IBL request id). Read fresh from
    the national registry: a library that left LSB cannot borrow. Nothing of the
    member it borrows for is known here."""
    reference = (reference or "").strip()
    if len(reference) > LIBRARY_REFERENCE_MAX:
        raise ServiceError("borrower.library_reference_too_long", field="reference", max=LIBRARY_REFERENCE_MAX)
    if isinstance(library, LibraryOrganisation):
        found = LibraryOrganisation.objects.filter(pk=library.pk).first()
    elif isinstance(library, int):
        found = LibraryOrganisation.objects.filter(pk=library).first()
    else:
        found = LibraryOrganisation.objects.filter(isil__iexact=(library or "").strip()).first()
    if found is None:
        raise ServiceError("borrower.library_unknown", library=str(getattr(library, "pk", library) or ""))
    if found.pk == organisation.pk:
        raise ServiceError("borrower.library_self", name=found.name)
    if not found.is_active:
        raise ServiceError("borrower.library_inactive", name=found.name)
    return Borrower.library(found, reference)


def borrower_resolve(*, organisation, card_number=None, borrower=None, lock=False):
    """The borrower of a checkout: a scanned card (borrower_find), or a Borrower
    value given by the caller (a library organisation, or a card), resolved afresh
    here so that every path checks the same things."""
    if borrower is not None and borrower.is_library:
        return borrower_library(organisation=organisation, library=borrower.borrowing_library,
                                reference=borrower.reference)
    if borrower is not None:
        card_number = borrower.card_number
    return borrower_find(organisation=organisation, card_number=card_number, lock=lock)


def borrower_of_library_loan(organisation, loan):
    """The Borrower of a loan to a library, for renewing it: may_borrow is False
    (with the reason) when that library can no longer borrow here."""
    try:
        return borrower_library(organisation=organisation, library=loan.borrowing_library_id,
                                reference=loan.borrowing_library_ref)
    except ServiceError as error:
        library = LibraryOrganisation(pk=loan.borrowing_library_id, name=f"bibliotheek {loan.borrowing_library_id}")
        return Borrower(borrowing_library=library, reference=loan.borrowing_library_ref, may_borrow=False,
                        reasons=[error])
