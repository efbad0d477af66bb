"""Benchmark for issues 3 and 11: MARC import rate and memory, with the authority
checks, the per-record log and the history of every change.

Run it through bench/run_marc_import, which prepares the dedicated database.

1. Generates ISO 2709 files of 25,000 and 100,000 records (sizes configurable) by
   varying the real records in the shared MARC test data (every good record of
   the *.dat files, MARC-8 ones converted): each copy gets a new 001/003 and a new
   valid ISBN-13 in 020, and a volume number in 245 $n so titles differ. For the
   largest size also: the same national records changed (a 500 note added: every
   title is updated and keeps its previous version), and a library's own file of
   the same titles (its own 003/001, a different title wording, an 852 with a
   barcode: every record is matched by ISBN to a national title it may not change,
   and attached as the library's local record).
2. Empties the catalogue, then imports through the real import service
   (catalogue.services.marc_import_run: parsing, cleaning, matching, authority
   rules, storing, versions, local records, per-record log, indexing), each run in
   a fresh child process: each size into an empty catalogue (national feed); the
   largest again (all unchanged); its changed version (all updated, 100,000
   versions); the library's file (all attached); the library's file again (all
   found by the library's own 003/001 and unchanged).
3. Prints records/s and the child's peak RSS (resource.getrusage) for each run:
   the peak should not grow with the file size (the import streams).

Target: at least 1,500 records/s for every run; flat memory.
"""

import argparse
import glob
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lsb.settings")

TARGET_RATE = 1500
SOURCE = "LSBBENCH"
LIBRARY_SOURCE = "NL-BENCHLIB"
LIBRARY_SLUG = "bench-marc-library"


def say(message=""):
    print(message, flush=True)


def shared_marc_dir():
    return Path(os.environ.get("LSB_SHARED_DATA", REPO / "tests" / "data")) / "marc"


# --- generating --------------------------------------------------------------------


def isbn13(number):
    from catalogue.normalise import ean13_check_digit

    first12 = f"978{number % 10**9:09d}"
    return first12 + ean13_check_digit(first12)


def seed_records():
    """Every good record in the shared *.dat files, decoded (MARC-8 converted)."""
    from catalogue.marc import BadRecord, read_records, title_fields_from
    from catalogue.models import MarcFormat

    seeds = []
    for path in sorted(glob.glob(str(shared_marc_dir() / "*.dat"))):
        with open(path, "rb") as stream:
            for result in read_records(stream, MarcFormat.ISO2709):
                if not result.ok:
                    continue
                try:
                    title_fields_from(result.data, result.marc)
                except BadRecord:
                    continue
                seeds.append(result.marc)
    return seeds


def generate(path, count, seeds, first_number=1, variant="national"):
    """`variant`: 'national' (the feed), 'changed' (the feed with a note added to every
    record) or 'library' (a library's own records of the same titles, with holdings)."""
    from pymarc import Field, Record, Subfield

    started = time.monotonic()
    with open(path, "wb") as out:
        for offset in range(count):
            number = first_number + offset
            record = Record(data=seeds[offset % len(seeds)], to_unicode=True, force_utf8=True)
            record.remove_fields("001", "003", "020", "852")
            if variant == "library":
                record.add_ordered_field(Field(tag="001", data=f"L{number:010d}"))
                record.add_ordered_field(Field(tag="003", data=LIBRARY_SOURCE))
            else:
                record.add_ordered_field(Field(tag="001", data=f"B{number:010d}"))
                record.add_ordered_field(Field(tag="003", data=SOURCE))
            record.add_ordered_field(Field(tag="020", indicators=[" ", " "],
                                           subfields=[Subfield("a", isbn13(number))]))
            title = record.get_fields("245")[0]
            title.add_subfield("n", f"Deel {number}")
            if variant == "changed":
                record.add_ordered_field(Field(tag="500", indicators=[" ", " "],
                                               subfields=[Subfield("a", f"Herziene beschrijving {number}.")]))
            if variant == "library":
                title["a"] = f"{title['a']} (eigen beschrijving)"
                record.add_ordered_field(Field(tag="852", indicators=[" ", " "], subfields=[
                    Subfield("a", "NL-9999999999"), Subfield("b", "v1"), Subfield("p", f"BENCH{number:09d}")]))
            out.write(record.as_marc())
    say(f"   {path.name}: {count:,} records, {path.stat().st_size / 1e6:.1f} MB "
        f"({time.monotonic() - started:.1f} s)")


# --- importing (child process) ---------------------------------------------------


def child_import(path, library_slug=None):
    import django

    django.setup()
    from catalogue import services
    from catalogue.models import MarcFormat
    from core.actors import Actor
    from tenants.models import LibraryOrganisation

    from django.db import connection

    organisation = LibraryOrganisation.objects.get(slug=library_slug) if library_slug else None
    marc_import = services.marc_import_register(actor=Actor.system("bench", organisation), file_name=str(path),
                                                marc_format=MarcFormat.ISO2709)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    database_cpu_before = _process_cpu(backend)
    own_cpu_before = time.process_time()
    started = time.monotonic()
    last = {"at": started}

    def progress(current):
        now = time.monotonic()
        if now - last["at"] >= 10:
            last["at"] = now
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"      {current.records_read:,} records, {current.records_read / (now - started):,.0f}/s, "
                  f"peak RSS {rss:.0f} MB", file=sys.stderr, flush=True)

    with open(path, "rb") as stream:
        marc_import = services.marc_import_run(marc_import=marc_import, stream=stream, progress=progress)
    elapsed = time.monotonic() - started
    own_cpu = time.process_time() - own_cpu_before
    database_cpu = _process_cpu(backend) - database_cpu_before
    print(json.dumps({
        "cpu_import": own_cpu,
        "cpu_database": database_cpu,
        "cpu_rate": marc_import.records_read / (own_cpu + database_cpu) if own_cpu + database_cpu else 0,
        "records": marc_import.records_read,
        "created": marc_import.created,
        "updated": marc_import.updated,
        "attached": marc_import.attached,
        "unchanged": marc_import.unchanged,
        "skipped": marc_import.skipped,
        "seconds": elapsed,
        "rate": marc_import.records_read / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _process_cpu(pid):
    """CPU seconds (user + system) a process on this machine has used: here the
    PostgreSQL backend serving the import's connection."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def run_child(path, library_slug=None):
    command = [sys.executable, __file__, "--child-import", str(path)]
    if library_slug:
        command += ["--library", library_slug]
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def empty_catalogue():
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalogue_marcimportrecord, catalogue_marcimportproblem, catalogue_titleversion, "
            "catalogue_localrecord, catalogue_marcimport, catalogue_holding, catalogue_title RESTART IDENTITY CASCADE"
        )
    connection.close()


def vacuum_between_runs():
    """What autovacuum does on a production server between two imports: clear the dead
    rows an import of updates leaves and refresh the statistics. Only when this server
    runs without autovacuum (as the development servers here do); the import itself
    does not depend on fresh statistics."""
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            connection.close()
            return
        started = time.monotonic()
        cursor.execute("VACUUM ANALYZE catalogue_title, catalogue_titleversion, catalogue_localrecord, "
                       "catalogue_marcimportrecord, catalogue_searchword")
    connection.close()
    say(f"   (autovacuum is off on this server: VACUUM ANALYZE of the catalogue, {time.monotonic() - started:.1f} s)")


def bench_library():
    """A library organisation for the library's import: a registry row only (the
    catalogue import runs in the national schema and needs no library schema)."""
    import django

    django.setup()
    from django.db import connection

    from tenants.models import LibraryOrganisation, Poi, Province

    if not LibraryOrganisation.objects.filter(slug=LIBRARY_SLUG).exists():
        province = Province.objects.first()
        if province is None:
            poi, _ = Poi.objects.get_or_create(code="bench-poi", defaults={"name": "Bench POI"})
            province, _ = Province.objects.get_or_create(code="ZZ", defaults={"name": "Bench", "poi": poi})
        LibraryOrganisation.objects.create(name="Bench MARC-bibliotheek", slug=LIBRARY_SLUG, isil="NL-9999999999",
                                           province=province, schema_name="bench_marc_library")
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000,100000", help="record counts to import (comma-separated)")
    parser.add_argument("--workdir", default=str(REPO / "var" / "bench"), help="where the generated files go")
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(Path(args.child_import), args.library)
        return 0

    import django

    django.setup()
    from django.conf import settings

    sizes = sorted(int(size) for size in args.sizes.split(","))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"== Database {settings.DATABASES['default']['NAME']}, files in {workdir}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")

    say("== Generating files from the shared MARC records")
    seeds = seed_records()
    say(f"   {len(seeds)} seed records from {shared_marc_dir()}")
    files = {}
    largest = sizes[-1]
    wanted = [(size, "national") for size in sizes] + [(largest, "changed"), (largest, "library")]
    for size, variant in wanted:
        suffix = "" if variant == "national" else f"_{variant}"
        path = workdir / f"marc_bench_{size}{suffix}.mrc"
        if not path.exists() or path.stat().st_size == 0 or _count(path) != size:
            generate(path, size, seeds, variant=variant)
        else:
            say(f"   {path.name}: {size:,} records (reusing)")
        files[(size, variant)] = path
    bench_library()

    rows = []
    for size in sizes:
        say(f"== Import {size:,} records into an empty catalogue")
        empty_catalogue()
        result = run_child(files[(size, "national")])
        say(f"   {result['rate']:,.0f} records/s, {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(new {result['created']:,}, skipped {result['skipped']:,}); {_cpu(result)}")
        rows.append((f"import {size:,} (new)", result))
    runs = [
        (f"import {largest:,} again (unchanged)", files[(largest, "national")], None),
        (f"import {largest:,} changed (versions)", files[(largest, "changed")], None),
        (f"library file {largest:,} (attached)", files[(largest, "library")], LIBRARY_SLUG),
        (f"library file {largest:,} again", files[(largest, "library")], LIBRARY_SLUG),
    ]
    for label, path, library in runs:
        vacuum_between_runs()
        say(f"== {label}")
        result = run_child(path, library)
        say(f"   {result['rate']:,.0f} records/s, {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(new {result['created']:,}, updated {result['updated']:,}, attached {result['attached']:,}, "
            f"unchanged {result['unchanged']:,}, skipped {result['skipped']:,}); {_cpu(result)}")
        rows.append((label, result))

    say()
    say(f"load average now {os.getloadavg()[0]:.1f}")
    say(f"{'run':<36} {'records':>9} {'records/s':>10} {'CPU rate':>9} {'peak RSS MB':>12}  target >= {TARGET_RATE}/s")
    failed = False
    for label, result in rows:
        ok = result["rate"] >= TARGET_RATE
        failed |= not ok
        say(f"{label:<36} {result['records']:>9,} {result['rate']:>10,.0f} {result['cpu_rate']:>9,.0f} "
            f"{result['peak_rss_mb']:>12.0f}  {'PASS' if ok else 'FAIL'}")
    say("(CPU rate: records per second of CPU used by the import process and its PostgreSQL backend together, "
        "what the import reaches when it has a core to itself; records/s is the wall clock, which other work on "
        "the machine slows)")
    by_label = dict(rows)
    first, last = rows[0][1], by_label[f"import {largest:,} (new)"]
    growth = last["peak_rss_mb"] - first["peak_rss_mb"]
    flat = growth < 0.25 * first["peak_rss_mb"]
    failed |= not flat
    say(f"peak RSS {sizes[0]:,} -> {largest:,} records: {growth:+.0f} MB ({'flat: PASS' if flat else 'grows: FAIL'})")
    checks = [
        ("first import created every title", last["created"] == largest),
        ("second import changed nothing", by_label[f"import {largest:,} again (unchanged)"]["unchanged"] == largest),
        ("changed feed updated every title", by_label[f"import {largest:,} changed (versions)"]["updated"] == largest),
        ("library file attached to every title, changed none",
         by_label[f"library file {largest:,} (attached)"]["attached"] == largest),
        ("library file again changed nothing", by_label[f"library file {largest:,} again"]["unchanged"] == largest),
    ]
    for label, ok in checks:
        failed |= not ok
        say(f"{label}: {'PASS' if ok else 'FAIL'}")
    say(_catalogue_summary())
    return 1 if failed else 0


def _cpu(result):
    return (f"CPU {result['cpu_import']:.1f} s import + {result['cpu_database']:.1f} s PostgreSQL = "
            f"{result['cpu_rate']:,.0f} records per CPU-second")


def _catalogue_summary():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM catalogue_title), (SELECT count(*) FROM catalogue_titleversion), "
                       "(SELECT count(*) FROM catalogue_localrecord), (SELECT count(*) FROM catalogue_marcimportrecord)")
        titles, versions, local_records, logged = cursor.fetchone()
    connection.close()
    return (f"catalogue now: {titles:,} titles, {versions:,} previous versions, {local_records:,} library records, "
            f"{logged:,} per-record log rows")


def _count(path):
    """Records in an ISO 2709 file (one end-of-record byte each)."""
    count = 0
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            count += block.count(b"\x1d")
    return count


if __name__ == "__main__":
    sys.exit(main())
