"""Money consistency under a random sequence, supplier title lists (CSV, MARC),
purchase suggestions from reservation queues, late lines and claims, rollover,
reports, and the daily late-lines task on a real Celery worker."""

import random

import pytest
from django.utils import timezone

from circulation.models import Hold
from ordering import selectors
from ordering.models import OrderLine, OrderStatus
from ordering.services import claims, funds, invoices, orders, receipt, titles
from tests.refusals import refused

from .conftest import fund_amounts, make_order, today_plus

pytestmark = pytest.mark.django_db


def test_every_fund_adds_up_after_a_random_sequence_of_orders_receipts_cancellations_and_invoices(acq):
    rng = random.Random(1717)
    fund_list = [acq.adult, acq.youth, acq.picture]
    barcode = iter(range(1, 10_000))
    for step in range(40):
        action = rng.choice(["order", "order", "receive", "cancel", "invoice", "approve"])
        try:
            if action == "order":
                specs = [(rng.choice(acq.titles), rng.randint(1, 5000), [(rng.choice([acq.main, acq.other]),
                                                                          rng.randint(1, 4))],
                          rng.choice(fund_list), str(rng.choice([0, 10, 25, 33.33])))
                         for _ in range(rng.randint(1, 3))]
                make_order(acq, *specs, send=True, actor=acq.admin)
            else:
                lines = list(OrderLine.objects.filter(order__status__in=[OrderStatus.ORDERED, OrderStatus.CLOSED]))
                if not lines:
                    continue
                line = rng.choice(lines)
                if action == "receive" and line.quantity_open:
                    count = rng.randint(1, line.quantity_open)
                    receipt.receipt_register(actor=acq.actor, supplier_id=acq.supplier.pk, copies=[
                        (line.pk, f"RND{next(barcode):06d}", None) for _ in range(count)])
                elif action == "cancel" and line.quantity_open:
                    orders.order_line_cancel(actor=acq.actor, line_id=line.pk,
                                             quantity=rng.randint(1, line.quantity_open))
                elif action == "invoice":
                    ready = line.quantity_received - line.quantity_invoiced
                    if ready > 0:
                        quantity = rng.randint(1, ready)
                        invoices.invoice_register(
                            actor=acq.actor, supplier_id=acq.supplier.pk, number=f"R{step}", invoice_date=acq.today,
                            lines=[(line.pk, quantity, line.unit_cost_cents * quantity + rng.randint(-50, 50), None)])
                elif action == "approve":
                    for invoice in selectors.invoices_list(status="registered"):
                        try:
                            invoices.invoice_approve(actor=acq.actor, invoice_id=invoice.pk)
                        except Exception:  # noqa: BLE001 - an unreceivable one stays registered
                            pass
        except Exception as error:  # refusals are part of the game; they must change nothing
            assert hasattr(error, "messages"), error
        assert selectors.fund_totals_check() == [], f"after step {step} ({action})"
    committed = sum(line.committed_cents for line in OrderLine.objects.filter(
        order__status__in=[OrderStatus.ORDERED, OrderStatus.CLOSED]))
    assert committed == sum(fund_amounts(fund)[1] for fund in fund_list)


CSV = """isbn;titel;auteur;uitgever;jaar;prijs;aantal
9789021416939;De avonden;Reve, Gerard;De Bezige Bij;1947;19,99;2
9789460041792;Het smelt;Lize Spit;Das Mag;2016;22,99;1
12345;Kapot ISBN;Iemand;X;2020;10,00;1
9789044630251;Zonder prijs;Iemand;X;2020;;1
9789083059808;Nul euro;Iemand;X;2020;0,00;1
9789029093255;Te veel;Iemand;X;2020;12,50;abc
9789401450003;;Alleen ISBN;X;2020;12,50;1
"""


def test_a_supplier_csv_list_fills_the_order_list_and_reports_broken_rows(acq):
    from catalogue.models import Title

    order = orders.order_list_create(actor=acq.actor, supplier_id=acq.supplier.pk)
    result = titles.title_list_import(actor=acq.actor, order_id=order.pk, data=CSV.encode(), file_name="lijst.csv",
                                      fund_id=acq.adult.pk, branch_id=acq.main.pk, shelf_location="Romans")
    assert [(line.description, line.quantity, line.list_price_cents) for line in result.lines] == [
        ("De avonden", 2, 1999), ("Het smelt", 1, 2299)]
    assert [error.code for error in result.problems] == [
        "row.isbn_invalid", "row.price_invalid", "row.price_invalid", "row.quantity_invalid", "row.title_missing"]
    assert "Regel 4: '12345' is geen geldig ISBN." in result.problems[0].messages
    assert result.titles_new == 1
    new = Title.objects.get(isbns__contains=["9789460041792"])
    assert (new.title, new.source, new.control_number) == ("Het smelt", "LEV-NBDB", "9789460041792")
    # The known title was not rewritten from the list.
    assert Title.objects.get(pk=acq.titles[0].pk).publisher == "De Bezige Bij"
    with refused("title_list.format_unknown"):
        titles.title_list_import(actor=acq.actor, order_id=order.pk, data=b"\x89PNG\r\n\x1a\n....", file_name="x",
                                 fund_id=acq.adult.pk, branch_id=acq.main.pk)


def test_a_supplier_marc_list_enters_through_the_catalogue_import(acq):
    from tests.factories import marc_record

    records = [marc_record(title="Het gouden ei", author="Krabbé, Tim", isbn="9789044616385",
                           control_number="LEV0001", source="NBDB"),
               marc_record(title="Zonder nummer", author="X")]
    records[0]["020"].add_subfield("c", "EUR 17,50")
    data = b"".join(record.as_marc() for record in records)
    order = orders.order_list_create(actor=acq.actor, supplier_id=acq.supplier.pk)
    result = titles.title_list_import(actor=acq.actor, order_id=order.pk, data=data, file_name="lijst.mrc",
                                      fund_id=acq.adult.pk, branch_id=acq.main.pk, default_quantity=2)
    assert [(line.description, line.quantity, line.list_price_cents) for line in result.lines] == [
        ("Het gouden ei", 2, 1750)]
    assert [error.code for error in result.problems] == ["row.record_no_title"]  # no ISBN, no 001
    assert result.marc_import.organisation_id == acq.library.pk


def test_a_supplier_record_of_a_national_title_orders_that_title_and_a_warning_is_no_refusal(acq):
    """The catalogue's authority (issue 11): the supplier's own record of 'Het diner' (its
    own 001, no 003, the same ISBN, its own wording, a control character in a note) is
    imported with a warning, attached to the national title without changing it, and the
    order line is for that title."""
    from pymarc import Field, Subfield

    from tests.factories import marc_record

    diner = acq.titles[1]
    before = bytes(diner.marc)
    record = marc_record(title="Diner, het (leverancier)", isbn="9789025443726", control_number="LEV0002", source="")
    record["020"].add_subfield("c", "EUR 22,99")
    record.add_ordered_field(Field(tag="500", indicators=[" ", " "], subfields=[Subfield("a", "Noot\x1b(B")]))
    order = orders.order_list_create(actor=acq.actor, supplier_id=acq.supplier.pk)
    result = titles.title_list_import(actor=acq.actor, order_id=order.pk, data=record.as_marc(),
                                      file_name="lijst.mrc", fund_id=acq.adult.pk, branch_id=acq.main.pk)

    assert result.problems == []
    assert [(line.title_id, line.list_price_cents) for line in result.lines] == [(diner.pk, 2299)]
    assert result.marc_import.warnings == 1 and result.marc_import.attached == 1
    diner.refresh_from_db()
    assert bytes(diner.marc) == before and diner.title == "Het diner"


def test_purchase_suggestions_come_from_long_reservation_queues(acq, member_defaults):
    from tests.members.factories import make_member

    from collection.services import item_add
    from tests.factories import collection_actor

    title = acq.titles[1]
    item_add(actor=collection_actor(acq.library), title_id=title.pk, barcodes=["SUG000001"], branch_id=acq.main.pk)
    members = [make_member(card_number=f"A80000{n:02d}", paid_until=today_plus(365)) for n in range(7)]
    for member in members:
        Hold.objects.create(member=member, title_id=title.pk, pickup_branch_id=acq.main.pk, status="waiting",
                            placed_at=timezone.now(), queue_at=timezone.now())
    (row,) = selectors.purchase_suggestions(ratio=3)
    assert (row.title.pk, row.waiting, row.copies, row.on_order, row.suggested) == (title.pk, 7, 1, 0, 2)
    make_order(acq, (title, 2000, [(acq.main, 2)], acq.adult))
    assert selectors.purchase_suggestions(ratio=3) == []  # 7 waiting for 3 copies: within the ratio


def test_late_lines_are_flagged_once_and_claims_clear_them(acq):
    order = make_order(acq, (acq.titles[0], 2000, [(acq.main, 2)], acq.adult), send=True)
    line = order.lines.get()
    later = today_plus(14 + 7 + 1)
    assert claims.late_lines_flag(actor=acq.actor, today=today_plus(14 + 7)) == 0
    assert claims.late_lines_flag(actor=acq.actor, today=later) == 1
    assert claims.late_lines_flag(actor=acq.actor, today=later) == 0  # idempotent
    assert [l.pk for l in selectors.claim_lines()] == [line.pk]
    claims.claims_sent(actor=acq.actor, line_ids=[line.pk], today=later)
    line.refresh_from_db()
    assert (line.claims_sent, line.claim_flagged_on, line.expected_on) == (1, None, later + (today_plus(14) - acq.today))
    with refused("claim.not_flagged"):
        claims.claims_sent(actor=acq.actor, line_ids=[line.pk])


def test_rollover_moves_open_commitments_and_keeps_the_tree(acq):
    order = make_order(acq, (acq.titles[0], 2000, [(acq.main, 2)], acq.picture), send=True)
    new = funds.fund_year_rollover(actor=acq.actor, from_year=acq.year, to_year=acq.year + 1, allocation_percent=110)
    by_code = {fund.code: fund for fund in new}
    assert by_code["PRENT"].parent_id == by_code["JEUGD"].pk and by_code["JEUGD"].target_group == "youth_reading"
    assert fund_amounts(by_code["PRENT"]) == (22_000, 3000, 0)
    assert fund_amounts(acq.picture) == (20_000, 0, 0)
    assert order.lines.get().fund_id == by_code["PRENT"].pk
    with refused("fund.rollover_exists"):
        funds.fund_year_rollover(actor=acq.actor, from_year=acq.year, to_year=acq.year + 1)
    assert selectors.fund_totals_check() == []


def test_target_group_share_and_reports(acq):
    make_order(acq, (acq.titles[0], 2000, [(acq.main, 4)], acq.adult),
               (acq.titles[1], 2000, [(acq.main, 1)], acq.picture), send=True)
    share = selectors.target_group_share(acq.year)
    assert (share.ordered_target, share.ordered_total, share.ordered_percent, share.meets_norm) == (
        1500, 7500, 20, True)
    (row,) = selectors.supplier_report(acq.year)
    assert (row.orders, row.copies_ordered, row.ordered_cents, row.discount_percent) == (1, 5, 7500, 25)
