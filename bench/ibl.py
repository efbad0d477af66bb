"""Benchmark for the issue "IBL": a national interlibrary-loan day.

Run it through bench/run_ibl (its own database and Redis database). It makes sure
N library organisations exist (default 150, in the 12 provinces), with members,
a catalogue whose titles are each held by a few libraries (mostly in one province)
and their copies, the national holdings index and item index. Then, from a clean
state, one day of IBL through the real services, in W worker processes, with real
Celery workers carrying out the outbox steps (the lenders' holds) and the leg
planning, as in production:

 1. requests: R members' requests (default 7,500) for titles their library lacks,
    each lender chosen from the national holdings index (outbox: the lender's hold)
 2. lenders: each asked lender sends a copy from its pick list, or declines (a
    share at random, and when its copy is already out): the next lender is asked
 3. hubs: every copy scanned in at each hub on its way and sorted into a crate,
    every crate scanned out (and in at the far hub for the night carrier)
 4. receive, lend, return at the requesting libraries
 5. hubs again on the way back; 6. home at the lenders

It prints, per step, the wall time and the rate, the totals (requests/s over the
whole day) and what happened (declines, legs, scans, crates), and checks that
nothing is lost: every request completed or unfilled, no leg open, no outbox step
pending or failed. Exit 1 when a check fails.
"""

import argparse
import collections
import multiprocessing
import os
import random
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

from django.db import connection, connections, transaction  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from catalogue.models import Title  # noqa: E402
from collection.item_index import item_index_rebuild  # noqa: E402
from collection.models import Item, ItemStatus  # noqa: E402
from collection.services import holdings_rebuild  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.errors import error_codes  # noqa: E402
from ibl.models import Ask, Crate, IblRequest, Leg, RequestState, Scan  # noqa: E402
from members.models import Member, MemberCategory, SubscriptionType  # noqa: E402
from staff.models import LibraryRole, Role, StaffUser  # noqa: E402
from tenants import services as tenant_services  # noqa: E402
from tenants.models import Branch, LibraryOrganisation, OutboxMessage, PoiHub, Province  # noqa: E402

PREFIX = "iblbench-"
SOURCE = "IBLBENCH"
BENCH_USER = "bench.ibl"
T = datetime.time
HOURS = [(day, T(9), T(18)) for day in range(0, 6)]


def say(message=""):
    print(message, flush=True)


# --- set-up (reused between runs) -----------------------------------------------------

CATALOGS = ["pg_class", "pg_attribute", "pg_attrdef", "pg_depend", "pg_type", "pg_proc", "pg_index",
            "pg_constraint", "pg_namespace", "pg_sequence", "pg_description", "pg_shdepend", "pg_statistic"]


def vacuum_catalogs():
    """What autovacuum does on a production server (bench/tenancy.py): creating schemas
    leaves dead catalog rows that slow down every next clone when it is off."""
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] != "on":
            cursor.execute("VACUUM ANALYZE " + ", ".join(f"pg_catalog.{name}" for name in CATALOGS))

def ensure_libraries(count):
    tenant_services.registry_reference_load()
    tenant_services.tenant_template_ensure(progress=say)
    provinces = list(Province.objects.order_by("code"))
    existing = LibraryOrganisation.objects.filter(slug__startswith=PREFIX).count()
    say(f"Library organisations: {existing} present, {count} wanted")
    started = time.monotonic()
    for number in range(1, count + 1):
        slug = f"{PREFIX}{number:03d}"
        if LibraryOrganisation.objects.filter(slug=slug).exists():
            continue
        province = provinces[number % len(provinces)]
        tenant_services.library_organisation_create(
            name=f"IBL-benchbibliotheek {number:03d}", slug=slug, isil=f"NL-98{number:08d}", province=province,
            branches=[{"code": code, "name": f"IBL-bench {number:03d} {label}", "street": f"Straat {number}",
                       "postcode": f"{1000 + number:04d} AB", "city": province.name, "opening_hours": HOURS}
                      for code, label in (("centrum", "Centrum"), ("wijk", "Wijk"))])
        if number % 10 == 0:
            say(f"  {number}/{count} ({time.monotonic() - started:.0f} s)")
            connection.close()
        if number % 50 == 0:
            vacuum_catalogs()
    libraries = list(LibraryOrganisation.objects.filter(slug__startswith=PREFIX).select_related("province")
                     .order_by("slug")[:count])
    say(f"  {len(libraries)} ready ({time.monotonic() - started:.0f} s)")
    return libraries


def ensure_staff(libraries):
    user = StaffUser.objects.filter(username=BENCH_USER).first()
    if user is None:
        user = StaffUser.objects.create_user(username=BENCH_USER, password="bench", is_staff=True, is_superuser=True)
    LibraryRole.objects.bulk_create([LibraryRole(user=user, organisation=o, role=Role.DESK) for o in libraries],
                                    ignore_conflicts=True)
    return user


def ensure_members(libraries, per_library):
    from members.services.registration import member_register

    started = time.monotonic()
    for index, organisation in enumerate(libraries, start=1):
        with tenant_context(organisation):
            if Member.objects.count() >= per_library:
                continue
            subscription, _ = SubscriptionType.objects.get_or_create(
                code="bench", defaults={"name": "Bench", "annual_fee_cents": 0, "max_loans": 50})
            category, _ = MemberCategory.objects.get_or_create(
                code="volwassene", defaults={"name": "Volwassene", "min_age": 0, "max_age": None,
                                             "default_subscription": subscription})
            number = int(organisation.slug[-3:])
            for i in range(Member.objects.count() + 1, per_library + 1):
                member_register(actor=Actor.system("bench"), card_number=f"IB{number:03d}{i:05d}", first_name="Bench",
                                last_name=f"Lid {i}", date_of_birth=datetime.date(1980, 1, 1), street="Laan",
                                house_number=str(i), postcode="1234 AB", city="Stad", subscription=subscription,
                                paid_until=datetime.date.today() + datetime.timedelta(days=3650))
        if index % 25 == 0:
            say(f"  members: {index}/{len(libraries)} libraries ({time.monotonic() - started:.0f} s)")


def ensure_collection(libraries, titles_wanted, rng):
    """Titles each held by 2-4 libraries of one province (and sometimes one more
    elsewhere), one copy each at the library's first branch."""
    titles = list(Title.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True))
    if len(titles) < titles_wanted:
        Title.objects.bulk_create([
            Title(source=SOURCE, control_number=f"IB{n:07d}", marc=b"", marc_checksum=f"ib{n}",
                  title=f"IBL-benchtitel {n}", title_folded=f"ibl-benchtitel {n}")
            for n in range(len(titles) + 1, titles_wanted + 1)], batch_size=2000)
        titles = list(Title.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True))
    by_province = collections.defaultdict(list)
    for organisation in libraries:
        by_province[organisation.province_id].append(organisation)
    provinces = sorted(by_province)
    holders = {}
    for title_id in titles[:titles_wanted]:
        province = provinces[rng.randrange(len(provinces))]
        local = by_province[province]
        chosen = rng.sample(local, min(len(local), rng.randint(2, 4)))
        if rng.random() < 0.3:
            chosen.append(libraries[rng.randrange(len(libraries))])
        holders[title_id] = list({o.pk: o for o in chosen}.values())
    per_library = collections.defaultdict(list)
    for title_id, organisations in holders.items():
        for organisation in organisations:
            per_library[organisation.pk].append(title_id)
    created = 0
    for organisation in libraries:
        with tenant_context(organisation):
            if Item.objects.filter(ibl_owner_id__isnull=True).exists():
                continue
            branch = Branch.objects.filter(organisation=organisation, code="centrum").first()
            number = int(organisation.slug[-3:])
            Item.objects.bulk_create([
                Item(barcode=f"B{number:03d}{title_id:08d}", title_id=title_id, owning_branch_id=branch.pk,
                     current_branch_id=branch.pk, status=ItemStatus.AVAILABLE, shelf_location="Bench")
                for title_id in per_library[organisation.pk]], batch_size=2000)
            created += len(per_library[organisation.pk])
    if created:
        say(f"  {created} copies added; national holdings index and item index rebuilt")
        holdings_rebuild(organisations=LibraryOrganisation.objects.filter(pk__in=[o.pk for o in libraries]))
        item_index_rebuild(organisations=LibraryOrganisation.objects.filter(pk__in=[o.pk for o in libraries]))
    return titles[:titles_wanted]


def reset(libraries):
    """Start the day clean: no IBL requests, no holds or loans, every copy available."""
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE ibl_scan, ibl_leg, ibl_crate, ibl_run, ibl_settlement, ibl_ask, ibl_iblevent, "
                       "ibl_iblrequest CASCADE")
        cursor.execute("UPDATE ibl_iblterms SET last_asked_at = NULL")
        cursor.execute("DELETE FROM tenants_outboxmessage WHERE kind LIKE 'ibl.%%'")
    for organisation in libraries:
        schema = connection.ops.quote_name(organisation.schema_name)
        with transaction.atomic(), connection.cursor() as cursor:
            for table in ("notices_notice", "circulation_circulationevent", "circulation_transfer",
                          "circulation_hold", "circulation_loan"):
                cursor.execute(f"DELETE FROM {schema}.{table}")
            cursor.execute(f"DELETE FROM {schema}.members_ledgerentry WHERE reference LIKE 'ibl:%%'")
            cursor.execute(f"DELETE FROM {schema}.collection_itemevent WHERE item_id IN "
                           f"(SELECT id FROM {schema}.collection_item WHERE ibl_owner_id IS NOT NULL)")
            cursor.execute(f"DELETE FROM {schema}.collection_item WHERE ibl_owner_id IS NOT NULL")
            cursor.execute(f"UPDATE {schema}.collection_item SET status = 'available' WHERE status <> 'available'")
    holdings_rebuild(organisations=LibraryOrganisation.objects.filter(pk__in=[o.pk for o in libraries]))
    say(f"  reset ({time.monotonic() - started:.1f} s)")


# --- the day's work, in worker processes -----------------------------------------------

def _init_worker():
    connections.close_all()


def _organisation(pk):
    return LibraryOrganisation.objects.select_related("province").get(pk=pk)


def _desk(organisation, branch_id):
    return Actor.staff(StaffUser.objects.get(username=BENCH_USER), organisation, branch_id=branch_id)


def _outcome(counter, error):
    codes = error_codes(error) if isinstance(error, ValidationError) else [type(error).__name__]
    counter[codes[0] if codes else "?"] += 1


def work_requests(args):
    organisation_id, wanted = args
    from ibl.services.requests import ibl_request_create

    organisation = _organisation(organisation_id)
    pickup = Branch.objects.filter(organisation=organisation, code="centrum").first().pk
    done, refused = 0, collections.Counter()
    with tenant_context(organisation):
        for member_id, title_id in wanted:
            try:
                ibl_request_create(actor=Actor.member(member_id, organisation), member_id=member_id,
                                   title_id=title_id, pickup_branch_id=pickup)
                done += 1
            except Exception as error:  # noqa: BLE001 - counted
                _outcome(refused, error)
    connection.set_schema_to_public()
    return done, refused


def work_send(args):
    organisation_id, decline_share, seed = args
    from ibl.services.requests import ibl_decline
    from ibl.services.sending import ibl_send

    rng = random.Random(seed)
    organisation = _organisation(organisation_id)
    sent = declined = 0
    problems = collections.Counter()
    asked = list(IblRequest.objects.filter(lender=organisation, state=RequestState.ASKED).order_by("pk")
                 .values_list("pk", "title_id", "lending_branch_id"))
    with tenant_context(organisation):
        for request_id, title_id, branch_id in asked:
            copy = (Item.objects.filter(title_id=title_id, current_branch_id=branch_id, status__in=[
                ItemStatus.AVAILABLE, ItemStatus.ON_HOLD_SHELF], ibl_owner_id__isnull=True)
                .values_list("barcode", flat=True).first())
            actor = _desk(organisation, branch_id)
            try:
                if copy is None or rng.random() < decline_share:
                    ibl_decline(actor=actor, request_id=request_id,
                                reason=Ask.Reason.NOT_ON_SHELF if copy is None else Ask.Reason.DAMAGED)
                    declined += 1
                else:
                    ibl_send(actor=actor, barcode=copy, request_id=request_id)
                    sent += 1
            except Exception as error:  # noqa: BLE001 - counted
                _outcome(problems, error)
    connection.set_schema_to_public()
    return sent, declined, problems


def work_hub(args):
    """One hub: scan `codes` (copies or crate labels) in order."""
    hub_id, codes = args
    from ibl.services.transport import hub_scan

    hub = PoiHub.objects.get(pk=hub_id)
    actor = Actor.staff(StaffUser.objects.get(username=BENCH_USER))
    scanned, problems = 0, collections.Counter()
    for code in codes:
        try:
            hub_scan(actor=actor, hub=hub, code=code)
            scanned += 1
        except Exception as error:  # noqa: BLE001 - counted
            _outcome(problems, error)
    return scanned, problems


def work_library(args):
    """One library's desk: receive, lend or take back its copies (`what`)."""
    organisation_id, what, rows = args
    from circulation.services.loans import checkin, checkout
    from ibl.services.arrival import ibl_receive

    organisation = _organisation(organisation_id)
    done, problems = 0, collections.Counter()
    with tenant_context(organisation):
        for barcode, branch_id, card in rows:
            actor = _desk(organisation, branch_id)
            try:
                if what == "receive":
                    ibl_receive(actor=actor, barcode=barcode)
                elif what == "lend":
                    checkout(actor=actor, card_number=card, barcode=barcode)
                else:
                    checkin(actor=actor, barcode=barcode)
                done += 1
            except Exception as error:  # noqa: BLE001 - counted
                _outcome(problems, error)
    connection.set_schema_to_public()
    return done, problems


# --- orchestration ---------------------------------------------------------------------

class Day:
    def __init__(self, pool, libraries):
        self.pool = pool
        self.libraries = libraries
        self.steps = []
        self.problems = collections.Counter()

    def step(self, name, function, tasks, *, count=None):
        started = time.monotonic()
        results = self.pool.map(function, tasks, chunksize=1) if tasks else []
        seconds = time.monotonic() - started
        done = 0
        for result in results:
            done += result[0]
            for extra in result[1:]:
                if isinstance(extra, collections.Counter):
                    self.problems.update(extra)
        number = count if count is not None else done
        self.steps.append((name, seconds, number))
        say(f"  {name:<44} {seconds:7.1f} s  {number:6d}  ({number / seconds if seconds else 0:7.0f}/s)")
        return results

    def wait(self, name, condition, timeout=1800):
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{name}: not done after {timeout} s")
            time.sleep(0.2)
        seconds = time.monotonic() - started
        self.steps.append((name, seconds, None))
        say(f"  {name:<44} {seconds:7.1f} s")


def outbox_open():
    return OutboxMessage.objects.filter(kind__startswith="ibl.", state="pending").exists()


def legs_missing(state, direction):
    return IblRequest.objects.filter(state=state).exclude(legs__direction=direction).exists()


def _first_open_legs(state, direction):
    """{request: its first open leg} of the requests in `state` going `direction`."""
    first = {}
    for leg in (Leg.objects.filter(request__state=state, direction=direction,
                                   state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT])
                .select_related("request").order_by("request_id", "sequence")):
        first.setdefault(leg.request_id, leg)
    return first.values()


def hub_rounds(day, direction, label):
    """The hubs' work for every copy on its way in `direction`: at the first hub the
    copies are scanned in and sorted into crates, the crates scanned out; the night
    carrier's crates are scanned in at the far hub, their copies sorted, the crates out."""
    state = RequestState.SENT if direction == Leg.Direction.OUT else RequestState.RETURNING
    arriving = collections.defaultdict(list)
    for leg in _first_open_legs(state, direction):
        if leg.to_hub_id is not None:
            arriving[leg.to_hub_id].append(leg.request.item_barcode)
    day.step(f"{label}: copies in, sorted into crates", work_hub, list(arriving.items()))
    crates_out(day, f"{label}: crates out")
    night = collections.defaultdict(list)
    for crate in Crate.objects.filter(state=Crate.State.SENT, to_hub__isnull=False):
        night[crate.to_hub_id].append(crate.code)
    if night:
        day.step(f"{label}: night carrier's crates in", work_hub, list(night.items()))
        waiting = collections.defaultdict(list)
        for leg in _first_open_legs(state, direction):
            if leg.from_hub_id is not None and leg.crate_id is None:
                waiting[leg.from_hub_id].append(leg.request.item_barcode)
        day.step(f"{label}: their copies sorted into crates", work_hub, list(waiting.items()))
        crates_out(day, f"{label}: crates out (after the night)")


def crates_out(day, name):
    crates = collections.defaultdict(list)
    for crate in Crate.objects.filter(state=Crate.State.OPEN):
        crates[crate.hub_id].append(crate.code)
    day.step(name, work_hub, list(crates.items()))


def desk_rows(kind, state, *, by):
    rows = collections.defaultdict(list)
    requests = IblRequest.objects.filter(state=state).select_related("requesting_organisation")
    members = {}
    for request in requests:
        organisation_id = request.requesting_organisation_id if by == "requester" else request.lender_id
        branch_id = request.pickup_branch_id if by == "requester" else request.lending_branch_id
        card = ""
        if kind == "lend":
            key = (request.requesting_organisation_id, request.member_id)
            if key not in members:
                with tenant_context(request.requesting_organisation):
                    members[key] = Member.objects.filter(pk=request.member_id).values_list("card_number",
                                                                                           flat=True).first()
                connection.set_schema_to_public()
            card = members[key]
        rows[organisation_id].append((request.item_barcode, branch_id, card))
    return [(organisation_id, kind, items) for organisation_id, items in rows.items()]


def start_celery(concurrency):
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "lsb", "worker", "-l", "warning",
                                "--concurrency", str(concurrency), "-n", "ibl-bench@%h"], cwd=REPO, env=env)
    from lsb.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit("the Celery worker did not start")
    return process


def plan_requests(libraries, titles, members, wanted, rng):
    """(requester, member, title) triples: mostly titles held in the requester's
    province by another library, some from elsewhere; never one it holds itself."""
    from catalogue.models import Holding

    held = collections.defaultdict(set)
    for title_id, organisation_id in Holding.objects.filter(title_id__in=titles).values_list("title_id",
                                                                                            "organisation_id"):
        held[organisation_id].add(title_id)
    province_titles = collections.defaultdict(set)
    by_id = {o.pk: o for o in libraries}
    for organisation_id, title_ids in held.items():
        if organisation_id in by_id:
            province_titles[by_id[organisation_id].province_id] |= title_ids
    plan, seen = collections.defaultdict(list), set()
    attempts = 0
    while sum(len(v) for v in plan.values()) < wanted and attempts < wanted * 20:
        attempts += 1
        requester = libraries[rng.randrange(len(libraries))]
        pool = province_titles[requester.province_id] if rng.random() < 0.93 else titles
        title_id = rng.choice(list(pool)) if not isinstance(pool, list) else rng.choice(pool)
        if title_id in held[requester.pk]:
            continue
        member_id = rng.choice(members[requester.pk])
        if (requester.pk, member_id, title_id) in seen:
            continue
        seen.add((requester.pk, member_id, title_id))
        plan[requester.pk].append((member_id, title_id))
    return plan


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libraries", type=int, default=150)
    parser.add_argument("--requests", type=int, default=7500)
    parser.add_argument("--titles", type=int, default=8000)
    parser.add_argument("--members", type=int, default=20, help="members per library")
    parser.add_argument("--workers", type=int, default=2, help="processes doing the desks' and hubs' work")
    parser.add_argument("--celery", type=int, default=2, help="Celery worker processes (outbox, leg planning)")
    parser.add_argument("--decline-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--setup-only", action="store_true", help="make the libraries, members and copies, then stop")
    options = parser.parse_args()
    rng = random.Random(options.seed)

    say("== Set-up (reused between runs)")
    libraries = ensure_libraries(options.libraries)
    ensure_staff(libraries)
    ensure_members(libraries, options.members)
    titles = ensure_collection(libraries, options.titles, rng)
    if options.setup_only:
        return
    reset(libraries)
    members = {}
    for organisation in libraries:
        with tenant_context(organisation):
            members[organisation.pk] = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    connection.set_schema_to_public()
    plan = plan_requests(libraries, titles, members, options.requests, rng)
    say(f"  {sum(len(v) for v in plan.values())} requests planned over {len(plan)} libraries in "
        f"{len({o.province_id for o in libraries})} provinces; {len(titles)} titles")

    from lsb.celery import app

    app.control.purge()
    celery = start_celery(options.celery)
    connections.close_all()
    context = multiprocessing.get_context("fork")
    say(f"== The day ({options.workers} worker processes, {options.celery} Celery worker processes)")
    day_started = time.monotonic()
    try:
        with context.Pool(options.workers, initializer=_init_worker) as pool:
            day = Day(pool, libraries)
            day.step("requests (lender chosen, asked)", work_requests, list(plan.items()))
            declines = 0
            for round_number in range(1, 8):
                day.wait(f"lenders' holds (outbox, Celery) round {round_number}", lambda: not outbox_open())
                lenders = sorted(set(IblRequest.objects.filter(state=RequestState.ASKED)
                                     .values_list("lender_id", flat=True)))
                if not lenders:
                    break
                results = day.step(f"lenders send or decline (round {round_number})", work_send,
                                   [(lender, options.decline_share if round_number == 1 else 0.0,
                                     options.seed + lender) for lender in lenders])
                declines += sum(result[1] for result in results)
            day.wait("legs planned (Celery)", lambda: not legs_missing(RequestState.SENT, Leg.Direction.OUT))
            hub_rounds(day, Leg.Direction.OUT, "hubs")
            day.step("received onto the hold shelf", work_library, desk_rows("receive", RequestState.SENT,
                                                                            by="requester"))
            day.step("lent to the members", work_library, desk_rows("lend", RequestState.ARRIVED, by="requester"))
            day.step("taken back", work_library, desk_rows("return", RequestState.LENT, by="requester"))
            day.wait("return legs planned (Celery)",
                     lambda: not legs_missing(RequestState.RETURNING, Leg.Direction.BACK))
            hub_rounds(day, Leg.Direction.BACK, "hubs, way back")
            day.step("home at the lenders", work_library, desk_rows("home", RequestState.RETURNING, by="lender"))
            day.wait("outbox done", lambda: not outbox_open())
    finally:
        celery.terminate()
        try:
            celery.wait(timeout=30)
        except subprocess.TimeoutExpired:
            celery.kill()
    total = time.monotonic() - day_started

    states = collections.Counter(IblRequest.objects.values_list("state", flat=True))
    scopes = collections.Counter(IblRequest.objects.exclude(sent_at=None).values_list("scope", flat=True))
    legs = collections.Counter(Leg.objects.values_list("mode", "state"))
    made = sum(states.values())
    say()
    say("== Figures")
    say(f"  requests made {made}; completed {states.get('completed', 0)}, unfilled {states.get('unfilled', 0)}; "
        f"other states: { {k: v for k, v in states.items() if k not in ('completed', 'unfilled')} }")
    say(f"  filled from: inside the province {scopes.get('province', 0)}, other provinces "
        f"{scopes.get('other_province', 0)}, music library {scopes.get('music', 0)}")
    say(f"  declines {declines}; asks {Ask.objects.count()}; legs {sum(legs.values())} "
        f"(van {sum(v for (m, s), v in legs.items() if m == 'van')}, carrier "
        f"{sum(v for (m, s), v in legs.items() if m == 'carrier')}); crates {Crate.objects.count()}; "
        f"hub scans {Scan.objects.count()}")
    say(f"  refusals/problems: {dict(day.problems) or 'none'}")
    say(f"  whole day: {total:.1f} s = {made / total:.1f} requests/s (target: under 60 s)")
    failed = OutboxMessage.objects.filter(kind__startswith="ibl.").exclude(state="done").count()
    open_legs = Leg.objects.filter(state__in=[Leg.State.PLANNED, Leg.State.IN_TRANSIT]).count()
    checks = [
        ("every request completed or unfilled", made and states.get("completed", 0) + states.get("unfilled", 0)
         == made),
        ("no leg left open", open_legs == 0),
        ("no outbox step pending or failed", failed == 0),
    ]
    for name, ok in checks:
        say(f"  check: {name}: {'PASS' if ok else 'FAIL'}")
    say(f"  target (whole day < 60 s): {'PASS' if total < 60 else 'FAIL'}")
    sys.exit(0 if all(ok for _name, ok in checks) else 1)


if __name__ == "__main__":
    main()
