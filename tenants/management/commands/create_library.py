from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants import services
from tenants.models import Province


def parse_branch(value):
    parts = [part.strip() for part in value.split("|")]
    if len(parts) != 5:
        raise CommandError(f"--branch '{value}': verwacht 'code|naam|adres|postcode|plaats'")
    return dict(zip(["code", "name", "street", "postcode", "city"], parts))


class Command(BaseCommand):
    help = "Create a library organisation: registry entry, its own schema (cloned from the template), host, branches."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="short name; the host becomes <slug>.<LSB_BASE_DOMAIN>")
        parser.add_argument("--isil", required=True)
        parser.add_argument("--province", required=True, help="province code, e.g. UT")
        parser.add_argument("--inactive", action="store_true")
        parser.add_argument("--branch", action="append", default=[], type=parse_branch,
                            help="code|name|street|postcode|city (repeatable)")

    def handle(self, *args, **options):
        try:
            province = Province.objects.get(code=options["province"].upper())
        except Province.DoesNotExist:
            raise CommandError(f"Onbekende provincie '{options['province']}'. Laad eerst het register (seed_demo).")
        try:
            services.library_organisation_create(
                name=options["name"],
                slug=options["slug"],
                isil=options["isil"],
                province=province,
                is_active=not options["inactive"],
                branches=options["branch"],
                progress=lambda message: self.stdout.write(message),
            )
        except ValidationError as error:
            raise CommandError("Niet aangemaakt: " + "; ".join(error.messages))
