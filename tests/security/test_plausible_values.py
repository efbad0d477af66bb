"""Bad values (issue 14, finding 11): dates in year 1 or 9999, amounts in
Arabic-Indic digits, notice texts that would render hundreds of MB: refused with a
Dutch message, nothing changed."""

import datetime

import pytest
from django_tenants.utils import tenant_context

from collection import services as collection_services
from collection.forms import PriceField
from core.actors import Actor
from core.money import euro_parse
from members.forms_accounts import EuroField
from members.models import LedgerEntry
from notices.rendering import RENDERED_MAX, render, text_errors
from tenants import services as tenant_services
from tenants.models import ClosedDate
from tests.factories import TitleFactory, collection_actor
from tests.refusals import refused

ALPHA = "alpha.localhost"
ARABIC_INDIC = "١٠٠٠٠٠"  # 100000 in Arabic-Indic digits


@pytest.mark.parametrize("text", [ARABIC_INDIC, "۱۲,۵۰", "１２", "12,5٠"])
def test_only_ascii_digits_are_euros(text):
    assert euro_parse(text) is None
    for field in (EuroField(), PriceField()):
        with pytest.raises(Exception):
            field.clean(text)


def test_a_payment_in_arabic_indic_digits_is_refused_and_books_nothing(client, libraries, staff, desk):
    client.force_login(staff.alpha_desk)
    response = client.post(f"/leden/geld/{desk.member.pk}/betaling/", {"amount": ARABIC_INDIC, "method": "cash"},
                           HTTP_HOST=ALPHA)
    assert response.status_code == 400
    assert "Geef een bedrag in euro&#x27;s" in response.content.decode()
    with tenant_context(libraries.alpha):
        assert not LedgerEntry.objects.filter(member=desk.member, kind="payment").exists()


@pytest.mark.parametrize("day", [datetime.date(1, 1, 1), datetime.date(9999, 12, 31),
                                 datetime.date.today() + datetime.timedelta(days=11 * 366)])
def test_closed_dates_far_from_today_are_refused(libraries, staff, day):
    branch = libraries.alpha.branches.first()
    with tenant_context(libraries.alpha):
        actor = Actor.staff(staff.alpha_library_admin, libraries.alpha)
        with refused("input.date_out_of_range"):
            tenant_services.closed_date_add(actor=actor, branch=branch, date=day, reason="Studiedag")
        with refused("input.date_out_of_range"):
            tenant_services.closed_dates_add_range(actor=actor, branch=branch, start=datetime.date.today(),
                                                   end=day, reason="Studiedag")
    assert not ClosedDate.objects.filter(branch=branch, reason="Studiedag").exists()


def test_the_closed_dates_screen_says_why(client, libraries, staff):
    branch = libraries.alpha.branches.first()
    client.force_login(staff.alpha_library_admin)
    response = client.post(f"/balie/beheer/vestigingen/{branch.pk}/sluitingsdagen/",
                           {"date": "9999-12-31", "reason": "Studiedag"}, HTTP_HOST=ALPHA)
    assert response.status_code == 400
    assert "De sluitingsdag 31-12-9999 kan niet kloppen" in response.content.decode()


@pytest.mark.parametrize("day", [datetime.date(1, 1, 1), datetime.date(9999, 12, 31)])
def test_acquisition_dates_in_year_1_or_9999_are_refused(libraries, day):
    title = TitleFactory()
    with tenant_context(libraries.alpha):
        actor = collection_actor(libraries.alpha)
        branch = libraries.alpha.branches.first()
        with refused("input.date_out_of_range"):
            collection_services.item_add(actor=actor, title_id=title.pk, barcodes=["PLAUS0001"], branch_id=branch.pk,
                                         acquired_on=day)
        collection_services.item_add(actor=actor, title_id=title.pk, barcodes=["PLAUS0002"], branch_id=branch.pk)
        with refused("input.date_out_of_range"):
            collection_services.item_update(actor=actor, barcode="PLAUS0002", acquired_on=day)
        with refused("input.amount_out_of_range"):
            collection_services.item_update(actor=actor, barcode="PLAUS0002", price_cents=10**12)


@pytest.mark.parametrize("body, code", [
    ('{{ naam|ljust:"500000000" }}', "notice_text.filter_not_allowed"),
    ('{{ naam|stringformat:"500000000s" }}', "notice_text.filter_not_allowed"),
    ('{{ naam|truncatechars:"500000000" }}', "notice_text.filter_argument_too_large"),
    ("{% for a in titels %}{% for b in titels %}{{ b.titel }}{% endfor %}{% endfor %}", "notice_text.loop_nested"),
    ("{% for t in titels %}" + "{{ t.titel }}" * 400 + "{% endfor %}", "notice_text.rendered_too_long"),
    ("x" * 10_001, "notice_text.body_too_long"),
])
def test_notice_texts_that_would_grow_without_bound_are_refused(body, code):
    codes = [error.code for error in text_errors(kind="hold_ready", subject="Klaar", body=body)]
    assert code in codes


def test_a_rendered_notice_is_cut_off_at_its_limit():
    text = render("{% for t in titels %}{{ t.titel }}{% endfor %}", {"titels": [{"titel": "x" * 1000}] * 200})
    assert len(text) <= RENDERED_MAX + 20 and text.endswith("(ingekort)")


def test_the_default_notice_texts_still_pass():
    from notices.rendering import DEFAULTS

    for kind, (subject, body) in DEFAULTS.items():
        assert text_errors(kind=kind, subject=subject, body=body) == [], kind


@pytest.mark.parametrize("van, tot", [("0001-01-01", "9999-12-31"), ("9999-12-31", "9999-12-31")])
def test_the_audit_log_filter_with_dates_far_away_is_no_server_error(client, libraries, staff, van, tot):
    client.force_login(staff.alpha_library_admin)
    client.raise_request_exception = False
    response = client.get("/leden/privacy/audit/", {"van": van, "tot": tot}, HTTP_HOST=ALPHA)
    assert response.status_code in (200, 400)
