"""Reads about members: search, lookup by card (also a former card), the category
that goes with an age, and the categories/subscriptions overview.

Everything runs in the connection's current schema (the request's library), so a
member id or card number of another library simply does not exist here.
Erased records and duplicates that were merged into another member are never
found by search or card; `member_get` returns them so the view can decide.
"""

import datetime
import re
from dataclasses import dataclass

from django.db.models import Count, Q

from tenants.models import normalise_postcode

from ..models import FormerCard, Member, MemberCategory, SubscriptionType

ADULT_AGE = 18

_DATE_RE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_POSTCODE_HOUSE_RE = re.compile(r"^(\d{4}\s?[A-Za-z]{2})(?:\s+(\S+))?$")
_CARD_RE = re.compile(r"^(?=.*\d)[0-9A-Za-z]{6,20}$")


def age_on(date_of_birth, today):
    """Age in whole years on `today` (someone born on 29 February turns a year older on 1 March)."""
    age = today.year - date_of_birth.year
    if (today.month, today.day) < (date_of_birth.month, date_of_birth.day):
        age -= 1
    return age


def adult_from(date_of_birth):
    """The day someone turns 18."""
    try:
        return date_of_birth.replace(year=date_of_birth.year + ADULT_AGE)
    except ValueError:  # 29 February
        return datetime.date(date_of_birth.year + ADULT_AGE, 3, 1)


def member_category_for_age(age):
    """The member category covering `age` (categories do not overlap: the service
    that saves them refuses that), or None when the library has none for it."""
    return (
        MemberCategory.objects.select_related("default_subscription")
        .filter(min_age__lte=age)
        .filter(Q(max_age__isnull=True) | Q(max_age__gte=age))
        .order_by("-min_age")
        .first()
    )


def _live():
    return Member.objects.filter(erased_at__isnull=True, merged_into__isnull=True)


def _parse_date(text):
    text = text.strip()
    match = _DATE_RE.match(text)
    try:
        if match:
            return datetime.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        match = _ISO_DATE_RE.match(text)
        if match:
            return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return None


def _name_filter(name):
    condition = Q()
    for word in name.split():
        condition &= (
            Q(first_name__unaccent__icontains=word)
            | Q(last_name__unaccent__icontains=word)
            | Q(name_prefix__unaccent__icontains=word)
        )
    return condition


def member_search(*, query="", card_number=None, name=None, date_of_birth=None, postcode=None,
                  house_number=None, email=None, limit=25, offset=0):
    """Members of this library matching every criterion given, by name.

    `query` is the desk's single search box and is read as a card number, an
    e-mail address, a date of birth (dd-mm-jjjj), a postcode with an optional
    house number ("3511 AB 12") or else a name (every word must occur in the
    first name, prefix or last name; accents ignored). A card number also finds
    the member who used to have it (former card). Returns a list: `limit` members
    from the `offset`-th on (pages of a list, e.g. the REST API's)."""
    members = _live()
    condition = Q()
    query = (query or "").strip()
    if query:
        as_date = _parse_date(query)
        postcode_match = _POSTCODE_HOUSE_RE.match(query)
        if "@" in query:
            condition &= Q(email__iexact=query)
        elif as_date is not None:
            condition &= Q(date_of_birth=as_date)
        elif postcode_match:
            condition &= Q(postcode=normalise_postcode(postcode_match.group(1)))
            if postcode_match.group(2):
                condition &= Q(house_number__iexact=postcode_match.group(2))
        elif _CARD_RE.match(query):
            condition &= _card_condition(query)
        else:
            condition &= _name_filter(query)
    if card_number:
        condition &= _card_condition(card_number.strip())
    if name and name.strip():
        condition &= _name_filter(name)
    if date_of_birth:
        condition &= Q(date_of_birth=date_of_birth)
    if postcode and postcode.strip():
        try:
            condition &= Q(postcode=normalise_postcode(postcode.strip()))
        except Exception:  # not a postcode: it matches nobody
            return []
    if house_number and house_number.strip():
        condition &= Q(house_number__iexact=house_number.strip())
    if email and email.strip():
        condition &= Q(email__iexact=email.strip())
    if not condition:
        return []
    return list(
        members.filter(condition)
        .select_related("category", "subscription")
        .order_by("last_name", "first_name", "pk")[offset:offset + limit]
    )


def _card_condition(card_number):
    # Card numbers are stored in capitals (members.services.registration.card_number_clean).
    card_number = card_number.strip().upper()
    former = FormerCard.objects.filter(card_number=card_number).values("member_id")
    return Q(card_number=card_number) | Q(pk__in=former)


def member_get(member_id):
    """The member with this id in this library (also erased or merged ones), or None."""
    return (
        Member.objects.select_related("category", "subscription", "guardian", "merged_into")
        .filter(pk=member_id)
        .first()
    )


@dataclass(frozen=True)
class CardLookup:
    member: Member
    former_card: FormerCard | None  # set when the card scanned is no longer valid

    @property
    def is_old_card(self):
        return self.former_card is not None


def member_by_card(card_number):
    """Who a scanned card belongs to: CardLookup(member, former_card) or None.

    A former (lost, replaced or merged-away) card finds the member it belonged to
    with `former_card` set: the desk must refuse the card itself."""
    card_number = (card_number or "").strip().upper()
    if not card_number:
        return None
    member = _live().select_related("category", "subscription").filter(card_number=card_number).first()
    if member is not None:
        return CardLookup(member=member, former_card=None)
    former = FormerCard.objects.select_related("member").filter(card_number=card_number).first()
    if former is None:
        return None
    member = former.member
    # A card of a merged duplicate leads to the member it was merged into.
    seen = set()
    while member.merged_into_id is not None and member.pk not in seen:
        seen.add(member.pk)
        member = Member.objects.get(pk=member.merged_into_id)
    if member.erased_at is not None:
        return None
    return CardLookup(member=member, former_card=former)


def member_wards(member):
    return list(_live().filter(guardian_id=member.pk).order_by("last_name", "first_name"))


def member_former_cards(member):
    return list(FormerCard.objects.filter(member_id=member.pk).order_by("-replaced_at"))


def guardian_candidates_by_card(card_number):
    """The adult member a guardian's card belongs to (for the registration form), or None."""
    found = member_by_card(card_number)
    if found is None or found.is_old_card:
        return None
    return found.member


def subscription_types(*, active_only=False):
    types = SubscriptionType.objects.annotate(member_count=Count("members", filter=Q(
        members__erased_at__isnull=True, members__merged_into__isnull=True)))
    if active_only:
        types = types.filter(is_active=True)
    return list(types.order_by("name"))


def member_categories():
    return list(
        MemberCategory.objects.select_related("default_subscription")
        .annotate(member_count=Count("members", filter=Q(
            members__erased_at__isnull=True, members__merged_into__isnull=True)))
        .order_by("min_age", "name")
    )


def subscriptions_for_age(age):
    """The active subscription types a member of `age` may have (youth ones under 18)."""
    return list(SubscriptionType.objects.filter(is_active=True, for_youth=age < ADULT_AGE).order_by("name"))


def members_turned_adult(*, today):
    """Ids of members who are 18 or older on `today` but still in a youth category
    or on a youth subscription."""
    cutoff = _eighteen_years_before(today)
    return list(
        _live()
        .filter(date_of_birth__lte=cutoff)
        .filter(Q(category__max_age__lt=ADULT_AGE) | Q(subscription__for_youth=True))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _eighteen_years_before(today):
    """Latest birth date of someone who is 18 on `today`."""
    try:
        return today.replace(year=today.year - ADULT_AGE)
    except ValueError:  # today is 29 February: born 28 February turns 18 today; 29 Feb births on 1 March
        return datetime.date(today.year - ADULT_AGE, 2, 28)
