from django.core.management.base import BaseCommand
from django.db import connection

from collection.item_index import item_index_rebuild


class Command(BaseCommand):
    help = "Fill the national item barcode index (barcode -> owning library) from every library schema."

    def handle(self, *args, **options):
        connection.set_schema_to_public()
        written = item_index_rebuild(progress=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(f"Klaar: {written} exemplaren in de landelijke index."))
