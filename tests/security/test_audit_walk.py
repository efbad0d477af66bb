"""Every screen that shows a member's personal data writes an audit entry
(issue 14, finding 7). The walk: one member of alpha with an overdue loan, a
hold, a charge and a block; every URL pattern of the library host is asked for
(GET, its parameters filled with that member's ids, ?pas= with the card), as a
library administrator; a page that shows the member's name must
have written an audit entry naming the member during that request."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.services.holds import hold_place
from core.actors import Actor
from members.models import AuditEntry
from members.services.ledger import block_add, ledger_charge
from tests.circulation.factories import make_rule
from tests.circulation.helpers import lend

from .urlwalk import library_routes

ALPHA = "alpha.localhost"


def _audited(member_id):
    from django.db.models import Q

    return AuditEntry.objects.filter(
        Q(member_id_ref=member_id) | Q(action="search", detail__contains={"member_ids": [member_id]})).count()


@pytest.fixture
def lived_member(desk, libraries):
    """Anna Jansen (card A1000001) with an overdue loan, a waiting hold, a charge and a block."""
    with tenant_context(libraries.alpha):
        make_rule(loan_days=21)
        [loaned] = desk.items()
        [other] = desk.items()
        long_ago = timezone.now() - datetime.timedelta(days=60)
        loan = lend(desk, loaned, now=long_ago).loan
        hold = hold_place(actor=desk.actor(), member=desk.member, title_id=other.title_id,
                          pickup_branch_id=desk.main.pk)
        charge = ledger_charge(actor=Actor.system("test", libraries.alpha), member=desk.member,
                               charge_type="other", amount_cents=150, description="Kopieerkaart")
        block = block_add(actor=Actor.system("test", libraries.alpha), member=desk.member, reason="Controle")
    return {"member_id": desk.member.pk, "loan_id": loan.pk, "hold_id": hold.pk, "title_id": loaned.title_id,
            "barcode": loaned.barcode, "branch_id": desk.main.pk, "charge_id": charge.pk, "block_id": block.pk,
            "kind": "hold_ready"}


def test_every_page_showing_a_member_writes_an_audit_entry(client, libraries, staff, desk, lived_member):
    member = desk.member
    client.force_login(staff.alpha_library_admin)
    client.raise_request_exception = False
    shown, unaudited, errors = [], [], []
    for route in library_routes():
        path = route.path(lived_member)
        with tenant_context(libraries.alpha):
            before = _audited(member.pk)
        response = client.get(path, {"pas": member.card_number}, HTTP_HOST=ALPHA)
        if response.status_code == 500:
            errors.append((route.route, response.status_code))
        if not hasattr(response, "content") or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode(errors="replace")
        # By name: a card number in ?pas= is echoed by forms that prefill it (the typed text, not the member).
        if member.last_name not in html:
            continue
        shown.append(route.route)
        with tenant_context(libraries.alpha):
            if _audited(member.pk) == before:
                unaudited.append(route.route)
    assert errors == []
    # The member page, the checkout panel, the overdue list, the hold shelf, ... must be among them.
    assert {"leden/<int:member_id>/", "uitlening/uitlenen/", "uitlening/te-laat/",
            "uitlening/<int:loan_id>/verloren/", "uitlening/<int:loan_id>/ingeleverd/"} <= set(shown), shown
    assert unaudited == [], f"pages that show the member without an audit entry: {unaudited}"
