"""Item services: every error path changes nothing, and the national holdings
index follows every change in the same transaction."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from collection import selectors, services
from collection.models import Item, ItemEvent, ItemStatus, Stocktake, WithdrawalReason
from core.actors import Actor
from core.errors import error_codes
from tests.factories import TitleFactory

from .conftest import add_items, holding_counts
from .helpers import set_status_as_circulation


def snapshot():
    """Everything the services write, to show that a refused action wrote nothing."""
    return (
        sorted(Item.objects.values_list("barcode", "status", "owning_branch_id", "shelf_location", "withdrawn_at")),
        ItemEvent.objects.count(),
        sorted(Holding.objects.values_list("title_id", "organisation_id", "branch_id", "total", "available")),
    )


def test_adding_scanned_barcodes_creates_items_events_and_holdings(alpha, alpha_branches, title, staff):
    v1 = alpha_branches[0]
    items = services.item_add(
        actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk,
        barcodes="ALP00001\nALP00002\n\n", branch_id=v1.pk, shelf_location="Romans", call_number="WOLK",
        price_cents=1995,
    )
    assert [item.barcode for item in items] == ["ALP00001", "ALP00002"]
    stored = Item.objects.get(barcode="ALP00002")
    assert (stored.owning_branch_id, stored.current_branch_id, stored.status) == (v1.pk, v1.pk, "available")
    assert stored.acquired_on == timezone.localdate()
    event = stored.events.get()
    assert (event.kind, event.staff_user_id) == ("added", staff.alpha_collection.pk)
    assert event.actor_ref == f"staff:{staff.alpha_collection.pk}"
    assert holding_counts(alpha, title, v1) == (2, 2)


@pytest.mark.parametrize(
    "barcodes, message, code",
    [
        ("ALP00001\nab!", "Barcode 'ab!' is ongeldig", "item.barcode_invalid"),
        ("ALP00001\nAB1", "Barcode 'AB1' is ongeldig", "item.barcode_invalid"),
        ("ALP00001\nALP00001", "Barcode 'ALP00001' is twee keer gescand.", "item.barcode_scanned_twice"),
        ("ALP00003\nEXIST0001", "Barcode 'EXIST0001' is al in gebruik (exemplaar van 'De avonden').",
         "item.barcode_in_use"),
        ("", "Scan minstens één barcode.", "item.no_barcodes"),
    ],
)
def test_a_bad_barcode_refuses_the_whole_batch(alpha, alpha_branches, title, staff, barcodes, message, code):
    services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk,
                      barcodes=["EXIST0001"], branch_id=alpha_branches[0].pk)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk,
                          barcodes=barcodes, branch_id=alpha_branches[0].pk)
    assert any(m.startswith(message) for m in error.value.messages), error.value.messages
    assert error_codes(error.value) == [code]
    assert snapshot() == before


def test_an_unknown_title_is_refused(alpha, alpha_branches, staff):
    with pytest.raises(ValidationError) as error:
        services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=987654321,
                          barcodes=["ALP00001"], branch_id=alpha_branches[0].pk)
    assert error.value.messages == ["Titel 987654321 bestaat niet in de catalogus."]
    assert error_codes(error.value) == ["title.unknown"]
    assert snapshot() == ([], 0, [])


def test_a_branch_of_another_library_is_refused(alpha, libraries, title, staff):
    beta_branch = libraries.beta.branches.first()
    with pytest.raises(ValidationError) as error:
        services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk,
                          barcodes=["ALP00001"], branch_id=beta_branch.pk)
    assert error.value.messages == ["Vestiging hoort niet bij Testbibliotheek alpha."]
    assert error_codes(error.value) == ["branch.other_library"]
    assert snapshot() == ([], 0, [])


@pytest.fixture
def stocked(alpha, alpha_branches, title, staff):
    """Two items and an open stocktake in alpha, made by alpha's collection staff."""
    actor = Actor.staff(staff.alpha_collection, alpha)
    services.item_add(actor=actor, title_id=title.pk, barcodes=["ALP00001", "ALP00002"],
                      branch_id=alpha_branches[0].pk, shelf_location="Romans")
    stocktake = services.stocktake_start(actor=actor, branch_id=alpha_branches[0].pk, shelf_location="Romans")
    return stocktake


def every_write(actor, *, title, branch, stocktake):
    """Each collection service, called by `actor` (name, call)."""
    return [
        ("item_add", lambda: services.item_add(actor=actor, title_id=title.pk, barcodes=["NEW000001"],
                                               branch_id=branch.pk)),
        ("item_update", lambda: services.item_update(actor=actor, barcode="ALP00001", call_number="ANDERS")),
        ("item_move", lambda: services.item_move(actor=actor, barcodes=["ALP00001"], branch_id=branch.pk,
                                                 shelf_location="Elders")),
        ("item_status_change", lambda: services.item_status_change(actor=actor, barcode="ALP00001",
                                                                   to_status="missing")),
        ("item_withdraw", lambda: services.item_withdraw(actor=actor, barcodes=["ALP00001"], reason="worn")),
        ("stocktake_start", lambda: services.stocktake_start(actor=actor, branch_id=branch.pk,
                                                             shelf_location="Jeugd")),
        ("stocktake_scan", lambda: services.stocktake_scan(actor=actor, stocktake_id=stocktake.pk,
                                                           barcode="ALP00001")),
        ("stocktake_finish", lambda: services.stocktake_finish(actor=actor, stocktake_id=stocktake.pk,
                                                               mark_missing=True)),
    ]


def everything():
    return snapshot(), sorted(Stocktake.objects.values_list("pk", "finished_at")), \
        sorted(Stocktake.objects.values_list("scans__barcode", flat=True), key=str)


def test_an_actor_of_another_library_is_refused_and_changes_nothing(alpha, alpha_branches, title, libraries, stocked):
    # A collection user of beta, while the connection works in alpha's schema.
    from tests.factories import staff_with_role

    beta_actor = Actor.staff(staff_with_role(libraries.beta, "collection"), libraries.beta)
    before = everything()
    for name, call in every_write(beta_actor, title=title, branch=alpha_branches[1], stocktake=stocked):
        with pytest.raises(ValidationError) as error:
            call()
        assert error_codes(error.value) == ["actor.other_library"], name
    assert everything() == before


def test_staff_without_the_collection_role_are_refused_and_change_nothing(alpha, alpha_branches, title, staff,
                                                                          stocked):
    before = everything()
    for actor in (Actor.staff(staff.alpha_desk, alpha), Actor.member(1, alpha), Actor.system("nightly", alpha),
                  Actor.machine(3, alpha_branches[0].pk, alpha)):
        for name, call in every_write(actor, title=title, branch=alpha_branches[1], stocktake=stocked):
            with pytest.raises(ValidationError) as error:
                call()
            assert error_codes(error.value) == ["actor.no_role"], (actor, name)
    assert everything() == before


def test_circulation_changes_record_their_actor(alpha, alpha_branches, title, staff, libraries):
    """item_circulation_update is circulation's: no role needed, but only in the actor's own library."""
    from django.db import transaction

    services.item_add(actor=Actor.staff(staff.alpha_collection, alpha), title_id=title.pk, barcodes=["ALP00001"],
                      branch_id=alpha_branches[0].pk)
    machine = Actor.machine(3, alpha_branches[0].pk, alpha)
    with transaction.atomic():
        item = services.item_lock("ALP00001")
        services.item_circulation_update(actor=machine, item=item, to_status="on_loan", loaned_at=timezone.now())
    event = Item.objects.get(barcode="ALP00001").events.get(kind="status")
    assert (event.to_status, event.staff_user_id, event.actor_ref) == (
        "on_loan", None, f"machine:3@{alpha_branches[0].pk}")
    assert holding_counts(alpha, title, alpha_branches[0]) == (1, 0)

    before = snapshot()
    with transaction.atomic():
        item = services.item_lock("ALP00001")
        with pytest.raises(ValidationError) as error:
            services.item_circulation_update(actor=Actor.system("nightly", libraries.beta), item=item,
                                             to_status="available")
    assert error_codes(error.value) == ["actor.other_library"]
    assert snapshot() == before


def test_withdrawing_a_batch_with_an_item_on_loan_changes_nothing(alpha, alpha_branches, title, staff):
    user = staff.alpha_collection
    v1 = alpha_branches[0]
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk,
                      barcodes=["ALP00001", "ALP00002", "ALP00003"], branch_id=v1.pk)
    set_status_as_circulation(alpha, "ALP00002", "on_loan")
    set_status_as_circulation(alpha, "ALP00003", "on_hold_shelf")
    assert holding_counts(alpha, title, v1) == (3, 1)
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.item_withdraw(actor=Actor.staff(user, alpha), barcodes="ALP00001 ALP00002 ALP00003 NOPE12345",
                               reason=WithdrawalReason.WORN)
    assert error.value.messages == [
        "Exemplaar ALP00002 is uitgeleend; neem het eerst in: niet afgeschreven.",
        "Exemplaar ALP00003 staat op de reserveringsplank voor een lid: niet afgeschreven.",
        "Exemplaar NOPE12345 bestaat niet in deze bibliotheek.",
    ]
    assert error_codes(error.value) == ["item.withdraw_on_loan", "item.withdraw_on_hold_shelf", "item.not_found"]
    assert error.value.errors[0].params == {"barcode": "ALP00002"}
    assert snapshot() == before


def test_withdrawing_takes_items_out_of_the_holdings_and_is_final(alpha, alpha_branches, title, staff):
    user = staff.alpha_collection
    v1 = alpha_branches[0]
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["ALP00001", "ALP00002"],
                      branch_id=v1.pk)
    services.item_withdraw(actor=Actor.staff(user, alpha), barcodes=["ALP00001"], reason="outdated")
    item = Item.objects.get(barcode="ALP00001")
    assert (item.status, item.withdrawal_reason) == ("withdrawn", "outdated") and item.withdrawn_at
    assert item.events.filter(kind="withdrawn", from_status="available", to_status="withdrawn").exists()
    assert holding_counts(alpha, title, v1) == (1, 1)

    with pytest.raises(ValidationError, match="is al afgeschreven") as error:
        services.item_withdraw(actor=Actor.staff(user, alpha), barcodes=["ALP00001"], reason="outdated")
    assert error_codes(error.value) == ["item.withdraw_already"]
    for status in ("available", "missing", "in_processing"):
        with pytest.raises(ValidationError, match="kan niet van Afgeschreven naar") as error:
            services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status=status)
        assert error_codes(error.value) == ["item.status_not_allowed"]
    with pytest.raises(ValidationError, match="afgeschreven en kan niet") as error:
        services.item_move(actor=Actor.staff(user, alpha), barcodes=["ALP00001"], branch_id=v1.pk,
                           shelf_location="Elders")
    assert error_codes(error.value) == ["item.withdrawn_not_movable"]
    with pytest.raises(ValidationError, match="Kies een reden") as error:
        services.item_withdraw(actor=Actor.staff(user, alpha), barcodes=["ALP00002"], reason="")
    assert error_codes(error.value) == ["item.withdrawal_reason_missing"]

    services.item_withdraw(actor=Actor.staff(user, alpha), barcodes=["ALP00002"], reason="lost")
    assert holding_counts(alpha, title, v1) is None  # no copies left: the row is gone


def test_status_changes_follow_the_allowed_transitions(alpha, alpha_branches, title, staff):
    user = staff.alpha_collection
    v1 = alpha_branches[0]
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["ALP00001"],
                      branch_id=v1.pk)
    services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status="missing")
    assert holding_counts(alpha, title, v1) == (1, 0)
    with pytest.raises(ValidationError, match="gebruik Afschrijven") as error:
        services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status="withdrawn")
    assert error_codes(error.value) == ["item.withdraw_needs_reason"]
    with pytest.raises(ValidationError, match="heeft de status Vermist al") as error:
        services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status="missing")
    assert error_codes(error.value) == ["item.status_unchanged"]
    with pytest.raises(ValidationError, match="zet de uitleen") as error:
        services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status="on_loan")
    assert error_codes(error.value) == ["item.status_by_circulation"]
    services.item_status_change(actor=Actor.staff(user, alpha), barcode="ALP00001", to_status="available")
    assert holding_counts(alpha, title, v1) == (1, 1)
    # The transition table still stands behind the manual statuses: a copy that circulation
    # put on loan cannot be put in processing (item_status_change refuses it even sooner).
    set_status_as_circulation(alpha, "ALP00001", "on_loan")
    with pytest.raises(ValidationError, match="kan niet van Uitgeleend naar In bewerking") as error:
        services.item_circulation_update(actor=Actor.system("test", alpha), item=Item.objects.get(barcode="ALP00001"),
                                         to_status="in_processing")
    assert error.value.code == "item.status_not_allowed"
    assert error.value.params == {"barcode": "ALP00001", "from_status": "Uitgeleend", "to_status": "In bewerking"}
    assert list(Item.objects.get(barcode="ALP00001").events.filter(kind="status")
                .values_list("from_status", "to_status").order_by("pk")) == [("available", "missing"),
                                                                            ("missing", "available"),
                                                                            ("available", "on_loan")]


def test_not_for_loan_items_count_but_are_not_available(alpha, alpha_branches, title, staff):
    user = staff.alpha_collection
    v1 = alpha_branches[0]
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["ALP00001", "ALP00002"],
                      branch_id=v1.pk)
    services.item_update(actor=Actor.staff(user, alpha), barcode="ALP00001", not_for_loan=True,
                         call_number="NASLAG")
    assert holding_counts(alpha, title, v1) == (2, 1)
    event = Item.objects.get(barcode="ALP00001").events.get(kind="edited")
    assert "signatuur" in event.detail and "niet uitleenbaar" in event.detail


def test_moving_updates_the_holdings_of_both_branches(alpha, alpha_branches, title, staff):
    user = staff.alpha_collection
    v1, v2 = alpha_branches
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk,
                      barcodes=["ALP00001", "ALP00002", "ALP00003"], branch_id=v1.pk, shelf_location="Romans")
    services.item_move(actor=Actor.staff(user, alpha), barcodes="ALP00001\nALP00002", branch_id=v2.pk,
                       shelf_location="Jeugd")
    moved = Item.objects.get(barcode="ALP00002")
    assert (moved.owning_branch_id, moved.current_branch_id, moved.shelf_location) == (v2.pk, v2.pk, "Jeugd")
    assert moved.events.filter(kind="moved", from_branch_id=v1.pk, to_branch_id=v2.pk).exists()
    assert holding_counts(alpha, title, v1) == (1, 1)
    assert holding_counts(alpha, title, v2) == (2, 2)

    before = snapshot()
    with pytest.raises(ValidationError) as error:
        services.item_move(actor=Actor.staff(user, alpha), barcodes=["ALP00003", "ALP00009"],
                           branch_id=v2.pk, shelf_location="Jeugd")
    assert error.value.messages == ["Exemplaar ALP00009 bestaat niet in deze bibliotheek."]
    assert error_codes(error.value) == ["item.not_found"]
    with pytest.raises(ValidationError) as error:
        services.item_move(actor=Actor.staff(user, alpha), barcodes=["ALP00002"], branch_id=v2.pk,
                           shelf_location="Jeugd")
    assert error.value.messages == ["Exemplaar ALP00002 staat al in Alpha vestiging 2, Jeugd."]
    assert error_codes(error.value) == ["item.already_there"]
    assert snapshot() == before


def test_rebuild_holdings_repairs_and_reports_each_difference(alpha, alpha_branches, libraries, staff):
    user = staff.alpha_collection
    v1, v2 = alpha_branches
    first, second, third = TitleFactory(), TitleFactory(), TitleFactory()
    services.item_add(actor=Actor.staff(user, alpha), title_id=first.pk, barcodes=["ALP00001", "ALP00002"],
                      branch_id=v1.pk)
    services.item_add(actor=Actor.staff(user, alpha), title_id=second.pk, barcodes=["ALP00003"],
                      branch_id=v2.pk)
    # Tamper with the index: a wrong count, a missing row and a row for nothing.
    Holding.objects.filter(title=first, branch=v1).update(total=5, available=0)
    Holding.objects.filter(title=second, branch=v2).delete()
    Holding.objects.create(title=third, organisation=alpha, branch=v1, total=1, available=1)

    connection.set_schema_to_public()
    out = io.StringIO()
    call_command("rebuild_holdings", stdout=out)
    output = out.getvalue()
    assert f"titel {first.pk}, vestiging {v1.pk}: was 5 totaal / 0 beschikbaar, nu 2 totaal / 2 beschikbaar" in output
    assert f"titel {second.pk}, vestiging {v2.pk}: was geen rij, nu 1 totaal / 1 beschikbaar" in output
    assert f"titel {third.pk}, vestiging {v1.pk}: was 1 totaal / 1 beschikbaar, nu geen rij" in output
    assert "lib_alpha: 3 verschil(len) hersteld" in output
    assert "[1/" in output  # progress per schema
    assert holding_counts(alpha, first, v1) == (2, 2)
    assert holding_counts(alpha, second, v2) == (1, 1)
    assert holding_counts(alpha, third, v1) is None

    again = io.StringIO()
    call_command("rebuild_holdings", "--library", "alpha", stdout=again)
    assert "lib_alpha: 0 verschil(len) hersteld" in again.getvalue()


def test_national_availability_counts_other_libraries_only(libraries, title, staff, alpha_branches):
    from tests.factories import staff_with_role

    beta_user = staff_with_role(libraries.beta, "collection")
    gamma_user = staff.gamma_library_admin
    add_items(libraries.alpha, staff.alpha_collection, title, alpha_branches[0], ["ALP00001"])
    beta_v1, beta_v2 = libraries.beta.branches.order_by("code")
    add_items(libraries.beta, beta_user, title, beta_v1, ["BET00001", "BET00002"])
    add_items(libraries.beta, beta_user, title, beta_v2, ["BET00003"])
    add_items(libraries.gamma, gamma_user, title, libraries.gamma.branches.first(), ["GAM00001"])
    with tenant_context(libraries.gamma):
        set_status_as_circulation(libraries.gamma, "GAM00001", "on_loan")

    with tenant_context(libraries.alpha):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            national = selectors.national_availability(title_id=title.pk, organisation=libraries.alpha)
    # One query (besides switching the search path for the tenant context).
    assert len([q for q in queries if not q["sql"].startswith("SET search_path")]) == 1
    assert [(row["name"], row["total"], row["available"]) for row in national.libraries] == [
        ("Testbibliotheek beta", 3, 3), ("Testbibliotheek gamma", 1, 0)]
    assert (national.library_count, national.total, national.available) == (2, 4, 3)


def test_weeding_list_cutoff_ordering_and_norm(alpha, alpha_branches, staff):
    user = staff.alpha_collection
    v1, v2 = alpha_branches
    now = timezone.now()
    title = TitleFactory()
    today = timezone.localdate()
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk,
                      barcodes=[f"W{n:07d}" for n in range(1, 9)], branch_id=v1.pk, shelf_location="Romans",
                      acquired_on=today - datetime.timedelta(days=5 * 365))
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["W0000009", "W0000010"],
                      branch_id=v2.pk, shelf_location="Romans", acquired_on=today - datetime.timedelta(days=800))
    days = datetime.timedelta(days=1)
    Item.objects.filter(barcode="W0000001").update(last_loaned_at=now - 400 * days)  # not loaned > 12 months
    Item.objects.filter(barcode="W0000002").update(last_loaned_at=now - 700 * days)  # oldest loan
    Item.objects.filter(barcode="W0000003").update(last_loaned_at=now - 30 * days)  # recent: not a candidate
    Item.objects.filter(barcode__in=["W0000004", "W0000005", "W0000006", "W0000007"]).update(
        last_loaned_at=now - 10 * days)
    # W0000008: never loaned, acquired 5 years ago: candidate, oldest of all in v1.
    Item.objects.filter(barcode="W0000009").update(last_loaned_at=now - 366 * days)
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["NEW000001"],
                      branch_id=v1.pk, shelf_location="Romans")  # never loaned but new: not a candidate
    services.item_withdraw(actor=Actor.staff(user, alpha), barcodes=["W0000010"], reason="worn")

    result = selectors.weeding_list(organisation=alpha, months=12)
    assert [item.barcode for item in result.items] == ["W0000008", "W0000002", "W0000001", "W0000009"]
    v1_row, v2_row = result.branches
    assert (v1_row.branch, v1_row.collection_size, v1_row.candidates, v1_row.share_percent) == (v1, 9, 3, 33.3)
    assert (v1_row.norm_target, v1_row.reaches_norm) == (1, True)
    assert (v2_row.collection_size, v2_row.candidates) == (1, 1)  # the withdrawn one is not counted

    only_v2 = selectors.weeding_list(organisation=alpha, months=12, branch_id=v2.pk)
    assert [item.barcode for item in only_v2.items] == ["W0000009"]
    longer = selectors.weeding_list(organisation=alpha, months=24)
    assert [item.barcode for item in longer.items] == ["W0000008"]


def test_weeding_cutoff_is_calendar_months():
    moment = timezone.make_aware(datetime.datetime(2025, 3, 31, 12, 0))
    assert selectors.weeding_cutoff(1, moment).date() == datetime.date(2025, 2, 28)
    assert selectors.weeding_cutoff(15, moment).date() == datetime.date(2023, 12, 31)


def test_stocktake_finds_missing_and_misplaced_items(alpha, alpha_branches, staff):
    user = staff.alpha_collection
    v1, v2 = alpha_branches
    title = TitleFactory()
    add = dict(actor=Actor.staff(user, alpha), title_id=title.pk)
    services.item_add(**add, barcodes=["SHELF0001", "SHELF0002", "SHELF0003", "SHELF0004"], branch_id=v1.pk,
                      shelf_location="Romans A")
    services.item_add(**add, barcodes=["OTHER0001"], branch_id=v1.pk, shelf_location="Romans B")
    services.item_add(**add, barcodes=["FARAWAY01"], branch_id=v2.pk, shelf_location="Romans A")
    set_status_as_circulation(alpha, "SHELF0004", "on_loan")
    services.item_add(**add, barcodes=["LOST00001"], branch_id=v1.pk, shelf_location="Romans A")
    services.item_status_change(actor=Actor.staff(user, alpha), barcode="LOST00001", to_status="missing")

    stocktake = services.stocktake_start(actor=Actor.staff(user, alpha), branch_id=v1.pk,
                                         shelf_location=" Romans A ")
    for barcode in ["SHELF0001", "SHELF0002", "OTHER0001", "FARAWAY01", "SHELF0004", "LOST00001", "UNKNOWN01",
                    "SHELF0001"]:
        services.stocktake_scan(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk, barcode=barcode)
    with pytest.raises(ValidationError, match="ongeldig") as error:
        services.stocktake_scan(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk, barcode="??")
    assert error_codes(error.value) == ["item.barcode_invalid"]

    result = selectors.stocktake_result(stocktake=stocktake)
    assert (result.expected, result.scanned) == (3, 7)
    assert [item.barcode for item in result.missing] == ["SHELF0003"]
    assert [(m.barcode, m.reason) for m in result.misplaced] == [
        ("OTHER0001", "Hoort op plaats Romans B"),
        ("FARAWAY01", "Hoort in Alpha vestiging 2, Romans A"),
        ("SHELF0004", "Status Uitgeleend: hoort niet in de kast"),
        ("LOST00001", "Status Vermist: hoort niet in de kast"),
        ("UNKNOWN01", "Onbekende barcode: geen exemplaar van deze bibliotheek"),
    ]
    assert holding_counts(alpha, title, v1) == (6, 4)

    outcome = services.stocktake_finish(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk,
                                        mark_missing=True)
    assert outcome.seen == 6
    assert [item.barcode for item in outcome.marked_missing] == ["SHELF0003"]
    assert [item.barcode for item in outcome.found] == ["LOST00001"]
    assert Item.objects.get(barcode="SHELF0003").status == "missing"
    assert Item.objects.get(barcode="LOST00001").status == "available"
    assert Item.objects.get(barcode="SHELF0001").last_seen_at is not None
    assert Item.objects.get(barcode="SHELF0003").last_seen_at is None
    assert holding_counts(alpha, title, v1) == (6, 4)  # one lost, one found
    finished = selectors.stocktake_result(stocktake=selectors.stocktake_get(stocktake_id=stocktake.pk))
    assert [item.barcode for item in finished.missing] == ["SHELF0003"]

    with pytest.raises(ValidationError, match="al afgerond") as error:
        services.stocktake_scan(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk, barcode="SHELF0003")
    assert error_codes(error.value) == ["stocktake.finished"]


def test_stocktake_without_confirmation_marks_nothing_missing(alpha, alpha_branches, staff):
    user = staff.alpha_collection
    title = TitleFactory()
    services.item_add(actor=Actor.staff(user, alpha), title_id=title.pk, barcodes=["SHELF0001", "SHELF0002"],
                      branch_id=alpha_branches[0].pk, shelf_location="Romans")
    stocktake = services.stocktake_start(actor=Actor.staff(user, alpha), branch_id=alpha_branches[0].pk,
                                         shelf_location="Romans")
    assert (stocktake.started_by_id, stocktake.actor_ref) == (user.pk, f"staff:{user.pk}")
    services.stocktake_scan(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk, barcode="SHELF0001")
    outcome = services.stocktake_finish(actor=Actor.staff(user, alpha), stocktake_id=stocktake.pk)
    assert (outcome.seen, outcome.marked_missing) == (1, [])
    assert Item.objects.get(barcode="SHELF0002").status == ItemStatus.AVAILABLE
