import datetime
import io
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue import services as catalogue_services
from catalogue.models import MarcImport, MarcImportStatus, Title
from circulation.models import CirculationSettings, Loan, LoanRule
from circulation.services.holds import hold_place
from circulation.services.loans import checkout
from circulation.services import rules as circulation_rules
from collection import services as collection_services
from collection.models import CollectionKind, Item
from core.actors import Actor
from members.models import Member, MemberCategory
from members.selectors.ledger import member_balance_cents
from members.services import ledger, registration
from selfservice.models import MachineAccount, MachineKind
from selfservice.services import machine_account_create

from staff import services as staff_services
from staff.models import StaffApiToken, StaffUser
from demo import data as demo
from demo.ibl import seed_ibl
from demo.ordering import seed_ordering
from demo import titles as demo_titles
from tenants import services
from tenants.models import LibraryOrganisation, Poi, Province


# The values of a demo loan rule that demo.LOAN_RULES does not give.
LOAN_RULE_DEFAULTS = {
    "loan_days": 21, "max_renewals": 2, "max_loans_total": None, "max_loans_of_type": None, "loan_fee_cents": 0,
    "fine_per_day_cents": 0, "fine_max_cents": 0, "holdable": True, "hold_fee_cents": 0, "hold_shelf_days": 7,
    "auto_renew": True,
}

# Real records (Library of Congress, via pymarc's test data) for a fuller demo catalogue.
SHARED_MARC_FILES = ["marc.dat", "test.dat", "batch.xml"]


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
            organisation = services.library_organisation_create(
                name=library["name"],
                slug=library["slug"],
                isil=library["isil"],
                province=Province.objects.get(code=library["province"]),
                branches=library["branches"],
                progress=lambda message, prefix=prefix: say(f"{prefix}: {message}"),
            )
            if library.get("opac_colour"):
                services.library_organisation_update(
                    organisation=organisation, name=organisation.name, isil=organisation.isil,
                    province=organisation.province, is_active=organisation.is_active,
                    opac_colour=library["opac_colour"])

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
                        staff_services.library_role_grant(actor=Actor.system("seed_demo"), user=user,
                                                          organisation=organisations[slug], role=role)
                for code in poi_codes:
                    staff_services.poi_administrator_grant(user=user, poi=Poi.objects.get(code=code))
        self.seed_catalogue(say)
        self.seed_items(say, organisations)
        self.seed_members(say, organisations)
        self.seed_circulation(say, organisations)
        self.seed_loans(say, organisations)
        self.seed_machines(say, organisations)
        seed_ordering(say, organisations["utrecht"])
        self.seed_api_keys(say, organisations)
        seed_ibl(say, password=demo.DEMO_PASSWORD)
        say(self.style.SUCCESS(f"Demo klaar: {len(organisations)} bibliotheekorganisaties, {len(demo.STAFF)} medewerkers."))

    def seed_catalogue(self, say):
        """The demo titles, and the real MARC test files when shared/ lies beside the checkout."""
        files = [("lsb-demo-titels.mrc", io.BytesIO(demo_titles.demo_records()))]
        shared = Path(os.environ.get("LSB_SHARED_DATA", settings.BASE_DIR.parent / "shared" / "data")) / "marc"
        for name in SHARED_MARC_FILES:
            if (shared / name).is_file():
                files.append((name, (shared / name).open("rb")))
        for name, stream in files:
            with stream:
                if MarcImport.objects.filter(file_name=name, status=MarcImportStatus.DONE).exists():
                    say(f"Catalogus: {name} is al geïmporteerd")
                    continue
                result = catalogue_services.marc_import_run(
                    marc_import=catalogue_services.marc_import_register(actor=Actor.system("seed_demo"),
                                                                        file_name=name),
                    stream=stream,
                )
                say(f"Catalogus: {name}: {result.created} nieuw, {result.updated} bijgewerkt, "
                    f"{result.skipped} overgeslagen")

    def seed_members(self, say, organisations):
        """Each demo library's subscriptions and categories, and a few members to find at the desk."""
        for number, library in enumerate(demo.LIBRARIES, start=1):
            organisation = organisations[library["slug"]]
            with tenant_context(organisation):
                if Member.objects.exists():
                    say(f"Leden {organisation.name}: zijn er al")
                    continue
                admin = StaffUser.objects.get(username=f"{library['slug']}.beheer")
                admin_actor = Actor.staff(admin, organisation)
                subscriptions = {}
                for code, name, fee, max_loans, youth, includes in demo.SUBSCRIPTIONS:
                    subscriptions[code] = registration.subscription_type_save(
                        actor=admin_actor, code=code, name=name, annual_fee_cents=fee, max_loans=max_loans,
                        includes=includes, for_youth=youth,
                    )
                for code, name, min_age, max_age, subscription_code in demo.CATEGORIES:
                    registration.member_category_save(
                        actor=admin_actor, code=code, name=name, min_age=min_age, max_age=max_age,
                        default_subscription_id=subscriptions[subscription_code].pk,
                    )
                branch = organisation.branches.order_by("code").first()
                for index, person in enumerate(demo.MEMBERS, start=1):
                    member = registration.member_register(
                        actor=admin_actor, card_number=f"2{number:02d}{index:07d}",
                        preferred_branch_id=branch.pk, pin="1234", **person,
                    )
                    # Most paid their subscription at the desk; the second still owes it (and is blocked).
                    owed = member_balance_cents(member)
                    if owed > 0 and index != 2:
                        ledger.ledger_payment(actor=admin_actor, member=member, amount_cents=owed, method="pin")
                say(f"Leden {organisation.name}: {Member.objects.count()} ingeschreven "
                    f"(passen 2{number:02d}0000001 t/m 2{number:02d}{len(demo.MEMBERS):07d}, pincode 1234)")

    def seed_items(self, say, organisations):
        """A copy or two of every demo title in each demo library, spread over its branches."""
        titles = list(Title.objects.filter(source=demo_titles.SOURCE).order_by("control_number"))
        for number, library in enumerate(demo.LIBRARIES, start=1):
            organisation = organisations[library["slug"]]
            with tenant_context(organisation):
                if Item.objects.exists():
                    say(f"Exemplaren {organisation.name}: zijn er al")
                    continue
                branches = list(organisation.branches.order_by("code"))
                admin = StaffUser.objects.get(username=f"{library['slug']}.beheer")
                for index, title in enumerate(titles):
                    copies = 1 + (index + number) % 2
                    branch = branches[index % len(branches)]
                    youth = title.audience == "youth"
                    collection_services.item_add(
                        actor=Actor.staff(admin, organisation), title_id=title.pk, branch_id=branch.pk,
                        barcodes=[f"{number}{index:03d}{copy:02d}00" for copy in range(copies)],
                        shelf_location="Jeugd" if youth else "Romans",
                        call_number=title.contributors_text.split(",")[0][:4].upper(),
                        collection=CollectionKind.YOUTH if youth else CollectionKind.ADULT,
                    )
                say(f"Exemplaren {organisation.name}: {Item.objects.count()} toegevoegd")

    def seed_circulation(self, say, organisations):
        """Each demo library's loan rules (demo.LOAN_RULES) and circulation settings,
        through the same services as the rules screen. A library that has rules or
        settings already keeps them."""
        for library in demo.LIBRARIES:
            organisation = organisations[library["slug"]]
            with tenant_context(organisation):
                admin = StaffUser.objects.get(username=f"{library['slug']}.beheer")
                if LoanRule.objects.exists():
                    say(f"Uitleenregels {organisation.name}: zijn er al")
                else:
                    categories = dict(MemberCategory.objects.values_list("code", "pk"))
                    with transaction.atomic():
                        for who, item_type, values in demo.LOAN_RULES:
                            circulation_rules.loan_rule_save(
                                actor=Actor.staff(admin, organisation), for_guests=who == "gast",
                                member_category_id=None if who == "gast" else categories[who], item_type=item_type,
                                branch_id=None, **{**LOAN_RULE_DEFAULTS, **values},
                            )
                    say(f"Uitleenregels {organisation.name}: {LoanRule.objects.count()} regels")
                if not CirculationSettings.objects.exists():
                    circulation_rules.circulation_settings_update(
                        actor=Actor.staff(admin, organisation),
                        floating_item_types=demo.FLOATING_ITEM_TYPES.get(library["slug"], []), transfer_days=2,
                    )

    def seed_loans(self, say, organisations):
        """Something to see at every demo desk: two loans of the first demo member
        (one of them overdue, lent 30 days ago, with the fourth member's hold on it;
        the other lent 10 days ago, which can be renewed), one of the third (lent a
        week ago, renewable too), and a hold of the fourth on a title whose only copy
        is out. Through the circulation services."""
        for number, library in enumerate(demo.LIBRARIES, start=1):
            organisation = organisations[library["slug"]]
            with tenant_context(organisation):
                if Loan.objects.exists():
                    say(f"Uitleningen {organisation.name}: zijn er al")
                    continue
                desk = StaffUser.objects.get(username=f"{library['slug']}.beheer")
                branch = organisation.branches.order_by("code").first()
                cards = [f"2{number:02d}{index:07d}" for index in range(1, len(demo.MEMBERS) + 1)]
                single = list(
                    Item.objects.filter(item_type="book").values("title_id")
                    .annotate(copies=Count("pk")).filter(copies=1).order_by("title_id").values_list("title_id", flat=True)
                )
                items = [Item.objects.get(title_id=title_id) for title_id in single[:3]]
                branch = organisation.branches.get(pk=items[0].owning_branch_id) if items else branch
                if len(items) < 3:
                    say(f"Uitleningen {organisation.name}: te weinig exemplaren voor demo-uitleningen")
                    continue
                month_ago = timezone.now() - datetime.timedelta(days=30)
                # Each scan its own transaction, as at a desk (one transaction over several
                # checkouts would lock items after the holdings row: core.locks' order).
                at_desk = Actor.staff(desk, organisation, branch_id=branch.pk)
                checkout(actor=at_desk, card_number=cards[0], barcode=items[0].barcode, now=month_ago)
                # Lent some days ago: renewing gives a later due date, so the desk can try it.
                checkout(actor=at_desk, card_number=cards[0], barcode=items[1].barcode,
                         now=timezone.now() - datetime.timedelta(days=10))
                checkout(actor=at_desk, card_number=cards[2], barcode=items[2].barcode,
                         now=timezone.now() - datetime.timedelta(days=7))
                hold_place(actor=at_desk, member=Member.objects.get(card_number=cards[3]),
                           title_id=items[0].title_id, pickup_branch_id=branch.pk)
                say(f"Uitleningen {organisation.name}: 3 uitleningen (1 te laat), 1 reservering")

    def seed_api_keys(self, say, organisations):
        """The REST API's demo keys per demo library (known values, demo only: see
        demo.data): a self-service machine's key and the desk user's integration key."""
        for number, library in enumerate(demo.LIBRARIES, start=1):
            slug = library["slug"]
            organisation = organisations[slug]
            with tenant_context(organisation):
                system = Actor.system("seed_demo", organisation)
                login = demo.demo_machine_api_login(slug)
                if not MachineAccount.objects.filter(login=login).exists():
                    branch = organisation.branches.get(code=library["branches"][0]["code"])  # its main branch
                    machine_account_create(actor=system, name="REST-zelfbediening (demo)", login=login,
                                           branch_id=branch.pk, kind=MachineKind.API,
                                           token=demo.demo_machine_api_key(number, slug))
                user = StaffUser.objects.get(username=f"{slug}.balie")
                if not StaffApiToken.objects.filter(user=user, organisation=organisation).exists():
                    staff_services.staff_api_token_create(actor=system, user=user, name="Demo-koppeling",
                                                          secret=demo.demo_staff_api_key(number, slug))
            say(f"API-sleutels {organisation.name}: automaat {login}, medewerker {slug}.balie (demo)")

    def seed_machines(self, say, organisations):
        """One SIP2 self-service machine per demo library (login <slug>-automaat, the
        demo machine password), at its main branch; members use card and PIN."""
        for library in demo.LIBRARIES:
            organisation = organisations[library["slug"]]
            login = demo.demo_machine_login(library["slug"])
            if MachineAccount.objects.filter(login=login).exists():
                say(f"Automaat {organisation.name}: bestaat al ({login})")
                continue
            with tenant_context(organisation):
                branch = organisation.branches.get(code=library["branches"][0]["code"])  # its main branch
                machine_account_create(actor=Actor.system("seed_demo", organisation), name="Uitleenautomaat (demo)",
                                       login=login, branch_id=branch.pk, password=demo.DEMO_MACHINE_PASSWORD)
            say(f"Automaat {organisation.name}: {login} in {branch.name} (SIP2)")
