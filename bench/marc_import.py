"""Benchmark for issue 3: MARC import rate and memory.

Run it through bench/run_marc_import, which prepares the dedicated database.

1. Generates ISO 2709 files of 25,000 and 100,000 records (sizes configurable) by
   varying the real records in the shared MARC test data (every good record of
   the *.dat files, MARC-8 ones converted): each copy gets a new 001/003 and a new
   valid ISBN-13 in 020, and a volume number in 245 $n so titles differ.
2. Empties the catalogue, then imports each file through the real import service
   (catalogue.services.marc_import_run: parsing, matching, storing, indexing) in a
   fresh child process, and imports the largest file a second time (every record
   matches and is unchanged).
3. Prints records/s and the child's peak RSS (resource.getrusage) for each run:
   the peak should not grow with the file size (the import streams).

Target: at least 1,500 records/s.
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


def generate(path, count, seeds, first_number=1):
    from pymarc import Field, Record, Subfield

    started = time.monotonic()
    with open(path, "wb") as out:
        for offset in range(count):
            number = first_number + offset
            record = Record(data=seeds[offset % len(seeds)], to_unicode=True, force_utf8=True)
            record.remove_fields("001", "003", "020")
            record.add_ordered_field(Field(tag="001", data=f"B{number:010d}"))
            record.add_ordered_field(Field(tag="003", data=SOURCE))
            record.add_ordered_field(Field(tag="020", indicators=[" ", " "],
                                           subfields=[Subfield("a", isbn13(number))]))
            title = record.get_fields("245")[0]
            title.add_subfield("n", f"Deel {number}")
            out.write(record.as_marc())
    say(f"   {path.name}: {count:,} records, {path.stat().st_size / 1e6:.1f} MB "
        f"({time.monotonic() - started:.1f} s)")


# --- importing (child process) ---------------------------------------------------


def child_import(path):
    import django

    django.setup()
    from catalogue import services
    from catalogue.models import MarcFormat
    from core.actors import Actor

    marc_import = services.marc_import_register(actor=Actor.system("bench"), file_name=str(path),
                                                marc_format=MarcFormat.ISO2709)
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
    print(json.dumps({
        "records": marc_import.records_read,
        "created": marc_import.created,
        "updated": marc_import.updated,
        "unchanged": marc_import.unchanged,
        "skipped": marc_import.skipped,
        "seconds": elapsed,
        "rate": marc_import.records_read / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def run_child(path):
    result = subprocess.run(
        [sys.executable, __file__, "--child-import", str(path)], check=True, stdout=subprocess.PIPE, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def empty_catalogue():
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE catalogue_marcimportproblem, catalogue_marcimport, catalogue_holding, catalogue_title "
            "RESTART IDENTITY CASCADE"
        )
    connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000,100000", help="record counts to import (comma-separated)")
    parser.add_argument("--workdir", default=str(REPO / "var" / "bench"), help="where the generated files go")
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(Path(args.child_import))
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
    for size in sizes:
        path = workdir / f"marc_bench_{size}.mrc"
        if not path.exists() or path.stat().st_size == 0 or _count(path) != size:
            generate(path, size, seeds)
        else:
            say(f"   {path.name}: {size:,} records (reusing)")
        files[size] = path

    rows = []
    for size in sizes:
        say(f"== Import {size:,} records into an empty catalogue")
        empty_catalogue()
        result = run_child(files[size])
        say(f"   {result['rate']:,.0f} records/s, {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(new {result['created']:,}, skipped {result['skipped']:,})")
        rows.append((f"import {size:,} (new)", result))
    largest = sizes[-1]
    say(f"== Import the {largest:,} records again (all unchanged)")
    result = run_child(files[largest])
    say(f"   {result['rate']:,.0f} records/s, {result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
        f"(unchanged {result['unchanged']:,}, new {result['created']:,}, updated {result['updated']:,})")
    rows.append((f"import {largest:,} again (unchanged)", result))

    say()
    say(f"load average now {os.getloadavg()[0]:.1f}")
    say(f"{'run':<36} {'records':>9} {'records/s':>10} {'peak RSS MB':>12}  target >= {TARGET_RATE}/s")
    failed = False
    for label, result in rows:
        ok = result["rate"] >= TARGET_RATE
        failed |= not ok
        say(f"{label:<36} {result['records']:>9,} {result['rate']:>10,.0f} {result['peak_rss_mb']:>12.0f}  "
            f"{'PASS' if ok else 'FAIL'}")
    first, last = rows[0][1], rows[-2][1]
    growth = last["peak_rss_mb"] - first["peak_rss_mb"]
    flat = growth < 0.25 * first["peak_rss_mb"]
    failed |= not flat
    say(f"peak RSS {sizes[0]:,} -> {largest:,} records: {growth:+.0f} MB ({'flat: PASS' if flat else 'grows: FAIL'})")
    consistent = rows[-1][1]["unchanged"] == largest and rows[-1][1]["created"] == 0 and rows[-2][1]["created"] == largest
    failed |= not consistent
    say(f"second import changed nothing: {'PASS' if consistent else 'FAIL'}")
    return 1 if failed else 0


def _count(path):
    """Records in an ISO 2709 file (one end-of-record byte each)."""
    count = 0
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            count += block.count(b"\x1d")
    return count


if __name__ == "__main__":
    sys.exit(main())
