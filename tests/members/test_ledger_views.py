"""Account screens: who may use them, tenant isolation, the rules screen."""

import pytest
from django.urls import reverse
from django_tenants.utils import tenant_context

from members.models import AuditEntry, LedgerEntry, MemberRules

from .ledger_helpers import money_member

pytestmark = pytest.mark.django_db


def test_rules_screen_is_for_library_admins_and_saves(client, libraries, staff, django_capture_on_commit_callbacks):
    client.force_login(staff.alpha_desk)
    assert client.get("/leden/geld/regels/", HTTP_HOST="alpha.localhost").status_code == 403
    client.force_login(staff.alpha_library_admin)
    page = client.get("/leden/geld/regels/", HTTP_HOST="alpha.localhost")
    assert page.status_code == 200 and "Ledenregels" in page.content.decode()
    bad = client.post("/leden/geld/regels/", {"balance_block": "tien", "loan_history_retention_days": "30"},
                      HTTP_HOST="alpha.localhost")
    assert bad.status_code == 400 and "Geef een bedrag in euro" in bad.content.decode()
    from unittest import mock
    with mock.patch("members.tasks.member_blocks_refresh_library.apply_async"):
        with django_capture_on_commit_callbacks(execute=True):
            saved = client.post("/leden/geld/regels/", {"balance_block": "7,50", "block_when_expired": "on",
                                                       "loan_history_retention_days": "14",
                                                       "online_confirmation": "desk"},
                                HTTP_HOST="alpha.localhost")
    assert saved.status_code == 302
    with tenant_context(libraries.alpha):
        rules = MemberRules.objects.get(pk=1)
        assert (rules.balance_block_cents, rules.block_when_expired, rules.loan_history_retention_days,
                rules.online_confirmation) == (750, True, 14, "desk")


def test_staff_of_another_library_and_other_roles_cannot_book(client, libraries, staff):
    with tenant_context(libraries.alpha):
        member = money_member()
    for user, status in ((staff.beta_desk, 403), (staff.alpha_collection, 403)):
        client.force_login(user)
        response = client.post(f"/leden/geld/{member.pk}/betaling/", {"amount": "5", "method": "cash"},
                               HTTP_HOST="alpha.localhost")
        assert response.status_code == status
    with tenant_context(libraries.alpha):
        assert not LedgerEntry.objects.filter(member=member).exists()


def test_a_member_id_of_another_library_is_not_found(client, libraries, staff):
    # An id far above any beta member's, so the request can only mean alpha's member.
    with tenant_context(libraries.alpha):
        member = money_member(pk=987654)
    with tenant_context(libraries.beta):
        from members.models import Member

        assert not Member.objects.filter(pk=member.pk).exists()
    client.force_login(staff.beta_desk)
    response = client.post(f"/leden/geld/{member.pk}/betaling/", {"amount": "5", "method": "cash"},
                           HTTP_HOST="beta.localhost")
    assert response.status_code == 404
    with tenant_context(libraries.alpha):
        assert not LedgerEntry.objects.filter(member=member).exists()
        assert not AuditEntry.objects.filter(member_id_ref=member.pk, action="money").exists()
