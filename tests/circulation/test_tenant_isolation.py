"""Each library's circulation lives in its own schema: beta's desk cannot see or
touch alpha's items and loans, and a service called for one library in
another's schema refuses to run."""

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

from .helpers import at, lend

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha_loan(desk):
    [item] = desk.items(price_cents=1000)
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    return item, loan


def test_checkin_of_alphas_barcode_at_beta_is_unknown(desk, alpha_loan, libraries, staff):
    item, loan = alpha_loan
    beta = libraries.beta
    with tenant_context(beta):
        assert not Item.objects.filter(barcode=item.barcode).exists()
        with pytest.raises(ValidationError) as caught:
            checkin(organisation=beta, branch_id=beta.branches.first().pk, staff_user=staff.beta_desk,
                    barcode=item.barcode)
        assert caught.value.messages == [f"Exemplaar {item.barcode} is onbekend in deze bibliotheek."]
    loan.refresh_from_db()
    assert loan.ended_at is None
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN


def test_checkout_of_alphas_barcode_at_beta_is_unknown(desk, alpha_loan, libraries, staff, member_defaults):
    from tests.members.factories import make_member

    item, _ = alpha_loan
    beta = libraries.beta
    with tenant_context(beta):
        member = make_member(card_number="B2000011")
        with pytest.raises(ValidationError) as caught:
            checkout(organisation=beta, branch_id=beta.branches.first().pk, staff_user=staff.beta_desk,
                     card_number=member.card_number, barcode=item.barcode)
        assert "onbekend in deze bibliotheek" in caught.value.messages[0]
        assert not Loan.objects.exists()


def test_alphas_loan_is_not_there_in_betas_schema(desk, alpha_loan, libraries, staff):
    item, loan = alpha_loan
    beta = libraries.beta
    with tenant_context(beta):
        assert not Loan.objects.filter(pk=loan.pk).exists()
        assert loan_get(loan.pk) is None
        for service in (renew, loan_mark_lost, loan_claims_returned):
            with pytest.raises(ValidationError) as caught:
                service(organisation=beta, staff_user=staff.beta_desk, loan_id=loan.pk)
            assert "bestaat niet" in caught.value.messages[0]
    loan.refresh_from_db()
    assert (loan.ended_at, loan.renewals) == (None, 0)
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_LOAN


def test_alphas_member_is_a_guest_at_beta_and_sees_no_alpha_loans_there(desk, alpha_loan, libraries, staff):
    beta = libraries.beta
    with tenant_context(beta):
        # The alpha member's card is a guest card at beta: their alpha loans are not beta's to renew.
        assert renew_all(organisation=beta, staff_user=staff.beta_desk, card_number=desk.member.card_number) == []
        assert open_loans({"member_id": desk.member.pk}) == []


def test_a_service_for_alpha_refuses_to_run_in_betas_schema(desk, alpha_loan, libraries, staff):
    item, loan = alpha_loan
    with tenant_context(libraries.beta):
        with pytest.raises(RuntimeError):
            checkin(organisation=desk.library, branch_id=desk.main.pk, staff_user=desk.staff, barcode=item.barcode)
        with pytest.raises(RuntimeError):
            renew(organisation=desk.library, staff_user=desk.staff, loan_id=loan.pk)
        with pytest.raises(RuntimeError):
            checkout(organisation=desk.library, branch_id=desk.main.pk, staff_user=desk.staff,
                     card_number=desk.member.card_number, barcode=item.barcode)
    loan.refresh_from_db()
    assert loan.ended_at is None


def test_beta_cannot_use_alphas_branch(desk, libraries, staff, member_defaults):
    from tests.members.factories import make_member

    beta = libraries.beta
    with tenant_context(beta):
        member = make_member(card_number="B2000012")
        with pytest.raises(ValidationError) as caught:
            checkin(organisation=beta, branch_id=desk.main.pk, staff_user=staff.beta_desk, barcode="ONBEKEND01")
        assert "hoort niet bij" in caught.value.messages[0]
        with pytest.raises(ValidationError):
            checkout(organisation=beta, branch_id=desk.main.pk, staff_user=staff.beta_desk,
                     card_number=member.card_number, barcode="ONBEKEND01")
