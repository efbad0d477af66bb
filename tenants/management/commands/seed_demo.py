from django.core.management.base import BaseCommand
from django.db import transaction

from staff import services as staff_services
from staff.models import StaffUser
from tenants import demo, services
from tenants.models import LibraryOrganisation, Poi, Province


class Command(BaseCommand):
    help = "Load the registry reference data and the demo libraries and staff (idempotent)."

    def handle(self, *args, **options):
        say = self.stdout.write
        say("Provincies, POI's en sorteercentra…")
        services.registry_reference_load()

        for index, library in enumerate(demo.LIBRARIES, start=1):
            prefix = f"[{index}/{len(demo.LIBRARIES)}] {library['name']}"
            if LibraryOrganisation.objects.filter(slug=library["slug"]).exists():
                say(f"{prefix}: bestaat al")
                continue
            services.library_organisation_create(
                name=library["name"],
                slug=library["slug"],
                isil=library["isil"],
                province=Province.objects.get(code=library["province"]),
                branches=library["branches"],
                progress=lambda message, prefix=prefix: say(f"{prefix}: {message}"),
            )

        say("Medewerkers…")
        organisations = {o.slug: o for o in LibraryOrganisation.objects.all()}
        for username, first, last, roles, poi_codes, national in demo.STAFF:
            with transaction.atomic():
                user = StaffUser.objects.filter(username=username).first()
                if user is None:
                    # Existing accounts keep the password someone may have changed.
                    user = staff_services.staff_user_create(
                        username=username,
                        password=demo.DEMO_PASSWORD,
                        first_name=first,
                        last_name=last,
                        is_national_admin=national,
                    )
                for slug, role_names in roles.items():
                    for role in role_names:
                        staff_services.library_role_grant(user=user, organisation=organisations[slug], role=role)
                for code in poi_codes:
                    staff_services.poi_administrator_grant(user=user, poi=Poi.objects.get(code=code))
        say(self.style.SUCCESS(f"Demo klaar: {len(organisations)} bibliotheekorganisaties, {len(demo.STAFF)} medewerkers."))
