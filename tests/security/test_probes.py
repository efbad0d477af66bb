"""The security probes that stay (issue 14): for every URL pattern of the library
hosts (and the national host), requests with another library's ids and staff, a
session signed in at another library, oversized input and POSTs without a CSRF
token. Asserted: no other library's data in any answer, no change to its tables,
no server error. (NUL characters: test_null_bytes.py, the same walk.)

The figures (probes, leaks, server errors) are printed at the end of the walk:
`pytest tests/security/test_probes.py -s`."""

import datetime
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context

from circulation.services.holds import hold_place
from core.actors import Actor
from members.services.ledger import block_add, ledger_charge
from tests.circulation.factories import make_items, make_rule
from tests.circulation.helpers import lend
from tests.factories import TitleFactory, collection_actor
from tests.members.factories import make_member

from .urlwalk import library_routes, national_routes

ALPHA, BETA = "alpha.localhost", "beta.localhost"
FIELDS = ["pas", "barcode", "card_number", "reason", "note", "q", "username", "password", "price", "amount",
          "description", "until", "branch", "vestiging", "title_id", "hold_id", "before_hold_id", "user", "role",
          "name", "email", "months", "lid", "subject", "body", "kind", "id", "confirm", "other", "pin"]
HUGE = "9" * 100_000


def _library_with_data(library, *, first, last, card, title_text, actor_user):
    """A member with a loan, a hold, a charge and a block, in `library` (current schema)."""
    make_rule(loan_days=21)
    title = TitleFactory(title=title_text)
    branch = library.branches.order_by("name").first()
    loaned, waiting = make_items(library, branch=branch, title=title, count=2)
    member = make_member(card_number=card, first_name=first, last_name=last,
                         paid_until=datetime.date.today() + datetime.timedelta(days=300))
    from circulation.services.loans import checkout

    loan = checkout(actor=Actor.staff(actor_user, library, branch_id=branch.pk), card_number=card,
                    barcode=loaned.barcode).loan
    other = TitleFactory(title=title_text + " II")
    [copy] = make_items(library, branch=branch, title=other)
    hold = hold_place(actor=Actor.staff(actor_user, library, branch_id=branch.pk), member=member, title_id=other.pk,
                      pickup_branch_id=branch.pk)
    system = Actor.system("test", library)
    charge = ledger_charge(actor=system, member=member, charge_type="other", amount_cents=321, description="x")
    block = block_add(actor=system, member=member, reason=f"{last} blok")
    return {"member_id": member.pk, "loan_id": loan.pk, "hold_id": hold.pk, "title_id": title.pk,
            "barcode": loaned.barcode, "branch_id": branch.pk, "charge_id": charge.pk, "block_id": block.pk,
            "card": card, "kind": "hold_ready",
            # What only that library's pages could show: the member's name, the titles it holds, the block
            # it typed (not the card number: a probe sends it, and forms echo what was typed).
            "markers": (last, title_text, f"{last} blok")}


@pytest.fixture
def two_libraries(libraries, staff, member_defaults):
    with tenant_context(libraries.alpha):
        alpha = _library_with_data(libraries.alpha, first="Alfons", last="Alfageheim", card="A9990001",
                                   title_text="Alfa-eigen titel", actor_user=staff.alpha_desk)
    with tenant_context(libraries.beta):
        beta = _library_with_data(libraries.beta, first="Zwaantje", last="Zuidbroek", card="B9990001",
                                  title_text="Beta-eigen titel", actor_user=staff.beta_desk)
    connection.set_schema_to_public()
    return {"alpha": alpha, "beta": beta}


def _schema_hash(schema):
    """A hash of every row of every table in a library's schema."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                       "AND table_type = 'BASE TABLE' ORDER BY table_name", [schema])
        tables = [row[0] for row in cursor.fetchall()]
        digest = hashlib.sha256()
        for table in tables:
            quoted = f"{connection.ops.quote_name(schema)}.{connection.ops.quote_name(table)}"
            cursor.execute(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {quoted} t")
            digest.update(f"{table}:{cursor.fetchone()[0]};".encode())
    return digest.hexdigest()


class Tally:
    def __init__(self):
        self.probes = 0
        self.leaks = []
        self.errors = []

    def check(self, label, route, response, markers):
        self.probes += 1
        if response.status_code >= 500 and route.route != "healthz":
            self.errors.append((label, route.route, response.status_code))
        if hasattr(response, "content"):
            body = response.content.decode(errors="replace")
            found = [marker for marker in markers if marker in body]
            if found:
                self.leaks.append((label, route.route, response.status_code, found))


def _probe(client, tally, label, host, routes, values, markers, *, data=None, query=None, post=True, get=True):
    for route in routes:
        path = route.path(values)
        if get:
            tally.check(label, route, client.get(path, query or {"pas": values.get("card", "")}, HTTP_HOST=host),
                        markers)
        if post:
            tally.check(label, route, client.post(path, data or {}, HTTP_HOST=host), markers)


def test_no_probe_reaches_another_librarys_data_or_changes_it(libraries, staff, two_libraries):
    alpha, beta = two_libraries["alpha"], two_libraries["beta"]
    library, national = library_routes(), national_routes()
    beta_before = _schema_hash(libraries.beta.schema_name)
    tally = Tally()
    fields_with = (lambda values: {field: values.get(field, values["card"]) for field in FIELDS})

    # 1. Alpha's own staff (every role there) on alpha's host, with beta's ids and card.
    admin = Client(raise_request_exception=False)
    admin.force_login(staff.alpha_library_admin)
    beta_ids = {**beta, "pas": beta["card"]}
    _probe(admin, tally, "alpha staff, beta ids", ALPHA, library, beta_ids, beta["markers"],
           data={**fields_with(beta_ids), "user": staff.beta_desk.pk})

    # 2. Beta's staff, signed in at beta (its session cookie), on alpha's host with alpha's ids.
    foreign = Client(raise_request_exception=False)
    foreign.force_login(staff.beta_desk)
    assert foreign.get("/balie/", HTTP_HOST=BETA).status_code == 200  # a live session at beta
    _probe(foreign, tally, "beta session on alpha", ALPHA, library, alpha, alpha["markers"],
           data=fields_with(alpha))
    # ... and a library administrator of another library (gamma), and POI and national administrators.
    for user in (staff.gamma_library_admin, staff.bisc_poi, staff.national):
        other = Client(raise_request_exception=False)
        other.force_login(user)
        _probe(other, tally, f"{user.username} on alpha", ALPHA, library, alpha, alpha["markers"],
               data=fields_with(alpha))

    # 3. Oversized input everywhere (alpha's admin; beta's data must stay out and unchanged).
    huge = {field: HUGE for field in FIELDS}
    _probe(admin, tally, "oversized", ALPHA, library, alpha, beta["markers"], data=huge,
           query={"pas": HUGE, "q": HUGE})
    national_admin = Client(raise_request_exception=False)
    national_admin.force_login(staff.national)
    _probe(national_admin, tally, "oversized national", "localhost", national, {}, beta["markers"] + alpha["markers"],
           data=huge, query={"q": HUGE})

    # 4. POSTs without a CSRF token: refused, nothing changed in either library.
    alpha_before = _schema_hash(libraries.alpha.schema_name)
    csrf = Client(enforce_csrf_checks=True, raise_request_exception=False)
    csrf.force_login(staff.alpha_library_admin)
    not_refused = []
    for route in library:
        response = csrf.post(route.path(alpha), fields_with(alpha), HTTP_HOST=ALPHA)
        tally.check("no csrf token", route, response, beta["markers"])
        if response.status_code != 403 and not route.route.startswith("api/"):
            not_refused.append((route.route, response.status_code))
    assert _schema_hash(libraries.alpha.schema_name) == alpha_before, "a POST without CSRF token changed alpha"

    print(f"\nsecurity probes: {tally.probes} probes over {len(library)} library and {len(national)} national "
          f"URL patterns; {len(tally.leaks)} leaks; {len(tally.errors)} server errors")
    assert tally.leaks == [], tally.leaks[:20]
    assert tally.errors == [], tally.errors[:20]
    assert not_refused == [], not_refused
    assert _schema_hash(libraries.beta.schema_name) == beta_before, "probes changed beta's tables"
