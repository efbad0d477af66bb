"""Sign-in, my account and reserving in the OPAC, with the member as actor: loans
and renewals, holds with queue position and expected date, pickup change, suspend,
cancel, the fee before confirming, personal data and consents, PIN change and
reset, data export; a member session is no staff session and the reverse;
sessions expire; brute force is throttled through the sign-in page."""

import datetime
import json
import re
import time

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import Hold, HoldStatus, Loan
from circulation.services.holds import hold_place
from circulation.services.loans import checkin, checkout
from members.models import CardSignIn, LedgerEntry, Member
from opac.session import OPAC_MEMBER_KEY

from .conftest import ALPHA, PIN, sign_in, text

pytestmark = pytest.mark.django_db


def test_sign_in_and_out(visitor, opac):
    response = sign_in(visitor)
    assert response.status_code == 302 and response["Location"] == "/mijn/"
    page = text(visitor.get("/mijn/"))
    assert "Welkom, Anna" in page and "A1000001" in page
    visitor.post("/afmelden/")
    response = visitor.get("/mijn/")
    assert response.status_code == 302 and response["Location"].startswith("/aanmelden/")


def test_wrong_pin_is_one_dutch_answer(visitor, opac):
    response = sign_in(visitor, pin="9999")
    assert response.status_code == 400 and "Pasnummer of pincode klopt niet." in text(response)
    response = sign_in(visitor, card="BESTAATNIET1")
    assert "Pasnummer of pincode klopt niet." in text(response)


def test_brute_force_on_the_sign_in_page_locks_the_card(visitor, opac):
    for _ in range(5):
        sign_in(visitor, pin="0000")
    response = sign_in(visitor)  # the right PIN, now refused
    assert response.status_code == 400 and "tijdelijk geblokkeerd" in text(response)
    assert OPAC_MEMBER_KEY not in visitor.session
    with tenant_context(opac.library):
        assert CardSignIn.objects.get(card_number="A1000001").locked_until is not None


def test_brute_force_from_one_address_is_throttled(visitor, opac, settings):
    settings.MEMBER_SIGN_IN_ADDRESS_MAX_FAILURES = 3
    for number in range(3):
        sign_in(visitor, card=f"X{number:07d}", pin="0000")
    response = sign_in(visitor)
    assert "Te veel mislukte aanmeldpogingen vanaf dit adres" in text(response)


def test_member_session_is_no_staff_session_and_the_reverse(member_client, opac, client):
    response = member_client.get("/balie/")
    assert response.status_code == 302 and "/balie/inloggen/" in response["Location"]
    staff = client.__class__()
    staff.defaults["HTTP_HOST"] = ALPHA
    staff.force_login(opac.staff)
    response = staff.get("/mijn/")
    assert response.status_code == 302 and response["Location"].startswith("/aanmelden/")


def test_session_expires_when_idle(member_client, opac, settings):
    session = member_client.session
    data = session[OPAC_MEMBER_KEY]
    data["seen"] = int(time.time()) - 31 * 60
    session[OPAC_MEMBER_KEY] = data
    session.save()
    response = member_client.get("/mijn/")
    assert response.status_code == 302 and "verlopen=1" in response["Location"]


def test_account_lists_loans_and_renews_one_and_all(member_client, opac):
    with tenant_context(opac.library):
        loan = checkout(actor=opac.actor(), card_number="A1000001", barcode=opac.copies[0].barcode,
                        now=timezone.now() - datetime.timedelta(days=10)).loan
    page = text(member_client.get("/mijn/"))
    assert "De ontdekking van de hemel" in page and loan.due_on.strftime("%d-%m-%Y") in page
    response = member_client.post("/mijn/verlengen/", {"lening": loan.pk}, follow=True)
    assert "Verlengd tot en met" in text(response)
    with tenant_context(opac.library):
        assert Loan.objects.get(pk=loan.pk).renewals == 1
    response = member_client.post("/mijn/verlengen/", {"lening": "alle"}, follow=True)
    assert "lening(en) verlengd" in text(response) or "Niet verlengd" in text(response)


def test_reserve_shows_fee_then_places_hold_with_queue_and_expected_date(member_client, opac):
    with tenant_context(opac.library):
        for copy in opac.copies:
            checkout(actor=opac.actor(), card_number="A1000002", barcode=copy.barcode)
    url = f"/titel/{opac.title.pk}-de-ontdekking-van-de-hemel/reserveren/"
    page = text(member_client.get(url, {"afhaalvestiging": opac.other.pk}))
    assert "Reserveren kost € 1,00" in page
    with tenant_context(opac.library):
        assert not Hold.objects.exists()
    response = member_client.post(url, {"afhaalvestiging": opac.other.pk, "bevestigd": "1"})
    assert response.status_code == 302
    with tenant_context(opac.library):
        hold = Hold.objects.get(member=opac.member)
        assert hold.pickup_branch_id == opac.other.pk and hold.actor_ref == f"member:{opac.member.pk}"
        assert LedgerEntry.objects.filter(member=opac.member, reference=f"hold:{hold.pk}").exists()
    page = text(member_client.get("/mijn/"))
    assert "Plaats in de wachtrij: 1" in page and "Verwacht:" in page
    # the desk checks a copy in at the pickup branch: ready, with the last pickup day
    with tenant_context(opac.library):
        checkin(actor=opac.actor(branch=opac.other), barcode=opac.copies[0].barcode)
        hold.refresh_from_db()
        assert hold.status == HoldStatus.READY
    page = text(member_client.get("/mijn/"))
    assert "ophalen uiterlijk" in page and "Klaar om op te halen" in page
    # Not needed any more: the member cancels the ready hold online; the copy is free for the next.
    assert f'action="/mijn/reserveringen/{hold.pk}/"' in page and "Niet meer nodig" in page
    member_client.post(f"/mijn/reserveringen/{hold.pk}/", {"actie": "annuleren"})
    with tenant_context(opac.library):
        hold.refresh_from_db()
        assert hold.status == HoldStatus.CANCELLED
    assert "Er ligt nu niets voor u klaar." in text(member_client.get("/mijn/"))


def test_hold_actions_change_pickup_suspend_resume_cancel(member_client, opac):
    with tenant_context(opac.library):
        checkout(actor=opac.actor(), card_number="A1000002", barcode=opac.copies[0].barcode)
        checkout(actor=opac.actor(), card_number="A1000002", barcode=opac.copies[1].barcode)
        hold = hold_place(actor=opac.actor(), member=opac.member, title_id=opac.title.pk,
                          pickup_branch_id=opac.main.pk)
    url = f"/mijn/reserveringen/{hold.pk}/"
    member_client.post(url, {"actie": "afhaalvestiging", "vestiging": opac.other.pk})
    member_client.post(url, {"actie": "opschorten", "until": "2099-01-01"})
    until = timezone.localdate() + datetime.timedelta(days=30)
    response = member_client.post(url, {"actie": "opschorten", "until": until.isoformat()}, follow=True)
    assert "opgeschort tot en met" in text(response)
    with tenant_context(opac.library):
        hold.refresh_from_db()
        assert hold.pickup_branch_id == opac.other.pk and hold.suspended_until is not None
    member_client.post(url, {"actie": "hervatten"})
    member_client.post(url, {"actie": "annuleren"})
    with tenant_context(opac.library):
        hold.refresh_from_db()
        assert hold.status == HoldStatus.CANCELLED and hold.suspended_until is None


def test_a_title_nobody_holds_cannot_be_reserved_nor_requested_elsewhere(member_client, opac):
    """(A title another library holds is requested through interlibrary loan: tests/ibl.)"""
    from tests.factories import TitleFactory

    lonely = TitleFactory(title="Nergens te krijgen")
    page = text(member_client.get(f"/titel/{lonely.pk}-nergens-te-krijgen/"))
    assert "kan bij deze bibliotheek niet gereserveerd worden" in page
    page = text(member_client.get(f"/titel/{lonely.pk}-nergens-te-krijgen/reserveren/"))
    assert "geen andere bibliotheek leent hem nu uit" in page


def test_profile_and_consents_change_through_member_update(member_client, opac):
    response = member_client.post("/mijn/gegevens/", {
        "onderdeel": "gegevens", "street": "Nieuwe Gracht", "house_number": "7", "postcode": "3512ab",
        "city": "Utrecht", "email": "anna.nieuw@example.nl", "phone": "", "preferred_branch_id": opac.other.pk})
    assert response.status_code == 302
    member_client.post("/mijn/gegevens/", {"onderdeel": "toestemming", "loan_history": "on"})
    with tenant_context(opac.library):
        member = Member.objects.get(pk=opac.member.pk)
        assert member.postcode == "3512 AB" and member.email == "anna.nieuw@example.nl"
        assert member.consent_loan_history_at is not None and member.consent_newsletter_at is None
    response = member_client.post("/mijn/gegevens/", {"onderdeel": "gegevens", "postcode": "XXXX",
                                                      "email": "geen-adres"})
    page = text(response)
    assert response.status_code == 400 and "XXXX&#x27; is geen geldige postcode" in page, page
    with tenant_context(opac.library):
        member = Member.objects.get(pk=opac.member.pk)
        assert (member.postcode, member.email) == ("3512 AB", "anna.nieuw@example.nl")


def test_pin_change_and_export(member_client, opac):
    response = member_client.post("/mijn/pincode/", {"current_pin": PIN, "pin": "5678", "pin_repeat": "5678"})
    assert response.status_code == 302
    assert member_client.get("/mijn/").status_code == 200  # the session survives its own PIN change
    member_client.post("/afmelden/")
    assert sign_in(member_client, pin="5678").status_code == 302
    response = member_client.get("/mijn/gegevens/downloaden/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert "A1000001" in json.dumps(data) and "A1000002" not in json.dumps(data)


def test_pin_reset_by_single_use_link(visitor, opac):
    mail.outbox.clear()
    response = visitor.post("/pincode-vergeten/", {"card_number": "A1000002", "email": "bas@example.nl"})
    assert "hebben we u een e-mail gestuurd" in text(response)
    wrong = visitor.post("/pincode-vergeten/", {"card_number": "A1000002", "email": "iemand@example.nl"})
    assert text(wrong).count("hebben we u een e-mail gestuurd") == 1
    assert len(mail.outbox) == 1
    link = re.search(r"http://alpha\.localhost(/pincode-herstellen/[^/\s]+/)", mail.outbox[0].body).group(1)
    response = visitor.post(link, {"pin": "4321", "pin_repeat": "4321"})
    assert response.status_code == 302
    assert sign_in(visitor, card="A1000002", pin="4321").status_code == 302
    again = visitor.get(link)
    assert again.status_code == 400 and "ongeldig of al gebruikt" in text(again)
