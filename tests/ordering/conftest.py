"""Fixtures for acquisitions: library alpha's acquisitions staff at its first
branch, a supplier with EDIFACT, funds of this year and titles to order; all in
alpha's schema inside each test's rolled-back transaction."""

import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from ordering.services import funds, orders, suppliers
from tests.factories import TitleFactory
from tests.members.conftest import member_defaults  # noqa: F401 (shared fixture)

DATA = Path(__file__).resolve().parents[1] / "data" / "edifact"
SUPPLIER_EAN = "8711234500007"
BUYER_EAN = "8719999000013"


def edifact_sample(name, **values):
    text = (DATA / name).read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@pytest.fixture
def acq(libraries, staff, member_defaults):  # noqa: F811
    alpha = libraries.alpha
    main, other = list(alpha.branches.order_by("code"))[:2]
    year = timezone.localdate().year
    with tenant_context(alpha):
        actor = Actor.staff(staff.alpha_acquisitions, alpha, branch_id=main.pk)
        supplier = suppliers.supplier_save(
            actor=actor, code="NBDB", name="NBD Biblion", default_discount="25", vat="9", delivery_days=14,
            edi_enabled=True, edi_id=SUPPLIER_EAN, buyer_edi_id=BUYER_EAN)
        youth = funds.fund_save(actor=actor, year=year, code="JEUGD", name="Jeugd", allocated_cents=100_000,
                                target_group="youth_reading", ledger_account="4410")
        picture = funds.fund_save(actor=actor, year=year, code="PRENT", name="Prentenboeken",
                                  allocated_cents=20_000, parent_id=youth.pk, target_group="youth_reading")
        adult = funds.fund_save(actor=actor, year=year, code="VOLW", name="Volwassenen", allocated_cents=300_000,
                                ledger_account="4400")
        titles = [
            TitleFactory(title="De avonden", contributors_text="Reve, Gerard", isbns=["9789021416939"],
                         publisher="De Bezige Bij", year=1947),
            TitleFactory(title="Het diner", contributors_text="Koch, Herman", isbns=["9789025443726"],
                         publisher="Anthos", year=2009),
            TitleFactory(title="Max Havelaar", contributors_text="Multatuli", isbns=["9789045117270"],
                         publisher="Veen", year=1860),
        ]
        yield SimpleNamespace(
            library=alpha, main=main, other=other, actor=actor, supplier=supplier, youth=youth, picture=picture,
            adult=adult, titles=titles, year=year, today=timezone.localdate(), staff=staff,
            admin=Actor.staff(staff.alpha_library_admin, alpha, branch_id=main.pk),
        )


def make_order(acq, *specs, send=False, actor=None):
    """An order list with lines: specs = (title, price cents, [(branch, quantity)], fund[, discount])."""
    order = orders.order_list_create(actor=acq.actor, supplier_id=acq.supplier.pk, name="Test")
    for spec in specs:
        title, price, copies, fund = spec[:4]
        orders.order_line_add(
            actor=acq.actor, order_id=order.pk, title_id=title.pk, list_price_cents=price, fund_id=fund.pk,
            discount=spec[4] if len(spec) > 4 else None,
            copies=[{"branch_id": branch.pk, "quantity": quantity, "shelf_location": "Romans"}
                    for branch, quantity in copies])
    if send:
        orders.order_send(actor=actor or acq.actor, order_id=order.pk)
    order.refresh_from_db()
    return order


def standard_order(acq, *, send=True):
    """Three lines: 3 x 'De avonden' (2 main, 1 other) at 20.00, 2 x 'Het diner' at 24.99 on adults,
    1 x 'Max Havelaar' at 12.50 on youth; 25 % discount."""
    return make_order(
        acq,
        (acq.titles[0], 2000, [(acq.main, 2), (acq.other, 1)], acq.adult),
        (acq.titles[1], 2499, [(acq.main, 2)], acq.adult),
        (acq.titles[2], 1250, [(acq.main, 1)], acq.youth),
        send=send,
    )


def fund_amounts(fund):
    fund.refresh_from_db()
    return fund.allocated_cents, fund.committed_cents, fund.spent_cents


def today_plus(days):
    return timezone.localdate() + datetime.timedelta(days=days)
