"""Bad input in the OPAC: absurd searches, unknown titles, far pages, tampered
fields (another member's hold or loan, another library's pickup branch): a
friendly Dutch page, nothing changed, nothing revealed. Online registration."""

import re

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from circulation.models import Hold, HoldStatus, Loan
from circulation.services.holds import hold_place
from circulation.services.loans import checkout
from members.models import Block, Member, MemberRules, OnlineRegistration

from .conftest import text

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["x" * 10000, "!!!???...,,,", "'; DROP TABLE catalogue_title; --",
                                   "\" OR 1=1 --", "%%%___"])
def test_absurd_searches_get_a_friendly_page(visitor, opac, query):
    response = visitor.get("/zoeken/", {"q": query})
    assert response.status_code in (200, 400)
    page = text(response)
    assert "te lang" in page or "Niets gevonden" in page or "titels" in page
    assert "Traceback" not in page


def test_unknown_title_and_far_page(visitor, opac):
    response = visitor.get("/titel/999999999-bestaat-niet/")
    assert response.status_code == 404 and "Titel niet gevonden" in text(response)
    response = visitor.get("/zoeken/", {"q": "hemel", "pagina": "99999"})
    assert response.status_code == 404 and "Pagina 99999 bestaat niet" in text(response)
    response = visitor.get("/zoeken/", {"q": "hemel", "pagina": "abc", "soort": "onzin"})
    assert response.status_code == 400 and "Traceback" not in text(response)


def test_another_members_hold_cannot_be_touched(member_client, opac):
    with tenant_context(opac.library):
        for copy in opac.copies:
            checkout(actor=opac.actor(), card_number="A1000001", barcode=copy.barcode)
        theirs = hold_place(actor=opac.actor(), member=opac.other_member, title_id=opac.title.pk,
                            pickup_branch_id=opac.main.pk)
    for data in ({"actie": "annuleren"}, {"actie": "afhaalvestiging", "vestiging": opac.other.pk},
                 {"actie": "opschorten", "until": "2027-01-20"}):
        page = text(member_client.post(f"/mijn/reserveringen/{theirs.pk}/", data, follow=True))
        assert "Dit hoort niet bij uw account." in page
        assert "Bas" not in page and "A1000002" not in page
    with tenant_context(opac.library):
        theirs.refresh_from_db()
        assert theirs.status == HoldStatus.WAITING and theirs.pickup_branch_id == opac.main.pk
        assert theirs.suspended_until is None


def test_another_members_loan_cannot_be_renewed(member_client, opac):
    with tenant_context(opac.library):
        loan = checkout(actor=opac.actor(), card_number="A1000002", barcode=opac.copies[0].barcode).loan
    page = text(member_client.post("/mijn/verlengen/", {"lening": loan.pk}, follow=True))
    assert "Dit hoort niet bij uw account." in page and "Bas" not in page
    page = text(member_client.post("/mijn/verlengen/", {"lening": "1 OR 1=1"}, follow=True))
    assert "Deze lening bestaat niet." in page
    with tenant_context(opac.library):
        assert Loan.objects.get(pk=loan.pk).renewals == 0


def test_pickup_branch_of_another_library_is_refused(member_client, opac, libraries):
    beta_branch = libraries.beta.branches.order_by("name").first()
    url = f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/reserveren/"
    response = member_client.post(url, {"afhaalvestiging": beta_branch.pk, "bevestigd": "1"})
    assert response.status_code == 400 and "Kies een afhaalvestiging van deze bibliotheek." in text(response)
    with tenant_context(opac.library):
        assert not Hold.objects.filter(member=opac.member).exists()
        hold = hold_place(actor=opac.actor(), member=opac.member, title_id=opac.title.pk,
                          pickup_branch_id=opac.main.pk)
    page = text(member_client.post(f"/mijn/reserveringen/{hold.pk}/",
                                   {"actie": "afhaalvestiging", "vestiging": beta_branch.pk}, follow=True))
    assert "Testbibliotheek alpha" in page
    with tenant_context(opac.library):
        hold.refresh_from_db()
        assert hold.pickup_branch_id == opac.main.pk


def test_a_member_of_another_library_cannot_sign_in_here(visitor, opac, in_beta):
    from tests.members.factories import make_member

    make_member(card_number="B1000001")
    visitor.defaults["HTTP_HOST"] = "alpha.localhost"
    response = visitor.post("/aanmelden/", {"card_number": "B1000001", "pin": "1234"})
    assert response.status_code == 400 and "Pasnummer of pincode klopt niet." in text(response)


REGISTRATION = {
    "first_name": "Noor", "last_name": "Nieuw", "date_of_birth": "1990-05-01", "postcode": "3511ab",
    "house_number": "12a", "street": "Oudegracht", "city": "Utrecht", "email": "noor@example.nl",
    "pin": "2468", "pin_repeat": "2468",
}


def test_online_registration_verify_and_sign_in(visitor, opac, member_defaults,
                                                django_capture_on_commit_callbacks):
    with tenant_context(opac.library):
        from members.models import SubscriptionType

        standard = SubscriptionType.objects.get(code="standaard")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.post("/registreren/", dict(REGISTRATION, subscription=standard.pk))
    assert response.status_code == 302, text(response)[-3000:]
    page = text(visitor.get("/registreren/klaar/"))
    card = re.search(r'data-testid="new-card">(\d+)<', page).group(1)
    # not yet verified: sign-in refused with a clear sentence
    response = visitor.post("/aanmelden/", {"card_number": card, "pin": "2468"})
    assert "Bevestig eerst uw e-mailadres" in text(response)
    link = re.search(r"http://alpha\.localhost(/registreren/bevestigen/[^/\s]+/)", mail.outbox[0].body).group(1)
    assert "Welkom!" in text(visitor.get(link))
    with tenant_context(opac.library):
        member = Member.objects.get(card_number=card)
        assert member.subscription == standard and member.postcode == "3511 AB"
        assert not Block.objects.filter(member=member, kind="registration", lifted_at__isnull=True).exists()
    assert visitor.post("/aanmelden/", {"card_number": card, "pin": "2468"}).status_code == 302


def test_youth_registration_is_free_and_desk_confirms_when_the_library_says_so(
        visitor, opac, member_defaults, django_capture_on_commit_callbacks):
    with tenant_context(opac.library):
        MemberRules.objects.update_or_create(pk=1, defaults={"online_confirmation": "desk"})
    mail.outbox.clear()
    data = dict(REGISTRATION, date_of_birth="2015-03-03", email="kind@example.nl",
                guardian_email="ouder@example.nl")
    with django_capture_on_commit_callbacks(execute=True):
        assert visitor.post("/registreren/", data).status_code == 302
    assert {message.to[0] for message in mail.outbox} == {"kind@example.nl", "ouder@example.nl"}
    link = re.search(r"http://alpha\.localhost(/registreren/bevestigen/[^/\s]+/)", mail.outbox[0].body).group(1)
    assert "balie" in text(visitor.get(link))
    with tenant_context(opac.library):
        member = Member.objects.get(email="kind@example.nl")
        assert member.subscription.for_youth and member.subscription.annual_fee_cents == 0
        assert Block.objects.filter(member=member, kind="registration", lifted_at__isnull=True).exists()
    staff = visitor.__class__()
    staff.defaults["HTTP_HOST"] = "alpha.localhost"
    staff.force_login(opac.staff)
    staff.post(f"/leden/{member.pk}/inschrijving-bevestigen/")
    with tenant_context(opac.library):
        assert OnlineRegistration.objects.get(member=member).confirmed_at is not None
        assert not Block.objects.filter(member=member, kind="registration", lifted_at__isnull=True).exists()


def test_registration_with_bad_input_changes_nothing(visitor, opac, member_defaults):
    with tenant_context(opac.library):
        before = Member.objects.count()
    data = dict(REGISTRATION, postcode="ABC", house_number="twaalf", pin_repeat="1111", email="geen",
                first_name="x" * 10000)
    response = visitor.post("/registreren/", data)
    page = text(response)
    assert response.status_code == 400
    # The form refuses the 10,000-character name by the field (the service is not asked).
    assert "Zorg dat deze waarde niet meer dan 80 tekens bevat" in page
    assert 'aria-invalid="true"' in page
    with tenant_context(opac.library):
        assert Member.objects.count() == before
