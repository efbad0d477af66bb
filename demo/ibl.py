"""Interlibrary loan in the demo (seed_demo calls seed_ibl): the POIs' van routes for
the demo provinces, hub staff, IBL terms, and a few titles that only some demo
libraries hold, so a member of Bibliotheek Utrecht can ask for them: one held in
the province (Eemland, BiSC), one only in Zuid-Holland (Rotterdam, Probiblio: the
night carrier between the hubs), one only in Gelderland (Gelderland Zuid, Rijnbrink).
Everything through the services or the registry; idempotent."""

import io

from pymarc import Field, Leader, Record, Subfield

from catalogue import services as catalogue_services
from catalogue.models import MarcImport, MarcImportStatus, Title
from collection import services as collection_services
from collection.item_index import item_index_rebuild
from collection.models import Item
from core.actors import Actor
from demo import data as demo_data
from ibl.models import HubStaff, IblTerms, VanRoute, VanStop
from staff import services as staff_services
from staff.models import StaffUser
from tenants.models import Branch, LibraryOrganisation, Poi, PoiHub

SOURCE = "LSBDEMO-IBL"
FILE_NAME = "lsb-demo-ibl-titels.mrc"

# (control number, title, author, year, [(library slug, branch code, barcode)])
TITLES = [
    ("1", "Amersfoort door de eeuwen heen", "Brink, Jantine van den", 2004,
     [("eemland", "amf", "IBL0000101"), ("eemland", "leusden", "IBL0000102")]),
    ("2", "De Maas bij nacht", "Veenstra, Roel", 2012, [("rotterdam", "cb", "IBL0000201")]),
    ("3", "Langs de Waal", "Hendriks-Arts, Marieke", 1998, [("gelderlandzuid", "nijmegen", "IBL0000301")]),
    ("4", "Vogels van het Eemland", "Schipper, Tom", 2015, [("eemland", "amf", "IBL0000401"),
                                                            ("rotterdam", "kralingen", "IBL0000402")]),
]

# (POI code, route name, weekdays (0 = Monday), [(library slug, branch code)])
VAN_ROUTES = [
    ("bisc", "Route Utrecht-stad", [0, 2, 4], [("utrecht", "neude"), ("utrecht", "lr")]),
    ("bisc", "Route Eemland", [1, 3], [("eemland", "amf"), ("eemland", "leusden")]),
    ("probiblio", "Route Rotterdam", [0, 1, 2, 3, 4], [("rotterdam", "cb"), ("rotterdam", "kralingen")]),
    ("rijnbrink", "Route Rivierenland", [1, 3], [("gelderlandzuid", "nijmegen"), ("gelderlandzuid", "tiel")]),
    ("cubiss", "Route Midden-Brabant", [0, 2, 4], [("middenbrabant", "lochal"), ("middenbrabant", "waalwijk")]),
]

# Staff of the POIs' hubs: in demo.data, which the run command reads to print the sign-ins.
HUB_STAFF = demo_data.HUB_STAFF

# The requesting library's fee per request (cents).
REQUEST_FEES = {"utrecht": 250, "rotterdam": 300}


def _records():
    out = io.BytesIO()
    for number, title, author, year, _copies in TITLES:
        record = Record(leader=Leader("00000nam a2200000 a 4500"), force_utf8=True)
        record.add_field(Field(tag="001", data=f"DEMOIBL{int(number):04d}"), Field(tag="003", data=SOURCE))
        record.add_field(Field(tag="008", data=f"240101s{year}    ne            000 0 dut d"))
        record.add_field(Field(tag="100", indicators=["1", " "], subfields=[Subfield("a", author)]))
        record.add_field(Field(tag="245", indicators=["1", "0"], subfields=[Subfield("a", title)]))
        record.add_field(Field(tag="264", indicators=[" ", "1"],
                               subfields=[Subfield("a", "Utrecht"), Subfield("c", str(year))]))
        out.write(record.as_marc())
    return out.getvalue()


def seed_ibl(say, *, password):
    """The IBL part of the demo (see the module)."""
    if not MarcImport.objects.filter(file_name=FILE_NAME, status=MarcImportStatus.DONE).exists():
        catalogue_services.marc_import_run(
            marc_import=catalogue_services.marc_import_register(actor=Actor.system("seed_demo"), file_name=FILE_NAME),
            stream=io.BytesIO(_records()),
        )
    titles = {title.control_number: title for title in Title.objects.filter(source=SOURCE)}
    organisations = {o.slug: o for o in LibraryOrganisation.objects.all()}
    from django_tenants.utils import tenant_context

    added = 0
    for number, _title, _author, _year, copies in TITLES:
        title = titles.get(f"DEMOIBL{int(number):04d}")
        if title is None:
            continue
        for slug, branch_code, barcode in copies:
            organisation = organisations.get(slug)
            if organisation is None:
                continue
            with tenant_context(organisation):
                if Item.objects.filter(barcode=barcode).exists():
                    continue
                branch = Branch.objects.get(organisation=organisation, code=branch_code)
                admin = StaffUser.objects.get(username=f"{slug}.beheer")
                collection_services.item_add(actor=Actor.staff(admin, organisation), title_id=title.pk,
                                             branch_id=branch.pk, barcodes=[barcode], shelf_location="Regio",
                                             call_number=title.contributors_text.split(",")[0][:4].upper())
                added += 1
    say(f"IBL: {added} exemplaren van titels die niet elke bibliotheek heeft")

    for poi_code, name, weekdays, stops in VAN_ROUTES:
        poi = Poi.objects.get(code=poi_code)
        route, _ = VanRoute.objects.get_or_create(poi=poi, name=name, defaults={"weekdays": weekdays})
        for position, (slug, branch_code) in enumerate(stops, start=1):
            branch = Branch.objects.filter(organisation__slug=slug, code=branch_code).first()
            if branch is not None:
                VanStop.objects.get_or_create(branch=branch, defaults={"route": route, "position": position})
    say(f"IBL: {len(VAN_ROUTES)} busroutes van de POI's")

    for username, first, last, poi_code in HUB_STAFF:
        user = StaffUser.objects.filter(username=username).first()
        if user is None:
            user = staff_services.staff_user_create(username=username, password=password, first_name=first,
                                                    last_name=last, is_national_admin=False)
        for hub in PoiHub.objects.filter(poi__code=poi_code):
            HubStaff.objects.get_or_create(user=user, hub=hub)
    for slug, fee in REQUEST_FEES.items():
        if slug in organisations:
            IblTerms.objects.get_or_create(organisation=organisations[slug], defaults={"request_fee_cents": fee})
    written = item_index_rebuild()
    say(f"IBL: sorteercentrummedewerkers, IBL-kosten; landelijke exemplarenindex: {written} exemplaren")
