"""Export catalogue records as MARC21, streamed (with a library's holdings from its items).

    manage.py export_marc --library SLUG [--format iso2709|marcxml] [-o FILE]
        a library's whole catalogue (the titles it has items of), with its holdings in 852
    manage.py export_marc --titles 12,13,14 [--library SLUG] ...
        selected titles (with that library's holdings when --library is given)

Without -o (or with -o -) the records go to standard output.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from catalogue.marc_export import export_marc
from catalogue.models import MarcFormat, Title
from collection.marc_export import export_library_marc
from tenants.models import LibraryOrganisation


class Command(BaseCommand):
    help = "Export catalogue records (a library's catalogue or selected titles) as ISO 2709 or MARCXML."

    def add_arguments(self, parser):
        parser.add_argument("--library", help="library slug: its holdings go into 852; alone: its whole catalogue")
        parser.add_argument("--titles", help="comma-separated title ids")
        parser.add_argument("--format", choices=[MarcFormat.ISO2709, MarcFormat.MARCXML], default=MarcFormat.ISO2709)
        parser.add_argument("-o", "--output", default="-", help="output file (default: standard output)")

    def handle(self, **options):
        organisation = None
        if options["library"]:
            organisation = LibraryOrganisation.objects.filter(slug=options["library"]).first()
            if organisation is None:
                raise CommandError(f"Unknown library: {options['library']}")
        title_ids = None
        if options["titles"]:
            try:
                title_ids = [int(part) for part in options["titles"].split(",") if part.strip()]
            except ValueError:
                raise CommandError("--titles takes title ids separated by commas, e.g. 12,13,14") from None
            missing = set(title_ids) - set(Title.objects.filter(pk__in=title_ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"Unknown title ids: {', '.join(map(str, sorted(missing)))}")
        if organisation is None and title_ids is None:
            raise CommandError("Give --library, --titles, or both.")

        if organisation is not None:
            pieces = export_library_marc(marc_format=options["format"], organisation=organisation, title_ids=title_ids)
        else:
            pieces = export_marc(marc_format=options["format"], title_ids=title_ids)
        out = sys.stdout.buffer if options["output"] == "-" else open(options["output"], "wb")
        count = 0
        try:
            for piece in pieces:
                out.write(piece)
                if options["format"] == MarcFormat.ISO2709 or piece.startswith(b"<record"):
                    count += 1
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if options["output"] != "-":
            self.stderr.write(self.style.SUCCESS(f"{count:,} records written to {options['output']}"))
