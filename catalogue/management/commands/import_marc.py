"""Import MARC21 files (ISO 2709 or MARCXML, UTF-8 or MARC-8) into the national catalogue.

    manage.py import_marc feed.mrc [more.xml ...] [--format auto|iso2709|marcxml]
                          [--library SLUG] [--progress-every 10000]

Without --library the file is the national bibliographic service's feed (it may
replace the national records' descriptions); with --library it is that library's
own file (attached to national titles as the library's records, never changing
them). Each file becomes one import in the import log (with its problems). Bad
records are skipped and listed with warnings for records taken despite an oddity;
a file that is not MARC21 is refused with the reason; the command exits non-zero
only when a file cannot be read.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from catalogue import services
from core.actors import Actor
from catalogue.models import MarcFormat, MarcImportStatus
from tenants.models import LibraryOrganisation


class Command(BaseCommand):
    help = "Import MARC21 files (ISO 2709 or MARCXML) into the national catalogue."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="MARC files")
        parser.add_argument("--format", choices=MarcFormat.values, default=MarcFormat.AUTO)
        parser.add_argument("--library", help="slug of the library the import is logged for (default: national)")
        parser.add_argument("--progress-every", type=int, default=10000, help="report progress every N records")
        parser.add_argument("--show-problems", type=int, default=20, help="list at most N problems per file")

    def handle(self, **options):
        paths = options["paths"]
        organisation = None
        if options["library"]:
            organisation = LibraryOrganisation.objects.filter(slug=options["library"]).first()
            if organisation is None:
                raise CommandError(f"Unknown library: {options['library']}")
        unreadable = []
        for path in paths:
            try:
                stream = open(path, "rb")
            except OSError as error:
                self.stderr.write(self.style.ERROR(f"{path}: cannot read: {error.strerror}"))
                unreadable.append(path)
                continue
            with stream:
                self._import(path, stream, organisation, options)
        if unreadable:
            raise CommandError(f"{len(unreadable)} file(s) could not be read: {', '.join(unreadable)}")

    def _import(self, path, stream, organisation, options):
        marc_import = services.marc_import_register(
            actor=Actor.system("import_marc", organisation), file_name=path, marc_format=options["format"]
        )
        every = max(1, options["progress_every"])
        started = time.monotonic()
        state = {"next": every}

        def progress(current):
            if current.records_read >= state["next"]:
                elapsed = time.monotonic() - started
                self.stdout.write(
                    f"{path}: {current.records_read:,} records, {current.records_read / elapsed:,.0f} records/s "
                    f"(new {current.created:,}, updated {current.updated:,}, unchanged {current.unchanged:,}, "
                    f"skipped {current.skipped:,})"
                )
                self.stdout.flush()
                state["next"] = (current.records_read // every + 1) * every

        marc_import = services.marc_import_run(marc_import=marc_import, stream=stream, progress=progress)
        elapsed = time.monotonic() - started
        if marc_import.status == MarcImportStatus.FAILED:
            self.stderr.write(self.style.ERROR(f"{path}: {marc_import.error_message} (import #{marc_import.pk})"))
            return
        self.stdout.write(self.style.SUCCESS(
            f"{path} ({marc_import.get_format_display()}): {marc_import.records_read:,} records in {elapsed:.1f} s "
            f"({marc_import.records_read / elapsed if elapsed else 0:,.0f}/s): new {marc_import.created:,}, "
            f"updated {marc_import.updated:,}, enriched {marc_import.enriched:,}, "
            f"attached as the library's own {marc_import.attached:,}, unchanged {marc_import.unchanged:,}, "
            f"skipped {marc_import.skipped:,}, warnings {marc_import.warnings:,} (import #{marc_import.pk})"
        ))
        shown = options["show_problems"]
        for problem in marc_import.problems.order_by("record_number", "pk")[:shown]:
            where = f"byte {problem.byte_offset}" if problem.byte_offset is not None else (
                f"line {problem.line}" if problem.line else "")
            number = f" 001 {problem.control_number}" if problem.control_number else ""
            level = "warning" if problem.level == "warning" else "refused"
            self.stdout.write(f"  record {problem.record_number} ({where}){number}: {level}: {problem.reason}")
        if marc_import.skipped + marc_import.warnings > shown:
            self.stdout.write(f"  ... and {marc_import.skipped + marc_import.warnings - shown} more "
                              f"(import #{marc_import.pk})")
