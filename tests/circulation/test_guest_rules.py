"""Issue 12, item 6: the rules a guest borrows under. Guest rules may be for young
guests or adults only (the home library tells the age group from the member's
category there, never a birth date). Without a guest rule the library's own rules
apply, as for its own members of that age group (its youth or adult category),
never LSB's unlimited default; a loan limit the rules leave open is the guest's
subscription at home. A national cap on a card's open loans in all libraries
together can be set (national admin)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from circulation.borrowers import borrower_find
from circulation.services.rules import loan_rule_save
from core.errors import error_codes
from members.models import MemberCategory
from tenants.models import GuestLoan, NationalSettings
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, codes, lend, refused

pytestmark = pytest.mark.django_db

ADULT_CARD = "B2000071"
YOUTH_CARD = "B2000072"


@pytest.fixture
def guests(desk, libraries):
    twelve = datetime.date.today().replace(year=datetime.date.today().year - 12) - datetime.timedelta(days=30)
    with tenant_context(libraries.beta):
        adult = make_member(card_number=ADULT_CARD, first_name="Ad", last_name="Volwassen", paid_until=PAID_UNTIL)
        youth = make_member(card_number=YOUTH_CARD, first_name="Jip", last_name="Jong", date_of_birth=twelve,
                            guardian_id=adult.pk)
    return adult, youth


def test_the_home_library_tells_the_age_group_not_the_birth_date(desk, guests):
    adult = borrower_find(organisation=desk.library, card_number=ADULT_CARD)
    youth = borrower_find(organisation=desk.library, card_number=YOUTH_CARD)
    assert (adult.age_group, youth.age_group) == ("adult", "youth")
    assert not hasattr(youth, "date_of_birth")


def test_without_a_guest_rule_the_librarys_own_rules_apply(desk, guests):
    youth_category = MemberCategory.objects.get(code="jeugd")
    make_rule(max_loans_total=2, fine_per_day_cents=25, fine_max_cents=500)  # everyone
    make_rule(member_category=youth_category, max_loans_total=2, fine_per_day_cents=0)  # the library fines no youth
    adult_items = desk.items(count=3)
    youth_items = desk.items(count=1)
    first = lend(desk, adult_items[0], card=ADULT_CARD, now=at(2026, 12, 1)).loan
    assert (first.fine_per_day_cents, first.fine_max_cents) == (25, 500)
    lend(desk, adult_items[1], card=ADULT_CARD, now=at(2026, 12, 1))
    error = refused(lambda: lend(desk, adult_items[2], card=ADULT_CARD, now=at(2026, 12, 1)), adult_items[2])
    assert codes(error) == ["checkout.limit_total"]  # not 24 items under an unlimited default
    young = lend(desk, youth_items[0], card=YOUTH_CARD, now=at(2026, 12, 1)).loan
    assert young.fine_per_day_cents == 0  # a 12-year-old guest is not fined either


def test_guest_rules_for_youth_and_adults(desk, guests):
    make_rule(for_guests=True, fine_per_day_cents=30, loan_days=14)
    youth_rule = make_rule(for_guests=True, guest_age_group="youth", fine_per_day_cents=0, loan_days=14)
    [for_adult, for_youth] = desk.items(count=2)
    assert lend(desk, for_adult, card=ADULT_CARD).loan.fine_per_day_cents == 30
    young = lend(desk, for_youth, card=YOUTH_CARD).loan
    assert young.rule_id == youth_rule.pk and young.fine_per_day_cents == 0


def test_a_limit_the_rules_leave_open_is_the_subscription_at_home(desk, guests, libraries, member_defaults):
    with tenant_context(libraries.beta):
        basic = member_defaults.beta["basic"]  # at most 5 loans
        guests[0].subscription = basic
        guests[0].save(update_fields=["subscription"])
    items = desk.items(count=6)
    for item in items[:5]:
        lend(desk, item, card=ADULT_CARD)
    error = refused(lambda: lend(desk, items[5], card=ADULT_CARD), items[5])
    assert codes(error) == ["checkout.limit_total"] and error.refusals[0].params["max"] == 5


def test_a_national_cap_counts_loans_everywhere(desk, guests, libraries):
    NationalSettings.objects.create(pk=1, max_loans_per_card=3)
    beta_branch = libraries.beta.branches.order_by("name").first()
    from core.actors import Actor
    from tests.circulation.factories import make_items
    from tests.factories import staff_with_role

    beta_desk = staff_with_role(libraries.beta, "desk")
    with tenant_context(libraries.beta):  # a loan at home
        [at_home] = make_items(libraries.beta, branch=beta_branch)
        from circulation.services.loans import checkout

        checkout(actor=Actor.staff(beta_desk, libraries.beta, branch_id=beta_branch.pk), card_number=ADULT_CARD,
                 barcode=at_home.barcode)
    GuestLoan.objects.create(card_number=ADULT_CARD, home_organisation=libraries.beta,
                             lending_organisation=libraries.gamma, loan_id=999, title_id=at_home.title_id,
                             item_barcode="GAMMA0001", loaned_at=at(2026, 12, 1), due_on=datetime.date(2026, 12, 22))
    first, second = desk.items(count=2)
    lend(desk, first, card=ADULT_CARD)  # 3 now: at home, at gamma, here
    error = refused(lambda: lend(desk, second, card=ADULT_CARD), second)
    assert codes(error) == ["checkout.national_limit"] and error.refusals[0].params["max"] == 3
    # An own member's loans elsewhere count too.
    GuestLoan.objects.create(card_number=desk.member.card_number, home_organisation=desk.library,
                             lending_organisation=libraries.gamma, loan_id=998, title_id=at_home.title_id,
                             item_barcode="GAMMA0002", loaned_at=at(2026, 12, 1), due_on=datetime.date(2026, 12, 22))
    mine = desk.items(count=3)
    lend(desk, mine[0])
    lend(desk, mine[1])
    assert codes(refused(lambda: lend(desk, mine[2]), mine[2])) == ["checkout.national_limit"]


def test_the_age_group_is_only_for_guest_rules(desk):
    actor = desk.actor(desk.supervisor)
    values = {"loan_days": 21, "max_renewals": 2, "hold_shelf_days": 7}
    with pytest.raises(ValidationError) as error:
        loan_rule_save(actor=actor, guest_age_group="youth", **values)
    assert error_codes(error.value) == ["loan_rule.age_group_guests_only"]
    with pytest.raises(ValidationError) as error:
        loan_rule_save(actor=actor, for_guests=True, guest_age_group="elderly", **values)
    assert error_codes(error.value) == ["loan_rule.age_group_unknown"]
    rule = loan_rule_save(actor=actor, for_guests=True, guest_age_group="youth", **values)
    assert rule.guest_age_group == "youth"
