"""LSB behind a real PgBouncer (Debian's package): concurrent desk traffic at five
libraries and Celery tasks for each of them at the same time, through PgBouncer in
transaction mode with fewer server connections than clients, in session mode, and
straight to PostgreSQL. No page may show another library's data, no row may land in
another library's schema, and nothing may fail.

Everything runs in real processes, as in production: gunicorn (2 workers x 3
threads, each thread its own database connection), a Celery worker (3 threads) with
tenant-schemas-celery, PgBouncer started here with a generated configuration. The
data is the demo data (manage.py seed_demo: five library organisations) in a
database of its own, copied for each mode; every library's members carry a marker
in their name (MERKUTRECHT, ...), so a page or a task that reads another library's
members shows it.

The PgBouncer configuration ignores the startup parameter `options` (as operators
did to get the old backend running): LSB itself sends none."""

import os
import random
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

REPO = Path(__file__).resolve().parents[2]
SLUGS = ["utrecht", "rotterdam", "eemland", "gelderlandzuid", "middenbrabant"]
PASSWORD = "lsb-demo-2026"
TRAFFIC_SECONDS = 3.0
CLIENTS_PER_LIBRARY = 2
TASKS_PER_LIBRARY = 12
REDIS_DB = 12


def marker(slug):
    return f"MERK{slug.upper()}"


# --- PostgreSQL, PgBouncer, processes ----------------------------------------------------------


def server():
    from django.conf import settings

    database = settings.DATABASES["default"]
    return {"host": database["HOST"] or "127.0.0.1", "port": int(database["PORT"] or 5432),
            "user": database["USER"] or "postgres", "password": database["PASSWORD"] or ""}


def connect(dbname, **kwargs):
    params = server()
    return psycopg.connect(host=params["host"], port=params["port"], user=params["user"],
                           password=params["password"] or None, dbname=dbname, autocommit=True, **kwargs)


def drop_database(name):
    with connect("postgres") as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(process):
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pgbouncer_binary():
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None)
    if found is None:
        pytest.fail("PgBouncer is not installed (./lsbctl test installs Debian's package: apt-get install pgbouncer)")
    return found


def start_pgbouncer(pool_mode, pool_size):
    """A PgBouncer of our own on a free port in front of the test's PostgreSQL, with
    its configuration in a folder of its own (readable by the user it runs as)."""
    import tempfile

    params = server()
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="lsb-pgbouncer-"))
    (folder / "users.txt").write_text(f'"{params["user"]}" "{params["password"]}"\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
* = host={params["host"]} port={params["port"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = {pool_mode}
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 200
max_db_connections = {pool_size}
ignore_startup_parameters = extra_float_digits,options
server_reset_query = DISCARD ALL
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
""")
    os.chmod(folder, 0o777)
    for path in folder.iterdir():
        os.chmod(path, 0o666)
    command = [pgbouncer_binary()]
    if os.geteuid() == 0:
        command += ["-u", "postgres"]  # PgBouncer refuses to run as root
    process = subprocess.Popen(command + [str(folder / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    if not wait_for_port(port, process, timeout=15):
        stop(process)
        log = (folder / "pgbouncer.log").read_text() if (folder / "pgbouncer.log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"PgBouncer did not start: {process.stderr.read().decode()} {log}")
    return process, port, folder


def environment(database_url, pool_mode, mail_dir):
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "LSB_DB_POOL_MODE": pool_mode,
        "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DB}",
        "CACHE_KEY_PREFIX": f"lsb-pooler-{os.getpid()}-{pool_mode}",
        "DEBUG": "0",
        "SECRET_KEY": env.get("SECRET_KEY") or "pooler-test-secret-key",
        "ALLOWED_HOSTS": "localhost,.localhost,127.0.0.1",
        "SECURE_COOKIES": "0",
        "CONN_MAX_AGE": "60",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(mail_dir / "beat"),
        "PYTHONPATH": str(REPO),
    })
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def database_url(port, name):
    params = server()
    auth = params["user"] + (f":{params['password']}" if params["password"] else "")
    return f"postgres://{auth}@127.0.0.1:{port}/{name}"


# --- the demo data, once ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A database with the demo data (five libraries), members marked per library."""
    name = f"lsb_pooler_{os.getpid()}"
    drop_database(name)
    with connect("postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    folder = tmp_path_factory.mktemp("pooler-seed")
    env = environment(database_url(server()["port"], name), "direct", folder)
    try:
        for command in (["migrate_schemas", "--noinput", "-v", "0"], ["seed_demo"]):
            done = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env,
                                  capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"manage.py {command[0]} failed:\n{done.stdout}\n{done.stderr}"
        facts = {}
        with connect(name) as conn:
            for slug in SLUGS:
                schema = f"lib_{slug}"
                conn.execute(sql.SQL("UPDATE {}.members_member SET last_name = last_name || ' ' || %s").format(
                    sql.Identifier(schema)), [marker(slug)])
                members = conn.execute(sql.SQL(
                    "SELECT id, card_number FROM {}.members_member ORDER BY id").format(sql.Identifier(schema))
                ).fetchall()
                items = [row[0] for row in conn.execute(sql.SQL(
                    "SELECT barcode FROM {}.collection_item WHERE status = 'available' AND NOT not_for_loan "
                    "ORDER BY barcode").format(sql.Identifier(schema)))]
                facts[slug] = {"schema": schema, "members": members, "items": items}
                assert len(members) >= 2 and len(items) >= 2 * CLIENTS_PER_LIBRARY, (slug, members, items)
        yield name, facts
    finally:
        drop_database(name)


# --- desk traffic ----------------------------------------------------------------------------


class Desk:
    """One desk's signed-in browser session over HTTP (keep-alive)."""

    def __init__(self, port, slug):
        import http.client

        self.http = http.client
        self.port = port
        self.host = f"{slug}.localhost"
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = {}

    def request(self, method, path, fields=None, htmx=False):
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in self.cookies.items())
        body = None
        if fields is not None:
            body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookies.get("csrftoken", ""), **fields})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if htmx:
            headers["HX-Request"] = "true"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (self.http.HTTPException, OSError):
            self.connection.close()
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        data = response.read().decode("utf-8", "replace")
        for key, value in response.getheaders():
            if key.lower() == "set-cookie":
                name, _, cookie = value.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = cookie.strip()
        return response.status, data

    def sign_in(self, username):
        status, page = self.request("GET", "/balie/inloggen/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert status == 200 and token, f"{self.host}: sign-in page HTTP {status}"
        status, _ = self.request("POST", "/balie/inloggen/", {
            "csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD})
        assert status == 302 and "sessionid" in self.cookies, f"{self.host}: signing in as {username}: HTTP {status}"


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.pages = Counter()
        self.leaks = []
        self.errors = []
        self.scanned = {slug: set() for slug in SLUGS}
        self.checkouts = Counter()

    def page(self, slug, what, status, body, expected=(200,), own_marker=False):
        with self.lock:
            self.pages[what] += 1
            if status not in expected:
                self.errors.append(f"{slug} {what}: HTTP {status} {body[:300]!r}")
                return False
            foreign = [marker(other) for other in SLUGS if other != slug and marker(other) in body]
            if foreign:
                self.leaks.append(f"{slug} {what} shows {foreign}")
            if own_marker and marker(slug) not in body:
                self.leaks.append(f"{slug} {what} lacks its own members ({marker(slug)})")
            return True


def desk_traffic(port, slug, facts, client_number, start, tally):
    """Member search, member page, checkout panel, overdue list, checkout and checkin
    scans, over and over for TRAFFIC_SECONDS once every desk has signed in (at least
    twice each)."""
    rng = random.Random(f"{slug}{client_number}")
    items = facts["items"][client_number::CLIENTS_PER_LIBRARY]  # the desks of a library scan different items
    try:
        desk = Desk(port, slug)
        desk.sign_in(f"{slug}.balie")
        start.wait(timeout=120)
        deadline = time.monotonic() + TRAFFIC_SECONDS
        rounds = 0
        while rounds < 2 or time.monotonic() < deadline:
            rounds += 1
            member_id, card = rng.choice(facts["members"])
            status, body = desk.request("POST", "/leden/", {"q": marker(slug)})
            tally.page(slug, "member search", status, body, own_marker=True)
            status, body = desk.request("GET", f"/leden/{member_id}/")
            tally.page(slug, "member page", status, body, own_marker=True)
            status, body = desk.request("GET", f"/uitlening/uitlenen/?pas={card}")
            tally.page(slug, "checkout panel", status, body, own_marker=True)
            status, body = desk.request("GET", "/uitlening/te-laat/")
            tally.page(slug, "overdue list", status, body)
            barcode = rng.choice(items)
            status, body = desk.request("POST", "/uitlening/uitlenen/scan/", {"pas": card, "barcode": barcode},
                                        htmx=True)
            # 422: refused (the member may not borrow now): a desk's answer too, but no loan.
            if not tally.page(slug, "checkout scan", status, body, expected=(200, 422)) or status != 200:
                continue
            with tally.lock:
                tally.scanned[slug].add(barcode)
                tally.checkouts[slug] += 1
            status, body = desk.request("POST", "/uitlening/innemen/scan/", {"barcode": barcode}, htmx=True)
            tally.page(slug, "checkin scan", status, body)
    except Exception as error:  # noqa: BLE001 - reported by the test
        start.abort()
        with tally.lock:
            tally.errors.append(f"{slug} desk {client_number}: {type(error).__name__}: {error}")


# --- the run ---------------------------------------------------------------------------------


def run_mode(pool_mode, seeded, folder):
    """Copy the demo database, start PgBouncer (not for direct), gunicorn and a Celery
    worker on it, run desk traffic and tasks at five libraries; return what happened."""
    from celery import Celery

    seed_name, facts = seeded
    name = f"{seed_name}_{pool_mode}"
    drop_database(name)
    with connect("postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                       sql.Identifier(seed_name)))
    processes = []
    bouncer_folder = None
    started_at = None
    broker = Celery(broker=f"redis://127.0.0.1:6379/{REDIS_DB}")
    try:
        if pool_mode == "direct":
            db_port = server()["port"]
        else:
            # Transaction mode: 3 server connections for 6 web threads + 3 task threads (+ the
            # worker's main process). Session mode pins a server connection to each client
            # connection, so it needs one per client (README: PgBouncer settings).
            bouncer, db_port, bouncer_folder = start_pgbouncer(pool_mode, 3 if pool_mode == "transaction" else 16)
            processes.append(bouncer)
        mail_dir = folder / "mail"
        mail_dir.mkdir(parents=True, exist_ok=True)
        env = environment(database_url(db_port, name), pool_mode, mail_dir)
        broker.control.purge()  # nothing left in the queue from an earlier, interrupted run

        web_port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "lsb.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
             "--workers", "2", "--worker-class", "gthread", "--threads", "3", "--timeout", "60",
             "--log-level", "warning"], cwd=REPO, env=env)
        processes.append(web)
        node = f"pooler-{pool_mode}-{os.getpid()}@localhost"
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "lsb", "worker", "--pool", "threads", "--concurrency", "3",
             "-I", "tests.pooler.probe_tasks", "-n", node, "-l", "warning", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=REPO, env=env)
        processes.append(worker)
        assert wait_for_port(web_port, web), "gunicorn did not start"
        deadline = time.monotonic() + 40
        while not broker.control.ping(destination=[node], timeout=0.5):
            assert worker.poll() is None and time.monotonic() < deadline, "the Celery worker did not start"

        with connect(name) as conn:
            started_at = conn.execute("SELECT now()").fetchone()[0]
        tally = Tally()
        start = threading.Barrier(len(SLUGS) * CLIENTS_PER_LIBRARY + 1)
        desks = [threading.Thread(target=desk_traffic, args=(web_port, slug, facts[slug], number, start, tally))
                 for slug in SLUGS for number in range(CLIENTS_PER_LIBRARY)]
        for thread in desks:
            thread.start()
        try:
            start.wait(timeout=120)
        except threading.BrokenBarrierError:
            pass  # a desk could not sign in: its error is in the tally
        # Tasks for every library, interleaved, while the desks work.
        for number in range(TASKS_PER_LIBRARY):
            for slug in SLUGS:
                broker.send_task("tests.pooler.probe", args=[marker(slug), number],
                                 headers={"_schema_name": facts[slug]["schema"]})
            time.sleep(TRAFFIC_SECONDS / TASKS_PER_LIBRARY / 2)
        for thread in desks:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in desks), "desk traffic did not finish"

        expected_rows = 2 * TASKS_PER_LIBRARY * len(SLUGS)
        deadline = time.monotonic() + 40
        while probe_rows(name, facts) < expected_rows and time.monotonic() < deadline:
            time.sleep(0.3)
        assert worker.poll() is None and web.poll() is None, "gunicorn or the worker died"
        return tally, check_rows(name, facts, started_at, tally)
    finally:
        for process in reversed(processes):
            stop(process)
        if bouncer_folder is not None:
            shutil.rmtree(bouncer_folder, ignore_errors=True)
        drop_database(name)


def probe_rows(name, facts):
    with connect(name) as conn:
        return sum(conn.execute(sql.SQL("SELECT count(*) FROM {}.members_auditentry WHERE detail ? 'probe'").format(
            sql.Identifier(facts[slug]["schema"]))).fetchone()[0] for slug in SLUGS)


def check_rows(name, facts, started_at, tally):
    """What each library's schema holds after the run: problems found, and counts."""
    problems, counts = [], Counter()
    with connect(name) as conn:
        for slug in SLUGS:
            schema = sql.Identifier(facts[slug]["schema"])
            for probe, seen_schema, foreign, phase in conn.execute(sql.SQL(
                    "SELECT detail->>'probe', detail->>'schema', detail->'foreign', detail->>'phase' "
                    "FROM {}.members_auditentry WHERE detail ? 'probe'").format(schema)):
                counts["task rows"] += 1
                if probe != marker(slug) or seen_schema != facts[slug]["schema"]:
                    problems.append(f"{slug}: a task row of {probe} ({phase}) in this schema")
                if foreign:
                    problems.append(f"{slug}: a task for {probe} read other members: {foreign[:3]}")
            per_library = conn.execute(sql.SQL(
                "SELECT count(*) FROM {}.members_auditentry WHERE detail ? 'probe' AND detail->>'probe' = %s"
            ).format(schema), [marker(slug)]).fetchone()[0]
            if per_library != 2 * TASKS_PER_LIBRARY:
                problems.append(f"{slug}: {per_library} of {2 * TASKS_PER_LIBRARY} task rows in its schema")
            for (username,) in conn.execute(sql.SQL(
                    "SELECT u.username FROM {}.members_auditentry a JOIN public.staff_staffuser u "
                    "ON u.id = a.staff_user_id WHERE a.at >= %s").format(schema), [started_at]):
                counts["staff audit rows"] += 1
                if not username.startswith(f"{slug}."):
                    problems.append(f"{slug}: an audit row of {username} in this schema")
            loans = conn.execute(sql.SQL(
                "SELECT u.username, l.ended_at IS NULL FROM {}.circulation_loan l "
                "JOIN public.staff_staffuser u ON u.id = l.created_by_id WHERE l.loaned_at >= %s").format(schema),
                [started_at]).fetchall()
            counts["loans"] += len(loans)
            for username, still_open in loans:
                if not username.startswith(f"{slug}."):
                    problems.append(f"{slug}: a loan made by {username} in this schema")
                elif still_open:
                    problems.append(f"{slug}: a loan checked out by its desk was not checked in")
            if len(loans) != tally.checkouts[slug]:
                problems.append(f"{slug}: {len(loans)} loans in its schema for {tally.checkouts[slug]} checkouts")
            # (after a checkin an item may be in transit to its own branch, not on loan)
            on_loan = conn.execute(sql.SQL(
                "SELECT count(*) FROM {}.collection_item WHERE barcode = ANY(%s) AND status = 'on_loan'"
            ).format(schema), [sorted(tally.scanned[slug])]).fetchone()[0]
            if on_loan:
                problems.append(f"{slug}: {on_loan} scanned items still on loan after their checkin")
    return problems, counts


@pytest.mark.parametrize("pool_mode", ["transaction", "session", "direct"])
def test_no_library_sees_or_writes_another_librarys_data(pool_mode, seeded, tmp_path):
    tally, (problems, counts) = run_mode(pool_mode, seeded, tmp_path)
    summary = f"{pool_mode}: pages {dict(tally.pages)}, rows {dict(counts)}"
    print(summary)
    outcome = (f"{len(tally.leaks)} pages with another library's data, {len(problems)} rows in the wrong "
               f"schema or missing, {len(tally.errors)} errors")
    print(outcome)
    assert not (tally.leaks or problems or tally.errors), (
        f"{outcome} ({summary}). Pages: {tally.leaks[:3]} Rows: {problems[:3]} Errors: {[e[:200] for e in tally.errors[:3]]}"
    )
    # The run did what it says: every kind of page, scans and every task at every library.
    assert all(tally.pages[what] >= 2 * len(SLUGS) for what in (
        "member search", "member page", "checkout panel", "overdue list", "checkout scan", "checkin scan")), summary
    assert counts["task rows"] == 2 * TASKS_PER_LIBRARY * len(SLUGS), summary
    assert counts["staff audit rows"] > 0 and counts["loans"] >= len(SLUGS), summary
