"""Each library's circulation lives in its own schema: beta's desk cannot see or
touch alpha's items and loans, and a service called for one library in
another's schema is refused (actor.other_library)."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.selectors import loan_get, open_loans
from circulation.services.loans import (
    checkin,
    checkout,
    loan_claims_returned,
    loan_mark_lost,
    renew,
    renew_all,
)
from collection.models import Item, ItemStatus
from core.actors import Actor
from core.errors import error_codes

from .helpers import at, lend

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_loan(desk):
    [item] = desk.items(price_cents=1000)
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    return item, loan


def test_checkin_of_alphas_barcode_at_beta_names_the_owner_and_nothing_more(desk, alpha_loan, libraries, staff):
    # A copy returned at the wrong library goes back in the IBL crate: the desk
    # learns whose it is (public, as the national holdings), never its loan.
    item, loan = alpha_loan
    card, due = loan.member.card_number, loan.due_on
    beta = libraries.beta
    with tenant_context(beta):
        assert not Item.objects.filter(barcode=item.barcode).exists()
        with pytest.raises(ValidationError) as caught:
            checkin(actor=Actor.staff(staff.beta_desk, beta, branch_id=beta.branches.first().pk),
                    barcode=item.barcode)
        assert error_codes(caught.value) == ["scan.item_of_other_library"]
        [message] = caught.value.messages
        assert message.startswith(f"Exemplaar {item.barcode} is van {libraries.alpha.name}, niet van deze bibliotheek")
        assert card not in message and due.strftime("%d-%m") not in message and str(due) not in message
    loan.refresh_from_db()
    assert loan.ended_at is None
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN


def test_checkout_of_alphas_barcode_at_beta_is_refused_naming_the_owner(desk, alpha_loan, libraries, staff,
                                                                         member_defaults):
    from tests.members.factories import make_member

    item, _ = alpha_loan
    beta = libraries.beta
    with tenant_context(beta):
        member = make_member(card_number="B2000011")
        with pytest.raises(ValidationError) as caught:
            checkout(actor=Actor.staff(staff.beta_desk, beta, branch_id=beta.branches.first().pk),
                     card_number=member.card_number, barcode=item.barcode)
        assert error_codes(caught.value) == ["scan.item_of_other_library"]
        assert not Loan.objects.exists()


def test_alphas_loan_is_not_there_in_betas_schema(desk, alpha_loan, libraries, staff):
    item, loan = alpha_loan
    beta = libraries.beta
    with tenant_context(beta):
        assert not Loan.objects.filter(pk=loan.pk).exists()
        assert loan_get(loan.pk) is None
        for service in (renew, loan_mark_lost, loan_claims_returned):
            with pytest.raises(ValidationError) as caught:
                service(actor=Actor.staff(staff.beta_desk, beta), loan_id=loan.pk)
            assert "bestaat niet" in caught.value.messages[0]
            assert error_codes(caught.value) == ["loan.not_found"]
    loan.refresh_from_db()
    assert (loan.ended_at, loan.renewals) == (None, 0)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN


def test_alphas_member_is_a_guest_at_beta_and_sees_no_alpha_loans_there(desk, alpha_loan, libraries, staff):
    beta = libraries.beta
    with tenant_context(beta):
        # The alpha member's card is a guest card at beta: their alpha loans are not beta's to renew.
        assert renew_all(actor=Actor.staff(staff.beta_desk, beta), card_number=desk.member.card_number) == []
        assert open_loans({"member_id": desk.member.pk}) == []


def test_a_service_for_alpha_refuses_to_run_in_betas_schema(desk, alpha_loan, libraries, staff):
    item, loan = alpha_loan
    with tenant_context(libraries.beta):
        for call in (
            lambda: checkin(actor=desk.actor(), barcode=item.barcode),
            lambda: renew(actor=desk.actor(), loan_id=loan.pk),
            lambda: checkout(actor=desk.actor(), card_number=desk.member.card_number, barcode=item.barcode),
        ):
            with pytest.raises(ValidationError) as caught:
                call()
            assert error_codes(caught.value) == ["actor.other_library"]
    loan.refresh_from_db()
    assert loan.ended_at is None


def test_beta_cannot_use_alphas_branch(desk, libraries, staff, member_defaults):
    from tests.members.factories import make_member

    beta = libraries.beta
    with tenant_context(beta):
        member = make_member(card_number="B2000012")
        with pytest.raises(ValidationError) as caught:
            checkin(actor=Actor.staff(staff.beta_desk, beta, branch_id=desk.main.pk), barcode="ONBEKEND01")
        assert "hoort niet bij" in caught.value.messages[0]
        assert error_codes(caught.value) == ["branch.other_library"]
        with pytest.raises(ValidationError):
            checkout(actor=Actor.staff(staff.beta_desk, beta, branch_id=desk.main.pk), card_number=member.card_number,
                     barcode="ONBEKEND01")
