"""Acquisitions demo data for Bibliotheek Utrecht (seed_demo): two suppliers (one
ordering by EDIFACT), this year's funds (with target groups), an order sent to
the EDIFACT supplier (its ORDERS message downloadable) and an order list still
to send, and a purchase-suggestion ratio low enough to show the demo hold."""

from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue.models import Title
from core.actors import Actor
from ordering.models import Supplier
from ordering.services import claims, funds, orders, suppliers
from staff.models import StaffUser

from . import titles as demo_titles

FUNDS = [
    # code, name, euros, parent, target group, ledger account
    ("VOLW", "Volwassenen", 40_000, None, "", "4400"),
    ("JEUGD", "Jeugd", 25_000, None, "youth_reading", "4410"),
    ("PRENT", "Prentenboeken", 5_000, "JEUGD", "youth_reading", "4410"),
    ("MAKLEZ", "Makkelijk lezen", 6_000, None, "low_literacy", "4420"),
    ("NT2", "Nederlands als tweede taal", 3_000, None, "newcomers", "4420"),
]


def seed_ordering(say, organisation):
    with tenant_context(organisation):
        if Supplier.objects.exists():
            say(f"Inkoop {organisation.name}: is er al")
            return
        user = StaffUser.objects.get(username=f"{organisation.slug}.inkoop")
        main = organisation.branches.order_by("code").first()
        other = organisation.branches.order_by("code").last()
        actor = Actor.staff(user, organisation, branch_id=main.pk)
        nbd = suppliers.supplier_save(
            actor=actor, code="NBDB", name="NBD Biblion", contact_name="Klantenservice", email="order@example.nl",
            default_discount="25", vat="9", delivery_days=10, edi_enabled=True, edi_id="8711234500007",
            buyer_edi_id="8719999000013")
        suppliers.supplier_save(actor=actor, code="BROESE", name="Boekhandel Broese", default_discount="15",
                                vat="9", delivery_days=5, address="Stadhuisbrug 5, Utrecht")
        for branch, number in ((main, "100234"), (other, "100235")):
            suppliers.supplier_account_save(actor=actor, supplier_id=nbd.pk, branch_id=branch.pk,
                                            account_number=number)
        year = timezone.localdate().year
        made = {}
        for code, name, euros, parent, target, ledger in FUNDS:
            made[code] = funds.fund_save(actor=actor, year=year, code=code, name=name, allocated_cents=euros * 100,
                                         parent_id=made[parent].pk if parent else None, target_group=target,
                                         ledger_account=ledger)
        titles = list(Title.objects.filter(source=demo_titles.SOURCE).order_by("control_number")[:5])
        sent = orders.order_list_create(actor=actor, supplier_id=nbd.pk, name="Voorjaarsaanbod")
        for index, title in enumerate(titles[:3]):
            fund = made["JEUGD"] if title.audience == "youth" else made["VOLW"]
            orders.order_line_add(
                actor=actor, order_id=sent.pk, title_id=title.pk, list_price_cents=1999 + 500 * index,
                fund_id=fund.pk, copies=[{"branch_id": main.pk, "quantity": 2, "shelf_location": "Nieuw"},
                                         {"branch_id": other.pk, "quantity": 1, "shelf_location": "Nieuw"}])
        orders.order_send(actor=actor, order_id=sent.pk)
        draft = orders.order_list_create(actor=actor, supplier_id=nbd.pk, name="Aanvulling makkelijk lezen")
        if len(titles) > 3:
            orders.order_line_add(actor=actor, order_id=draft.pk, title_id=titles[3].pk, list_price_cents=1495,
                                  fund_id=made["MAKLEZ"].pk,
                                  copies=[{"branch_id": main.pk, "quantity": 2, "shelf_location": "Makkelijk lezen"}])
        claims.ordering_settings_update(actor=actor, holds_per_copy="0,5", claim_grace_days=7)
        say(f"Inkoop {organisation.name}: 2 leveranciers, {len(FUNDS)} fondsen, bestelling {sent.number} verstuurd "
            f"(EDIFACT), bestellijst {draft.number}")
