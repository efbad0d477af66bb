"""Benchmark for the issue "Foundation": tenancy at national scale.

Run it through bench/run_tenancy, which prepares the environment and the
dedicated benchmark database. Measures:

1. that 156 library organisations exist (created once, reused afterwards);
2. provisioning one new library organisation (median of N, each removed again);
3. `manage.py migrate_schemas --noinput` with nothing to apply;
4. `SET search_path` statements per request, through the full WSGI handler
   (request_started/finished signals and every middleware included).

Exits 0 when every target is met, 1 otherwise.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

import django  # noqa: E402

django.setup()

import datetime  # noqa: E402

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django_tenants.utils import schema_exists  # noqa: E402

from tenants import services  # noqa: E402
from tenants.models import Domain, LibraryOrganisation, Province  # noqa: E402
from tenants.selectors import host_cache_forget  # noqa: E402

BENCH_PREFIX = "bench-"
PROVISION_PREFIX = "benchprov-"
T = datetime.time
HOURS = [(day, T(10), T(18)) for day in range(0, 5)] + [(5, T(10), T(17))]


def say(message=""):
    print(message, flush=True)


# --- 1. 156 library organisations ----------------------------------------------------


def organisation_spec(number, provinces, *, slug_prefix=BENCH_PREFIX, isil_base=9900000000, label="Bench"):
    province = provinces[number % len(provinces)]
    slug = f"{slug_prefix}{number:03d}"
    return {
        "name": f"{label}bibliotheek {number:03d}",
        "slug": slug,
        "isil": f"NL-{isil_base + number}",
        "province": province,
        "branches": [
            {
                "code": "centrum",
                "name": f"{label}bibliotheek {number:03d} Centrum",
                "street": f"Bibliotheekplein {number}",
                "postcode": f"{1000 + number % 9000:04d} AB",
                "city": f"{province.name} {number:03d}",
                "opening_hours": HOURS,
            },
            {
                "code": "wijk",
                "name": f"{label}bibliotheek {number:03d} Wijk",
                "street": f"Wijkstraat {number}",
                "postcode": f"{1000 + number % 9000:04d} CD",
                "city": f"{province.name} {number:03d}",
                "opening_hours": HOURS[:3],
            },
        ],
    }


def autovacuum_on():
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


CATALOGS = ["pg_class", "pg_attribute", "pg_attrdef", "pg_depend", "pg_type", "pg_proc", "pg_index",
            "pg_constraint", "pg_namespace", "pg_sequence", "pg_description", "pg_shdepend", "pg_statistic"]


def vacuum_catalogs():
    """What autovacuum does on a production server: clear the dead catalog rows that
    creating and dropping schemas leaves behind, and refresh planner statistics.
    Without it the clone function's catalog queries slow down run after run."""
    started = time.monotonic()
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE " + ", ".join(f"pg_catalog.{name}" for name in CATALOGS))
    say(f"  VACUUM ANALYZE of the system catalogs ({time.monotonic() - started:.1f} s)")


def new_connection():
    """As a new process (create_library command) or a request on a fresh connection."""
    connection.close()
    connection.set_schema_to_public()


def ensure_organisations(target):
    connection.set_schema_to_public()
    services.registry_reference_load()
    provinces = list(Province.objects.order_by("code"))
    assert len(provinces) == 12, f"expected 12 provinces, found {len(provinces)}"
    if services.tenant_template_ensure(progress=say):
        say("  template schema created")

    remove_leftover_provisions()
    existing = LibraryOrganisation.objects.count()
    say(f"Library organisations present: {existing}, target {target}")
    missing = target - existing
    if missing <= 0:
        say("  nothing to create (reusing the existing ones)")
        return existing, 0, 0.0
    say("  (a new database connection every 10: provisioning slows down within one session, see step 2)")
    taken = set(LibraryOrganisation.objects.values_list("slug", flat=True))
    started = batch_started = time.monotonic()
    created = 0
    number = 0
    while created < missing:
        number += 1
        spec = organisation_spec(number, provinces)
        if spec["slug"] in taken:
            continue
        services.library_organisation_create(**spec)
        created += 1
        if created % 10 == 0 or created == missing:
            now = time.monotonic()
            batch = created % 10 or 10
            say(f"  created {created}/{missing} ({now - started:.1f} s; last {batch}: {(now - batch_started) / batch:.2f} s each)")
            batch_started = now
            new_connection()
        if created % 50 == 0 and not autovacuum_on():
            vacuum_catalogs()
    return LibraryOrganisation.objects.count(), created, time.monotonic() - started


# --- 2. provisioning one -----------------------------------------------------------------


def remove_organisation(organisation):
    """Drop the schema and delete the registry rows (branches and domains cascade)."""
    connection.set_schema_to_public()
    hosts = list(organisation.domains.values_list("domain", flat=True))
    with transaction.atomic():
        organisation.delete(force_drop=True)
    host_cache_forget(hosts)


def remove_leftover_provisions():
    """Organisations an interrupted earlier run provisioned but did not remove."""
    leftovers = list(LibraryOrganisation.objects.filter(slug__startswith=PROVISION_PREFIX))
    for organisation in leftovers:
        remove_organisation(organisation)
    if leftovers:
        say(f"  removed {len(leftovers)} leftover {PROVISION_PREFIX}* organisation(s) of an interrupted run")


def provision(number, provinces):
    """Provision benchprov-<number>, time it, remove it again. Returns seconds."""
    spec = organisation_spec(number, provinces, slug_prefix=PROVISION_PREFIX, isil_base=9990000000, label="Provisie")
    started = time.perf_counter()
    organisation = services.library_organisation_create(**spec)
    duration = time.perf_counter() - started
    assert schema_exists(organisation.schema_name)
    remove_organisation(organisation)
    assert not schema_exists(organisation.schema_name)
    return duration


def time_provisioning(runs):
    """Each provision on a new database connection, as a create_library command or an
    admin request on a fresh connection would do it."""
    connection.set_schema_to_public()
    provinces = list(Province.objects.order_by("code"))
    durations = []
    for run in range(1, runs + 1):
        new_connection()
        durations.append(provision(run, provinces))
        say(f"  provision {run}/{runs}, new connection: {durations[-1]:.2f} s (created {PROVISION_PREFIX}{run:03d}, removed again)")
    return durations


def time_provisioning_one_session(runs):
    """Consecutive provisions on ONE database connection, kept until all are done, as a
    long-running process provisioning several (a seeding command, a worker) does:
    shows whether each makes the next slower. Removed again afterwards."""
    new_connection()
    provinces = list(Province.objects.order_by("code"))
    durations, organisations = [], []
    for run in range(runs):
        spec = organisation_spec(100 + run, provinces, slug_prefix=PROVISION_PREFIX, isil_base=9990000000, label="Provisie")
        started = time.perf_counter()
        organisations.append(services.library_organisation_create(**spec))
        durations.append(time.perf_counter() - started)
    say(f"  {runs} provisions on one connection: " + " ".join(f"{d:.2f}" for d in durations))
    for organisation in organisations:
        remove_organisation(organisation)
    return durations


# --- 3. migrate_schemas with nothing to apply --------------------------------------------


def migrate_schemas(*, show=3):
    """`manage.py migrate_schemas --noinput` in a subprocess: (seconds, exit status)."""
    command = [sys.executable, str(REPO / "manage.py"), "migrate_schemas", "--noinput"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    duration = time.perf_counter() - started
    output = (result.stdout + result.stderr).strip().splitlines()
    for line in output[-show:]:
        say(f"  | {line}")
    if result.returncode != 0:
        say(f"  migrate_schemas FAILED (exit {result.returncode})")
        for line in output[-30:]:
            say(f"  ! {line}")
    return duration, result.returncode


# --- 4. SET search_path per request ------------------------------------------------------


class StatementCounter:
    """connection.execute_wrapper: counts every statement through Django's cursors."""

    def __init__(self):
        self.statements = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    @property
    def set_search_path(self):
        return sum(1 for sql in self.statements if sql.lstrip().upper().startswith("SET SEARCH_PATH"))


class Requester:
    """Drives the real WSGI handler (all middleware, request_started/finished)."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.factory = RequestFactory()

    def get(self, host, path="/"):
        environ = self.factory._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", HTTP_HOST=host)
        status = []
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            response = self.handler(environ, lambda s, headers, exc_info=None: status.append(s))
            body = b"".join(response)
            response.close()  # sends request_finished, as a WSGI server does
        return int(status[0].split()[0]), counter, body


def first_request_of_process(host):
    """A new process's first request (new worker: new connection, first connection of the
    process), host cache cold. Run in a subprocess; returns (status, SET count, statements)."""
    import json

    host_cache_forget([host])
    command = [sys.executable, str(Path(__file__).resolve()), "--probe-first-request", host]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"probe failed: {result.stdout}{result.stderr}")
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    return probe["status"], probe["set_search_path"], probe["statements"]


def probe_first_request(host):
    import json

    status, counter, _body = Requester().get(host)
    print(json.dumps({"status": status, "set_search_path": counter.set_search_path, "statements": counter.statements}))


def request_scenarios(tenant_hosts, national_host, repeat, show_sql=False):
    requester = Requester()
    a, b = tenant_hosts[0], tenant_hosts[1]

    def new_connection():
        # As a freshly started worker, or after CONN_MAX_AGE: no connection, schema public.
        connection.close()
        connection.set_schema_to_public()

    def nothing():
        pass

    # (label, preparation, uncounted requests that set the stage, counted requests in order)
    scenarios = [
        ("tenant: new connection + cold host cache", lambda: (new_connection(), host_cache_forget([a])), [], [a]),
        ("tenant: new connection, warm host cache", new_connection, [], [a]),
        ("tenant: cold host cache, connection on other tenant", lambda: host_cache_forget([b]), [a], [b]),
        (f"same tenant, {repeat} consecutive", nothing, [a], [a] * repeat),
        (f"alternating 2 tenants, {repeat * 2} requests", nothing, [b], [a, b] * repeat),
        ("national: new connection", new_connection, [], [national_host]),
        ("national: first after a tenant", nothing, [a], [national_host]),
        (f"national: {repeat} consecutive", nothing, [national_host], [national_host] * repeat),
        (f"tenant/national alternating, {repeat * 2} requests", nothing, [national_host], [a, national_host] * repeat),
    ]
    results = []
    for label, host in [("tenant: first request of a new process, cold host cache", a),
                        ("national: first request of a new process", national_host)]:
        status, sets, statements = first_request_of_process(host)
        if status != 200:
            raise SystemExit(f"GET http://{host}/ answered {status} in the probe process")
        if sets > 1 or show_sql:
            say(f"    GET http://{host}/ issued {sets} SET search_path:")
            for sql in statements:
                say(f"      {' '.join(sql.split())[:150]}")
        results.append((label, [sets], [len(statements)]))
        say(f"  {label}: SET search_path {sets} (statements {len(statements)})")
    for label, prepare, stage, hosts in scenarios:
        prepare()
        for host in stage:
            requester.get(host)
        counts, queries = [], []
        for host in hosts:
            status, counter, body = requester.get(host)
            if status != 200:
                raise SystemExit(f"GET http://{host}/ answered {status}: {body[:300]!r}")
            counts.append(counter.set_search_path)
            if counter.set_search_path > 1 or show_sql:
                say(f"    GET http://{host}/ issued {counter.set_search_path} SET search_path:")
                for sql in counter.statements:
                    say(f"      {' '.join(sql.split())[:150]}")
            queries.append(len(counter.statements))
        results.append((label, counts, queries))
        say(
            f"  {label}: SET search_path per request max {max(counts)}, mean {statistics.mean(counts):.2f} "
            f"(statements per request mean {statistics.mean(queries):.1f}; sequence {counts[:12]}"
            f"{'…' if len(counts) > 12 else ''})"
        )
    return results


# --- main ----------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=156, help="library organisations to ensure (156)")
    parser.add_argument("--provisions", type=int, default=5, help="provisioning runs for the median (5)")
    parser.add_argument("--session-provisions", type=int, default=20,
                        help="consecutive provisions on one database connection (20; 0 to skip)")
    parser.add_argument("--repeat", type=int, default=10, help="requests per routing scenario (10)")
    parser.add_argument("--show-sql", action="store_true", help="print every request's statements")
    parser.add_argument("--skip-migrate", action="store_true", help="skip the migrate_schemas timing")
    parser.add_argument("--probe-first-request", metavar="HOST", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe_first_request:
        probe_first_request(args.probe_first_request)
        return 0

    db = settings.DATABASES["default"]
    code = os.environ.get("BENCH_CODE_LABEL")
    if not code:
        head = subprocess.run(["git", "log", "-1", "--format=%h %s"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        code = head.stdout.strip() + (" + uncommitted changes in the working tree" if dirty else "")
    say(f"Code: {code[:140]}")
    say(f"Database {db['NAME']} on {db['HOST']}:{db['PORT']}; template schema {settings.TENANT_BASE_SCHEMA}")

    if schema_exists(settings.TENANT_BASE_SCHEMA):
        # The template and the tenants must be current before anything is cloned from the
        # template, and for step 3 to measure a run with nothing to apply.
        say("\n[0/4] Bringing the template and tenant schemas up to date (untimed migrate_schemas)")
        seconds, status = migrate_schemas(show=1)
        say(f"  {seconds:.1f} s")
        if status != 0:
            raise SystemExit("migrate_schemas failed; fix that first")

    say("\n[1/4] Library organisations")
    total, created, create_seconds = ensure_organisations(args.tenants)

    say(f"\n[2/4] Provisioning one library organisation, {args.provisions} times")
    if not autovacuum_on():
        say("  autovacuum is off on this server; vacuuming the catalogs by hand, as it would")
        vacuum_catalogs()
    durations = time_provisioning(args.provisions)
    session_durations = time_provisioning_one_session(args.session_provisions) if args.session_provisions else []
    assert LibraryOrganisation.objects.count() == total, "provisioning benchmark left organisations behind"

    migrate_seconds, migrate_rc = None, None
    if not args.skip_migrate:
        schemas = total + 1
        say(f"\n[3/4] manage.py migrate_schemas --noinput ({total} tenant schemas + template + public)")
        migrate_seconds, migrate_rc = migrate_schemas()
        say(f"  {migrate_seconds:.1f} s for {schemas} tenant schemas")

    say(f"\n[4/4] SET search_path per request (GET /, full WSGI handler)")
    hosts = list(
        Domain.objects.filter(tenant__slug__startswith=BENCH_PREFIX, tenant__is_active=True)
        .order_by("tenant__slug")
        .values_list("domain", flat=True)[:2]
    )
    if len(hosts) < 2:
        hosts = list(Domain.objects.filter(tenant__is_active=True).values_list("domain", flat=True)[:2])
    national = settings.LSB_NATIONAL_HOSTS[0]
    say(f"  tenant hosts {hosts[0]}, {hosts[1]}; national host {national}")
    routing = request_scenarios(hosts, national, args.repeat, show_sql=args.show_sql)

    # --- figures ------------------------------------------------------------------------
    rows = []  # (metric, value, target, ok)
    rows.append(("library organisations", f"{total} ({created} created this run)", f">= {args.tenants}", total >= args.tenants))
    if created:
        rows.append(("  creating them, mean per organisation", f"{create_seconds / created:.2f} s", "-", None))
    median = statistics.median(durations)
    rows.append(
        (
            f"provision one organisation, median of {len(durations)}",
            f"{median:.2f} s (min {min(durations):.2f}, max {max(durations):.2f})",
            "< 5 s",
            median < 5,
        )
    )
    if session_durations:
        first, last = session_durations[:3], session_durations[-3:]
        rows.append(
            (
                f"  {len(session_durations)} provisions on one connection, first 3 -> last 3 mean",
                f"{statistics.mean(first):.2f} s -> {statistics.mean(last):.2f} s",
                "-",
                None,
            )
        )
    if migrate_seconds is not None:
        rows.append(
            (
                f"migrate_schemas --noinput, nothing to apply ({total} + template)",
                f"{migrate_seconds:.1f} s" + ("" if migrate_rc == 0 else f" (exit {migrate_rc})"),
                "< 60 s",
                migrate_seconds < 60 and migrate_rc == 0,
            )
        )
    for label, counts, _queries in routing:
        rows.append(
            (
                f"SET search_path/request: {label}",
                f"max {max(counts)}, mean {statistics.mean(counts):.2f}",
                "max <= 1",
                max(counts) <= 1,
            )
        )

    widths = [max(len(str(row[i])) for row in rows + [("metric", "value", "target")]) for i in range(3)]
    say("\nFigures")
    header = f"{'metric':<{widths[0]}}  {'value':<{widths[1]}}  {'target':<{widths[2]}}  result"
    say(header)
    say("-" * len(header))
    for metric, value, target, ok in rows:
        verdict = "-" if ok is None else ("PASS" if ok else "FAIL")
        say(f"{metric:<{widths[0]}}  {value:<{widths[1]}}  {target:<{widths[2]}}  {verdict}")
    failed = [row for row in rows if row[3] is False]
    say(f"\n{'ALL TARGETS MET' if not failed else f'{len(failed)} TARGET(S) FAILED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
