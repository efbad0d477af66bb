"""Benchmark for the issue "OPAC": the members' catalogue over HTTP on gunicorn.

Run it through bench/run_opac, which prepares the environment and the dedicated
benchmark database. It

1. makes sure the data exists (resumable): the national catalogue (--titles,
   bench/search.py's generator, COPY; 1,000,000 by default), one library
   organisation `benchopac` with four branches, members and --items copies of the
   first --held titles with every tenth on loan (bench/circulation.py's loaders:
   INSERT ... SELECT in committed chunks, then the national holdings index from
   the items); two more organisations hold a third of those titles each (holdings
   rows only: they make "N other libraries have this title" real on the pages);
2. starts gunicorn on the benchmark database (DEBUG=0) and, with --clients
   concurrent clients (threads, keep-alive http.client, the library's host name),
   fetches for --seconds each
   (a) search result pages: /zoeken/?q=... made from random catalogue titles as
       members type them (two title words, an author, an ISBN, misspelled title
       and author words, a word with material type/language/period facets; some
       "only in this library", sorted by newest, or page 2), each with its facets,
       availability per branch and the count of other libraries;
   (b) title pages: /titel/<id>-<slug>/ of random titles, half of them held by
       the library (copies per branch with due dates), half not;
3. prints p50/p95/p99 latency and pages/s per kind (and the search p95 per query
   kind); target p95 < 200 ms for both. Exits 1 when a target is not met.
"""

import argparse
import http.client
import importlib.util
import logging
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO)] + [entry for entry in sys.path if Path(entry or ".").resolve() != REPO / "bench"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")
logging.getLogger("pymarc").setLevel(logging.ERROR)

_spec = importlib.util.spec_from_file_location("bench_circulation", REPO / "bench" / "circulation.py")
circulation = importlib.util.module_from_spec(_spec)  # its loaders (and bench/search.py's generator)
_spec.loader.exec_module(circulation)
search = circulation.search

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils.text import slugify  # noqa: E402

from catalogue.models import Title  # noqa: E402
from tenants.models import Branch, LibraryOrganisation  # noqa: E402

SLUG = "benchopac"
OTHERS = [("benchopac2", "NL-9980000012"), ("benchopac3", "NL-9980000013")]
TARGET_P95_MS = 200.0


def say(message=""):
    print(message, flush=True)


def use_library(slug, isil):
    """Point bench/circulation.py's loaders at this library."""
    circulation.SLUG, circulation.ISIL = slug, isil
    circulation.ADMIN = f"{slug}.beheer"
    circulation.DESK_PREFIX = f"{slug}.balie"


def data_ensure(arguments):
    say(f"== Catalogue: at least {arguments.titles:,} titles (bench/search.py generator)")
    if search.Title.objects.count() < arguments.titles:
        search.fill(arguments.titles)
    search.build_indexes()
    say(f"== Library organisation {SLUG}")
    use_library(SLUG, "NL-9980000011")
    organisation = circulation.organisation_ensure()
    circulation.staff_ensure(organisation, 1)
    circulation.setup_ensure(organisation)
    say(f"== Members: {arguments.members:,}")
    changed = circulation.members_ensure(organisation, arguments.members)
    say(f"== Items: {arguments.items:,} (copies of the first {arguments.held:,} titles)")
    changed = circulation.items_ensure(organisation, arguments.items, arguments.held) or changed
    say("== National holdings index")
    circulation.holdings_ensure(organisation, changed)
    for offset, (slug, isil) in enumerate(OTHERS, start=1):
        other_holdings_ensure(organisation, other_library_ensure(slug, isil, offset), offset=offset)
    if changed:
        circulation.analyse(organisation)
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE public.catalogue_holding")
    return organisation


def other_library_ensure(slug, isil, number):
    connection.set_schema_to_public()
    other = LibraryOrganisation.objects.filter(slug=slug).first()
    if other is None:
        other = circulation.tenant_services.library_organisation_create(
            name=f"Benchbibliotheek Regio {number}", slug=slug, isil=isil,
            province=circulation.Province.objects.get(code="UT"),
            branches=[{"code": "centrum", "name": f"Bibliotheek Regio {number}", "street": "Dorpsstraat 1",
                       "postcode": "3611 AA", "city": "Benchdorp", "opening_hours": circulation.HOURS}])
        say(f"   {other.name} provisioned")
    return other


def other_holdings_ensure(organisation, other, *, offset):
    """Holdings rows (only) for another organisation: a third of the titles benchopac holds."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalogue_holding WHERE organisation_id = %s", [other.pk])
        have = cursor.fetchone()[0]
        if have:
            say(f"   {other.slug}: {have:,} holdings rows present")
            return
        branch = Branch.objects.filter(organisation=other).order_by("pk").first()
        with transaction.atomic():
            cursor.execute("""
                INSERT INTO catalogue_holding (title_id, organisation_id, branch_id, total, available, updated_at)
                SELECT DISTINCT title_id, %s, %s, 2, 1, now() FROM catalogue_holding
                 WHERE organisation_id = %s AND title_id %% 3 = %s""", [other.pk, branch.pk, organisation.pk, offset])
        cursor.execute("SELECT count(*) FROM catalogue_holding WHERE organisation_id = %s", [other.pk])
        say(f"   {other.slug}: {cursor.fetchone()[0]:,} holdings rows written (synthetic: no items there)")


# --- the pages asked for ------------------------------------------------------------------

def decade_of(arguments):
    if arguments.get("year_from") is not None:
        return (arguments["year_from"] + 5) // 10 * 10
    return None


def search_paths(rng, count):
    """[(query kind, path)] of search result pages, as members type them."""
    kinds = search.build_queries(rng, count)
    paths = []
    for kind, queries in kinds.items():
        for arguments, _check in queries:
            params = {"q": arguments["query"]}
            if kind == "filtered":
                params["soort"] = arguments.get("material_type") or ""
                if arguments.get("language"):
                    params["taal"] = arguments["language"]
                decade = decade_of(arguments)
                if decade:
                    params["decennium"] = decade
            draw = rng.random()
            if draw < 0.1:
                params["hier"] = 1
            elif draw < 0.2:
                params["sorteer"] = "newest"
            paths.append((kind, "/zoeken/?" + urllib.parse.urlencode({k: v for k, v in params.items() if v})))
    rng.shuffle(paths)
    return paths


def title_paths(rng, count, organisation):
    """[(kind, path)] of title pages: half held by the library, half random titles."""
    schema = organisation.schema_name
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT title_id FROM "{schema}".collection_item ORDER BY title_id LIMIT 200000')
        held = [row[0] for row in cursor.fetchall()]
    low, high = Title.objects.order_by("id").values_list("id", flat=True)[:1][0], \
        Title.objects.order_by("-id").values_list("id", flat=True)[:1][0]
    chosen = rng.sample(held, min(len(held), count // 2))
    ids = chosen + [rng.randint(low, high) for _ in range(count // 2)]
    names = dict(Title.objects.filter(pk__in=ids).values_list("pk", "title"))
    held_here = set(held)
    paths = [("held here" if pk in held_here else "not held here",
              f"/titel/{pk}-{slugify(names[pk])[:60].strip('-') or 'titel'}/") for pk in ids if pk in names]
    rng.shuffle(paths)
    return paths


# --- load ---------------------------------------------------------------------------------

def client(index, port, host, paths, seconds, warmup, barrier, results, marker):
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    position = index * 7919
    timings, errors = [], Counter()

    def fetch(path, retry=True):
        nonlocal connection_
        try:
            connection_.request("GET", path, headers={"Host": host, "Accept-Language": "nl"})
            response = connection_.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            connection_.close()
            connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            # A keep-alive connection the server closed meanwhile: asked again once, as browsers do.
            return fetch(path, retry=False) if retry else f"{type(error).__name__}"
        if response.status != 200:
            return f"HTTP {response.status}"
        if marker not in body:
            return "page without its content"
        return None

    for _ in range(warmup):
        fetch(paths[position % len(paths)][1])
        position += 1
    barrier.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kind, path = paths[position % len(paths)]
        position += 1
        started = time.perf_counter()
        error = fetch(path)
        elapsed = (time.perf_counter() - started) * 1000
        if error:
            errors[error] += 1
        else:
            timings.append((kind, elapsed))
    connection_.close()
    results[index] = (timings, errors)


def _cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_snapshot(group):
    """{pid: CPU seconds} of gunicorn's process group and of the PostgreSQL backends
    connected to the benchmark database (other databases' work is not counted)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == group:
                    pids.append(int(entry))
            except OSError:
                pass
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        backends = [row[0] for row in cursor.fetchall()]
    connection.close()
    return {("app", pid): _cpu_seconds(pid) for pid in pids} | {("db", pid): _cpu_seconds(pid) for pid in backends}


def cpu_used(before, after):
    used = {"app": 0.0, "db": 0.0}
    for key, seconds in after.items():
        used[key[0]] += max(0.0, seconds - before.get(key, 0.0))
    return used


def percentile(values, fraction):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(len(values) * fraction)) - 1))] if values else 0.0


def run_phase(label, paths, arguments, port, host, marker, group=None, clients=None, seconds=None):
    arguments = argparse.Namespace(**{**vars(arguments), "clients": clients or arguments.clients,
                                      "seconds": seconds or arguments.seconds})
    results = {}
    barrier = threading.Barrier(arguments.clients + 1)
    threads = [threading.Thread(target=client, args=(index, port, host, paths, arguments.seconds, arguments.warmup,
                                                     barrier, results, marker), daemon=True)
               for index in range(arguments.clients)]
    for thread in threads:
        thread.start()
    before = cpu_snapshot(group) if group else {}
    barrier.wait()
    started = time.monotonic()
    say(f"   {label}: {arguments.clients} client(s) for {arguments.seconds} s ...")
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = cpu_used(before, cpu_snapshot(group)) if group else {"app": 0.0, "db": 0.0}
    timings = [timing for result in results.values() for timing in result[0]]
    errors = sum((result[1] for result in results.values()), Counter())
    values = [ms for _kind, ms in timings]
    by_kind = defaultdict(list)
    for kind, ms in timings:
        by_kind[kind].append(ms)
    row = {"label": label, "n": len(values), "rate": len(values) / elapsed, "p50": statistics.median(values) if values else 0,
           "p95": percentile(values, 0.95), "p99": percentile(values, 0.99), "max": max(values) if values else 0,
           "errors": errors, "by_kind": {kind: (len(v), statistics.median(v), percentile(v, 0.95))
                                        for kind, v in sorted(by_kind.items())},
           "clients": arguments.clients,
           "app_ms": 1000 * cpu["app"] / max(1, len(values)), "db_ms": 1000 * cpu["db"] / max(1, len(values))}
    say(f"   {len(values):,} pages, {row['rate']:.1f} pages/s, p50 {row['p50']:.1f} ms, p95 {row['p95']:.1f} ms, "
        f"p99 {row['p99']:.1f} ms, errors {dict(errors) or 0}; CPU per page: gunicorn {row['app_ms']:.1f} ms, "
        f"PostgreSQL {row['db_ms']:.1f} ms")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--titles", type=int, default=1_000_000, help="catalogue size (default 1,000,000)")
    parser.add_argument("--held", type=int, default=150_000, help="titles the library holds copies of")
    parser.add_argument("--items", type=int, default=300_000, help="copies at the library")
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients")
    parser.add_argument("--seconds", type=int, default=30, help="measured seconds per page kind")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured pages per client first")
    parser.add_argument("--queries", type=int, default=300, help="search queries per query kind")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 2) * 2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--single-seconds", type=int, default=10,
                        help="also one client alone for this long per page kind (0: not)")
    parser.add_argument("--seed", type=int, default=20261206)
    arguments = parser.parse_args()
    say(f"== Machine: {os.cpu_count()} cores, load {circulation.load()}")
    organisation = data_ensure(arguments)
    total = Title.objects.count()
    rng = random.Random(arguments.seed)
    say("== Pages to ask for")
    searches = search_paths(rng, arguments.queries)
    titles = title_paths(rng, arguments.queries * 6, organisation)
    say(f"   {len(searches):,} search pages ({', '.join(sorted({kind for kind, _ in searches}))}), "
        f"{len(titles):,} title pages")
    connection.close()

    host = f"{SLUG}.{settings.LSB_BASE_DOMAIN}"
    port = circulation.free_port()
    log_path = REPO / "var" / "bench-opac-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    circulation.SLUG = SLUG  # gunicorn_start probes this library's sign-in page
    process = circulation.gunicorn_start(arguments, port, log_path)
    try:
        say(f"== HTTP on gunicorn (port {port}, host {host})")
        group = os.getpgid(process.pid)
        phases = [("search result pages", searches, b'data-testid="result-count"'),
                  ("title pages", titles, b'id="titel-kop"')]
        rows = [run_phase(label, paths, arguments, port, host, marker, group) for label, paths, marker in phases]
        singles = [run_phase(label + " (1 client)", paths, arguments, port, host, marker, group, clients=1,
                             seconds=arguments.single_seconds)
                   for label, paths, marker in phases] if arguments.single_seconds else []
    finally:
        circulation.gunicorn_stop(process)

    say()
    say(f"OPAC over HTTP: {total:,} titles in the catalogue, {arguments.items:,} copies at {SLUG}; "
        f"{arguments.clients} clients; gunicorn {arguments.workers} x {arguments.worker_class} "
        f"{arguments.threads} thread(s); {os.cpu_count()} cores; load at the end {circulation.load()}")
    say(f"{'pages':<32}{'n':>7}{'pages/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}  {'errors':>6}"
        f"  {'CPU/page':>9}  result")
    failed = False
    for row in rows + singles:
        ok = row["p95"] < TARGET_P95_MS and not row["errors"]
        if row in rows:
            failed |= not ok
        cpu = row["app_ms"] + row["db_ms"]
        say(f"{row['label']:<32}{row['n']:>7}{row['rate']:>9.1f}{row['p50']:>8.1f}{row['p95']:>8.1f}"
            f"{row['p99']:>8.1f}{row['max']:>8.1f}  {sum(row['errors'].values()):>6}  {cpu:>7.1f}ms"
            f"  {('PASS' if ok else 'FAIL') if row in rows else '(info)'}")
    say(f"(ms; target p95 < {TARGET_P95_MS:.0f} ms and no errors with {arguments.clients} clients; CPU/page: "
        "gunicorn + this database's PostgreSQL backends)")
    for row in rows:
        cpu = row["app_ms"] + row["db_ms"]
        if cpu:
            say(f"{row['label']}: {cpu:.1f} ms CPU a page -> at most {1000 * (os.cpu_count() or 2) / cpu:.0f} "
                f"pages/s on {os.cpu_count()} idle cores")
    say("search p95 per query kind: " + ", ".join(
        f"{kind} {p95:.0f} ms (n {n})" for kind, (n, _p50, p95) in rows[0]["by_kind"].items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
