"""seed_demo builds the demo the run command shows, and running it again changes nothing;
every province of the demo libraries has its POI administrator and hub staff, the
run command prints them, and README's IBL walkthrough works with those sign-ins."""

import datetime
import re

from django.core.management import call_command
from django_tenants.utils import tenant_context

from catalogue.models import Holding, Title
from ibl.models import HubStaff
from circulation.models import CirculationSettings, Hold, Loan, LoanRule
from circulation.rules import loan_rule_choose
from collection.models import Item
from demo import data as demo
from demo import ordering as demo_ordering
from ibl.services.transport import hubs_of
from staff.selectors import is_poi_administrator, provinces_administered_by
from members.models import LedgerEntry, Member, MemberCategory
from ordering.models import EdiMessage, Fund, Order, OrderStatus, Supplier
from staff.models import LibraryRole, PoiAdministrator, Role, StaffUser
from tenants.models import Branch, LibraryOrganisation, Poi, PoiHub, Province


def snapshot():
    counts = [model.objects.count() for model in
              (Province, Poi, PoiHub, LibraryOrganisation, Branch, StaffUser, LibraryRole, PoiAdministrator, Title,
               Holding, HubStaff)]
    for organisation in LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES]):
        with tenant_context(organisation):
            counts.extend([Item.objects.count(), Member.objects.count(), LedgerEntry.objects.count()])
            counts.append(sorted(LoanRule.objects.values_list("pk", "updated_at")))
            counts.append(list(CirculationSettings.objects.values_list("floating_item_types", "transfer_days",
                                                                       "updated_at")))
            counts.extend([Supplier.objects.count(), Fund.objects.count(), Order.objects.count()])
    return counts


def test_seed_demo_creates_the_demo_and_is_idempotent(db, capsys):
    call_command("seed_demo")
    first = snapshot()
    output = capsys.readouterr().out
    assert "Demo klaar" in output

    assert Province.objects.count() == 12 and Poi.objects.count() == 9
    demo_libraries = LibraryOrganisation.objects.filter(slug__in=[lib["slug"] for lib in demo.LIBRARIES])
    assert demo_libraries.count() >= 4
    assert demo_libraries.values("province").distinct().count() >= 2
    assert all(library.branches.count() >= 2 for library in demo_libraries)
    roles = set(LibraryRole.objects.filter(organisation__in=demo_libraries).values_list("role", flat=True))
    assert roles == set(Role.values)
    assert PoiAdministrator.objects.filter(user__username="bisc.beheer").exists()
    # Every province of a demo library: its POI's administrator and hub staff, with the
    # demo password, working at that POI's hub (and only there).
    demo_pois = {library.province.poi.code for library in demo_libraries.select_related("province__poi")}
    assert demo_pois == {"bisc", "probiblio", "rijnbrink", "cubiss"}
    for code in demo_pois:
        poi = Poi.objects.get(code=code)
        admin = StaffUser.objects.get(username=f"{code}.beheer")
        assert list(PoiAdministrator.objects.filter(user=admin).values_list("poi__code", flat=True)) == [code]
        assert admin.is_staff and not admin.is_superuser and admin.check_password(demo.DEMO_PASSWORD)
        assert not LibraryRole.objects.filter(user=admin).exists()
        assert is_poi_administrator(admin)
        assert set(provinces_administered_by(admin)) == set(poi.provinces.all())
        sorter = StaffUser.objects.get(username=f"{code}.sorteer")
        assert sorter.check_password(demo.DEMO_PASSWORD) and not sorter.is_superuser
        assert not is_poi_administrator(sorter) and not LibraryRole.objects.filter(user=sorter).exists()
        assert list(hubs_of(sorter)) == list(PoiHub.objects.filter(poi=poi)) == list(hubs_of(admin))
        assert list(HubStaff.objects.filter(user=sorter).values_list("hub__poi__code", flat=True)) == [code]
    assert StaffUser.objects.get(username="landelijk").is_superuser
    assert StaffUser.objects.get(username="utrecht.balie").check_password(demo.DEMO_PASSWORD)
    assert Title.objects.filter(source="LSBDEMO").count() == 18
    assert Holding.objects.filter(organisation__slug="utrecht").exists()
    with tenant_context(demo_libraries.get(slug="utrecht")):
        assert Member.objects.count() == len(demo.MEMBERS)
        youth = Member.objects.get(first_name="Sara")
        assert youth.category.is_youth and youth.subscription.annual_fee_cents == 0
        assert not LedgerEntry.objects.filter(member=youth).exists()  # free under 18
        assert LedgerEntry.objects.filter(member__first_name="Anna", charge_type="subscription").exists()
        # Something at the desk: three loans (one overdue), a hold waiting for a copy that is out.
        open_loans = Loan.objects.filter(ended_at__isnull=True)
        assert open_loans.count() == 3
        assert open_loans.filter(due_on__lt=datetime.date.today()).count() == 1
        hold = Hold.objects.get()
        assert hold.status == "waiting" and open_loans.filter(title_id=hold.title_id).exists()
        # Loan rules: adults fined, youth not, DVDs a week for a euro (at most 3), guests at most 5 items.
        assert LoanRule.objects.count() == len(demo.LOAN_RULES)
        adult, youth_category = (MemberCategory.objects.get(code=code) for code in ("volwassene", "jeugd"))
        branch = demo_libraries.get(slug="utrecht").branches.first()
        book = loan_rule_choose(for_guests=False, member_category_id=adult.pk, item_type="book", branch_id=branch.pk)
        assert not book.is_default
        assert (book.rule.loan_days, book.rule.max_renewals, book.rule.fine_per_day_cents,
                book.rule.fine_max_cents) == (21, 2, 25, 500)
        dvd = loan_rule_choose(for_guests=False, member_category_id=adult.pk, item_type="dvd", branch_id=branch.pk)
        assert (dvd.rule.loan_days, dvd.rule.loan_fee_cents, dvd.rule.max_loans_of_type) == (7, 100, 3)
        for item_type in ("book", "dvd"):
            young = loan_rule_choose(for_guests=False, member_category_id=youth_category.pk, item_type=item_type,
                                     branch_id=branch.pk).rule
            assert young.fine_per_day_cents == 0 and young.fine_max_cents == 0
        guest = loan_rule_choose(for_guests=True, member_category_id=None, item_type="book", branch_id=branch.pk)
        assert (guest.rule.for_guests, guest.rule.loan_days, guest.rule.max_loans_total) == (True, 21, 5)
        assert CirculationSettings.objects.get().floating_item_types == ["book"]
        # Acquisitions (demo/ordering.py): the EDIFACT supplier and the shop, this year's
        # funds, an order sent by EDIFACT and an order list still to send.
        assert set(Supplier.objects.values_list("code", flat=True)) == {"NBDB", "BROESE"}
        assert Supplier.objects.get(code="NBDB").edi_enabled
        year = datetime.date.today().year
        assert set(Fund.objects.filter(year=year).values_list("code", flat=True)) == {
            code for code, *_rest in demo_ordering.FUNDS}
        assert Fund.objects.get(year=year, code="PRENT").parent.code == "JEUGD"
        sent = Order.objects.get(status=OrderStatus.ORDERED)
        assert sent.supplier.code == "NBDB" and sent.sent_at is not None and sent.lines.count() == 3
        assert EdiMessage.objects.filter(order=sent, kind="ORDERS").exists()
        assert Order.objects.filter(status=OrderStatus.DRAFT, supplier__code="NBDB").count() == 1
        assert sum(fund.committed_cents for fund in Fund.objects.filter(year=year)) > 0
    for slug in ("eemland", "rotterdam"):
        with tenant_context(demo_libraries.get(slug=slug)):
            assert LoanRule.objects.count() == len(demo.LOAN_RULES)
            assert CirculationSettings.objects.get().floating_item_types == []

    call_command("seed_demo")
    assert snapshot() == first

    # Loans the desk can renew (issue 12, item 12): every one nobody waits for.
    from circulation.services.loans import renew_all
    from core.actors import Actor

    utrecht = demo_libraries.get(slug="utrecht")
    with tenant_context(utrecht):
        desk = StaffUser.objects.get(username="utrecht.balie")
        actor = Actor.staff(desk, utrecht, branch_id=utrecht.branches.order_by("code").first().pk)
        card = Member.objects.get(first_name="Anna").card_number
        outcomes = renew_all(actor=actor, card_number=card)
        assert sorted(outcome.renewed for outcome in outcomes) == [False, True]  # the overdue one is held


def test_the_run_command_prints_the_hub_screen_and_every_demo_sign_in(db, capsys):
    """What `./lsbctl run` prints once it is up: the hub screen's address, and every
    sign-in it names is one seed_demo made, with the role it is named for."""
    from lsb.launcher import Launcher

    call_command("seed_demo")
    capsys.readouterr()
    launcher = Launcher()
    launcher.env = {}
    launcher.port, launcher.sip2_port = 8000, 6001
    launcher.print_welcome()
    printed = capsys.readouterr().out
    assert "http://localhost:8000/ibl/sorteercentrum/" in printed
    assert "http://localhost:8000/ibl/inloggen/" in printed
    for username, *_rest in demo.STAFF:
        assert username in printed
    for username, _first, _last, code in demo.HUB_STAFF:
        assert re.search(rf"{re.escape(username)} +hub staff \({code}\) ", printed)
        assert HubStaff.objects.filter(user__username=username, hub__poi__code=code).exists()
    for code in ("bisc", "probiblio", "rijnbrink", "cubiss"):
        assert re.search(rf"{code}\.beheer +POI administrator \({code}\) ", printed)
    # The IBL lines name hub staff and POI administrators that exist as such.
    ibl = printed[printed.index("Interlibrary loan (IBL)"):]
    ibl = ibl[:ibl.index("\n\n")]
    for username in ("bisc.sorteer", "probiblio.sorteer", "rijnbrink.sorteer", "cubiss.sorteer"):
        assert username in ibl and HubStaff.objects.filter(user__username=username).exists()
    for username in ("bisc.beheer", "probiblio.beheer", "rijnbrink.beheer", "cubiss.beheer"):
        assert username in ibl and PoiAdministrator.objects.filter(user__username=username).exists()


def test_readme_names_the_demo_sign_ins_of_every_poi():
    """README's table and IBL section name each demo POI's administrator and hub staff."""
    from django.conf import settings

    readme = (settings.BASE_DIR / "README.md").read_text()
    ibl = readme[readme.index("## Interlibrary loan (IBL)"):]
    ibl = ibl[:ibl.index("\n## ", 1)]
    poi_admins = [username for username, _f, _l, _roles, pois, _national in demo.STAFF if pois]
    hub_staff = [username for username, _f, _l, _poi in demo.HUB_STAFF]
    assert len(poi_admins) == len(hub_staff) == 4
    for username in poi_admins + hub_staff:
        assert f"`{username}`" in readme[:readme.index("## Interlibrary loan (IBL)")]
        assert f"`{username}`" in ibl


def test_the_readme_ibl_walkthrough_works_with_the_demo_sign_ins(db, client):
    """README's walkthrough of "Langs de Waal", each step signed in as README and the
    run command say (password lsb-demo-2026): Utrecht's member asks, Gelderland Zuid
    sends, Rijnbrink's hub sorts it onto the night carrier, BiSC's hub into the crate
    for Utrecht, Utrecht receives it onto the hold shelf."""
    from django.db import connection

    from core.actors import Actor
    from ibl.models import IblRequest, Leg, RequestState, RunKind
    from ibl.services.requests import ibl_request_create
    from ibl.services.transport import legs_plan
    from tests.conftest import forget_routing_cache
    from tests.outbox import outbox_deliver_all

    call_command("seed_demo")
    forget_routing_cache()
    utrecht = LibraryOrganisation.objects.get(slug="utrecht")
    title = Title.objects.get(source="LSBDEMO-IBL", title__startswith="Langs de Waal")
    pickup = utrecht.branches.order_by("code").first()
    with tenant_context(utrecht):
        member = Member.objects.get(card_number="2010000001")
        request = ibl_request_create(actor=Actor.member(member.pk, utrecht), member_id=member.pk,
                                     title_id=title.pk, pickup_branch_id=pickup.pk)
    connection.set_schema_to_public()

    def worker():
        """What the Celery worker does after each step: the outbox, then the legs."""
        for _round in range(5):
            planned = 0
            delivered = outbox_deliver_all()
            for waiting in IblRequest.objects.filter(state=RequestState.SENT):
                if not waiting.legs.exists():
                    legs_plan(waiting.pk)
                    planned += 1
            if not delivered and not planned:
                break
        connection.set_schema_to_public()

    def sign_in(username, host):
        client.logout()
        answer = client.post("/ibl/inloggen/" if host == "localhost" else "/balie/inloggen/",
                             {"username": username, "password": demo.DEMO_PASSWORD}, HTTP_HOST=host)
        assert answer.status_code == 302, (username, answer.content.decode()[:1000])

    worker()
    request.refresh_from_db()
    assert (request.state, request.lender.slug) == (RequestState.ASKED, "gelderlandzuid")

    sign_in("gelderlandzuid.balie", "gelderlandzuid.localhost")
    sent = client.post("/ibl/versturen/scan/", {"barcode": "IBL0000301"}, HTTP_HOST="gelderlandzuid.localhost")
    assert sent.status_code == 200 and "SORTEERCENTRUM RIJNBRINK" in sent.content.decode()
    connection.set_schema_to_public()
    worker()
    legs = list(IblRequest.objects.get(pk=request.pk).legs.order_by("sequence"))
    rijnbrink, bisc = PoiHub.objects.get(poi__code="rijnbrink"), PoiHub.objects.get(poi__code="bisc")
    assert [(leg.mode, leg.from_hub_id, leg.to_hub_id) for leg in legs] == [
        (RunKind.VAN, None, rijnbrink.pk), (RunKind.CARRIER, rijnbrink.pk, bisc.pk), (RunKind.VAN, bisc.pk, None)]

    def at_hub(username, hub, codes):
        sign_in(username, "localhost")
        # The hub screen: the one hub they work at opens at once.
        landing = client.get("/ibl/sorteercentrum/", HTTP_HOST="localhost")
        assert landing.status_code == 302 and landing.url.endswith(f"/ibl/sorteercentrum/{hub.pk}/")
        signs = []
        for code in codes:
            answer = client.post(f"/ibl/sorteercentrum/{hub.pk}/scan/", {"code": code() if callable(code) else code},
                                 HTTP_HOST="localhost")
            assert answer.status_code == 200, answer.content.decode()[:2000]
            signs.append(answer)
        return signs

    def crate_label(answer):
        return lambda: answer.context["sign"]["crate"]

    [copy] = at_hub("rijnbrink.sorteer", rijnbrink, ["IBL0000301"])
    assert "SORTEERCENTRUM BISC" in copy.content.decode()
    at_hub("rijnbrink.sorteer", rijnbrink, [crate_label(copy)])
    received, sorted_ = at_hub("bisc.sorteer", bisc, [crate_label(copy), "IBL0000301"])
    assert utrecht.name.upper() in sorted_.content.decode() or pickup.name.upper() in sorted_.content.decode()
    at_hub("bisc.sorteer", bisc, [crate_label(sorted_)])
    connection.set_schema_to_public()
    assert [leg.state for leg in IblRequest.objects.get(pk=request.pk).legs.order_by("sequence")] == [
        Leg.State.ARRIVED, Leg.State.ARRIVED, Leg.State.IN_TRANSIT]

    sign_in("utrecht.balie", "utrecht.localhost")
    arrived = client.post("/ibl/ontvangen/scan/", {"barcode": "IBL0000301"}, HTTP_HOST="utrecht.localhost")
    assert arrived.status_code == 200 and "RESERVERINGSPLANK" in arrived.content.decode()
    connection.set_schema_to_public()
    assert IblRequest.objects.get(pk=request.pk).state == RequestState.ARRIVED

    # The POI administrator of the lender's province sees the request on the POI overview.
    sign_in("rijnbrink.beheer", "localhost")
    overview = client.get("/ibl/poi/", HTTP_HOST="localhost")
    assert overview.status_code == 200 and request.reference in overview.content.decode()
