"""Member search by POST, and an audit log without typed search text (issue 14, finding 8)."""

from django_tenants.utils import tenant_context

from members.models import AuditEntry
from tests.members.factories import make_member

ALPHA = "alpha.localhost"


def test_search_criteria_come_by_post_and_the_audit_names_only_which(client, libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        make_member(card_number="POST00001", first_name="Petra", last_name="Postma", email="petra@example.nl")
    client.force_login(staff.alpha_desk)
    # A GET with criteria (an old bookmark) searches nothing: criteria never travel in a URL.
    page = client.get("/leden/", {"q": "postma"}, HTTP_HOST=ALPHA).content.decode()
    assert "Postma" not in page
    page = client.get("/balie/", HTTP_HOST=ALPHA).content.decode()
    assert 'method="post" action="/leden/"' in page
    page = client.post("/leden/", {"name": "Postma", "email": "petra@example.nl"}, HTTP_HOST=ALPHA).content.decode()
    assert "1 lid gevonden" in page and "POST00001" in page
    with tenant_context(libraries.alpha):
        entry = AuditEntry.objects.filter(action="search").latest("pk")
        assert entry.detail["query"] == {"fields": ["email", "name"]}
        assert "Postma" not in str(entry.detail) and "petra@" not in str(entry.detail)
    client.force_login(staff.alpha_library_admin)
    log = client.get("/leden/privacy/audit/", HTTP_HOST=ALPHA).content.decode()
    assert "gezocht op: e-mail, naam" in log and "petra@example.nl" not in log
