"""Benchmark for the issue "Circulation": checkout and checkin at the scale of one
large library.

Run it through bench/run_circulation, which prepares the environment and the
dedicated benchmark database. It

1. makes sure the data exists (resumable; --reuse skips the checks once it does):
   the public catalogue (--titles, bench/search.py's generator, COPY), one library
   organisation `benchcirc` provisioned through tenants.services.library_organisation_create
   with four branches and opening hours, its staff (a library administrator and
   desk staff), subscriptions and member categories (members services), loan rules
   with fines and a loan fee (circulation.services.rules.loan_rule_save), then in
   bulk (INSERT ... SELECT generate_series, committed chunks): --members members
   with their card numbers in the national card index and their accounts (annual
   fee charged and paid, one in ten owing a small amount), --items items (10 % of
   them on loan in open Loan rows), the national holdings index from the items and
   collection.services.holdings_rebuild (manage.py rebuild_holdings) to check it;
2. prints the statements of one checkout and one checkin (CaptureQueriesContext);
3. (a) services: --processes worker processes, each with its own items and members,
   doing checkout + checkin pairs through circulation.services.loans for --seconds;
   5 % of the checkouts are dated 35 days back, so their checkin charges a fine;
4. (b) HTTP: gunicorn on the benchmark database, --clients desk clients (threads,
   http.client, each signed in as its own desk user at its own branch) doing
   POST /uitlening/uitlenen/scan/ then POST /uitlening/innemen/scan/ for --seconds,
   as the page's script sends them (header HX-Request: true, the form's fields with
   the page's branch): the server answers the scan fragment, not the whole page;
   afterwards the loans are checked in the database;
5. (c) one member with 500 open loans: 50 further checkouts timed;

and ends with a table of the targets. Exits 1 when a target is not met.
"""

import argparse
import datetime
import http.client
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# This file's folder must not come first on the path: it would shadow the circulation app.
sys.path[:] = [str(REPO)] + [entry for entry in sys.path if Path(entry or ".").resolve() != REPO / "bench"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

import django  # noqa: E402

django.setup()

import random  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

import importlib.util  # noqa: E402
import logging  # noqa: E402

logging.getLogger("pymarc").setLevel(logging.ERROR)  # the real MARC test files have deliberately broken records

_spec = importlib.util.spec_from_file_location("bench_search", REPO / "bench" / "search.py")
search = importlib.util.module_from_spec(_spec)  # bench/search.py: the catalogue generator
_spec.loader.exec_module(search)
from circulation.models import Loan, LoanRule  # noqa: E402
from circulation.services.loans import CirculationRefused, checkin, checkout  # noqa: E402
from circulation.services.rules import loan_rule_save  # noqa: E402
from collection.models import Item  # noqa: E402
from core.actors import Actor  # noqa: E402
from members.models import LedgerEntry, Member, MemberCategory, SubscriptionType  # noqa: E402
from members.services import registration  # noqa: E402
from staff import services as staff_services  # noqa: E402
from staff.models import Role, StaffUser  # noqa: E402
from tenants import services as tenant_services  # noqa: E402
from tenants.models import Branch, LibraryOrganisation, Province  # noqa: E402

SLUG = "benchcirc"
ISIL = "NL-9980000001"
PASSWORD = "Bench-balie-2026!"
ADMIN = f"{SLUG}.beheer"
DESK_PREFIX = f"{SLUG}.balie"
BIG_CARD = "2800000000500"
T = datetime.time
HOURS = [(day, T(10), T(18)) for day in range(0, 5)] + [(5, T(10), T(17))]
BRANCHES = [
    ("centrum", "Centrale Bibliotheek", "Bibliotheekplein 1", "3511 AA", HOURS),
    ("noord", "Bibliotheek Noord", "Noorderlaan 12", "3521 BB", HOURS[:2] + HOURS[3:]),  # closed on Wednesday
    ("zuid", "Bibliotheek Zuid", "Zuiderweg 5", "3531 CC", HOURS),
    ("west", "Bibliotheek West", "Westsingel 40", "3541 DD", HOURS[:5]),  # closed on Saturday
]
SUBSCRIPTIONS = [  # code, name, fee, max loans, youth
    ("jeugd", "Jeugd", 0, 20, True),
    ("basis", "Basis", 2500, 5, False),
    ("standaard", "Standaard", 4800, 20, False),
    ("veellezer", "Veellezer", 9600, 999, False),
]
CATEGORIES = [("jeugd", "Jeugd", 0, 17, "jeugd"), ("volwassene", "Volwassene", 18, None, "standaard")]
MEMBER_CHUNK = 50_000
ITEM_CHUNK = 100_000
TARGET_SERVICE_CHECKOUTS = 300.0
TARGET_HTTP_CHECKOUTS = 150.0
TARGET_HTTP_P95_MS = 50.0
TARGET_BIG_MEMBER_MS = 100.0
LATE_DAYS = 35


def say(message=""):
    print(message, flush=True)


def load():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def backend_cpu_seconds():
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine: /proc)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]


def p50_95_99(values):
    return percentile(values, 0.50), percentile(values, 0.95), percentile(values, 0.99)


# --- 1. data ----------------------------------------------------------------------------


def organisation_ensure():
    connection.set_schema_to_public()
    organisation = LibraryOrganisation.objects.filter(slug=SLUG).first()
    if organisation is not None:
        say(f"   {organisation.name} ({organisation.schema_name}) exists, reusing it")
        return organisation
    tenant_services.registry_reference_load()
    started = time.monotonic()
    organisation = tenant_services.library_organisation_create(
        name="Benchbibliotheek Stad", slug=SLUG, isil=ISIL, province=Province.objects.get(code="UT"),
        branches=[{"code": code, "name": name, "street": street, "postcode": postcode, "city": "Benchstad",
                   "opening_hours": hours} for code, name, street, postcode, hours in BRANCHES],
        progress=lambda message: say(f"   {message}"),
    )
    say(f"   provisioned in {time.monotonic() - started:.1f} s")
    return organisation


def staff_ensure(organisation, desk_users):
    connection.set_schema_to_public()
    wanted = [(ADMIN, Role.LIBRARY_ADMIN)] + [(f"{DESK_PREFIX}{n:02d}", Role.DESK) for n in range(1, desk_users + 1)]
    existing = set(StaffUser.objects.filter(username__in=[name for name, _ in wanted]).values_list("username", flat=True))
    created = 0
    for username, role in wanted:
        if username not in existing:
            user = staff_services.staff_user_create(username=username, password=PASSWORD, first_name="Bench",
                                                    last_name=username.split(".")[-1])
            created += 1
        else:
            user = StaffUser.objects.get(username=username)
        staff_services.library_role_grant(actor=Actor.system("bench"), user=user, organisation=organisation,
                                          role=role)
    say(f"   staff: {ADMIN} and {desk_users} desk users ({created} new)")


def setup_ensure(organisation):
    """Subscriptions, categories and loan rules, through the services."""
    admin = StaffUser.objects.get(username=ADMIN)
    connection.set_tenant(organisation)
    if not SubscriptionType.objects.exists():
        subscriptions = {}
        for code, name, fee, max_loans, youth in SUBSCRIPTIONS:
            subscriptions[code] = registration.subscription_type_save(
                actor=Actor.staff(admin, organisation), code=code, name=name, annual_fee_cents=fee,
                max_loans=max_loans, for_youth=youth)
        for code, name, min_age, max_age, default in CATEGORIES:
            registration.member_category_save(actor=Actor.staff(admin, organisation), code=code, name=name,
                                              min_age=min_age, max_age=max_age,
                                              default_subscription_id=subscriptions[default].pk)
        say("   subscriptions and categories created")
    if not LoanRule.objects.exists():
        youth = MemberCategory.objects.get(code="jeugd")
        common = {"max_renewals": 2, "holdable": True, "hold_fee_cents": 0, "hold_shelf_days": 7, "auto_renew": True}
        rule = lambda **values: loan_rule_save(actor=Actor.staff(admin, organisation), **{**common, **values})  # noqa: E731
        rule(loan_days=21, fine_per_day_cents=15, fine_max_cents=450)
        rule(member_category_id=youth.pk, loan_days=21, fine_per_day_cents=0, fine_max_cents=0)
        rule(item_type="dvd", loan_days=7, fine_per_day_cents=50, fine_max_cents=500, loan_fee_cents=100,
             max_loans_of_type=5)
        rule(item_type="audiobook", loan_days=21, fine_per_day_cents=15, fine_max_cents=450, max_loans_of_type=10)
        rule(for_guests=True, loan_days=21, fine_per_day_cents=20, fine_max_cents=500)
        say(f"   {LoanRule.objects.count()} loan rules saved (fines 15 ct/open day up to € 4,50; dvd € 0,50/day and "
            "€ 1,00 loan fee; youth no fines)")


def _ids(model, field="code"):
    return {getattr(row, field): row.pk for row in model.objects.all()}


def _columns(model, mapped, params):
    """The INSERT column list and SELECT expressions for a bulk insert into `model`: the
    expressions in `mapped` (column -> SQL), every other column its model default (added
    to params), so a column added to the model later does not break the generator."""
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in mapped:
            continue
        columns.append(field.column)
        if field.column in mapped:
            expressions.append(mapped[field.column])
        else:
            key = f"default_{model._meta.db_table}_{field.column}"
            params[key] = field.get_default()
            expressions.append(f"%({key})s")
    unknown = set(mapped) - set(columns)
    if unknown:
        raise RuntimeError(f"{model._meta.db_table} has no column(s) {sorted(unknown)}")
    return ", ".join(columns), ",\n                    ".join(expressions)


def members_ensure(organisation, target):
    schema = organisation.schema_name
    connection.set_tenant(organisation)
    have = Member.objects.filter(card_number__startswith="29").count()
    if have >= target:
        say(f"   {have:,} members present")
        return False
    subscriptions, categories = _ids(SubscriptionType), _ids(MemberCategory)
    branches = list(Branch.objects.filter(organisation=organisation).order_by("pk").values_list("pk", flat=True))
    first_names, surnames = search.FIRST_NAMES, search.SURNAMES
    say(f"   {have:,} members present; adding {target - have:,} in chunks of {MEMBER_CHUNK:,}")
    started = time.monotonic()
    # Members are numbered 1..target (card 29 + ten digits); chunks are committed whole.
    for low in range(have + 1, target + 1, MEMBER_CHUNK):
        high = min(target, low + MEMBER_CHUNK - 1)
        params = {"low": low, "high": high, "first": first_names, "last": surnames, "branches": branches,
                  "youth_cat": categories["jeugd"], "adult_cat": categories["volwassene"],
                  "youth_sub": subscriptions["jeugd"], "basis_sub": subscriptions["basis"],
                  "std_sub": subscriptions["standaard"], "today": timezone.localdate(),
                  "org": organisation.pk}
        with transaction.atomic(), connection.cursor() as cursor:
            # Every fourth member is 5-16 years old (youth category and subscription), the
            # others 19-78 (one in ten on the basis subscription). Membership runs 1-12
            # months more.
            columns, expressions = _columns(Member, {
                "card_number": "'29' || lpad(n::text, 10, '0')",
                "first_name": "(%(first)s::text[])[1 + n %% cardinality(%(first)s::text[])]",
                "name_prefix": "CASE WHEN n %% 6 = 0 THEN 'van' WHEN n %% 6 = 1 THEN 'de' ELSE '' END",
                "last_name": "(%(last)s::text[])[1 + (n / 7) %% cardinality(%(last)s::text[])]",
                "date_of_birth": "CASE WHEN n %% 4 = 0 THEN %(today)s::date - ((n %% 12) + 5) * 365 - n %% 300"
                                 " ELSE %(today)s::date - ((n %% 60) + 19) * 365 - n %% 300 END",
                "street": "'Bibliotheekstraat'", "house_number": "(1 + n %% 200)::text",
                "postcode": "(1000 + n %% 8999)::text || 'AB'", "city": "'Benchstad'",
                "email": "'lid' || n || '@example.nl'",
                "preferred_branch_id": "(%(branches)s::bigint[])[1 + n %% cardinality(%(branches)s::bigint[])]",
                "category_id": "CASE WHEN n %% 4 = 0 THEN %(youth_cat)s ELSE %(adult_cat)s END",
                "subscription_id": "CASE WHEN n %% 4 = 0 THEN %(youth_sub)s WHEN n %% 10 = 1 THEN %(basis_sub)s"
                                   " ELSE %(std_sub)s END",
                "expires_on": "%(today)s::date + 30 + n %% 335",
                "created_at": "now()", "updated_at": "now()",
            }, params)
            cursor.execute(f"""
                INSERT INTO "{schema}".members_member ({columns})
                SELECT {expressions}
                FROM generate_series(%(low)s::int, %(high)s::int) AS n""", params)
            cursor.execute("""
                INSERT INTO public.tenants_cardindex (card_number, organisation_id, is_active, created_at)
                SELECT '29' || lpad(n::text, 10, '0'), %(org)s, true, now() FROM generate_series(%(low)s::int, %(high)s::int) AS n
                ON CONFLICT DO NOTHING""", params)
            # Accounts: the annual fee charged and paid; one member in ten owes a small amount
            # (€ 1 - € 9, under the € 10 block threshold).
            columns, expressions = _columns(LedgerEntry, {
                "member_id": "m.id", "kind": "e.kind", "charge_type": "e.charge_type", "payment_method": "e.method",
                "amount_cents": "e.amount", "description": "e.description", "created_at": "now()",
            }, params)
            cursor.execute(f"""
                INSERT INTO "{schema}".members_ledgerentry ({columns})
                SELECT {expressions}
                FROM "{schema}".members_member m
                JOIN "{schema}".members_subscriptiontype s ON s.id = m.subscription_id
                CROSS JOIN LATERAL (VALUES
                    ('charge', 'subscription', '', s.annual_fee_cents, 'Abonnement ' || s.name, s.annual_fee_cents > 0),
                    ('payment', '', 'pin', s.annual_fee_cents, 'Betaling', s.annual_fee_cents > 0),
                    ('charge', 'other', '', 100 + (m.id * 37) %% 800, 'Openstaand bedrag',
                     substring(m.card_number from 3)::bigint %% 10 = 3)
                ) AS e(kind, charge_type, method, amount, description, wanted)
                WHERE m.card_number BETWEEN '29' || lpad(%(low)s::text, 10, '0') AND '29' || lpad(%(high)s::text, 10, '0')
                  AND e.wanted""", params)
        rate = (high - have) / (time.monotonic() - started)
        say(f"   {high:>9,} members  ({rate:,.0f}/s, ~{(target - high) / rate:.0f} s left)")
    return True


def items_ensure(organisation, target, titles):
    schema = organisation.schema_name
    connection.set_tenant(organisation)
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT count(*) FROM "{schema}".collection_item WHERE barcode LIKE '39%%'""")
        have = cursor.fetchone()[0]
    if have >= target:
        say(f"   {have:,} items present")
        return False
    branches = list(Branch.objects.filter(organisation=organisation).order_by("pk").values_list("pk", flat=True))
    members = Member.objects.filter(card_number__startswith="29").count()
    say(f"   {have:,} items present; adding {target - have:,} in chunks of {ITEM_CHUNK:,} "
        f"(copies of {titles:,} titles; every tenth on loan)")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_titles")
        cursor.execute("CREATE TEMP TABLE bench_titles AS SELECT (row_number() OVER (ORDER BY id) - 1)::bigint AS n, id"
                       " FROM public.catalogue_title ORDER BY id LIMIT %s", [titles])
        cursor.execute("CREATE UNIQUE INDEX ON bench_titles (n)")
        cursor.execute("SELECT count(*) FROM bench_titles")
        titles = cursor.fetchone()[0]
    # Item n (0-based, barcode 39 + ten digits) is copy n / titles of title n % titles: the first
    # three copies of a title are at one branch, the fourth and fifth at the next.
    for low in range(have, target, ITEM_CHUNK):
        high = min(target, low + ITEM_CHUNK) - 1
        params = {"low": low, "high": high, "titles": titles, "branches": branches, "members": members}
        with transaction.atomic(), connection.cursor() as cursor:
            columns, expressions = _columns(Item, {
                "barcode": "'39' || lpad(g.n::text, 10, '0')", "title_id": "t.id",
                "owning_branch_id": "g.branch", "current_branch_id": "g.branch",
                "shelf_location": "CASE WHEN g.t %% 3 = 0 THEN 'Jeugd' WHEN g.t %% 500 = 7 THEN 'Naslag' ELSE 'Romans' END",
                "call_number": "upper(substring(md5(g.t::text) for 4))",
                "item_type": "CASE WHEN g.t %% 100 < 85 THEN 'book' WHEN g.t %% 100 < 90 THEN 'audiobook'"
                             " WHEN g.t %% 100 < 95 THEN 'dvd' WHEN g.t %% 100 < 98 THEN 'large_print' ELSE 'magazine' END",
                "collection": "CASE WHEN g.t %% 3 = 0 THEN 'youth' WHEN g.t %% 500 = 7 THEN 'reference' ELSE 'adult' END",
                "status": "CASE WHEN g.n %% 10 = 9 THEN 'on_loan' ELSE 'available' END",
                "price_cents": "1000 + (g.t * 13) %% 3000", "acquired_on": "DATE '2015-01-01' + (g.n %% 3650)::int",
                "not_for_loan": "g.t %% 500 = 7", "last_loaned_at": "now() - ((g.n %% 700) || ' days')::interval",
                "loan_count": "g.n %% 60", "created_at": "now()", "updated_at": "now()",
            }, params)
            cursor.execute(f"""
                INSERT INTO "{schema}".collection_item ({columns})
                SELECT {expressions}
                FROM (SELECT n, n %% %(titles)s::int AS t,
                             (%(branches)s::bigint[])[1 + ((n %% %(titles)s::int) + (n / %(titles)s::int) / 3)
                                                         %% cardinality(%(branches)s::bigint[])] AS branch
                      FROM generate_series(%(low)s::int, %(high)s::int) AS n) g
                JOIN bench_titles t ON t.n = g.t""", params)
            # The items on loan have an open loan (one to 28 days old, due 21 days after),
            # spread over the members.
            columns, expressions = _columns(Loan, {
                "item_id": "i.id", "title_id": "i.title_id", "member_id": "m.id", "fine_per_day_cents": "15",
                "fine_max_cents": "450", "branch_id": "i.current_branch_id",
                "loaned_at": "now() - (1 + g.n %% 28) * interval '1 day'",
                "due_on": "(now() - (1 + g.n %% 28) * interval '1 day')::date + 21",
            }, params)
            cursor.execute(f"""
                INSERT INTO "{schema}".circulation_loan ({columns})
                SELECT {expressions}
                FROM (SELECT n FROM generate_series(%(low)s::int, %(high)s::int) AS n WHERE n %% 10 = 9) g
                JOIN "{schema}".collection_item i ON i.barcode = '39' || lpad(g.n::text, 10, '0')
                JOIN "{schema}".members_member m
                  ON m.card_number = '29' || lpad((1 + (g.n / 10 * 7919) %% %(members)s::int)::text, 10, '0')""", params)
        rate = (high + 1 - have) / (time.monotonic() - started)
        say(f"   {high + 1:>9,} items  ({rate:,.0f}/s, ~{(target - high - 1) / rate:.0f} s left)")
    return True


def holdings_ensure(organisation, changed):
    """The national holdings index for the items (one INSERT ... SELECT), checked by
    collection.services.holdings_rebuild (manage.py rebuild_holdings, its own process)."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalogue_holding WHERE organisation_id = %s", [organisation.pk])
        have = cursor.fetchone()[0]
    if have and not changed:
        say(f"   {have:,} holdings rows present")
        return
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO catalogue_holding (title_id, organisation_id, branch_id, total, available, updated_at)
            SELECT title_id, %s, owning_branch_id, count(*),
                   count(*) FILTER (WHERE status = 'available' AND NOT not_for_loan), now()
            FROM "{organisation.schema_name}".collection_item WHERE status <> 'withdrawn'
            GROUP BY title_id, owning_branch_id
            ON CONFLICT (title_id, organisation_id, branch_id)
            DO UPDATE SET total = EXCLUDED.total, available = EXCLUDED.available, updated_at = now()""",
                       [organisation.pk])
        cursor.execute("SELECT count(*) FROM catalogue_holding WHERE organisation_id = %s", [organisation.pk])
        have = cursor.fetchone()[0]
    say(f"   {have:,} holdings rows written ({time.monotonic() - started:.1f} s); checking with rebuild_holdings")
    started = time.monotonic()
    output = subprocess.run([sys.executable, "manage.py", "rebuild_holdings", "--library", SLUG], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()
    say(f"   rebuild_holdings ({time.monotonic() - started:.1f} s): {output[-1] if output else ''}")


def analyse(organisation):
    started = time.monotonic()
    schema = organisation.schema_name
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for table in ("members_member", "members_ledgerentry", "members_block", "collection_item", "circulation_loan",
                      "circulation_hold", "circulation_loanrule"):
            cursor.execute(f'VACUUM ANALYZE "{schema}".{table}')
        for table in ("catalogue_holding", "tenants_cardindex", "catalogue_title"):
            cursor.execute(f"VACUUM ANALYZE public.{table}")
    say(f"   VACUUM ANALYZE ({time.monotonic() - started:.1f} s)")


def counts(organisation):
    connection.set_tenant(organisation)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM collection_item")
        items = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM members_member")
        members = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM circulation_loan WHERE ended_at IS NULL")
        open_loans = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM public.catalogue_title")
        titles = cursor.fetchone()[0]
    return {"items": items, "members": members, "open_loans": open_loans, "titles": titles}


# --- pools --------------------------------------------------------------------------


def item_pool(*, modulo, remainder, limit, branch_id=None, item_type=None):
    """Available, lendable items at their home branch with id % modulo = remainder, in random order:
    (barcode, branch id)."""
    sql = ("SELECT barcode, owning_branch_id FROM collection_item WHERE status = 'available' AND NOT not_for_loan"
           " AND current_branch_id = owning_branch_id AND barcode LIKE '39%%' AND id %% %s = %s")
    params = [modulo, remainder]
    if branch_id is not None:
        sql += " AND owning_branch_id = %s"
        params.append(branch_id)
    if item_type is not None:
        sql += " AND item_type = %s"
        params.append(item_type)
    sql += " ORDER BY random() LIMIT %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, params + [limit])
        return cursor.fetchall()


def member_pool(*, modulo, remainder, limit):
    with connection.cursor() as cursor:
        cursor.execute("SELECT card_number FROM members_member WHERE card_number LIKE '29%%' AND erased_at IS NULL"
                       " AND id %% %s = %s ORDER BY random() LIMIT %s", [modulo, remainder, limit])
        return [row[0] for row in cursor.fetchall()]


# --- 2. statements of one checkout and one checkin ----------------------------------


def query_profile(organisation, staff_user, *, card=None, label="", show=True):
    connection.set_tenant(organisation)
    barcode, branch_id = item_pool(modulo=7, remainder=3, limit=1, item_type="book")[0]
    card = card or member_pool(modulo=7, remainder=3, limit=1)[0]
    rows = {}
    for kind, run in (
        ("checkout", lambda: checkout(actor=Actor.staff(staff_user, organisation, branch_id=branch_id),
                                      card_number=card, barcode=barcode)),
        ("checkin", lambda: checkin(actor=Actor.staff(staff_user, organisation, branch_id=branch_id),
                                    barcode=barcode)),
    ):
        connection.queries_log.clear()  # a full log (9,000) would make the capture empty
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            run()
            elapsed = (time.perf_counter() - started) * 1000
        queries = captured.captured_queries
        sql_ms = sum(float(query["time"]) for query in queries) * 1000
        rows[kind] = (len(queries), elapsed, sql_ms)
        say(f"   {kind}{label}: {len(queries)} statements, {elapsed:.1f} ms ({sql_ms:.1f} ms in the database calls)")
        if show:
            for number, query in enumerate(queries, start=1):
                text = re.sub(r"\s+", " ", query["sql"])
                say(f"     {number:>2} {float(query['time']) * 1000:6.2f} ms  {text[:150]}")
    return rows


# --- 3. (a) services ---------------------------------------------------------------------


def service_worker(index, processes, organisation_id, username, seconds, warmup, late_fraction, pool_size, seed,
                   barrier, results):
    try:
        settings.DEBUG = False  # no query log: as in production
        organisation = LibraryOrganisation.objects.get(pk=organisation_id)
        staff_user = StaffUser.objects.get(username=username)
        connection.set_tenant(organisation)
        items = item_pool(modulo=processes, remainder=index, limit=pool_size)
        members = member_pool(modulo=processes, remainder=index, limit=pool_size)
        rng = random.Random(seed * 100 + index)
        stats = Counter()
        checkouts, checkins = [], []

        def pair(record):
            barcode, branch_id = rng.choice(items)
            card = rng.choice(members)
            late = rng.random() < late_fraction
            now = timezone.now() - datetime.timedelta(days=LATE_DAYS) if late else None
            started = time.perf_counter()
            try:
                result = checkout(actor=Actor.staff(staff_user, organisation, branch_id=branch_id),
                                  card_number=card, barcode=barcode, now=now)
            except CirculationRefused as refused:
                stats["refused " + ",".join(refusal.code for refusal in refused.refusals)] += 1
                return
            middle = time.perf_counter()
            returned = checkin(actor=Actor.staff(staff_user, organisation, branch_id=branch_id), barcode=barcode)
            ended = time.perf_counter()
            if record:
                checkouts.append((middle - started) * 1000)
                checkins.append((ended - middle) * 1000)
                stats["pairs"] += 1
                stats["late"] += late
                stats["fined"] += returned.fine_cents > 0
                stats["fee"] += result.fee_cents > 0
                stats["route " + returned.route] += 1

        for _ in range(warmup):
            pair(False)
        barrier.wait()
        started = time.perf_counter()
        cpu_started, db_started = time.process_time(), backend_cpu_seconds()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            pair(True)
        elapsed = time.perf_counter() - started
        cpu, db_cpu = time.process_time() - cpu_started, backend_cpu_seconds() - db_started
        results.put({"index": index, "elapsed": elapsed, "checkouts": checkouts, "checkins": checkins,
                     "stats": dict(stats), "items": len(items), "members": len(members), "cpu": cpu,
                     "db_cpu": db_cpu})
    except Exception:  # noqa: BLE001
        results.put({"index": index, "error": traceback.format_exc()})
        try:
            barrier.abort()
        except Exception:  # noqa: BLE001
            pass


def run_services(organisation, arguments):
    processes = arguments.processes
    connection.close()
    cache.close()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(target=service_worker, args=(
            index, processes, organisation.pk, f"{DESK_PREFIX}{index + 1:02d}", arguments.seconds, arguments.warmup,
            arguments.late_fraction, arguments.pool, arguments.seed, barrier, results))
        for index in range(processes)
    ]
    say(f"   {processes} processes, {arguments.seconds} s each after {arguments.warmup} warm-up pairs; load {load()}")
    for worker in workers:
        worker.start()
    outcomes = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    if errors:
        raise RuntimeError("service worker failed:\n" + "\n".join(errors))
    checkouts = [value for outcome in outcomes for value in outcome["checkouts"]]
    checkins = [value for outcome in outcomes for value in outcome["checkins"]]
    elapsed = max(outcome["elapsed"] for outcome in outcomes)
    stats = Counter()
    for outcome in outcomes:
        stats.update(outcome["stats"])
    pairs = stats["pairs"]
    cpu_ms = sum(outcome["cpu"] for outcome in outcomes) / pairs * 1000
    db_cpu_ms = sum(outcome["db_cpu"] for outcome in outcomes) / pairs * 1000
    summary = {
        "cpu_ms": cpu_ms, "db_cpu_ms": db_cpu_ms,
        # What the two kinds of work would allow with every core doing nothing else.
        "ceiling_pairs_per_s": (os.cpu_count() or 1) * 1000 / (cpu_ms + db_cpu_ms),
        "processes": processes, "pairs": pairs, "elapsed": elapsed, "pairs_per_s": pairs / elapsed,
        "checkouts_per_s": pairs / elapsed, "operations_per_s": 2 * pairs / elapsed,
        "checkout": p50_95_99(checkouts), "checkin": p50_95_99(checkins),
        "pair": p50_95_99([a + b for a, b in zip(checkouts, checkins)]), "stats": stats, "load": load(),
    }
    say(f"   {pairs:,} pairs in {elapsed:.1f} s: {summary['pairs_per_s']:.1f} pairs/s = "
        f"{summary['checkouts_per_s']:.1f} checkouts/s + as many checkins/s ({summary['operations_per_s']:.1f} "
        f"operations/s); load {summary['load']}")
    say("   " + ", ".join(f"{key} {value:,}" for key, value in sorted(stats.items()) if key != "pairs"))
    say(f"   CPU per pair: {cpu_ms:.1f} ms Python + {db_cpu_ms:.1f} ms PostgreSQL backend: at most "
        f"{summary['ceiling_pairs_per_s']:.0f} pairs/s on {os.cpu_count()} otherwise idle cores")
    return summary


# --- 4. (b) HTTP ---------------------------------------------------------------------------


class DeskClient:
    """One desk: a signed-in session over one keep-alive connection (http.client)."""

    def __init__(self, port, host):
        self.port = port
        self.host = host
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = {}
        self.branch_id = None

    def request(self, method, path, fields=None, htmx=False, follow=True):
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if htmx:
            headers["HX-Request"] = "true"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            # The server closed the kept-alive connection: once more on a new one.
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, cookie_value = pair.partition("=")
                self.cookies[key.strip()] = cookie_value.strip()
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        if follow and response.status in (301, 302, 303):
            location = urllib.parse.urlsplit(response.getheader("Location"))
            return self.request("GET", location.path + (f"?{location.query}" if location.query else ""), htmx=htmx)
        return response.status, data

    def sign_in(self, username, password):
        status, page = self.request("GET", "/balie/inloggen/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"sign-in page: HTTP {status}")
        status, page = self.request("POST", "/balie/inloggen/", {
            "csrfmiddlewaretoken": match.group(1).decode(), "username": username, "password": password,
        }, follow=False)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"sign-in as {username} failed: HTTP {status}")

    def choose_branch(self, branch_id):
        status, _ = self.request("POST", "/balie/vestiging/", {
            "csrfmiddlewaretoken": self.cookies["csrftoken"], "branch": branch_id}, follow=False)
        if status != 302:
            raise RuntimeError(f"choosing branch {branch_id}: HTTP {status}")
        self.branch_id = branch_id

    def scan(self, path, fields):
        """A scan as static/circulation.js sends it: the form (with the page's branch,
        field vestiging) and the header HX-Request; the answer is the scan fragment."""
        form = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **fields}
        if self.branch_id is not None:
            form["vestiging"] = self.branch_id
        status, data = self.request("POST", path, form, htmx=True)
        if status in (200, 422) and b'data-part="output"' not in data:
            raise RuntimeError(f"{path} answered HTTP {status} without the scan fragment")
        return status, data


CHECKOUT_PATH = "/uitlening/uitlenen/scan/"
CHECKIN_PATH = "/uitlening/innemen/scan/"
REFUSAL_HINTS = (b"errorlist", b'class="error', b"alert-error", b"geweigerd", b"Geweigerd")


def http_client(index, client, items, members, seconds, warmup, barrier, results, interval=0.0):
    """One desk doing checkout + checkin pairs: back to back (interval 0, a closed loop),
    or one pair every `interval` seconds (--rate, an open loop: a pair's latency is then
    counted from its planned start, so waiting behind a slow answer counts too)."""
    rng = random.Random(index)
    checkouts, checkins, statuses = [], [], Counter()
    lent = [0]

    def pair(record, planned=None):
        barcode, _branch = rng.choice(items)
        card = rng.choice(members)
        started = time.perf_counter() if planned is None else planned
        status_out, _page = client.scan(CHECKOUT_PATH, {"pas": card, "barcode": barcode})
        middle = time.perf_counter()
        lent[0] += status_out == 200
        if status_out != 200:  # refused (422, e.g. a member blocked by fines): nothing to check in
            if record:
                statuses[f"checkout {status_out}"] += 1
            return
        status_in, _page = client.scan(CHECKIN_PATH, {"barcode": barcode})
        ended = time.perf_counter()
        if record:
            checkouts.append((middle - started) * 1000)
            checkins.append((ended - middle) * 1000)
            statuses[f"checkout {status_out}"] += 1
            statuses[f"checkin {status_in}"] += 1

    try:
        for _ in range(warmup):
            pair(False)
        barrier.wait()
        deadline = time.perf_counter() + seconds
        planned = time.perf_counter() + rng.random() * interval  # desks out of step
        while time.perf_counter() < deadline:
            if not interval:
                pair(True)
                continue
            if planned >= deadline:
                break
            wait = planned - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pair(True, planned)
            planned += interval
        results[index] = {"checkouts": checkouts, "checkins": checkins, "statuses": statuses, "lent": lent[0]}
    except Exception:  # noqa: BLE001
        results[index] = {"error": traceback.format_exc()}
        barrier.abort()


def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(arguments, port, log_path, extra_env=None):
    env = dict(os.environ)
    env.update({
        "DEBUG": "0", "SECRET_KEY": "lsb-bench-circulation-not-secret", "SECURE_COOKIES": "0",
        "ALLOWED_HOSTS": ".localhost,localhost,127.0.0.1", "WHITENOISE_USE_FINDERS": "1",
    })
    env.update(extra_env or {})
    command = [sys.executable, "-m", "gunicorn", "lsb.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(arguments.workers), "--worker-class", arguments.worker_class,
               "--threads", str(arguments.threads), "--timeout", "60", "--graceful-timeout", "10",
               "--access-logfile", str(log_path), "--error-logfile", str(log_path)]
    say(f"   gunicorn: {arguments.workers} workers, worker class {arguments.worker_class}, {arguments.threads} "
        f"thread(s) each, DEBUG=0, access log {log_path}")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({process.returncode}); see {log_path}")
        try:
            # The library's sign-in page (/healthz also wants a Celery worker, which this does not need).
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            probe.request("GET", "/balie/inloggen/", headers={"Host": f"{SLUG}.{settings.LSB_BASE_DOMAIN}"})
            response = probe.getresponse()
            response.read()
            probe.close()
            if response.status == 200:
                return process
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.3)
    gunicorn_stop(process)
    raise RuntimeError(f"gunicorn did not serve the sign-in page within 60 s; see {log_path}")


def gunicorn_stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group this benchmark started (its workers)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def endpoints_present():
    """Whether the desk's scan endpoints exist in this working tree (tenant URLs)."""
    from django.urls import Resolver404, resolve

    try:
        resolve(CHECKOUT_PATH, urlconf=settings.ROOT_URLCONF)
        resolve(CHECKIN_PATH, urlconf=settings.ROOT_URLCONF)
        return True
    except Resolver404:
        return False


def run_http(organisation, arguments, extra_env=None):
    connection.set_tenant(organisation)
    branches = list(Branch.objects.filter(organisation=organisation).order_by("pk").values_list("pk", flat=True))
    clients = arguments.clients
    pools = []
    for index in range(clients):
        branch_id = branches[index % len(branches)]
        pools.append((branch_id, item_pool(modulo=clients, remainder=index, limit=max(200, arguments.pool // clients),
                                           branch_id=branch_id),
                      member_pool(modulo=clients, remainder=index, limit=max(200, arguments.pool // clients))))
    started_at = timezone.now()
    connection.close()
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lsb-bench-circulation-gunicorn-{port}.log"
    process = gunicorn_start(arguments, port, log_path, extra_env)
    try:
        host = f"{SLUG}.{settings.LSB_BASE_DOMAIN}"
        desks = []
        sign_in_started = time.monotonic()
        for index in range(clients):
            desk = DeskClient(port, host)
            desk.sign_in(f"{DESK_PREFIX}{index + 1:02d}", PASSWORD)
            desk.choose_branch(pools[index][0])
            desks.append(desk)
        say(f"   {clients} desk users signed in, each at its branch ({time.monotonic() - sign_in_started:.1f} s)")
        barrier = threading.Barrier(clients)
        results = [None] * clients
        threads = [threading.Thread(target=http_client, args=(
            index, desks[index], pools[index][1], pools[index][2], arguments.seconds, arguments.warmup_http, barrier,
            results, clients / arguments.rate if arguments.rate else 0.0)) for index in range(clients)]
        say(f"   {clients} clients, {arguments.seconds} s after {arguments.warmup_http} warm-up pairs each, "
            + (f"offering {arguments.rate:g} pairs/s in all (open loop)" if arguments.rate else "back to back")
            + f"; load {load()}")
        run_started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - run_started
    finally:
        gunicorn_stop(process)
    errors = [result["error"] for result in results if result and "error" in result]
    if errors:
        raise RuntimeError("HTTP client failed:\n" + errors[0])
    checkouts = [value for result in results for value in result["checkouts"]]
    checkins = [value for result in results for value in result["checkins"]]
    statuses = Counter()
    for result in results:
        statuses.update(result["statuses"])
    lent = sum(result["lent"] for result in results)
    # The measured window is the same for every client; warm-up and sign-in are outside it.
    window = arguments.seconds
    pairs = len(checkouts)
    # Check in the database what the requests did: every loan they made is ended again.
    connection.set_tenant(organisation)
    users = list(StaffUser.objects.filter(username__startswith=DESK_PREFIX).values_list("pk", flat=True))
    made = Loan.objects.filter(created_by_id__in=users, loaned_at__gte=started_at)
    made_total, still_open = made.count(), made.filter(ended_at__isnull=True).count()
    summary = {
        "clients": clients, "pairs": pairs, "elapsed": window, "pairs_per_s": pairs / window,
        "checkouts_per_s": pairs / window, "checkout": p50_95_99(checkouts), "checkin": p50_95_99(checkins),
        "statuses": statuses, "loans_made": made_total, "loans_open": still_open, "lent": lent, "load": load(),
        "config": f"{arguments.workers} x {arguments.worker_class}" + (
            f" ({arguments.threads} threads)" if arguments.threads > 1 else "") + (
            f", {arguments.rate:g} pairs/s offered" if arguments.rate else ""),
    }
    say(f"   {pairs:,} pairs in {window} s ({elapsed:.1f} s with warm-up): {summary['pairs_per_s']:.1f} pairs/s = "
        f"{summary['checkouts_per_s']:.1f} checkout requests/s + as many checkin requests/s; load {summary['load']}")
    say("   " + ", ".join(f"{key} {value:,}" for key, value in sorted(statuses.items())))
    say(f"   database: {made_total:,} loans made by the desk users since the start (warm-up included; "
        f"{lent:,} checkouts answered 200), {still_open} still open")
    return summary


# --- 5. (c) a member with 500 loans -----------------------------------------------


def run_http_pgbouncer(organisation, arguments):
    """(b) again, with gunicorn's workers connecting through PgBouncer in transaction mode."""
    from bench.pgbouncer import PgBouncer

    database = settings.DATABASES["default"]
    bouncer = PgBouncer(host=database["HOST"] or "127.0.0.1", port=int(database["PORT"] or 5432),
                        user=database["USER"] or "postgres", password=database["PASSWORD"] or "",
                        pool_mode="transaction", pool_size=arguments.pgbouncer_pool)
    auth = (database["USER"] or "postgres") + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    say(f"   through PgBouncer (transaction mode, {arguments.pgbouncer_pool} server connections, port {bouncer.port})")
    try:
        return run_http(organisation, arguments, {
            "DATABASE_URL": f"postgres://{auth}@127.0.0.1:{bouncer.port}/{database['NAME']}",
            "LSB_DB_POOL_MODE": "transaction",
        })
    finally:
        bouncer.stop()


def big_member_ensure(organisation, loans):
    connection.set_tenant(organisation)
    admin = StaffUser.objects.get(username=ADMIN)
    member = Member.objects.filter(card_number=BIG_CARD).first()
    if member is None:
        branch = Branch.objects.filter(organisation=organisation).order_by("pk").first()
        member = registration.member_register(
            actor=Actor.staff(admin, organisation), card_number=BIG_CARD, first_name="Veel",
            last_name="Lezer", date_of_birth=datetime.date(1970, 5, 17), postcode="3511 AB", house_number="1",
            street="Lezersweg", city="Benchstad", preferred_branch_id=branch.pk,
            subscription=SubscriptionType.objects.get(code="veellezer"),
            paid_until=timezone.localdate() + datetime.timedelta(days=300),
        )
        say(f"   member {BIG_CARD} registered (subscription Veellezer, up to 999 loans)")
    return member


def run_big_member(organisation, arguments):
    member = big_member_ensure(organisation, arguments.big_loans)
    staff_user = StaffUser.objects.get(username=f"{DESK_PREFIX}01")
    open_loans = list(Loan.objects.filter(member=member, ended_at__isnull=True).select_related("item")
                      .order_by("pk"))
    for loan in open_loans[arguments.big_loans:]:  # left over by an interrupted run
        checkin(actor=Actor.staff(staff_user, organisation, branch_id=loan.item.owning_branch_id),
                barcode=loan.item.barcode)
    have = min(len(open_loans), arguments.big_loans)
    pool = item_pool(modulo=1, remainder=0, limit=arguments.big_loans - have + arguments.big_checkouts,
                     item_type="book")
    if have < arguments.big_loans:
        started = time.monotonic()
        for number, (barcode, branch_id) in enumerate(pool[: arguments.big_loans - have], start=have + 1):
            checkout(actor=Actor.staff(staff_user, organisation, branch_id=branch_id), card_number=BIG_CARD,
                     barcode=barcode)
            if number % 100 == 0:
                say(f"   {number} loans ({time.monotonic() - started:.1f} s)")
        pool = pool[arguments.big_loans - have:]
    assert Loan.objects.filter(member=member, ended_at__isnull=True).count() == arguments.big_loans
    settings.DEBUG = False
    outs, ins = [], []
    for barcode, branch_id in pool[: arguments.big_checkouts]:
        started = time.perf_counter()
        checkout(actor=Actor.staff(staff_user, organisation, branch_id=branch_id), card_number=BIG_CARD,
                 barcode=barcode)
        outs.append((time.perf_counter() - started) * 1000)
    for barcode, branch_id in pool[: arguments.big_checkouts]:
        started = time.perf_counter()
        checkin(actor=Actor.staff(staff_user, organisation, branch_id=branch_id), barcode=barcode)
        ins.append((time.perf_counter() - started) * 1000)
    settings.DEBUG = True
    summary = {"checkout": p50_95_99(outs), "checkin": p50_95_99(ins), "max": max(outs), "n": len(outs),
               "load": load()}
    say(f"   {len(outs)} checkouts at {arguments.big_loans}..{arguments.big_loans + len(outs) - 1} open loans: "
        f"p50 {summary['checkout'][0]:.1f} ms, p95 {summary['checkout'][1]:.1f} ms, max {summary['max']:.1f} ms; "
        f"checking them in: p50 {summary['checkin'][0]:.1f} ms, p95 {summary['checkin'][1]:.1f} ms; load {load()}")
    return summary


# --- main -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="20,000 items, 5,000 members, 50,000 titles, 10 s runs")
    parser.add_argument("--items", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--members", type=int, default=None, help="default 200,000")
    parser.add_argument("--titles", type=int, default=None, help="default 200,000")
    parser.add_argument("--reuse", action="store_true", help="skip the data checks when the library exists")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="service workers (cores)")
    parser.add_argument("--seconds", type=int, default=None, help="measured seconds per run (default 30)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured pairs per service worker")
    parser.add_argument("--warmup-http", type=int, default=3, help="unmeasured pairs per desk client")
    parser.add_argument("--late-fraction", type=float, default=0.05, help="checkouts dated 35 days back (fines)")
    parser.add_argument("--pool", type=int, default=20_000, help="items and members per service worker")
    parser.add_argument("--clients", type=int, default=24, help="concurrent desk clients over HTTP")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 2) + 1, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class (sync, gthread)")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="HTTP: pairs/s offered by all desk clients together, each at an even pace (open loop; "
                             "latency from the planned start); default 0: back to back (closed loop)")
    parser.add_argument("--big-loans", type=int, default=500)
    parser.add_argument("--big-checkouts", type=int, default=50)
    parser.add_argument("--skip-services", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--pgbouncer", action="store_true",
                        help="(b) twice: straight to PostgreSQL, then through PgBouncer in transaction mode; "
                             "pairs/s and p95 of both and their ratio (target >= 0.9)")
    parser.add_argument("--pgbouncer-pool", type=int, default=4, help="PgBouncer's server connections")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--seed", type=int, default=20261124)
    arguments = parser.parse_args()
    items = arguments.items or (20_000 if arguments.small else 1_000_000)
    members = arguments.members or (5_000 if arguments.small else 200_000)
    titles = arguments.titles or (search.CHUNK if arguments.small else 200_000)
    arguments.seconds = arguments.seconds or (10 if arguments.small else 30)
    say(f"== Machine: {os.cpu_count()} cores, load {load()}")

    say(f"== Catalogue: at least {titles:,} titles (bench/search.py generator)")
    if arguments.reuse and search.Title.objects.count() >= titles:
        say("   --reuse: present")
    else:
        search.fill(titles)
        search.build_indexes()
    say(f"== Library organisation {SLUG}")
    organisation = organisation_ensure()
    staff_ensure(organisation, max(arguments.clients, arguments.processes))
    setup_ensure(organisation)
    have = counts(organisation)
    if arguments.reuse and have["items"] >= items and have["members"] >= members:
        say(f"   --reuse: {have['items']:,} items, {have['members']:,} members present")
    else:
        say(f"== Members: {members:,}")
        changed = members_ensure(organisation, members)
        say(f"== Items: {items:,}")
        changed = items_ensure(organisation, items, titles) or changed
        say("== National holdings index")
        holdings_ensure(organisation, changed)
        if changed:
            analyse(organisation)
    have = counts(organisation)
    say(f"   {have['items']:,} items ({have['open_loans']:,} on loan), {have['members']:,} members, "
        f"{have['titles']:,} titles in the catalogue")

    desk_user = StaffUser.objects.get(username=f"{DESK_PREFIX}01")
    say("== Statements of one checkout and one checkin (through the services, DEBUG query log)")
    profile = query_profile(organisation, desk_user)

    results = {}
    if not arguments.skip_services:
        say("== (a) Checkout + checkin pairs through the services")
        results["services"] = run_services(organisation, arguments)
    if not arguments.skip_http:
        say("== (b) Checkout + checkin pairs over HTTP (gunicorn)")
        if endpoints_present():
            results["http"] = run_http(organisation, arguments)
            if arguments.pgbouncer:
                results["http_pgbouncer"] = run_http_pgbouncer(organisation, arguments)
        else:
            say(f"   SKIPPED: {CHECKOUT_PATH} and {CHECKIN_PATH} do not exist (yet) in this working tree")
    if not arguments.skip_big:
        say(f"== (c) A member with {arguments.big_loans} open loans: {arguments.big_checkouts} more checkouts")
        results["big"] = run_big_member(organisation, arguments)
        query_profile(organisation, desk_user, card=BIG_CARD, label=f" (member with {arguments.big_loans} loans)",
                      show=False)

    say()
    say(f"Circulation at {SLUG}: {have['items']:,} items, {have['members']:,} members, {have['titles']:,} titles; "
        f"{os.cpu_count()} cores; load at the end {load()}")
    say(f"statements per checkout {profile['checkout'][0]}, per checkin {profile['checkin'][0]}")
    say(f"{'metric':<52}{'value':>12}  {'target':<10} result")
    failed = False

    def row(metric, value, target="", ok=None, unit=""):
        nonlocal failed
        result = "" if ok is None else ("PASS" if ok else "FAIL")
        failed |= ok is False
        say(f"{metric:<52}{value:>10.1f}{unit:>2}  {target:<10} {result}")

    def latency(label, values, target_p95=None):
        p50, p95, p99 = values
        say(f"{label:<52}{f'{p50:.1f} / {p95:.1f} / {p99:.1f}':>12}  "
            f"{f'p95 < {target_p95:.0f}' if target_p95 else '':<10} "
            f"{'' if target_p95 is None else ('PASS' if p95 < target_p95 else 'FAIL')}")
        return target_p95 is None or p95 < target_p95

    if "services" in results:
        s = results["services"]
        row(f"(a) services, {s['processes']} processes: checkouts/s", s["checkouts_per_s"],
            f">= {TARGET_SERVICE_CHECKOUTS:.0f}", s["checkouts_per_s"] >= TARGET_SERVICE_CHECKOUTS)
        row("    pairs/s (checkout + checkin)", s["pairs_per_s"])
        row("    operations/s (checkouts + checkins)", s["operations_per_s"])
        latency("    checkout p50 / p95 / p99 ms", s["checkout"])
        latency("    checkin p50 / p95 / p99 ms", s["checkin"])
        latency("    pair p50 / p95 / p99 ms", s["pair"])
        row("    CPU ms per pair: Python", s["cpu_ms"])
        row("    CPU ms per pair: PostgreSQL backend", s["db_cpu_ms"])
        row("    pairs/s those allow on idle cores (ceiling)", s["ceiling_pairs_per_s"])
    if "http" in results:
        h = results["http"]
        row(f"(b) HTTP, {h['clients']} desk clients, {h['config']}: checkouts/s", h["checkouts_per_s"],
            f">= {TARGET_HTTP_CHECKOUTS:.0f}", h["checkouts_per_s"] >= TARGET_HTTP_CHECKOUTS)
        row("    pairs/s (checkout + checkin requests)", h["pairs_per_s"])
        failed |= not latency("    checkout request p50 / p95 / p99 ms", h["checkout"], TARGET_HTTP_P95_MS)
        failed |= not latency("    checkin request p50 / p95 / p99 ms", h["checkin"], TARGET_HTTP_P95_MS)
        if h["loans_open"] or h["loans_made"] != h["lent"]:
            say(f"    loans in the database ({h['loans_made']:,}, {h['loans_open']} open) do not match the "
                f"{h['lent']:,} checkouts answered 200: FAIL")
            failed = True
    elif not arguments.skip_http:
        say(f"{'(b) HTTP':<52}{'skipped':>12}  {'':<10} (endpoints missing)")
    if "http_pgbouncer" in results:
        direct, pooled = results["http"], results["http_pgbouncer"]
        ratio = pooled["pairs_per_s"] / direct["pairs_per_s"] if direct["pairs_per_s"] else 0.0
        say(f"(b') HTTP through PgBouncer, transaction mode, {arguments.pgbouncer_pool} server connections:")
        row("    pairs/s direct", direct["pairs_per_s"])
        row("    pairs/s through PgBouncer (transaction mode)", pooled["pairs_per_s"])
        row("    ratio PgBouncer / direct", ratio, ">= 0.9", ratio >= 0.9)
        for label, key in (("checkout", "checkout"), ("checkin", "checkin")):
            say(f"{f'    {label} p95 ms direct / PgBouncer':<52}"
                f"{f'{direct[key][1]:.1f} / {pooled[key][1]:.1f}':>12}")
        if pooled["loans_open"] or pooled["loans_made"] != pooled["lent"]:
            say("    loans through PgBouncer do not match the checkouts answered 200: FAIL")
            failed = True
    if "big" in results:
        b = results["big"]
        failed |= not latency(f"(c) member with {arguments.big_loans} loans: checkout p50 / p95 / p99 ms",
                              b["checkout"], TARGET_BIG_MEMBER_MS)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
