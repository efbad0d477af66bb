"""The loan-rule matrix: wildcards, the most specific cell wins (branch, then
member category or guest, then item type), guests only match guest rules, the
built-in default when nothing matches; and saving a rule (Dutch errors, nothing
saved)."""

import pytest
from django.core.exceptions import ValidationError

from circulation.models import LoanRule
from circulation.rules import loan_rule_choose
from circulation.services.rules import circulation_settings_update, loan_rule_delete, loan_rule_save
from core.errors import error_codes

from .factories import make_rule

pytestmark = pytest.mark.django_db


def choose(desk, *, for_guests=False, category=None, item_type="book", branch=None):
    return loan_rule_choose(
        for_guests=for_guests, member_category_id=category.pk if category else None, item_type=item_type,
        branch_id=(branch or desk.main).pk,
    )


def test_no_rule_gives_lsb_default(desk, member_defaults):
    choice = choose(desk, category=member_defaults.alpha["adult_category"])
    assert choice.is_default
    assert choice.rule.pk is None
    assert choice.rule.loan_days == 21
    assert choice.candidates == []
    assert "standaardregel" in choice.why
    assert "leden" in choice.why
    assert "gastleners" in choose(desk, for_guests=True).why


def test_all_wildcard_rule_matches_everyone_of_its_group(desk, member_defaults):
    rule = make_rule(loan_days=14)
    for category in (member_defaults.alpha["adult_category"], member_defaults.alpha["youth_category"], None):
        for item_type in ("book", "dvd"):
            for branch in (desk.main, desk.other):
                choice = choose(desk, category=category, item_type=item_type, branch=branch)
                assert choice.rule == rule and not choice.is_default
    assert "geen enkele dimensie" in choose(desk).why


def test_dimension_must_be_equal_or_empty(desk, member_defaults):
    youth_dvd = make_rule(member_category=member_defaults.alpha["youth_category"], item_type="dvd", loan_days=7)
    other_branch = make_rule(branch_id=desk.other.pk, loan_days=10)
    adult = member_defaults.alpha["adult_category"]
    # Adult member, book, main branch: neither rule matches.
    assert choose(desk, category=adult).is_default
    # Youth dvd at the main branch: only the youth/dvd rule.
    choice = choose(desk, category=member_defaults.alpha["youth_category"], item_type="dvd")
    assert choice.rule == youth_dvd and choice.candidates == [youth_dvd]
    # Youth dvd at the other branch: both match; two dimensions beat one.
    choice = choose(desk, category=member_defaults.alpha["youth_category"], item_type="dvd", branch=desk.other)
    assert choice.rule == youth_dvd
    assert choice.candidates == [youth_dvd, other_branch]
    assert "1 andere passende regel" in choice.why


def test_most_specific_wins_and_ties_go_branch_then_category_then_item_type(desk, member_defaults):
    adult = member_defaults.alpha["adult_category"]
    everything = make_rule(loan_days=21)
    by_type = make_rule(item_type="dvd", loan_days=7)
    by_category = make_rule(member_category=adult, loan_days=28)
    by_branch = make_rule(branch_id=desk.main.pk, loan_days=14)

    choice = choose(desk, category=adult, item_type="dvd")
    assert choice.rule == by_branch
    assert choice.candidates == [by_branch, by_category, by_type, everything]
    assert "vestiging" in choice.why and "3 andere" in choice.why

    # Without the branch dimension matching (other branch): category beats item type.
    choice = choose(desk, category=adult, item_type="dvd", branch=desk.other)
    assert choice.rule == by_category
    # A member without that category (item type only).
    youth = member_defaults.alpha["youth_category"]
    assert choose(desk, category=youth, item_type="dvd", branch=desk.other).rule == by_type
    assert choose(desk, category=youth, item_type="book", branch=desk.other).rule == everything

    # Two filled dimensions beat the branch alone.
    category_and_type = make_rule(member_category=adult, item_type="dvd", loan_days=3)
    assert choose(desk, category=adult, item_type="dvd").rule == category_and_type
    # Between two-dimension rules the branch counts most.
    branch_and_type = make_rule(branch_id=desk.main.pk, item_type="dvd", loan_days=5)
    choice = choose(desk, category=adult, item_type="dvd")
    assert choice.rule == branch_and_type
    assert choice.candidates[1] == category_and_type
    # The full cell beats everything.
    full = make_rule(branch_id=desk.main.pk, member_category=adult, item_type="dvd", loan_days=2)
    choice = choose(desk, category=adult, item_type="dvd")
    assert choice.rule == full
    assert "vestiging, ledencategorie, soort materiaal" in choice.why
    assert len(choice.candidates) == 7


def test_guests_match_only_guest_rules(desk, member_defaults):
    members_rule = make_rule(loan_days=28)
    members_branch_rule = make_rule(branch_id=desk.main.pk, loan_days=14)
    # No guest rule: guests borrow under the members' rules (issue 12, item 6), never the unlimited default.
    choice = choose(desk, for_guests=True)
    assert choice.rule == members_branch_rule and "Geen regel voor gastleners" in choice.why

    guests_rule = make_rule(for_guests=True, loan_days=7)
    guests_dvd = make_rule(for_guests=True, item_type="dvd", loan_days=5)
    choice = choose(desk, for_guests=True)
    assert choice.rule == guests_rule and choice.candidates == [guests_rule]
    assert "gastleners" in choice.why
    assert choose(desk, for_guests=True, item_type="dvd").rule == guests_dvd
    # Members never match a guest rule.
    assert choose(desk, category=member_defaults.alpha["adult_category"]).rule == members_branch_rule
    assert choose(desk, category=None, branch=desk.other).rule == members_rule


def test_member_category_passed_for_guest_is_ignored(desk, member_defaults):
    adult = member_defaults.alpha["adult_category"]
    make_rule(member_category=adult, loan_days=28)
    guests = make_rule(for_guests=True, loan_days=7)
    choice = choose(desk, for_guests=True, category=adult)
    assert choice.rule == guests


# --- saving rules ------------------------------------------------------------------

def save(desk, **values):
    defaults = {"loan_days": 21, "max_renewals": 2, "hold_shelf_days": 7, "max_loans_total": None,
                "max_loans_of_type": None, "loan_fee_cents": 0, "fine_per_day_cents": 0, "fine_max_cents": 0,
                "holdable": True, "hold_fee_cents": 0, "auto_renew": True}
    defaults.update(values)
    return loan_rule_save(actor=desk.actor(desk.supervisor), **defaults)


def test_save_creates_and_updates_a_cell(desk, member_defaults):
    adult = member_defaults.alpha["adult_category"]
    rule = save(desk, member_category_id=adult.pk, item_type="dvd", branch_id=desk.main.pk, loan_days=7,
                max_loans_of_type=3, fine_per_day_cents=25, fine_max_cents=500)
    rule.refresh_from_db()
    assert (rule.member_category_id, rule.item_type, rule.branch_id, rule.loan_days) == (adult.pk, "dvd",
                                                                                         desk.main.pk, 7)
    assert rule.max_loans_of_type == 3 and rule.max_loans_total is None
    changed = save(desk, rule_id=rule.pk, member_category_id=adult.pk, item_type="dvd", branch_id=desk.main.pk,
                   loan_days=14)
    assert changed.pk == rule.pk
    rule.refresh_from_db()
    assert rule.loan_days == 14
    assert LoanRule.objects.count() == 1


@pytest.mark.parametrize(
    "values, message, code",
    [
        ({"loan_days": 0}, "De uitleentermijn moet een geheel getal van 1 tot en met 365 zijn.",
         "loan_rule.number_out_of_range"),
        ({"loan_days": "14"}, "De uitleentermijn moet een geheel getal", "loan_rule.number_out_of_range"),
        ({"max_renewals": 100}, "Het maximum aantal verlengingen moet", "loan_rule.number_out_of_range"),
        ({"hold_shelf_days": 0}, "Het aantal dagen op de reserveringsplank", "loan_rule.number_out_of_range"),
        ({"max_loans_total": -1}, "Het maximum aantal leningen", "loan_rule.number_out_of_range"),
        ({"max_loans_of_type": 1000}, "Het maximum van deze soort", "loan_rule.number_out_of_range"),
        ({"loan_fee_cents": -5}, "Het leengeld (tot € ", "loan_rule.amount_out_of_range"),
        ({"fine_per_day_cents": 50, "fine_max_cents": 20},
         "De maximale boete mag niet lager zijn dan de boete per dag.", "loan_rule.fine_max_below_per_day"),
        ({"item_type": "vinyl"}, "Kies een bestaande soort materiaal.", "loan_rule.item_type_unknown"),
        ({"for_guests": True, "member_category_id": "adult"}, "Een regel voor gastleners geldt voor alle gastleners",
         "loan_rule.guests_no_category"),
        ({"member_category_id": 987654}, "Kies een ledencategorie van deze bibliotheek.",
         "loan_rule.category_unknown"),
    ],
)
def test_save_refuses_bad_values_in_dutch_and_saves_nothing(desk, member_defaults, values, message, code):
    if values.get("member_category_id") == "adult":
        values = {**values, "member_category_id": member_defaults.alpha["adult_category"].pk}
    with pytest.raises(ValidationError) as caught:
        save(desk, **values)
    assert any(text.startswith(message) for text in caught.value.messages), caught.value.messages
    assert error_codes(caught.value) == [code]
    assert LoanRule.objects.count() == 0


def test_save_refuses_a_branch_of_another_library(desk, libraries):
    beta_branch = libraries.beta.branches.first()
    with pytest.raises(ValidationError) as caught:
        save(desk, branch_id=beta_branch.pk)
    assert "hoort niet bij" in caught.value.messages[0]
    assert error_codes(caught.value) == ["branch.other_library"]
    assert LoanRule.objects.count() == 0


def test_save_reports_every_problem_at_once(desk):
    with pytest.raises(ValidationError) as caught:
        save(desk, loan_days=0, max_renewals=-1, item_type="vinyl")
    assert len(caught.value.messages) == 3
    assert error_codes(caught.value) == ["loan_rule.number_out_of_range", "loan_rule.number_out_of_range",
                                         "loan_rule.item_type_unknown"]
    assert LoanRule.objects.count() == 0


def test_duplicate_cell_refused_and_nothing_saved(desk, member_defaults):
    adult = member_defaults.alpha["adult_category"]
    first = save(desk, member_category_id=adult.pk, item_type="dvd", loan_days=7)
    with pytest.raises(ValidationError) as caught:
        save(desk, member_category_id=adult.pk, item_type="dvd", loan_days=28)
    assert caught.value.messages == ["Er is al een regel voor precies deze combinatie; pas die aan."]
    assert error_codes(caught.value) == ["loan_rule.duplicate"]
    assert list(LoanRule.objects.values_list("pk", "loan_days")) == [(first.pk, 7)]
    # Wildcards count as values: a second all-empty rule is a duplicate too.
    save(desk)
    with pytest.raises(ValidationError):
        save(desk, loan_days=3)
    # Changing another cell into an existing one is refused as well, and leaves it as it was.
    other = save(desk, item_type="book")
    with pytest.raises(ValidationError):
        save(desk, rule_id=other.pk, member_category_id=adult.pk, item_type="dvd", loan_days=1)
    other.refresh_from_db()
    assert (other.member_category_id, other.item_type, other.loan_days) == (None, "book", 21)
    assert LoanRule.objects.count() == 3
    # The guest cell differs from the members' cell.
    save(desk, for_guests=True)
    assert LoanRule.objects.count() == 4


def test_save_unknown_rule_and_delete(desk):
    with pytest.raises(ValidationError) as caught:
        save(desk, rule_id=987654)
    assert "bestaat niet" in caught.value.messages[0]
    assert error_codes(caught.value) == ["loan_rule.not_found"]
    rule = save(desk)
    loan_rule_delete(actor=desk.actor(desk.supervisor), rule_id=rule.pk)
    assert not LoanRule.objects.exists()
    with pytest.raises(ValidationError) as caught:
        loan_rule_delete(actor=desk.actor(desk.supervisor), rule_id=rule.pk)
    assert error_codes(caught.value) == ["loan_rule.not_found"]


def test_the_matrix_is_the_library_administrators(desk):
    """A desk user (no library admin role) is refused by the services too, not only by the screens."""
    with pytest.raises(ValidationError) as caught:
        loan_rule_save(actor=desk.actor(), loan_days=7, max_renewals=1, hold_shelf_days=7)
    assert error_codes(caught.value) == ["actor.no_role"]
    rule = save(desk)
    with pytest.raises(ValidationError) as caught:
        loan_rule_delete(actor=desk.actor(), rule_id=rule.pk)
    assert error_codes(caught.value) == ["actor.no_role"]
    with pytest.raises(ValidationError) as caught:
        circulation_settings_update(actor=desk.actor(), floating_item_types=[], transfer_days=1)
    assert error_codes(caught.value) == ["actor.no_role"]
    assert list(LoanRule.objects.values_list("pk", flat=True)) == [rule.pk]
