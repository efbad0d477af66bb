"""The notice screens: roles (desk, library admin), other libraries, texts with
preview, settings, letters to print, the member page and tenant isolation."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from members.models import AuditEntry
from notices import services
from notices.models import Notice, NoticeSettings, NoticeTemplate

from .conftest import notice_member, system_actor, titles_context

pytestmark = pytest.mark.django_db

ALPHA = "alpha.localhost"
BETA = "beta.localhost"


def make_notice(library, key="due_soon:loan:1", **member_fields):
    with tenant_context(library):
        member = notice_member(**member_fields)
        notice = services.notice_queue(actor=system_actor(), member=member, kind="due_soon", dedupe_key=key,
                                       context=titles_context())
    connection.set_schema_to_public()
    return notice


def test_desk_home_has_the_notices_card(client, staff):
    client.force_login(staff.alpha_desk)
    page = client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    assert 'aria-label="Berichten"' in page and "/berichten/brieven/" in page and "/berichten/sjablonen/" not in page
    client.force_login(staff.alpha_library_admin)
    assert "/berichten/sjablonen/" in client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    client.force_login(staff.alpha_collection)
    assert 'aria-label="Berichten"' not in client.get("/balie/", HTTP_HOST=ALPHA).content.decode()


@pytest.mark.parametrize("url, desk, admin", [
    ("/berichten/", 200, 200),
    ("/berichten/brieven/", 200, 200),
    ("/berichten/sjablonen/", 403, 200),
    ("/berichten/sjablonen/due_soon/", 403, 200),
    ("/berichten/instellingen/", 403, 200),
])
def test_roles(client, staff, url, desk, admin):
    client.force_login(staff.alpha_desk)
    assert client.get(url, HTTP_HOST=ALPHA).status_code == desk
    client.force_login(staff.alpha_library_admin)
    assert client.get(url, HTTP_HOST=ALPHA).status_code == admin
    client.force_login(staff.alpha_collection)
    assert client.get(url, HTTP_HOST=ALPHA).status_code == 403
    client.force_login(staff.beta_desk)  # works at another library
    assert client.get(url, HTTP_HOST=ALPHA).status_code == 403
    client.logout()
    assert client.get(url, HTTP_HOST=ALPHA).status_code == 302


def test_overview_lists_notices_filters_and_audits(client, libraries, staff):
    notice = make_notice(libraries.alpha, first_name="Fenna")
    client.force_login(staff.alpha_desk)
    page = client.get("/berichten/", HTTP_HOST=ALPHA).content.decode()
    assert "Fenna" in page and notice.subject in page and f"/berichten/{notice.pk}/" in page
    assert "Fenna" not in client.get("/berichten/?status=sent", HTTP_HOST=ALPHA).content.decode()
    assert "Fenna" in client.get("/berichten/?status=pending&kind=due_soon", HTTP_HOST=ALPHA).content.decode()
    assert "Fenna" not in client.get("/berichten/?kind=overdue_1", HTTP_HOST=ALPHA).content.decode()
    with tenant_context(libraries.alpha):
        assert AuditEntry.objects.filter(action="search", detail__member_ids=[notice.member_id]).exists()


def test_uncertain_notice_shows_with_a_resend_button(client, libraries, staff):
    notice = make_notice(libraries.alpha, first_name="Sem")
    with tenant_context(libraries.alpha):
        Notice.objects.filter(pk=notice.pk).update(
            status="sending", attempts=1, claimed_at=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(staff.alpha_desk)
    page = client.get("/berichten/", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="uncertain"' in page and "onzeker verzonden" in page
    assert f'data-testid="resend-{notice.pk}"' in page
    response = client.post(f"/berichten/{notice.pk}/opnieuw-versturen/", {"next": "/berichten/"}, HTTP_HOST=ALPHA,
                           follow=True)
    assert "wordt opnieuw verstuurd" in response.content.decode()
    with tenant_context(libraries.alpha):
        assert Notice.objects.get(pk=notice.pk).status == "pending"
    # A second press: nothing uncertain any more, said in Dutch.
    again = client.post(f"/berichten/{notice.pk}/opnieuw-versturen/", HTTP_HOST=ALPHA, follow=True)
    assert "alleen mislukte of onzeker verzonden berichten" in again.content.decode()
    # Never redirected off the site.
    away = client.post(f"/berichten/{notice.pk}/opnieuw-versturen/", {"next": "https://evil.example/"},
                       HTTP_HOST=ALPHA)
    assert away["Location"] == "/berichten/"


def test_notice_detail_and_tenant_isolation(client, libraries, staff):
    notice = make_notice(libraries.alpha, first_name="Isa")
    client.force_login(staff.alpha_desk)
    page = client.get(f"/berichten/{notice.pk}/", HTTP_HOST=ALPHA).content.decode()
    assert "Isa" in page and "De avonden" in page
    with tenant_context(libraries.alpha):
        assert AuditEntry.objects.filter(member_id_ref=notice.member_id, action="view",
                                         detail__screen="notice").exists()
    # Beta's desk: alpha's host refuses them, and on beta's own host alpha's notice does not exist.
    client.force_login(staff.beta_desk)
    assert client.get(f"/berichten/{notice.pk}/", HTTP_HOST=ALPHA).status_code == 403
    assert client.get(f"/berichten/{notice.pk}/", HTTP_HOST=BETA).status_code == 404
    assert client.post(f"/berichten/{notice.pk}/opnieuw-versturen/", HTTP_HOST=BETA).status_code == 302
    beta_page = client.get("/berichten/", HTTP_HOST=BETA).content.decode()
    assert "Isa" not in beta_page and notice.subject not in beta_page
    assert "Isa" not in client.get("/berichten/brieven/", HTTP_HOST=BETA).content.decode()
    with tenant_context(libraries.alpha):
        assert Notice.objects.get(pk=notice.pk).status == "pending"  # beta's post changed nothing here


def test_letters_page_prints_one_letter_per_page_and_marks_printed(client, libraries, staff):
    with tenant_context(libraries.alpha):
        branches = list(libraries.alpha.branches.order_by("name"))
        member = notice_member(email="", first_name="Lotte", street="Domplein", house_number="9",
                               postcode="3512 JC", city="Utrecht")
        letter = services.notice_queue(actor=system_actor(), member=member, kind="overdue_1", dedupe_key="l1",
                                       context=titles_context(boete="€ 1,00"), branch=branches[0])
    connection.set_schema_to_public()
    client.force_login(staff.alpha_desk)
    page = client.get("/berichten/brieven/", HTTP_HOST=ALPHA).content.decode()
    assert page.count('data-testid="letter"') == 1
    assert "Lotte" in page and "Domplein 9" in page and "3512 JC Utrecht" in page and "€ 1,00" in page
    assert "@media print" in page and "page-break-after:always" in page
    assert "Markeer als afgedrukt" in page
    assert len(branches) == 2  # the test library has two branches: the letter is only at the first
    other = client.get(f"/berichten/brieven/?vestiging={branches[1].pk}", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="letter"' not in other
    done = client.post("/berichten/brieven/afgedrukt/", {"notice": [str(letter.pk)]}, HTTP_HOST=ALPHA, follow=True)
    assert "1 brief/brieven gemarkeerd als afgedrukt" in done.content.decode()
    assert 'data-testid="no-letters"' in done.content.decode()
    with tenant_context(libraries.alpha):
        letter.refresh_from_db()
        assert letter.status == "printed" and letter.printed_by_id == staff.alpha_desk.pk


def test_template_edit_preview_save_and_reset(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    url = "/berichten/sjablonen/hold_ready/"
    page = client.get(url, HTTP_HOST=ALPHA).content.decode()
    assert "Uw reservering ligt klaar" in page  # starts from the default text
    assert "uiterste_ophaaldatum" in page and "t.barcode" in page and "{{ vestiging }}" in page
    body = "Beste {{ voornaam }}, ophalen in {{ vestiging }}:{% for t in titels %} {{ t.titel }}{% endfor %}"
    preview = client.post(url, {"subject": "Klaar in {{ vestiging }}", "body": body, "preview": "1"},
                          HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="preview"' in preview and "Beste Anna, ophalen in Centrale bibliotheek: De avonden" in preview
    with tenant_context(libraries.alpha):
        assert not NoticeTemplate.objects.exists()  # a preview saves nothing
    bad = client.post(url, {"subject": "Klaar", "body": "{{ geheim }}", "save": "1"}, HTTP_HOST=ALPHA)
    assert bad.status_code == 400 and "Onbekende plaatshouder {{ geheim }}" in bad.content.decode()
    broken = client.post(url, {"subject": "Klaar", "body": "{% if titels %}open", "save": "1"}, HTTP_HOST=ALPHA)
    assert broken.status_code == 400 and "fout in de opmaak" in broken.content.decode()
    with tenant_context(libraries.alpha):
        assert not NoticeTemplate.objects.exists()
    saved = client.post(url, {"subject": "Klaar in {{ vestiging }}", "body": body, "save": "1"}, HTTP_HOST=ALPHA)
    assert saved.status_code == 302
    with tenant_context(libraries.alpha):
        assert NoticeTemplate.objects.get(kind="hold_ready").body == body
    assert "eigen tekst" in client.get("/berichten/sjablonen/", HTTP_HOST=ALPHA).content.decode()
    client.post(f"{url}standaard/", HTTP_HOST=ALPHA)
    with tenant_context(libraries.alpha):
        assert not NoticeTemplate.objects.exists()
    assert client.get("/berichten/sjablonen/onbekend/", HTTP_HOST=ALPHA).status_code == 404


def test_settings_screen(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    data = {"due_soon_days_before": "2", "overdue_1_days": "30", "overdue_2_days": "20", "overdue_3_days": "40",
            "from_email": ""}
    refused = client.post("/berichten/instellingen/", data, HTTP_HOST=ALPHA)
    assert refused.status_code == 400 and "eerste vóór tweede vóór derde" in refused.content.decode()
    data["overdue_1_days"] = "10"
    assert client.post("/berichten/instellingen/", data, HTTP_HOST=ALPHA).status_code == 302
    with tenant_context(libraries.alpha):
        assert NoticeSettings.objects.get(pk=1).overdue_1_days == 10
    with tenant_context(libraries.beta):
        assert not NoticeSettings.objects.exists()


def test_member_page_shows_the_notices(client, libraries, staff):
    notice = make_notice(libraries.alpha, first_name="Daan")
    client.force_login(staff.alpha_desk)
    page = client.get(f"/leden/{notice.member_id}/", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="member-notices"' in page and notice.subject in page and "Herinnering inleverdatum" in page
