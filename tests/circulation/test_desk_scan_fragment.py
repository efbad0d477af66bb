"""The desk's scan fragment: a scan sent by the page's script (static/circulation.js,
header HX-Request: true) answers only what changed (the outcome and the new row,
the refusal with the override form for a coordinator, the checkin's routing
message), with the status codes of the full page, and costs few statements; the
full page without the header still works as before (no script)."""

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from circulation.models import Loan
from circulation.services.loans import checkin, checkout
from members.models import LedgerEntry

from .factories import make_rule
from .test_desk_views import ALPHA, DB_DOWN, lend_earlier, state

pytestmark = pytest.mark.django_db

FRAGMENT = {"HTTP_HX_REQUEST": "true", "HTTP_HOST": ALPHA}
# The view's own statements around the service (session, user with roles, the title;
# for a checkin the title with the destination's name). Besides the service's.
CHECKOUT_VIEW_STATEMENTS = 3
CHECKIN_VIEW_STATEMENTS = 3
# Targets of the issue for a whole scan request, including session and sign-in.
CHECKOUT_MAX = 16
CHECKIN_MAX = 12


def scan_out(client, desk, barcode, card="A1000001", **extra):
    return client.post("/uitlening/uitlenen/scan/", {"pas": card, "barcode": barcode, "vestiging": desk.main.pk,
                                                      **extra}, **FRAGMENT)


def scan_in(client, desk, barcode, branch=None):
    return client.post("/uitlening/innemen/scan/", {"barcode": barcode, "vestiging": (branch or desk.main).pk},
                       **FRAGMENT)


def is_fragment(response):
    page = response.content.decode()
    return response["X-LSB-Fragment"] == "scan" and "<html" not in page and 'data-part="output"' in page


def test_checkout_answers_the_outcome_and_the_rows(client, desk):
    (item,) = desk.items()
    client.force_login(desk.staff)
    response = scan_out(client, desk, item.barcode)
    assert response.status_code == 200 and is_fragment(response)
    page = response.content.decode()
    with tenant_context(desk.library):
        loan = Loan.objects.get(item=item, ended_at__isnull=True)
    due = loan.due_on.strftime("%d-%m-%Y")
    assert f"inleveren uiterlijk <strong>{due}</strong>" in page and 'data-testid="result"' in page
    scanned = page.split('data-part="scanned"')[1].split("</tbody>")[0]
    assert f'data-key="loan-{loan.pk}"' in scanned and item.barcode in scanned and due in scanned
    loans = page.split('data-part="loans"')[1].split("</tbody>")[0]
    assert f"/uitlening/verlengen/{loan.pk}/" in loans and f"/uitlening/{loan.pk}/verloren/" in loans
    # No member panel, no full page, and nothing in the session (the script keeps the list).
    assert "Anna Jansen" not in page and 'data-testid="borrower"' not in page
    assert "circulation_checkouts" not in client.session


def test_renewal_is_marked_and_remembered_for_the_receipt(client, desk):
    (item,) = desk.items()
    loan = lend_earlier(desk, item, days_ago=10)
    client.force_login(desk.staff)
    response = scan_out(client, desk, item.barcode)
    assert response.status_code == 200 and is_fragment(response)
    page = response.content.decode()
    assert "Verlengd</strong> (was al aan deze lener uitgeleend)" in page
    assert '<span class="tag">verlengd</span>' in page and 'data-renewed="1"' in page
    with tenant_context(desk.library):
        loan.refresh_from_db()
    assert loan.renewals == 1
    receipt = client.get("/uitlening/bon/?pas=A1000001", HTTP_HOST=ALPHA).content.decode()
    assert f"verlengd, inleveren {loan.due_on:%d-%m-%Y}" in receipt


def test_refusal_is_422_in_dutch_and_changes_nothing(client, desk):
    (item,) = desk.items()
    client.force_login(desk.staff)
    assert scan_out(client, desk, item.barcode).status_code == 200
    before = state(desk, item)
    response = scan_out(client, desk, item.barcode)  # again today: a renewal that gives no later date
    assert response.status_code == 422 and is_fragment(response)
    page = response.content.decode()
    assert f"Exemplaar {item.barcode} is al aan deze lener uitgeleend; verlengen kan niet:" in page
    assert 'data-testid="errors"' in page and 'data-part="scanned"' not in page
    assert state(desk, item) == before
    response = scan_out(client, desk, "C99999999")
    assert response.status_code == 422 and "Exemplaar C99999999 is onbekend in deze bibliotheek." in \
        response.content.decode()
    response = client.post("/uitlening/uitlenen/scan/", {"pas": "", "barcode": item.barcode}, **FRAGMENT)
    assert response.status_code == 422 and "Scan eerst de pas van het lid." in response.content.decode()


def test_override_form_only_for_a_coordinator(client, desk):
    (item,) = desk.items(not_for_loan=True)
    client.force_login(desk.staff)
    response = scan_out(client, desk, item.barcode)
    assert response.status_code == 422 and is_fragment(response)
    assert f"Exemplaar {item.barcode} is niet uitleenbaar." in response.content.decode()
    assert "Toch uitlenen" not in response.content.decode()
    client.force_login(desk.supervisor)
    response = scan_out(client, desk, item.barcode)
    page = response.content.decode()
    assert response.status_code == 422 and is_fragment(response)
    form = page.split('data-testid="override"')[1].split("</form>")[0]
    assert "data-scan-form" in form and 'name="override_reason"' in form and "Toch uitlenen" in form
    assert f'name="barcode" value="{item.barcode}"' in form and f'name="vestiging" value="{desk.main.pk}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    response = scan_out(client, desk, item.barcode, override="1", override_reason=" ")
    assert response.status_code == 422 and "Geef een reden voor de uitzondering" in response.content.decode()
    assert 'data-testid="override"' in response.content.decode()
    response = scan_out(client, desk, item.barcode, override="1", override_reason="Naslagwerk voor de klas")
    assert response.status_code == 200 and "uitzondering vastgelegd" in response.content.decode()
    assert '<span class="tag tag-err">uitzondering</span>' in response.content.decode()


def test_a_loan_fee_updates_the_balance(client, desk):
    with tenant_context(desk.library):
        make_rule(loan_fee_cents=50)
    (item,) = desk.items()
    client.force_login(desk.staff)
    page = scan_out(client, desk, item.barcode).content.decode()
    assert "leengeld € 0,50" in page and '<div data-part="balance">€ 0,50</div>' in page
    with tenant_context(desk.library):
        assert LedgerEntry.objects.filter(member=desk.member, charge_type="loan_fee").exists()


def test_checkin_answers_the_routing_message_and_the_row(client, desk):
    first, second = desk.items(count=2)
    lend_earlier(desk, first, days_ago=1)
    lend_earlier(desk, second, days_ago=1)
    client.force_login(desk.staff)
    response = scan_in(client, desk, first.barcode)
    assert response.status_code == 200 and is_fragment(response)
    page = response.content.decode()
    assert 'data-route="shelf"' in page and "route-green" in page
    assert '<div class="route-message" data-testid="route-message">TERUG IN DE KAST</div>' in page
    row = page.split('data-part="scanned"')[1].split("</tbody>")[0]
    assert first.barcode in row and "TERUG IN DE KAST" in row and "dot-green" in row
    assert "circulation_checkins" not in client.session
    # At the other branch (the page's branch, chosen in this session): in transit home, with the destination.
    client.post("/balie/vestiging/", {"branch": desk.other.pk}, HTTP_HOST=ALPHA)
    response = scan_in(client, desk, second.barcode, branch=desk.other)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"TRANSPORT NAAR {desk.main.name.upper()}" in page and "route-orange" in page
    assert f'data-testid="route-destination">{desk.main.name}<' in page
    response = scan_in(client, desk, "C99999998")
    assert response.status_code == 422 and is_fragment(response)
    assert "Exemplaar C99999998 is onbekend in deze bibliotheek." in response.content.decode()


def test_a_page_of_another_branch_scans_at_the_branch_chosen_since(client, desk):
    """The form's branch is the page's; when the session chose another branch since
    (another tab), the scan is at the chosen one."""
    (item,) = desk.items()
    lend_earlier(desk, item, days_ago=1)
    client.force_login(desk.staff)
    client.post("/balie/vestiging/", {"branch": desk.other.pk}, HTTP_HOST=ALPHA)
    page = scan_in(client, desk, item.barcode, branch=desk.main).content.decode()
    assert f"TRANSPORT NAAR {desk.main.name.upper()}" in page
    with tenant_context(desk.library):
        assert Loan.objects.get(item=item).ended_branch_id == desk.other.pk


def test_a_branch_of_another_library_is_refused(client, desk, libraries):
    (item,) = desk.items()
    beta_branch = libraries.beta.branches.first()
    client.force_login(desk.staff)
    before = state(desk, item)
    response = client.post("/uitlening/uitlenen/scan/", {"pas": "A1000001", "barcode": item.barcode,
                                                         "vestiging": beta_branch.pk}, **FRAGMENT)
    assert response.status_code == 422 and "hoort niet bij" in response.content.decode()
    assert state(desk, item) == before


def test_503_fragment_when_the_database_is_gone(client, desk, monkeypatch):
    (item,) = desk.items()
    client.force_login(desk.staff)

    def gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("circulation.services.loans.checkout", gone)
    monkeypatch.setattr("circulation.services.loans.checkin", gone)
    for response in (scan_out(client, desk, item.barcode), scan_in(client, desk, item.barcode)):
        assert response.status_code == 503 and is_fragment(response)
        assert DB_DOWN in response.content.decode()


def test_without_the_header_the_full_page_as_before(client, desk):
    """No script: the whole page, the list of scans in the session."""
    (item,) = desk.items()
    client.force_login(desk.staff)
    response = client.post("/uitlening/uitlenen/scan/", {"pas": "A1000001", "barcode": item.barcode},
                           HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 200 and "X-LSB-Fragment" not in response
    assert "<html" in page and "Anna Jansen" in page and 'data-testid="scanned"' in page
    assert f'name="vestiging" value="{desk.main.pk}"' in page  # the scan form carries the page's branch
    assert item.barcode in page.split('data-testid="scanned"')[1].split("</table>")[0]
    assert client.session["circulation_checkouts"]
    response = client.post("/uitlening/innemen/scan/", {"barcode": item.barcode}, HTTP_HOST=ALPHA)
    page = response.content.decode()
    assert response.status_code == 200 and "<html" in page and "TERUG IN DE KAST" in page
    assert item.barcode in page.split('data-testid="checkins"')[1]
    assert response.status_code == 200


# --- statements per scan ------------------------------------------------------------------


def _count(call):
    with CaptureQueriesContext(connection) as queries:
        response = call()
    return response, len(queries)


def test_statements_per_checkout_scan(client, desk):
    """A checkout scan costs the service's statements and three more (session, user with
    roles, the title): no branch, no panel, no session write, no query per open loan."""
    items = desk.items(count=14)
    client.force_login(desk.staff)
    scan_out(client, desk, items[0].barcode)
    with tenant_context(desk.library):  # the service alone, for a scan like the measured one
        _, service = _count(lambda: checkout(actor=desk.actor(), card_number="A1000001",
                                             barcode=items[1].barcode))
    response, few = _count(lambda: scan_out(client, desk, items[2].barcode))
    assert response.status_code == 200
    assert few <= service + CHECKOUT_VIEW_STATEMENTS, (few, service)
    assert few <= CHECKOUT_MAX
    for item in items[3:13]:
        scan_out(client, desk, item.barcode)
    response, many = _count(lambda: scan_out(client, desk, items[13].barcode))
    assert response.status_code == 200 and many <= few


def test_statements_per_checkin_scan(client, desk):
    items = desk.items(count=3)
    for item in items:
        lend_earlier(desk, item, days_ago=1)
    client.force_login(desk.staff)
    scan_in(client, desk, items[0].barcode)
    with tenant_context(desk.library):
        _, service = _count(lambda: checkin(actor=desk.actor(), barcode=items[1].barcode))
    response, count = _count(lambda: scan_in(client, desk, items[2].barcode))
    assert response.status_code == 200
    assert count <= service + CHECKIN_VIEW_STATEMENTS, (count, service)
    assert count <= CHECKIN_MAX


def test_a_refused_scan_costs_no_more(client, desk):
    (item,) = desk.items(not_for_loan=True)
    client.force_login(desk.staff)
    scan_out(client, desk, "C99999999")
    response, count = _count(lambda: scan_out(client, desk, item.barcode))
    assert response.status_code == 422 and count <= CHECKOUT_MAX


def test_roles_come_with_the_user_and_are_read_again_next_request(client, desk):
    """staff.backends.StaffBackend reads the roles at the request's library with the
    user (one statement); nothing is kept between requests: a revoked role counts at once."""
    from staff.models import LibraryRole

    client.force_login(desk.staff)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/uitlening/innemen/", HTTP_HOST=ALPHA).status_code == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert any("staff_staffuser" in sql and "staff_libraryrole" in sql for sql in statements)
    assert not any("staff_libraryrole" in sql and "staff_staffuser" not in sql for sql in statements)
    LibraryRole.objects.filter(user=desk.staff, organisation=desk.library).delete()
    assert client.get("/uitlening/innemen/", HTTP_HOST=ALPHA).status_code == 403
    (item,) = desk.items()
    assert scan_in(client, desk, item.barcode).status_code == 403
