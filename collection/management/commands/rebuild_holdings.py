from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from collection.services import holdings_rebuild
from tenants.models import LibraryOrganisation


class Command(BaseCommand):
    help = (
        "Recompute the national holdings index from the items in every library schema "
        "and repair (and report) each difference."
    )

    def add_arguments(self, parser):
        parser.add_argument("--library", action="append", default=[], metavar="SLUG",
                            help="only this library organisation (repeatable)")

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        organisations = None
        if options["library"]:
            organisations = LibraryOrganisation.objects.filter(slug__in=options["library"])
            unknown = set(options["library"]) - set(organisations.values_list("slug", flat=True))
            if unknown:
                raise CommandError(f"Onbekende bibliotheek: {', '.join(sorted(unknown))}")
        differences = holdings_rebuild(progress=self.stdout.write, organisations=organisations)
        for difference in differences:
            self.stdout.write(f"Hersteld: {difference}")
        self.stdout.write(self.style.SUCCESS(
            f"Klaar: {len(differences)} verschil(len) hersteld." if differences
            else "Klaar: het landelijk bezit klopte."
        ))
