"""Which loan rule applies: the most specific matching cell of the matrix.

A rule matches a (borrower, item type, branch) when each of its dimensions is
either empty (a wildcard) or equal. Of the matching rules the one with the most
filled-in dimensions wins; between equally specific rules the branch counts
most, then the member category (or guests, or libraries), then the item type.
Who borrows picks the part of the matrix: own members the rules for members,
guests the rules for guests (those for their age group, youth or adult, as their
home library tells it, or for every guest), library organisations (the lending
side of interlibrary loan) only the rules for libraries. A guest for whom the
library has no guest rule borrows under its rules for its own members of that age
group (its youth or adult category: guest_stand_in_category), never under LSB's
default. When nothing matches, LSB's built-in default rule applies (an unsaved
LoanRule with the field defaults), so lending never stops for want of a rule.
"""

from dataclasses import dataclass

from django.db import connection

from .models import BorrowerKind, GuestAgeGroup, LoanRule


@dataclass(frozen=True)
class RuleChoice:
    rule: LoanRule
    is_default: bool
    candidates: list  # every matching rule, the winner first
    why: str  # Dutch explanation for the rules screen


def _specificity(rule):
    branch = rule.branch_id is not None
    who = rule.for_guests or rule.for_libraries or rule.member_category_id is not None
    age = bool(rule.guest_age_group)  # a guest rule for one age group is more specific than for every guest
    what = bool(rule.item_type)
    return (branch + who + age + what, branch, who + age, what)


def _describe(rule):
    parts = []
    parts.append("vestiging" if rule.branch_id is not None else None)
    if rule.for_guests:
        parts.append(f"gastleners ({rule.get_guest_age_group_display()})" if rule.guest_age_group else "gastleners")
    elif rule.for_libraries:
        parts.append("bibliotheken")
    elif rule.member_category_id is not None:
        parts.append("ledencategorie")
    parts.append("soort materiaal" if rule.item_type else None)
    named = [part for part in parts if part]
    if not named:
        return "geldt voor alles (geen enkele dimensie ingevuld)"
    return "ingevuld: " + ", ".join(named)


def default_rule():
    return LoanRule()


def _matches(rule, *, for_guests, member_category_id, item_type, branch_id, for_libraries=False,
             guest_age_group=None):
    for_members = not (for_guests or for_libraries)
    return (
        rule.for_guests == for_guests
        and rule.for_libraries == for_libraries
        and (rule.member_category_id is None or (for_members and rule.member_category_id == member_category_id))
        and rule.guest_age_group in ("", guest_age_group or "")
        and rule.item_type in ("", item_type)
        and rule.branch_id in (None, branch_id)
    )


def _choice(candidates, *, for_guests, for_libraries=False):
    candidates = sorted(candidates, key=_specificity, reverse=True)
    if not candidates:
        group = "gastleners" if for_guests else "bibliotheken" if for_libraries else "leden"
        return RuleChoice(
            rule=default_rule(), is_default=True, candidates=[],
            why=f"Geen regel van de bibliotheek past voor {group}; de standaardregel van LSB geldt.",
        )
    winner = candidates[0]
    why = f"Meest specifieke passende regel ({_describe(winner)})."
    if len(candidates) > 1:
        why += f" {len(candidates) - 1} andere passende regel(s) zijn algemener."
    return RuleChoice(rule=winner, is_default=False, candidates=candidates, why=why)


def loan_rule_choose(*, for_guests, member_category_id, item_type, branch_id, for_libraries=False,
                     guest_age_group=None):
    """The rule for this combination, with the other candidates and why it wins
    (read fresh from the database: the rules screen and the nightly work)."""
    return _choose_from(list(LoanRule.objects.all()), for_guests=for_guests, member_category_id=member_category_id,
                        item_type=item_type, branch_id=branch_id, for_libraries=for_libraries,
                        guest_age_group=guest_age_group)


def loan_rules_matrix():
    """This library's whole rule matrix, read once (for choosing many rules: loan_rule_choose_in)."""
    return list(LoanRule.objects.all())


def loan_rule_choose_in(matrix, *, for_guests, member_category_id, item_type, branch_id, for_libraries=False,
                        guest_age_group=None):
    """loan_rule_choose within a matrix already read (loan_rules_matrix)."""
    return _choose_from(matrix, for_guests=for_guests, member_category_id=member_category_id, item_type=item_type,
                        branch_id=branch_id, for_libraries=for_libraries, guest_age_group=guest_age_group)


def rule_dimensions(borrower_kind, member_category_id=None, guest_age_group=None):
    """The 'who' dimensions of the matrix for a kind of borrower (BorrowerKind); a
    guest's age group (GuestAgeGroup, from their home library) when known."""
    return {
        "for_guests": borrower_kind == BorrowerKind.GUEST,
        "for_libraries": borrower_kind == BorrowerKind.LIBRARY,
        "member_category_id": member_category_id if borrower_kind == BorrowerKind.MEMBER else None,
        "guest_age_group": guest_age_group if borrower_kind == BorrowerKind.GUEST else None,
    }


def guest_stand_in_category(guest_age_group):
    """This library's own category for guests of an age group when it has no guest
    rule: for young guests its oldest youth category, for adults its youngest adult
    category (None: no such category, or the age group is not known)."""
    from members.models import MemberCategory

    categories = list(MemberCategory.objects.order_by("min_age", "pk"))
    if guest_age_group == GuestAgeGroup.YOUTH:
        youth = [category for category in categories if category.is_youth]
        return max(youth, key=lambda category: (category.max_age, -category.pk), default=None)
    if guest_age_group == GuestAgeGroup.ADULT:
        return next((category for category in categories if not category.is_youth), None)
    return None


def _choose_from(rules, *, for_guests, member_category_id, item_type, branch_id, for_libraries=False,
                 guest_age_group=None):
    candidates = [
        rule for rule in rules
        if _matches(rule, for_guests=for_guests, member_category_id=member_category_id, item_type=item_type,
                    branch_id=branch_id, for_libraries=for_libraries, guest_age_group=guest_age_group)
    ]
    if for_guests and not candidates:
        # No guest rule: the library's own rules for members of this age group apply.
        stand_in = guest_stand_in_category(guest_age_group)
        members = [rule for rule in rules
                   if _matches(rule, for_guests=False, member_category_id=stand_in.pk if stand_in else None,
                               item_type=item_type, branch_id=branch_id)]
        choice = _choice(members, for_guests=False)
        if not choice.is_default:
            group = f" ({stand_in.name})" if stand_in else ""
            return RuleChoice(rule=choice.rule, is_default=False, candidates=choice.candidates,
                              why=f"Geen regel voor gastleners; de regel voor de eigen leden{group} geldt. "
                                  + choice.why)
        return _choice([], for_guests=True)
    return _choice(candidates, for_guests=for_guests, for_libraries=for_libraries)


# The whole matrix of a library, per process, by the fingerprint the desk context
# reads (number of rules and their latest change): a scan then costs no rule query,
# and any change to the matrix (insert, update, delete) changes the fingerprint.
_MATRIX_CACHE = {}
_MATRIX_CACHE_SIZE = 256


def loan_rule_choose_by_fingerprint(fingerprint, *, for_guests, member_category_id, item_type, branch_id,
                                    for_libraries=False, guest_age_group=None):
    """loan_rule_choose, from the cached matrix of this library when `fingerprint`
    (see circulation.desk_context) is the one it was read under."""
    key = (connection.schema_name, fingerprint)
    rules = _MATRIX_CACHE.get(key)
    if rules is None:
        rules = list(LoanRule.objects.all())
        if len(_MATRIX_CACHE) >= _MATRIX_CACHE_SIZE:
            _MATRIX_CACHE.clear()
        _MATRIX_CACHE[key] = rules
    return _choose_from(rules, for_guests=for_guests, member_category_id=member_category_id, item_type=item_type,
                        branch_id=branch_id, for_libraries=for_libraries, guest_age_group=guest_age_group)
