"""Member registration and the member record: register, update (optimistic
locking), renew, replace a card, merge duplicates; the under-18 rule, the daily
age transition and expiry; the library's categories and subscription types.

Decisions:
- Card numbers are 6-20 letters/digits (members.models.CARD_NUMBER_PATTERN),
  stored in capitals, and unique nationally: the public CardIndex holds every
  card ever issued (also replaced ones, inactive), so a card number is never
  reused, by this library or another. Its primary key also settles two desks
  registering the same card at the same moment.
- Category follows age. Under 18 a member is free: they get a youth category and
  only a youth subscription (which the database keeps free). Categories may not
  overlap and must lie wholly under or wholly from 18.
- Membership runs a year ("lid tot en met" = the day before the same date next
  year); registration and renewal post the subscription fee (when > 0) on the
  account. A youth member turning 18 moves to the adult category and its
  default subscription at once (daily task, e-mail); the adult fee is charged
  from the next renewal. A subscription change by staff takes effect for the fee
  at the next renewal as well.
- The PIN is optional at registration (a member without one cannot use
  self-service), but when given it is PIN_MIN_LENGTH-12 digits. It is stored
  only as a Django password hash and never logged or put in the audit log.
- A replaced card becomes a FormerCard and is inactive in the CardIndex: a scan
  of it finds the member with the old-card flag and the desk refuses it.
- Merge: the duplicate's ledger, blocks, former cards, wards and audit entries
  move to the kept member; the duplicate's card becomes a former card of the
  kept member; empty fields of the kept member are filled from the duplicate;
  the duplicate keeps only its history (merged_into).
- Locks: member rows (the borrower rank of core.locks) in ascending id order,
  then their ledger/blocks (through the ledger services, which take the member
  row again inside this transaction: harmless).
- Who: every service takes an `actor` (core.actors.Actor) of the library whose
  schema the connection is in. Staff need the desk role (categories and
  subscription types: library administrator); the system (imports, demo data,
  nightly runs) may; a member may change only their own contact details, PIN and
  consents. Audit rows, ledger entries and former cards keep `actor.ref`.

Refusals are core.errors.ServiceError codes (members/errors.py), several at once
as ServiceErrors; when a service raises it has changed nothing.
"""

import datetime
import logging
import re

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import locks
from core.errors import ServiceError, ServiceErrors
from core.locks import lock_row, lock_rows
from core.money import MAX_AMOUNT_CENTS, euro
from staff.models import Role
from tenants.models import Branch, CardIndex, normalise_postcode

from ..cards import card_number_normalise
from ..models import (
    CARD_NUMBER_PATTERN,
    PIN_MIN_LENGTH,
    AuditEntry,
    Block,
    FormerCard,
    LedgerEntry,
    Member,
    MemberCategory,
    SubscriptionType,
)
from ..selectors.access import require_staff_role
from ..selectors.ledger import automatic_blocks_due, member_rules_get
from ..selectors.registration import (
    ADULT_AGE,
    age_on,
    member_category_for_age,
    members_turned_adult,
)
from .ledger import ledger_charge, member_blocks_refresh
from .privacy import audit_record

logger = logging.getLogger(__name__)

PIN_MAX_LENGTH = 12
OLDEST_BIRTH_YEAR = 1900

_CARD_RE = re.compile(CARD_NUMBER_PATTERN)
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}$")

# Fields staff may change through member_update (card number: member_card_replace).
UPDATABLE_FIELDS = {
    "first_name", "name_prefix", "last_name", "date_of_birth", "street", "house_number", "postcode", "city",
    "email", "phone", "preferred_branch_id", "notes", "subscription", "guardian_id", "consents", "pin",
}
# What a member may change about themself (OPAC); the rest is the desk's.
MEMBER_SELF_FIELDS = {"street", "house_number", "postcode", "city", "email", "phone", "preferred_branch_id",
                      "consents", "pin"}
CONSENT_FIELDS = {
    "loan_history": "consent_loan_history_at",
    "newsletter": "consent_newsletter_at",
    "suggestions": "consent_suggestions_at",
}
_MAX_LENGTHS = {
    "first_name": (_("De voornaam"), 80), "name_prefix": (_("Het tussenvoegsel"), 20),
    "last_name": (_("De achternaam"), 120), "street": (_("De straat"), 120),
    "house_number": (_("Het huisnummer"), 10), "city": (_("De plaats"), 80), "notes": (_("De notities"), 5000),
}


# --- helpers -----------------------------------------------------------------------

def _refused(problems):
    """Raise every problem found at once (one ServiceError, or ServiceErrors)."""
    if len(problems) == 1:
        raise problems[0]
    raise ServiceErrors(problems)


def membership_end(start):
    """'Lid tot en met': the day before the same date a year later."""
    try:
        next_year = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        next_year = datetime.date(start.year + 1, 3, 1)
    return next_year - datetime.timedelta(days=1)


def card_number_clean(card_number):
    """Strip and capitalise a card number; ServiceError when it does not fit the pattern."""
    value = card_number_normalise(card_number)
    if not value:
        raise ServiceError("card.missing", field="card_number")
    if not _CARD_RE.match(value):
        raise ServiceError("card.invalid", field="card_number", card_number=value)
    return value


def _card_number_free(value):
    """Refuse a card number already issued anywhere (any library, also replaced cards)."""
    holder = CardIndex.objects.filter(card_number=value).select_related("organisation").first()
    if holder is not None:
        if holder.organisation.schema_name == connection.schema_name:
            raise ServiceError("card.issued_here", field="card_number", card_number=value)
        raise ServiceError("card.issued_elsewhere", field="card_number", card_number=value)
    if (
        Member.objects.filter(card_number=value).exists()
        or FormerCard.objects.filter(card_number=value).exists()
    ):
        raise ServiceError("card.issued_here", field="card_number", card_number=value)


def _card_index_add(value, organisation):
    """Claim the card number in the national index; a concurrent claim loses here."""
    try:
        with transaction.atomic():
            CardIndex.objects.create(card_number=value, organisation=organisation)
    except IntegrityError:
        raise ServiceError("card.issued_meanwhile", field="card_number", card_number=value)


def _clean_text(values, problems):
    for field, (label, max_length) in _MAX_LENGTHS.items():
        if field in values:
            values[field] = (values[field] or "").strip()
            if len(values[field]) > max_length:
                problems.append(ServiceError("member.text_too_long", field=field, label=label,
                                             max_length=max_length))


def _clean_date_of_birth(value, today, problems):
    if value is None:
        problems.append(ServiceError("member.birth_date_missing", field="date_of_birth"))
        return None
    if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
        problems.append(ServiceError("member.birth_date_invalid", field="date_of_birth"))
        return None
    if value > today:
        problems.append(ServiceError("member.birth_date_future", field="date_of_birth"))
    elif value.year < OLDEST_BIRTH_YEAR:
        problems.append(ServiceError("member.birth_date_too_early", field="date_of_birth", year=OLDEST_BIRTH_YEAR))
    return value


def _clean_contact(values, problems):
    if "postcode" in values:
        postcode = (values["postcode"] or "").strip()
        if postcode:
            try:
                postcode = normalise_postcode(postcode)
            except ValidationError:
                problems.append(ServiceError("member.postcode_invalid", field="postcode", postcode=postcode))
        values["postcode"] = postcode
    if "house_number" in values:
        values["house_number"] = (values["house_number"] or "").strip()
    if "email" in values:
        email = (values["email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(ServiceError("member.email_invalid", field="email", email=email))
            if len(email) > 254:
                problems.append(ServiceError("member.email_too_long", field="email"))
        values["email"] = email
    if "phone" in values:
        phone = (values["phone"] or "").strip()
        if phone and not _PHONE_RE.match(phone):
            problems.append(ServiceError("member.phone_invalid", field="phone", phone=phone))
        values["phone"] = phone


def _clean_pin(pin, problems, *, required=False):
    """The PIN's hash, '' when no PIN is given (and not required), None on a problem."""
    pin = (pin or "").strip()
    if not pin:
        if required:
            problems.append(ServiceError("member.pin_missing", field="pin"))
        return ""
    if not pin.isdigit():
        problems.append(ServiceError("member.pin_not_digits", field="pin"))
        return None
    if len(pin) < PIN_MIN_LENGTH:
        problems.append(ServiceError("member.pin_too_short", field="pin", min=PIN_MIN_LENGTH))
        return None
    if len(pin) > PIN_MAX_LENGTH:
        problems.append(ServiceError("member.pin_too_long", field="pin", max=PIN_MAX_LENGTH))
        return None
    return make_password(pin)


def _clean_branch(branch_id, organisation, problems):
    if branch_id in (None, ""):
        return None
    branch = Branch.objects.filter(pk=branch_id, organisation=organisation).first()
    if branch is None:
        problems.append(ServiceError("member.branch_other_library", field="preferred_branch_id"))
        return None
    return branch.pk


def _clean_guardian(guardian_id, *, member_pk, age, today, problems):
    if guardian_id in (None, ""):
        return None
    guardian = Member.objects.filter(pk=guardian_id, erased_at__isnull=True, merged_into__isnull=True).first()
    if guardian is None:
        problems.append(ServiceError("guardian.not_member", field="guardian_id"))
        return None
    if member_pk is not None and guardian.pk == member_pk:
        problems.append(ServiceError("guardian.self", field="guardian_id"))
        return None
    if age is not None and age >= ADULT_AGE:
        problems.append(ServiceError("guardian.member_adult", field="guardian_id"))
        return None
    if guardian.date_of_birth is None or age_on(guardian.date_of_birth, today) < ADULT_AGE:
        problems.append(ServiceError("guardian.minor", field="guardian_id"))
        return None
    return guardian.pk


def _category_and_subscription(age, subscription, problems):
    """The category for `age` and the subscription (the category's default when None),
    with the under-18 rule enforced."""
    category = member_category_for_age(age)
    if category is None:
        problems.append(ServiceError("category.none_for_age", age=age))
        return None, None
    if subscription is None:
        subscription = category.default_subscription
    elif not isinstance(subscription, SubscriptionType):
        subscription = SubscriptionType.objects.filter(pk=subscription).first()
        if subscription is None:
            problems.append(ServiceError("subscription.unknown", field="subscription"))
            return category, None
    if not subscription.is_active:
        problems.append(ServiceError("subscription.inactive", field="subscription", subscription=subscription.name))
    if age < ADULT_AGE and not subscription.for_youth:
        problems.append(ServiceError("subscription.youth_required", field="subscription",
                                     subscription=subscription.name))
    if age >= ADULT_AGE and subscription.for_youth:
        problems.append(ServiceError("subscription.youth_only", field="subscription", subscription=subscription.name))
    return category, subscription


def _consents(consents, now):
    consents = consents or {}
    unknown = set(consents) - set(CONSENT_FIELDS)
    if unknown:
        raise ValueError(f"Unknown consents: {sorted(unknown)}")
    return {CONSENT_FIELDS[key]: (now if bool(given) else None) for key, given in consents.items()}


def _post_subscription_fee(member, actor, start, end):
    fee = member.subscription.annual_fee_cents
    if fee > 0:
        ledger_charge(
            actor=actor, member=member, charge_type=LedgerEntry.ChargeType.SUBSCRIPTION, amount_cents=fee,
            description=f"Abonnement {member.subscription.name} {start:%d-%m-%Y} t/m {end:%d-%m-%Y}",
        )


def _lock_live(member_id):
    member = lock_row(locks.BORROWER, Member.objects.filter(pk=member_id))
    if member is None or member.erased_at is not None:
        raise ServiceError("member.not_found")
    if member.merged_into_id is not None:
        raise ServiceError("member.merged")
    return member


# --- register ----------------------------------------------------------------------

def member_register(*, actor, card_number, first_name, last_name, date_of_birth,
                    name_prefix="", street="", house_number="", postcode="", city="", email="", phone="",
                    preferred_branch_id=None, notes="", pin="", subscription=None, guardian_id=None,
                    consents=None, paid_until=None, today=None):
    """Register a new member of the actor's library (desk staff, or the system for
    imports and demo data).

    Validates everything first and reports every problem at once; then, in one
    transaction: the member, the national card index entry, the subscription fee
    on the account (when > 0) and a CREATE entry in the audit log.

    `paid_until`: a member migrated from a previous system who already paid their
    subscription there until that date; the membership runs until then and no fee
    is posted (the next renewal charges as usual)."""
    organisation = actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    today = today or timezone.localdate()
    problems = []
    try:
        card = card_number_clean(card_number)
        _card_number_free(card)
    except ServiceError as error:
        problems.append(error)
        card = None
    values = {
        "first_name": first_name, "name_prefix": name_prefix, "last_name": last_name, "street": street,
        "house_number": house_number, "postcode": postcode, "city": city, "email": email, "phone": phone,
        "notes": notes,
    }
    _clean_text(values, problems)
    if not values["first_name"]:
        problems.append(ServiceError("member.first_name_missing", field="first_name"))
    if not values["last_name"]:
        problems.append(ServiceError("member.last_name_missing", field="last_name"))
    _clean_contact(values, problems)
    date_of_birth = _clean_date_of_birth(date_of_birth, today, problems)
    pin_hash = _clean_pin(pin, problems)
    branch_id = _clean_branch(preferred_branch_id, organisation, problems)
    category = None
    age = None
    if date_of_birth is not None and date_of_birth <= today:
        age = age_on(date_of_birth, today)
        category, subscription = _category_and_subscription(age, subscription, problems)
    guardian_pk = _clean_guardian(guardian_id, member_pk=None, age=age, today=today, problems=problems)
    if problems:
        _refused(problems)

    now = timezone.now()
    with transaction.atomic():
        _card_index_add(card, organisation)
        member = Member.objects.create(
            card_number=card, date_of_birth=date_of_birth, preferred_branch_id=branch_id, category=category,
            subscription=subscription, expires_on=paid_until or membership_end(today), pin_hash=pin_hash,
            guardian_id=guardian_pk, **values, **_consents(consents, now),
        )
        audit_record(actor=actor, member=member, action=AuditEntry.Action.CREATE, detail={
            "category": category.code, "subscription": subscription.code,
        })
        if paid_until is None:
            _post_subscription_fee(member, actor, today, member.expires_on)
    return member


# --- update ------------------------------------------------------------------------

def member_update(*, actor, member_id, expected_version, today=None, **fields):
    """Change a member's data. Refused when the member was changed since the form was
    loaded (`expected_version`), so two desks never silently overwrite each other.

    `fields`: any of UPDATABLE_FIELDS; `consents` is a dict (loan_history,
    newsletter, suggestions -> bool; a consent kept keeps its original date);
    `pin` empty keeps the current PIN. A changed date of birth moves the member
    to the category for their age (and, when the under-18 rule requires it, to
    that category's default subscription).

    Desk staff change anything; a member actor only their own MEMBER_SELF_FIELDS."""
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"member_update cannot change {sorted(unknown)}")
    organisation = actor.require_current_library()
    actor.require_member(member_id)
    if actor.is_member:
        if set(fields) - MEMBER_SELF_FIELDS:
            raise ServiceError("member.fields_not_own")
    else:
        require_staff_role(actor, Role.DESK)
    today = today or timezone.localdate()
    with transaction.atomic():
        member = _lock_live(member_id)
        if member.version != expected_version:
            raise ServiceError("member.changed_meanwhile")
        problems = []
        values = {key: fields[key] for key in (
            "first_name", "name_prefix", "last_name", "street", "house_number", "postcode", "city", "email",
            "phone", "notes") if key in fields}
        _clean_text(values, problems)
        if "first_name" in values and not values["first_name"]:
            problems.append(ServiceError("member.first_name_missing", field="first_name"))
        if "last_name" in values and not values["last_name"]:
            problems.append(ServiceError("member.last_name_missing", field="last_name"))
        _clean_contact(values, problems)
        if "preferred_branch_id" in fields:
            values["preferred_branch_id"] = _clean_branch(fields["preferred_branch_id"], organisation, problems)
        date_of_birth = member.date_of_birth
        if "date_of_birth" in fields:
            date_of_birth = _clean_date_of_birth(fields["date_of_birth"], today, problems)
            values["date_of_birth"] = date_of_birth
        age = age_on(date_of_birth, today) if date_of_birth and date_of_birth <= today else None
        if "pin" in fields:
            pin_hash = _clean_pin(fields["pin"], problems)
            if pin_hash:
                values["pin_hash"] = pin_hash
        if "guardian_id" in fields:
            values["guardian_id"] = _clean_guardian(
                fields["guardian_id"], member_pk=member.pk, age=age, today=today, problems=problems
            )
        elif member.guardian_id and age is not None and age >= ADULT_AGE and "date_of_birth" in fields:
            values["guardian_id"] = None
        if age is not None:
            wanted = fields.get("subscription", member.subscription)
            if "subscription" not in fields and (age < ADULT_AGE) != member.subscription.for_youth:
                wanted = None  # the category's default
            category, subscription = _category_and_subscription(age, wanted, problems)
            if category is not None and subscription is not None:
                values["category"] = category
                values["subscription"] = subscription
        if "consents" in fields:
            now = timezone.now()
            for key, given in (fields["consents"] or {}).items():
                if key not in CONSENT_FIELDS:
                    raise ValueError(f"Unknown consent {key!r}")
                attribute = CONSENT_FIELDS[key]
                current = getattr(member, attribute)
                values[attribute] = (current or now) if given else None
        if problems:
            _refused(problems)

        changed = []
        for attribute, value in values.items():
            current = getattr(member, attribute)
            if attribute in ("category", "subscription"):
                if current.pk != value.pk:
                    changed.append(attribute)
                    setattr(member, attribute, value)
            elif attribute == "pin_hash":
                changed.append("pin")
                member.pin_hash = value
            elif current != value:
                changed.append(attribute.removesuffix("_id"))
                setattr(member, attribute, value)
        if changed:
            member.version += 1
            member.save()
            audit_record(actor=actor, member=member, action=AuditEntry.Action.UPDATE,
                         detail={"fields": sorted(changed)})
    return member


# --- renew -------------------------------------------------------------------------

def member_subscription_renew(*, actor, member, expected_version=None, today=None):
    """Extend the membership by a year (from the current end, or from today when it
    has lapsed) and post the subscription fee. A member who has turned 18 in the
    meantime is first moved to the adult category. Lifts the expiry block. Desk
    staff (or the system)."""
    actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    today = today or timezone.localdate()
    with transaction.atomic():
        locked = _lock_live(member.pk)
        if expected_version is not None and locked.version != expected_version:
            raise ServiceError("member.changed_meanwhile")
        if locked.date_of_birth is not None:
            _apply_age_rule(locked, today, actor=actor)
        start = today if locked.expires_on is None or locked.expires_on < today else (
            locked.expires_on + datetime.timedelta(days=1)
        )
        if start > today + datetime.timedelta(days=366):
            raise ServiceError("membership.renew_too_early", expires_on=f"{locked.expires_on:%d-%m-%Y}")
        locked.expires_on = membership_end(start)
        locked.version += 1
        locked.save(update_fields=["expires_on", "version", "updated_at"])
        audit_record(actor=actor, member=locked, action=AuditEntry.Action.UPDATE,
                     detail={"fields": ["expires_on"], "renewed": True})
        _post_subscription_fee(locked, actor, start, locked.expires_on)
        member_blocks_refresh(actor=actor, member=locked, today=today)
    return locked


# --- card replacement --------------------------------------------------------------

def member_card_replace(*, actor, member, new_card_number, reason, fee_cents=0, expected_version=None):
    """Give a member a new card (the old one lost, stolen or broken). The old card
    becomes a former card, inactive in the national index: scanning it is refused.
    `fee_cents` > 0 posts a card replacement charge. Refused when the member was
    changed since the form was loaded (`expected_version`). Desk staff (or the system)."""
    organisation = actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    reason = (reason or "").strip()
    problems = []
    if not reason:
        problems.append(ServiceError("card.reason_missing", field="reason"))
    elif len(reason) > 120:
        problems.append(ServiceError("card.reason_too_long", field="reason", max_length=120))
    if type(fee_cents) is not int or not 0 <= fee_cents <= MAX_AMOUNT_CENTS:  # noqa: E721
        problems.append(ServiceError("card.fee_out_of_range", field="fee_cents", max=euro(MAX_AMOUNT_CENTS)))
    try:
        card = card_number_clean(new_card_number)
        _card_number_free(card)
    except ServiceError as error:
        problems.append(error)
        card = None
    if problems:
        _refused(problems)
    with transaction.atomic():
        locked = _lock_live(member.pk)
        if expected_version is not None and locked.version != expected_version:
            raise ServiceError("member.changed_meanwhile")
        old = locked.card_number
        _card_index_add(card, organisation)
        CardIndex.objects.filter(card_number=old, organisation=organisation).update(is_active=False)
        FormerCard.objects.create(
            member=locked, card_number=old, reason=reason, replaced_by_id=_staff_id(actor), actor_ref=actor.ref,
        )
        locked.card_number = card
        locked.version += 1
        locked.save(update_fields=["card_number", "version", "updated_at"])
        audit_record(actor=actor, member=locked, action=AuditEntry.Action.CARD,
                     detail={"reason": reason, "fee_cents": fee_cents})
        if fee_cents:
            ledger_charge(actor=actor, member=locked, charge_type=LedgerEntry.ChargeType.CARD_REPLACEMENT,
                          amount_cents=fee_cents, description="Vervangende pas")
    return locked


def _staff_id(actor):
    user = actor.user_or_none
    return user.pk if user is not None else None


# --- merge -------------------------------------------------------------------------

MERGE_FILL_FIELDS = ["name_prefix", "date_of_birth", "street", "house_number", "postcode", "city", "email",
                     "phone", "preferred_branch_id", "notes", "pin_hash"]


_MERGE_MOVERS = {}


def merge_mover_register(*, key, move):
    """Register what moves another app's records of a duplicate member to the kept
    one when two records are merged (circulation: loans, holds). ``move(*, actor,
    duplicate_id, kept_id)`` runs inside the merge's transaction (after both member
    rows are locked), with the merge's actor for what it records, and returns how
    many rows moved."""
    _MERGE_MOVERS[key] = move


def member_merge(*, actor, keep, duplicate, today=None):
    """Merge `duplicate` into `keep` (two records of the same person). See the module
    docstring for what moves. Returns the kept member. Desk staff (or the system)."""
    organisation = actor.require_current_library()
    require_staff_role(actor, Role.DESK)
    today = today or timezone.localdate()
    if keep.pk == duplicate.pk:
        raise ServiceError("merge.same_member")
    with transaction.atomic():
        locked = {
            member.pk: member
            for member in lock_rows(locks.BORROWER, Member.objects.filter(pk__in=[keep.pk, duplicate.pk]))
        }
        kept, dup = locked.get(keep.pk), locked.get(duplicate.pk)
        for member in (kept, dup):
            if member is None or member.erased_at is not None:
                raise ServiceError("merge.member_gone")
            if member.merged_into_id is not None:
                raise ServiceError("merge.already_merged", card_number=member.card_number)

        # Automatic blocks are per member at most one of each kind: lift the duplicate's
        # and let the kept member's be refreshed from the merged balance below.
        now = timezone.now()
        Block.objects.filter(member=dup, lifted_at__isnull=True).exclude(kind=Block.Kind.MANUAL).exclude(
            kind=Block.Kind.LOST_CARD).update(lifted_at=now)
        moved = {
            "ledger": LedgerEntry.objects.filter(member=dup).update(member=kept),
            "blocks": Block.objects.filter(member=dup).update(member=kept),
            "former_cards": FormerCard.objects.filter(member=dup).update(member=kept),
            "wards": Member.objects.filter(guardian=dup).exclude(pk=kept.pk).update(guardian=kept),
            "audit": AuditEntry.objects.filter(member_id_ref=dup.pk).update(member_id_ref=kept.pk),
        }
        for key, move in list(_MERGE_MOVERS.items()):
            moved[key] = move(actor=actor, duplicate_id=dup.pk, kept_id=kept.pk)
        FormerCard.objects.create(member=kept, card_number=dup.card_number,
                                  reason=f"Dubbele inschrijving, samengevoegd met pas {kept.card_number}",
                                  replaced_by_id=_staff_id(actor), actor_ref=actor.ref)
        CardIndex.objects.filter(card_number=dup.card_number, organisation=organisation).update(is_active=False)

        filled = []
        for field in MERGE_FILL_FIELDS:
            if not getattr(kept, field) and getattr(dup, field):
                setattr(kept, field, getattr(dup, field))
                filled.append(field.removesuffix("_id"))
        for attribute in CONSENT_FIELDS.values():
            if getattr(kept, attribute) is None and getattr(dup, attribute) is not None:
                setattr(kept, attribute, getattr(dup, attribute))
                filled.append(attribute)
        if dup.expires_on and (kept.expires_on is None or dup.expires_on > kept.expires_on):
            kept.expires_on = dup.expires_on
            filled.append("expires_on")
        if kept.guardian_id == dup.pk:
            kept.guardian_id = dup.guardian_id if dup.guardian_id != kept.pk else None
        if kept.date_of_birth is not None and "date_of_birth" in filled:
            _apply_age_rule(kept, today, actor=actor, save=False)
        kept.version += 1
        kept.save()
        dup.merged_into = kept
        dup.guardian = None
        dup.version += 1
        dup.save(update_fields=["merged_into", "guardian", "version", "updated_at"])
        audit_record(actor=actor, member=kept, action=AuditEntry.Action.MERGE,
                     detail={"merged": dup.pk, "moved": moved, "filled": filled})
        audit_record(actor=actor, member=dup, action=AuditEntry.Action.MERGE,
                     detail={"merged_into": kept.pk})
        member_blocks_refresh(actor=actor, member=kept, today=today)
    return kept


# --- age rule, age transition and expiry -------------------------------------------

def _apply_age_rule(member, today, *, actor, save=True):
    """Move a locked member to the category (and, if the under-18 rule requires it,
    the subscription) for their age. Returns True when something changed."""
    age = age_on(member.date_of_birth, today)
    category = member_category_for_age(age)
    if category is None:
        raise ServiceError("category.missing_for_age", age=age)
    subscription = member.subscription
    if (age < ADULT_AGE) != subscription.for_youth:
        subscription = category.default_subscription
        if (age < ADULT_AGE) != subscription.for_youth:
            raise ServiceError("category.default_subscription_mismatch", category=category.name, age=age)
    if category.pk == member.category_id and subscription.pk == member.subscription_id:
        return False
    member.category = category
    member.subscription = subscription
    if age >= ADULT_AGE:
        member.guardian = None
    if save:
        member.version += 1
        member.save(update_fields=["category", "subscription", "guardian", "version", "updated_at"])
        audit_record(actor=actor, member=member, action=AuditEntry.Action.UPDATE,
                     detail={"fields": ["category", "subscription"], "age_rule": True})
    return True


def members_age_transition(*, actor, today):
    """Daily: members who have turned 18 leave the youth category and subscription for
    the adult category and its default subscription, and get an e-mail (sent once the
    change is committed). Idempotent; one short transaction per member. Returns the
    ids of the members moved. The system's nightly run (or a library administrator)."""
    library = actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    moved = []
    for member_id in members_turned_adult(today=today):
        with transaction.atomic():
            member = lock_row(locks.BORROWER, Member.objects.select_related("subscription").filter(
                pk=member_id, erased_at__isnull=True, merged_into__isnull=True))
            if member is None or member.date_of_birth is None:
                continue
            try:
                changed = _apply_age_rule(member, today, actor=actor)
            except ServiceError as error:
                logger.error("Age transition of member %s in %s impossible: %s",
                             member.pk, library.schema_name, "; ".join(error.messages))
                continue
            if not changed:
                continue
            moved.append(member.pk)
            if member.email:
                transaction.on_commit(_adult_mail(library.name, member.email, member.first_name,
                                                  member.category.name, member.subscription, member.expires_on))
    return moved


def _adult_mail(library_name, email, first_name, category_name, subscription, expires_on):
    fee = subscription.annual_fee_cents
    fee_text = (
        f"De jaarbijdrage voor {subscription.name} is {euro(fee)}; die betaalt u vanaf de volgende verlenging"
        f"{f' (uw lidmaatschap loopt tot en met {expires_on:%d-%m-%Y})' if expires_on else ''}."
        if fee else f"Uw abonnement is nu {subscription.name}."
    )
    body = (
        f"Beste {first_name},\n\n"
        f"Gefeliciteerd met je 18e verjaardag! Je bent nu lid van {library_name} in de categorie "
        f"{category_name}.\n{fee_text}\n\n"
        "Met vriendelijke groet,\n"
        f"{library_name}\n"
    )

    def send():
        send_mail(f"Uw lidmaatschap van {library_name}", body, None, [email], fail_silently=False)

    return send


def members_expire(*, actor, today):
    """Daily: set the expiry block on members whose membership has lapsed, and lift it
    from members who were renewed (or when the library no longer blocks on expiry),
    as the library's rules say. Only EXPIRED blocks: the balance blocks follow the
    ledger. Idempotent; one short transaction per member. Returns how many members
    changed. The system's nightly run (or a library administrator)."""
    actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    rules = member_rules_get()
    active_block = Block.objects.filter(member_id=OuterRef("pk"), kind=Block.Kind.EXPIRED, lifted_at__isnull=True)
    members = Member.objects.annotate(blocked=Exists(active_block))
    live = Q(erased_at__isnull=True, merged_into__isnull=True)
    if rules.block_when_expired:
        due = live & Q(expires_on__lt=today)
    else:
        due = Q(pk__in=[])
    ids = set(members.filter(due, blocked=False).values_list("pk", flat=True))
    ids.update(members.filter(~due, blocked=True).values_list("pk", flat=True))
    changed = 0
    for member_id in sorted(ids):
        with transaction.atomic():
            member = lock_row(locks.BORROWER, Member.objects.filter(pk=member_id))
            reason = None
            if member.erased_at is None and member.merged_into_id is None:
                reason = automatic_blocks_due(member, rules=rules, balance_cents=0, today=today).get(
                    Block.Kind.EXPIRED)
            block = Block.objects.select_for_update().filter(
                member=member, kind=Block.Kind.EXPIRED, lifted_at__isnull=True).first()
            if reason is not None and block is None:
                block = Block.objects.create(member=member, kind=Block.Kind.EXPIRED, reason=str(reason),
                                             actor_ref=actor.ref)
                audit_record(actor=actor, member=member, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": block.kind, "set": True})
                changed += 1
            elif reason is None and block is not None:
                block.lifted_at = timezone.now()
                block.lifted_actor_ref = actor.ref
                block.save(update_fields=["lifted_at", "lifted_actor_ref"])
                audit_record(actor=actor, member=member, action=AuditEntry.Action.BLOCK,
                             detail={"block": block.pk, "kind": block.kind, "lifted": True})
                changed += 1
    return changed


# --- categories and subscription types (library admin) -----------------------------

def _code_and_name(code, name):
    """A subscription's or category's code and name, cleaned, with what is wrong with them."""
    code = (code or "").strip().lower()
    name = (name or "").strip()
    problems = []
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,29}", code):
        problems.append(ServiceError("members_setup.code_invalid", field="code"))
    if not name or len(name) > 100:
        problems.append(ServiceError("members_setup.name_invalid", field="name"))
    return code, name, problems


def subscription_type_save(*, actor, subscription_id=None, code, name, annual_fee_cents, max_loans,
                           includes="", for_youth=False, is_active=True):
    """Create or change a subscription type (library administrator, or the system).
    A youth subscription is free (the law); a subscription that is the default of a
    category stays active and keeps the youth/adult kind that category needs."""
    actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    code, name, problems = _code_and_name(code, name)
    if type(annual_fee_cents) is not int or not 0 <= annual_fee_cents <= MAX_AMOUNT_CENTS:  # noqa: E721
        problems.append(ServiceError("subscription.fee_out_of_range", field="annual_fee_cents",
                                     max=euro(MAX_AMOUNT_CENTS)))
    elif for_youth and annual_fee_cents:
        problems.append(ServiceError("subscription.youth_not_free", field="annual_fee_cents"))
    if type(max_loans) is not int or not 1 <= max_loans <= 999:  # noqa: E721
        problems.append(ServiceError("subscription.max_loans_out_of_range", field="max_loans"))
    with transaction.atomic():
        subscription = None
        if subscription_id is not None:
            subscription = SubscriptionType.objects.select_for_update().filter(pk=subscription_id).first()
            if subscription is None:
                raise ServiceError("subscription.unknown")
        if SubscriptionType.objects.filter(code=code).exclude(pk=subscription_id).exists():
            problems.append(ServiceError("subscription.code_taken", field="code", taken_code=code))
        if subscription is not None:
            defaults_of = list(MemberCategory.objects.filter(default_subscription=subscription))
            if defaults_of and not is_active:
                problems.append(ServiceError("subscription.default_stays_active", field="is_active"))
            for category in defaults_of:
                if category.is_youth != bool(for_youth):
                    problems.append(ServiceError(
                        "subscription.default_must_be_youth" if category.is_youth
                        else "subscription.default_must_be_adult", field="for_youth", category=category.name,
                    ))
            if subscription.for_youth != bool(for_youth) and subscription.members.filter(
                    erased_at__isnull=True, merged_into__isnull=True).exists():
                problems.append(ServiceError("subscription.kind_has_members", field="for_youth"))
        if problems:
            _refused(problems)
        subscription = subscription or SubscriptionType()
        subscription.code = code
        subscription.name = name
        subscription.annual_fee_cents = annual_fee_cents
        subscription.max_loans = max_loans
        subscription.includes = (includes or "").strip()
        subscription.for_youth = bool(for_youth)
        subscription.is_active = bool(is_active)
        subscription.save()
    return subscription


def member_category_save(*, actor, category_id=None, code, name, min_age, max_age, default_subscription_id):
    """Create or change a member category (library administrator, or the system).
    Categories do not overlap in age, lie wholly under or wholly from 18, and a
    youth category's default subscription is a youth subscription (an adult
    category's is not). Members keep their category until the daily age task or an
    edit moves them."""
    actor.require_current_library()
    require_staff_role(actor, Role.LIBRARY_ADMIN)
    code, name, problems = _code_and_name(code, name)
    if type(min_age) is not int or not 0 <= min_age <= 150:  # noqa: E721
        problems.append(ServiceError("category.min_age_out_of_range", field="min_age"))
        min_age = None
    if max_age is not None and (type(max_age) is not int or not 0 <= max_age <= 150):  # noqa: E721
        problems.append(ServiceError("category.max_age_out_of_range", field="max_age"))
        max_age = None
    if min_age is not None and max_age is not None and max_age < min_age:
        problems.append(ServiceError("category.max_before_min", field="max_age"))
    if min_age is not None and min_age < ADULT_AGE and (max_age is None or max_age >= ADULT_AGE):
        problems.append(ServiceError("category.spans_adult_age", field="max_age"))
    with transaction.atomic():
        # Serialise category changes (the overlap check reads all categories).
        list(MemberCategory.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        category = None
        if category_id is not None:
            category = MemberCategory.objects.filter(pk=category_id).first()
            if category is None:
                raise ServiceError("category.unknown")
        if MemberCategory.objects.filter(code=code).exclude(pk=category_id).exists():
            problems.append(ServiceError("category.code_taken", field="code", taken_code=code))
        subscription = SubscriptionType.objects.filter(pk=default_subscription_id).first()
        if subscription is None:
            problems.append(ServiceError("category.default_subscription_missing", field="default_subscription_id"))
        elif min_age is not None:
            youth = min_age < ADULT_AGE
            if not subscription.is_active:
                problems.append(ServiceError("subscription.inactive", field="default_subscription_id",
                                             subscription=subscription.name))
            if youth and not subscription.for_youth:
                problems.append(ServiceError("category.youth_needs_youth_subscription",
                                             field="default_subscription_id"))
            if not youth and subscription.for_youth:
                problems.append(ServiceError("category.adult_no_youth_subscription",
                                             field="default_subscription_id"))
        if min_age is not None and not problems:
            upper = max_age if max_age is not None else 10_000
            for other in MemberCategory.objects.exclude(pk=category_id):
                other_upper = other.max_age if other.max_age is not None else 10_000
                if min_age <= other_upper and other.min_age <= upper:
                    ages = f"{other.min_age}{f'–{other.max_age}' if other.max_age is not None else '+'}"
                    problems.append(ServiceError("category.ages_overlap", category=other.name, ages=ages))
        if problems:
            _refused(problems)
        category = category or MemberCategory()
        category.code = code
        category.name = name
        category.min_age = min_age
        category.max_age = max_age
        category.default_subscription = subscription
        category.save()
    return category
