"""Import a library's members from a CSV file (column layout: members.services.imports)."""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_tenants.utils import tenant_context

from core.actors import Actor
from members.services.imports import members_csv_rows, members_import
from staff.models import StaffUser
from tenants.models import LibraryOrganisation


class Command(BaseCommand):
    help = (
        "Import members from a CSV file with Dutch column headers (pasnummer, voornaam, achternaam, "
        "geboortedatum, ...; see members/services/imports.py) into one library. Bad rows are reported "
        "with their line number and reason; card numbers the library already has are skipped, so the "
        "same file can be imported again safely."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file", help="path to the CSV file (UTF-8; ';' or ',' separated)")
        parser.add_argument("--library", required=True, metavar="SLUG", help="the library organisation")
        parser.add_argument("--staff", metavar="USERNAME",
                            help="library administrator recorded as having registered the members "
                                 "(default: the system, system:import_members)")
        parser.add_argument("--progress-every", type=int, default=500, metavar="N")

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        organisation = LibraryOrganisation.objects.filter(slug=options["library"]).first()
        if organisation is None:
            raise CommandError(f"Onbekende bibliotheek: {options['library']}")
        staff_user = None
        if options["staff"]:
            staff_user = StaffUser.objects.filter(username=options["staff"]).first()
            if staff_user is None:
                raise CommandError(f"Onbekende medewerker: {options['staff']}")
        path = Path(options["csv_file"])
        if not path.is_file():
            raise CommandError(f"Bestand niet gevonden: {path}")
        try:
            rows = members_csv_rows(path.read_bytes())
        except ValidationError as error:
            raise CommandError(" ".join(error.messages))
        self.stdout.write(f"{len(rows)} regels te importeren in {organisation.name}.")

        def progress(done, total):
            self.stdout.write(f"  {done}/{total} regels verwerkt")
            sys.stdout.flush()

        with tenant_context(organisation):
            actor = (Actor.staff(staff_user, organisation) if staff_user is not None
                     else Actor.system("import_members", organisation))
            try:
                result = members_import(actor=actor, rows=rows, progress=progress,
                                        progress_every=max(1, options["progress_every"]))
            except ValidationError as error:  # e.g. --staff is no library administrator here
                raise CommandError(" ".join(error.messages))
        for error in result.errors:
            self.stdout.write(self.style.ERROR(f"Regel {error.row} ({error.card_number or 'geen pasnummer'}): "
                                               f"{error.message}"))
        summary = (f"Klaar: {len(result.created)} geïmporteerd, {len(result.skipped)} overgeslagen (al lid), "
                   f"{len(result.errors)} met een fout.")
        self.stdout.write(self.style.SUCCESS(summary) if not result.errors else self.style.WARNING(summary))
