"""Benchmark for the SIP2 server (issue "Self-service machines"): 500 machines
connected at once, 100 of them running checkout + checkin loops, against a
library with 1,000,000 items.

Run it through bench/run_sip2, which prepares the environment and the benchmark
database. It

1. makes sure the data exists, with bench/circulation.py's generator (the
   catalogue, library `benchcirc` with four branches, members and items; --small
   for 20,000 items; --reuse skips the checks once the counts are reached);
2. makes sure --machines SIP2 machine accounts exist (selfservice services, a
   known password, spread over the four branches, no patron PIN: the generated
   members have none);
3. starts `manage.py sip2_server` (DEBUG off) with --processes worker processes
   and --threads threads each on a free port;
4. connects all machines at once (asyncio, raw sockets, AY/AZ on every message
   and every answer's checksum verified), logs each one in (93), then lets
   --active of them run checkout (11) + checkin (09) loops for --seconds, each on
   its own items (available copies owned by its branch) and members, while the
   others stay connected and send an SC status (99) every --heartbeat seconds;
5. reports pairs/s, p50/p95/p99 of checkout, checkin and pair (open loop at
   --rate pairs/s offered, latency from each pair's planned start; --rate 0: back
   to back), the CPU each pair costs in the server, PostgreSQL and this client,
   the peak RSS of all the server's processes, and checks that every loan the
   machines made was ended again (none left open).

Targets: >= 150 pairs/s, p95 < 100 ms, < 1 GB RSS. Exits 1 when one is missed.
"""

import argparse
import asyncio
import importlib.util
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:] = [str(REPO)] + [entry for entry in sys.path if Path(entry or ".").resolve() != REPO / "bench"]

_spec = importlib.util.spec_from_file_location("bench_circulation", REPO / "bench" / "circulation.py")
circulation = importlib.util.module_from_spec(_spec)  # sets up Django; its data generator and pools
_spec.loader.exec_module(circulation)

from django.db import connection  # noqa: E402

from core.actors import Actor  # noqa: E402
from selfservice.models import MachineAccount  # noqa: E402
from selfservice.services import machine_account_create  # noqa: E402
from selfservice.sip2.protocol import checksum  # noqa: E402
from tenants.models import Branch  # noqa: E402

say = circulation.say
MACHINE_PREFIX = "bench-sip2-"
MACHINE_PASSWORD = "bench-sip2-not-secret-2026"
TARGET_PAIRS = 150.0
TARGET_P95_MS = 100.0
TARGET_RSS_MB = 1024.0


# --- 2. machine accounts ------------------------------------------------------------------

def machines_ensure(organisation, count):
    connection.set_schema_to_public()
    existing = set(MachineAccount.objects.filter(login__startswith=MACHINE_PREFIX, revoked_at__isnull=True)
                   .values_list("login", flat=True))
    branches = list(Branch.objects.filter(organisation=organisation).order_by("code"))
    connection.set_tenant(organisation)
    created = 0
    for number in range(1, count + 1):
        login = f"{MACHINE_PREFIX}{number:04d}"
        if login in existing:
            continue
        machine_account_create(actor=Actor.system("bench", organisation), name=f"Benchautomaat {number}",
                               login=login, branch_id=branches[number % len(branches)].pk,
                               patron_pin_required=False, password=MACHINE_PASSWORD)
        created += 1
    connection.set_schema_to_public()
    machines = list(MachineAccount.objects.filter(login__startswith=MACHINE_PREFIX, revoked_at__isnull=True)
                    .order_by("login").values_list("login", "branch_id")[:count])
    say(f"   {len(machines)} machine accounts ({created} new), spread over {len(branches)} branches")
    return machines


# --- 3. the server ------------------------------------------------------------------------

def server_start(arguments, port, log_path):
    env = dict(os.environ)
    env.update({"DEBUG": "0", "SECRET_KEY": "lsb-bench-sip2-not-secret", "ALLOWED_HOSTS": "localhost,127.0.0.1",
                "CONN_MAX_AGE": "600"})
    command = [sys.executable, "manage.py", "sip2_server", "--host", "127.0.0.1", "--port", str(port),
               "--processes", str(arguments.processes), "--threads", str(arguments.threads),
               "--idle-timeout", "600", "--max-connections", "5000"]
    say(f"   sip2_server: {arguments.processes} processes x {arguments.threads} threads, DEBUG=0, log {log_path}")
    log = open(log_path, "ab")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sip2_server exited ({process.returncode}); see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.3)
    server_stop(process)
    raise RuntimeError(f"sip2_server did not listen within 60 s; see {log_path}")


def server_stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group this benchmark started (its worker processes)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def process_tree(pid):
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    pids.extend(process_tree(int(child)))
    except OSError:
        pass
    return pids


def rss_mb(pid):
    """The resident memory of a process and all its descendants, in MB."""
    total = 0
    for each in process_tree(pid):
        try:
            with open(f"/proc/{each}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _cpu_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_seconds(server_pid, database):
    """CPU seconds used so far by the server's processes, the PostgreSQL backends of
    the benchmark database (their process titles name it) and this process."""
    backends = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            backends += _cpu_of(int(entry))
    return {"server": sum(_cpu_of(pid) for pid in process_tree(server_pid)), "postgres": backends,
            "client": time.process_time()}


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples, self.stopping = pid, 0.0, [], threading.Event()

    def run(self):
        while not self.stopping.wait(0.5):
            value = rss_mb(self.pid)
            self.samples.append(value)
            self.peak = max(self.peak, value)


# --- 4. the machines ------------------------------------------------------------------------

def sip_date():
    return time.strftime("%Y%m%d    %H%M%S")


class Machine:
    """One self-service machine: a raw asyncio connection with AY/AZ on every message."""

    def __init__(self, login, branch_id):
        self.login, self.branch_id = login, branch_id
        self.sequence = 0
        self.reader = self.writer = None

    async def connect(self, port):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port, limit=65536)

    async def send(self, text):
        self.sequence = (self.sequence + 1) % 10
        data = f"{text}AY{self.sequence}AZ".encode("utf-8")
        data += checksum(data).encode("ascii") + b"\r"
        self.writer.write(data)
        await self.writer.drain()
        answer = await self.reader.readuntil(b"\r")
        answer = answer[:-1]
        match = re.search(rb"AY([0-9])AZ([0-9A-F]{4})$", answer)
        if not match or match.group(1).decode() != str(self.sequence) \
                or checksum(answer[:match.start(2)]) != match.group(2).decode():
            raise RuntimeError(f"bad sequence or checksum in {answer[:80]!r}")
        return answer.decode("utf-8")

    async def login_in(self):
        answer = await self.send(f"9300CN{self.login}|CO{MACHINE_PASSWORD}|CP|")
        if not answer.startswith("941"):
            raise RuntimeError(f"login of {self.login} refused: {answer!r}")

    async def checkout(self, card, barcode):
        blank = " " * 18
        return await self.send(f"11YN{sip_date()}{blank}AO|AA{card}|AB{barcode}|AC|BON|")

    async def checkin(self, barcode):
        now = sip_date()
        return await self.send(f"09N{now}{now}AP|AO|AB{barcode}|AC|")

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def run_machines(arguments, port, machines, pools, sampler):
    """Connect all, log in, run the loops; returns the measurements."""
    fleet = [Machine(login, branch_id) for login, branch_id in machines]
    started = time.monotonic()
    gate = asyncio.Semaphore(100)  # connect and log in 100 at a time

    async def bring_up(machine):
        async with gate:
            await machine.connect(port)
            await machine.login_in()

    await asyncio.gather(*(bring_up(machine) for machine in fleet))
    connected_in = time.monotonic() - started
    say(f"   {len(fleet)} machines connected and logged in after {connected_in:.1f} s; "
        f"server RSS {rss_mb(sampler.pid):.0f} MB")

    active = fleet[:arguments.active]
    idle = fleet[arguments.active:]
    results = {"checkout": [], "checkin": [], "pair": [], "refused": 0, "refused_codes": {}, "pairs": 0,
               "errors": 0, "heartbeats": 0, "lent": 0}
    measuring = {"on": False}
    warmed = {"count": 0}
    stop = asyncio.Event()

    interval = arguments.active / arguments.rate if arguments.rate else 0.0

    async def loop(machine, index):
        items, cards = pools[index]
        rng = random.Random(index)
        position = 0
        done_warmup = 0
        planned = time.perf_counter() + rng.uniform(0, interval)
        while not stop.is_set():
            barcode = items[position % len(items)]
            card = cards[rng.randrange(len(cards))]
            position += 1
            if interval:
                # Open loop: each machine starts a pair every `interval` seconds (a patron at
                # the machine); latency counts from the planned start, so queueing shows.
                delay = planned - time.perf_counter()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                        break
                    except asyncio.TimeoutError:
                        pass
                t0 = planned
                planned += interval
            else:
                t0 = time.perf_counter()
            try:
                out = await machine.checkout(card, barcode)
            except Exception:  # noqa: BLE001 - counted
                results["errors"] += 1
                continue
            t1 = time.perf_counter()
            if out[2] != "1":
                if measuring["on"]:
                    results["refused"] += 1
                    reason = next((part[2:60] for part in out.split("|") if part.startswith("AF")), "?")
                    results["refused_codes"][reason] = results["refused_codes"].get(reason, 0) + 1
                continue
            results["lent"] += 1
            try:
                back = await machine.checkin(barcode)
            except Exception:  # noqa: BLE001
                results["errors"] += 1
                continue
            t2 = time.perf_counter()
            if back[2] != "1":
                results["errors"] += 1
                continue
            if done_warmup < arguments.warmup:
                done_warmup += 1
                if done_warmup == arguments.warmup:
                    warmed["count"] += 1
                continue
            if measuring["on"]:
                results["checkout"].append((t1 - t0) * 1000)
                results["checkin"].append((t2 - t1) * 1000)
                results["pair"].append((t2 - t0) * 1000)
                results["pairs"] += 1

    async def heartbeat(machine, index):
        await asyncio.sleep(random.Random(index).uniform(0, arguments.heartbeat))
        while not stop.is_set():
            try:
                await machine.send("9900802.00")
                results["heartbeats"] += 1
            except Exception:  # noqa: BLE001
                results["errors"] += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=arguments.heartbeat)
            except asyncio.TimeoutError:
                pass

    tasks = [asyncio.create_task(loop(machine, index)) for index, machine in enumerate(active)]
    tasks += [asyncio.create_task(heartbeat(machine, index)) for index, machine in enumerate(idle)]
    await asyncio.sleep(arguments.warmup_seconds)
    waited = time.monotonic()
    while warmed["count"] < len(active) and time.monotonic() - waited < 120:
        await asyncio.sleep(0.2)  # every active machine past its unmeasured pairs
    measuring["on"] = True
    cpu_before = cpu_seconds(sampler.pid, arguments.database)
    begin = time.monotonic()
    next_report = begin + 5
    while time.monotonic() - begin < arguments.seconds:
        await asyncio.sleep(0.5)
        if time.monotonic() >= next_report:
            elapsed = time.monotonic() - begin
            say(f"   {elapsed:4.0f} s: {results['pairs']:,} pairs ({results['pairs'] / elapsed:.1f}/s), "
                f"{results['refused']} refused, {results['errors']} errors, RSS {sampler.samples[-1] if sampler.samples else 0:.0f} MB, "
                f"load {circulation.load()}")
            next_report += 5
    measuring["on"] = False
    elapsed = time.monotonic() - begin
    cpu_after = cpu_seconds(sampler.pid, arguments.database)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    # Are they all still connected? One status each.
    alive = 0
    for machine in fleet:
        try:
            if (await asyncio.wait_for(machine.send("9900802.00"), timeout=10)).startswith("98Y"):
                alive += 1
        except Exception:  # noqa: BLE001
            pass
    for machine in fleet:
        machine.close()
    results.update(seconds=elapsed, alive=alive, connected_in=connected_in,
                   cpu={key: cpu_after[key] - cpu_before[key] for key in cpu_before})
    return results


# --- main ---------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="20,000 items, 5,000 members, 50,000 titles, 15 s")
    parser.add_argument("--reuse", action="store_true", help="skip the data checks when the library exists")
    parser.add_argument("--items", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--members", type=int, default=None, help="default 200,000")
    parser.add_argument("--titles", type=int, default=None, help="default 200,000")
    parser.add_argument("--machines", type=int, default=500, help="machines connected at once")
    parser.add_argument("--active", type=int, default=100, help="of which run checkout + checkin loops")
    parser.add_argument("--seconds", type=int, default=None, help="measured seconds (default 30; --small 15)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured pairs per active machine")
    parser.add_argument("--warmup-seconds", type=float, default=5.0, help="seconds before measuring starts")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="seconds between an idle machine's 99")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="server processes (cores)")
    parser.add_argument("--threads", type=int, default=6, help="server threads per process")
    parser.add_argument("--pool", type=int, default=200, help="items and members per active machine")
    parser.add_argument("--rate", type=float, default=TARGET_PAIRS,
                        help="pairs/s offered in all, evenly over the active machines (open loop; default the "
                             "target, 150); 0: every machine back to back (closed loop, the most it can do)")
    arguments = parser.parse_args()
    arguments.seconds = arguments.seconds or (15 if arguments.small else 30)
    if arguments.active > arguments.machines:
        parser.error("--active cannot exceed --machines")
    items = arguments.items or (20_000 if arguments.small else 1_000_000)
    members = arguments.members or (5_000 if arguments.small else 200_000)
    titles = arguments.titles or (circulation.search.CHUNK if arguments.small else 200_000)
    say(f"== Machine: {os.cpu_count()} cores, load {circulation.load()}")
    arguments.database = connection.settings_dict["NAME"]

    say(f"== Catalogue: at least {titles:,} titles (bench/search.py generator)")
    if arguments.reuse and circulation.search.Title.objects.count() >= titles:
        say("   --reuse: present")
    else:
        circulation.search.fill(titles)
        circulation.search.build_indexes()
    say(f"== Library organisation {circulation.SLUG} (bench/circulation.py's data)")
    organisation = circulation.organisation_ensure()
    circulation.staff_ensure(organisation, 1)
    circulation.setup_ensure(organisation)
    have = circulation.counts(organisation)
    if arguments.reuse and have["items"] >= items and have["members"] >= members:
        say(f"   --reuse: {have['items']:,} items, {have['members']:,} members present")
    else:
        say(f"== Members: {members:,}")
        changed = circulation.members_ensure(organisation, members)
        say(f"== Items: {items:,}")
        changed = circulation.items_ensure(organisation, items, titles) or changed
        say("== National holdings index")
        circulation.holdings_ensure(organisation, changed)
        if changed:
            circulation.analyse(organisation)
    have = circulation.counts(organisation)
    say(f"   {have['items']:,} items ({have['open_loans']:,} on loan), {have['members']:,} members, "
        f"{have['titles']:,} titles")

    say(f"== Machine accounts: {arguments.machines}")
    machines = machines_ensure(organisation, arguments.machines)

    say(f"== Pools: {arguments.pool} available books at its branch and {arguments.pool} members per active machine")
    connection.set_tenant(organisation)
    pools = []
    active = machines[:arguments.active]
    by_branch = {}
    for index, (_login, branch_id) in enumerate(active):
        by_branch.setdefault(branch_id, []).append(index)
    items_of = {}
    for branch_id, indexes in by_branch.items():
        available = [barcode for barcode, _branch in circulation.item_pool(
            modulo=1, remainder=0, limit=arguments.pool * len(indexes), branch_id=branch_id, item_type="book")]
        for position, index in enumerate(indexes):  # each machine its own copies of its branch
            items_of[index] = available[position::len(indexes)]
    for index in range(len(active)):
        cards = circulation.member_pool(modulo=arguments.active, remainder=index, limit=arguments.pool)
        if not items_of.get(index) or not cards:
            raise SystemExit(f"machine {index}: no items or members in its pool (data too small?)")
        pools.append((items_of[index], cards))
    say(f"   {min(len(items) for items, _ in pools)}-{max(len(items) for items, _ in pools)} items and "
        f"{min(len(cards) for _, cards in pools)}-{max(len(cards) for _, cards in pools)} members per machine")
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM circulation_loan")
        loans_before = cursor.fetchone()[0]
    connection.close()

    port = circulation.free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lsb-bench-sip2-{os.getpid()}.log"
    say(f"== SIP2 server on 127.0.0.1:{port}")
    process = server_start(arguments, port, log_path)
    sampler = RssSampler(process.pid)
    idle_rss = rss_mb(process.pid)
    sampler.start()
    try:
        say(f"== {arguments.machines} machines, {arguments.active} running checkout + checkin for "
            f"{arguments.seconds} s (server RSS before: {idle_rss:.0f} MB)")
        results = asyncio.run(run_machines(arguments, port, machines, pools, sampler))
    finally:
        sampler.stopping.set()
        peak = max(sampler.peak, rss_mb(process.pid))
        server_stop(process)

    connection.set_tenant(organisation)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL) FROM circulation_loan "
                       "WHERE id > %s AND actor_ref LIKE 'machine:%%'", [loans_before])
        loans_made, loans_open = cursor.fetchone()
    log_errors = sum(1 for line in open(log_path, errors="replace") if "ERROR" in line or "Traceback" in line)

    pairs_per_s = results["pairs"] / results["seconds"] if results["seconds"] else 0.0
    p = circulation.p50_95_99
    checkout, checkin, pair = p(results["checkout"]), p(results["checkin"]), p(results["pair"])
    say()
    say(f"SIP2 at {circulation.SLUG}: {have['items']:,} items, {have['members']:,} members; "
        f"{arguments.machines} machines ({arguments.active} active); server {arguments.processes} processes x "
        f"{arguments.threads} threads; {os.cpu_count()} cores; load at the end {circulation.load()}")
    say(f"offered: {f'{arguments.rate:.0f} pairs/s (open loop)' if arguments.rate else 'back to back (closed loop)'}")
    say(f"{'metric':<48}{'value':>22}  {'target':<12} result")
    failed = False

    def row(metric, value, target="", ok=None):
        nonlocal failed
        failed |= ok is False
        say(f"{metric:<48}{value:>22}  {target:<12} {'' if ok is None else ('PASS' if ok else 'FAIL')}")

    row("pairs/s (checkout + checkin)", f"{pairs_per_s:.1f}", f">= {TARGET_PAIRS:.0f}", pairs_per_s >= TARGET_PAIRS)
    row("checkout p50 / p95 / p99 ms", "{:.1f} / {:.1f} / {:.1f}".format(*checkout), f"p95 < {TARGET_P95_MS:.0f}",
        checkout[1] < TARGET_P95_MS)
    row("checkin p50 / p95 / p99 ms", "{:.1f} / {:.1f} / {:.1f}".format(*checkin), f"p95 < {TARGET_P95_MS:.0f}",
        checkin[1] < TARGET_P95_MS)
    row("pair p50 / p95 / p99 ms", "{:.1f} / {:.1f} / {:.1f}".format(*pair))
    pairs = max(results["pairs"], 1)
    cpu = results["cpu"]
    server_ms, postgres_ms, client_ms = (cpu[key] * 1000 / pairs for key in ("server", "postgres", "client"))
    row("CPU ms per pair: server / PostgreSQL / bench client", f"{server_ms:.1f} / {postgres_ms:.1f} / {client_ms:.1f}")
    ceiling = (os.cpu_count() or 2) * 1000 / (server_ms + postgres_ms) if server_ms + postgres_ms else 0.0
    row("pairs/s the server + PostgreSQL CPU allow (cores)", f"{ceiling:.0f}")
    row("server RSS, all processes: idle / peak MB", f"{idle_rss:.0f} / {peak:.0f}", f"< {TARGET_RSS_MB:.0f}",
        peak < TARGET_RSS_MB)
    row("machines connected / still answering at the end", f"{arguments.machines} / {results['alive']}", "all",
        results["alive"] == arguments.machines)
    row("connect + log in all machines, s", f"{results['connected_in']:.1f}")
    row("idle machines' status messages answered", f"{results['heartbeats']}")
    row("refused checkouts (measured) / errors", f"{results['refused']} / {results['errors']}", "0 errors",
        results["errors"] == 0)
    row("loans made by the machines / left open", f"{loans_made:,} / {loans_open}", "0 open", loans_open == 0)
    row("errors in the server log", f"{log_errors}", "0", log_errors == 0)
    if results["refused_codes"]:
        say("refusals: " + "; ".join(f"{count}x {text}" for text, count in
                                     sorted(results["refused_codes"].items(), key=lambda kv: -kv[1])[:5]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
