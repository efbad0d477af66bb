"""Borrower kinds: a loan or hold belongs to an own member, a guest card or a
library organisation (the lending side of interlibrary loan). The database
refuses a row with the fields of another kind; a library borrows through the
same checkout, checkin, renewal and hold services as a member (the copy goes out
'on interlibrary loan', the rules for libraries apply, limits count), is charged
nothing and told nothing; it is a reference to the registry, so no personal data
crosses between the two libraries."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from catalogue.models import Holding
from circulation.borrowers import Borrower, borrower_find, borrower_library
from circulation.models import BorrowerKind, CirculationEvent, Hold, HoldStatus, Loan, LoanRule
from circulation.rules import loan_rule_choose
from circulation.selectors import hold_shelf, title_queue
from circulation.services import holds as hold_services
from circulation.services.loans import checkout, renew
from circulation.services.rules import loan_rule_save
from collection.models import Item, ItemEvent, ItemStatus
from core.actors import Actor
from core.errors import error_codes
from members.models import LedgerEntry
from notices.models import Notice
from tenants.models import CardIndex, GuestLoan, OutboxMessage
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule
from .helpers import at, codes, lend, refused, take_back

pytestmark = pytest.mark.django_db

REQUEST = "IBL-2026-000017"


def desk_actor(desk, staff_user=None, branch=None):
    return Actor.staff(staff_user or desk.staff, desk.library, branch_id=(branch or desk.main).pk)


def lend_to_library(desk, item, library, reference=REQUEST, *, staff_user=None, now=None, override_reason="",
                    branch=None, actor=None):
    """Checkout of a copy to a library organisation, through the desk's checkout service."""
    return checkout(actor=actor or desk_actor(desk, staff_user, branch), borrower=Borrower.library(library, reference),
                    barcode=item.barcode, now=now, override_reason=override_reason)


def renew_loan(desk, loan, today):
    return renew(actor=desk_actor(desk), loan_id=loan.pk, today=today)


def hold_for_library(desk, library, reference=REQUEST, *, title_id, pickup=None):
    return hold_services.hold_place(actor=desk_actor(desk), borrower=Borrower.library(library, reference),
                                    title_id=title_id, pickup_branch_id=(pickup or desk.main).pk)


def place(desk, member, *, title_id, pickup=None):
    return hold_services.hold_place(actor=desk_actor(desk), member=member, title_id=title_id,
                                    pickup_branch_id=(pickup or desk.main).pk)


def refused_by_database(**fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(**fields)


# --- the database keeps each kind's fields ----------------------------------------------

def test_constraint_refuses_loans_with_the_fields_of_another_kind(desk, libraries):
    [item] = desk.items()
    base = {"item": item, "title_id": item.title_id, "branch_id": desk.main.pk, "loaned_at": timezone.now(),
            "due_on": timezone.localdate()}
    beta = libraries.beta.pk
    # A member's loan without its member, or with a guest card or a library too.
    refused_by_database(**base, borrower_kind=BorrowerKind.MEMBER)
    refused_by_database(**base, borrower_kind=BorrowerKind.MEMBER, member=desk.member, guest_card_number="B2000001",
                        guest_organisation_id=beta)
    refused_by_database(**base, borrower_kind=BorrowerKind.MEMBER, member=desk.member, borrowing_library_id=beta)
    refused_by_database(**base, borrower_kind=BorrowerKind.MEMBER, member=desk.member, borrowing_library_ref="x")
    # A guest's loan without its home library or its card, or with a member.
    refused_by_database(**base, borrower_kind=BorrowerKind.GUEST, guest_card_number="B2000001")
    refused_by_database(**base, borrower_kind=BorrowerKind.GUEST, guest_organisation_id=beta)
    refused_by_database(**base, borrower_kind=BorrowerKind.GUEST, guest_card_number="B2000001",
                        guest_organisation_id=beta, member=desk.member)
    # A guest card on a loan that says nothing about its kind is a member's loan: refused.
    refused_by_database(**base, guest_card_number="B2000001", guest_organisation_id=beta)
    # A library's loan without the library, or with a member or a guest card.
    refused_by_database(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_ref=REQUEST)
    refused_by_database(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta, member=desk.member)
    refused_by_database(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                        guest_card_number="B2000001")
    refused_by_database(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                        guest_organisation_id=beta)
    # An unknown kind.
    refused_by_database(**base, borrower_kind="robot", member=desk.member)
    assert not Loan.objects.exists()

    # What is allowed: each kind with its fields, and history whose person was unlinked.
    library_loan = Loan.objects.create(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                                       borrowing_library_ref=REQUEST)
    ended = {"ended_at": timezone.now(), "ending": Loan.Ending.RETURNED, "anonymised_at": timezone.now()}
    Loan.objects.filter(pk=library_loan.pk).update(**ended)
    Loan.objects.create(**base, borrower_kind=BorrowerKind.MEMBER, **ended)
    Loan.objects.create(**base, borrower_kind=BorrowerKind.GUEST, guest_organisation_id=beta, **ended)
    # ... but an open loan never lacks its borrower.
    refused_by_database(**base, borrower_kind=BorrowerKind.MEMBER, anonymised_at=timezone.now())


def test_constraint_refuses_holds_with_the_fields_of_another_kind(desk, libraries):
    [item] = desk.items()
    now = timezone.now()
    base = {"title_id": item.title_id, "pickup_branch_id": desk.main.pk, "placed_at": now, "queue_at": now}
    beta = libraries.beta.pk
    for fields in (
        {"borrower_kind": BorrowerKind.MEMBER},
        {"borrower_kind": BorrowerKind.MEMBER, "member": desk.member, "borrowing_library_id": beta},
        {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_ref": REQUEST},
        {"borrower_kind": BorrowerKind.LIBRARY, "borrowing_library_id": beta, "member": desk.member},
        # Guests reserve at their home library: no guest kind for holds.
        {"borrower_kind": BorrowerKind.GUEST, "member": desk.member},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Hold.objects.create(**base, **fields)
    assert not Hold.objects.exists()
    Hold.objects.create(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                        borrowing_library_ref=REQUEST)
    # One active hold per library request and title.
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.create(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                            borrowing_library_ref=REQUEST)
    Hold.objects.create(**base, borrower_kind=BorrowerKind.LIBRARY, borrowing_library_id=beta,
                        borrowing_library_ref="IBL-2026-000018")


def test_member_and_guest_loans_record_their_kind(desk, libraries):
    with tenant_context(libraries.beta):
        make_member(card_number="B2000001", paid_until=PAID_UNTIL)
    own, guests = desk.items(), desk.items()
    loan = lend(desk, own[0]).loan
    guest_loan = lend(desk, guests[0], card="B2000001").loan
    assert Loan.objects.get(pk=loan.pk).borrower_kind == BorrowerKind.MEMBER
    guest_loan = Loan.objects.get(pk=guest_loan.pk)
    assert guest_loan.borrower_kind == BorrowerKind.GUEST and guest_loan.is_guest_loan
    assert borrower_find(organisation=desk.library, card_number="B2000001").kind == BorrowerKind.GUEST
    assert borrower_find(organisation=desk.library, card_number=desk.member.card_number).kind == BorrowerKind.MEMBER


# --- a library organisation as borrower ---------------------------------------------------

def test_library_borrower_is_found_by_organisation_id_or_isil(desk, libraries):
    beta = libraries.beta
    for library in (beta, beta.pk, beta.isil, f" {beta.isil.lower()} "):
        borrower = borrower_library(organisation=desk.library, library=library, reference=f" {REQUEST} ")
        assert borrower.kind == BorrowerKind.LIBRARY and borrower.borrowing_library.pk == beta.pk
        assert borrower.reference == REQUEST and borrower.member is None and borrower.card_number == ""
        assert not borrower.pays and borrower.may_borrow
    assert borrower.label == f"{beta.name} (IBL, aanvraag {REQUEST})"


@pytest.mark.parametrize("case", ["self", "unknown", "inactive", "reference"])
def test_library_borrower_refusals_have_codes_and_change_nothing(desk, libraries, case):
    [item] = desk.items()
    library_model = type(libraries.beta)
    library, reference, code = {
        "self": (desk.library, REQUEST, "borrower.library_self"),
        "unknown": (library_model(pk=-1, name="Onbekend"), REQUEST, "borrower.library_unknown"),
        "inactive": (libraries.gamma, REQUEST, "borrower.library_inactive"),
        "reference": (libraries.beta, "x" * 65, "borrower.library_reference_too_long"),
    }[case]
    if case == "inactive":
        library_model.objects.filter(pk=libraries.gamma.pk).update(is_active=False)
    borrower = Borrower.library(library, reference)
    with pytest.raises(ValidationError) as caught:
        checkout(actor=desk_actor(desk), borrower=borrower, barcode=item.barcode)
    assert error_codes(caught.value) == [code]
    assert not Loan.objects.exists()
    assert Item.objects.get(pk=item.pk).status == ItemStatus.AVAILABLE
    with pytest.raises(ValidationError) as caught:
        hold_services.hold_place(actor=desk_actor(desk), borrower=borrower, title_id=item.title_id,
                                 pickup_branch_id=desk.main.pk)
    assert error_codes(caught.value) == [code]
    assert not Hold.objects.exists()


def test_an_unknown_isil_is_no_borrower(desk):
    with pytest.raises(ValidationError) as caught:
        borrower_library(organisation=desk.library, library="NL-9999999999")
    assert error_codes(caught.value) == ["borrower.library_unknown"]
    assert caught.value.messages == ["Bibliotheekorganisatie NL-9999999999 is onbekend in LSB."]


def test_checkout_and_checkin_to_a_library_through_the_same_services(desk, libraries):
    beta = libraries.beta
    [item, other] = desk.items(count=2, price_cents=1500)
    # Fines and fees in the rules for members and guests never reach a library.
    make_rule(loan_fee_cents=100, fine_per_day_cents=25, fine_max_cents=500)
    make_rule(for_guests=True, loan_fee_cents=100, fine_per_day_cents=25, fine_max_cents=500)

    def holding():
        row = Holding.objects.get(title_id=item.title_id, organisation=desk.library, branch=desk.main)
        return row.total, row.available

    assert holding() == (2, 2)
    ledger, notices, outbox = LedgerEntry.objects.count(), Notice.objects.count(), OutboxMessage.objects.count()
    result = lend_to_library(desk, item, beta, now=at(2026, 12, 1))

    loan = Loan.objects.get(pk=result.loan.pk)
    assert loan.borrower_kind == BorrowerKind.LIBRARY and loan.is_library_loan
    assert (loan.borrowing_library_id, loan.borrowing_library_ref) == (beta.pk, REQUEST)
    assert loan.member_id is None and loan.guest_card_number == "" and loan.guest_organisation_id is None
    assert (loan.fine_per_day_cents, loan.fine_max_cents) == (0, 0)
    assert result.fee_cents == 0 and not result.renewed
    assert loan.due_on == datetime.date(2026, 12, 22)  # LSB's default: 21 days (no rule for libraries)
    fresh = Item.objects.get(pk=item.pk)
    assert fresh.status == ItemStatus.ON_INTERLIBRARY_LOAN and fresh.loan_count == 1
    event = ItemEvent.objects.filter(item=item).latest("pk")
    assert (event.from_status, event.to_status) == (ItemStatus.AVAILABLE, ItemStatus.ON_INTERLIBRARY_LOAN)
    assert beta.name in event.detail and REQUEST in event.detail
    assert holding() == (2, 1)
    # Nobody is charged, told or asked anything; it is no guest loan.
    assert (LedgerEntry.objects.count(), Notice.objects.count(), OutboxMessage.objects.count()) == (
        ledger, notices, outbox)
    assert not GuestLoan.objects.exists()

    # Scanning it for the same request again renews it; another request of the same
    # library, or a member, cannot take it.
    again = lend_to_library(desk, item, beta, now=at(2026, 12, 10))
    assert again.renewed and again.loan.pk == loan.pk and again.loan.renewals == 1
    assert (again.loan.fine_per_day_cents, again.loan.fine_max_cents) == (0, 0)
    error = refused(lambda: lend_to_library(desk, item, beta, "IBL-2026-000018"), item)
    assert codes(error) == ["checkout.on_loan_to_other"]
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.on_loan_to_other"]

    # Checkin, weeks late: the loan ends the same way, no fine to anyone.
    back = take_back(desk, item, now=at(2027, 2, 1))
    loan.refresh_from_db()
    assert loan.ended_at is not None and loan.ending == Loan.Ending.RETURNED and loan.ended_branch_id == desk.main.pk
    assert loan.fine_cents == 0 and back.fine_cents == 0 and back.route == "shelf"
    assert Item.objects.get(pk=item.pk).status == ItemStatus.AVAILABLE
    assert holding() == (2, 2)
    assert (LedgerEntry.objects.count(), Notice.objects.count(), OutboxMessage.objects.count()) == (
        ledger, notices, outbox)

    # The member path is unchanged beside it: the member's rule charges the fee.
    member_loan = lend(desk, other).loan
    assert member_loan.borrower_kind == BorrowerKind.MEMBER and member_loan.fine_per_day_cents == 25
    assert LedgerEntry.objects.filter(member=desk.member, charge_type=LedgerEntry.ChargeType.LOAN_FEE).count() == 1


def test_renewing_a_library_loan_by_id_follows_the_rules_for_libraries(desk, libraries):
    make_rule(for_libraries=True, loan_days=42, max_renewals=1, fine_per_day_cents=10, fine_max_cents=100)
    [item] = desk.items()
    loan = lend_to_library(desk, item, libraries.beta, now=at(2026, 12, 1)).loan
    assert loan.due_on == datetime.date(2027, 1, 12)
    assert (loan.fine_per_day_cents, loan.fine_max_cents) == (0, 0)
    renewed = renew_loan(desk, loan, datetime.date(2027, 1, 10))
    assert renewed.renewals == 1 and renewed.due_on == datetime.date(2027, 2, 22)
    assert (renewed.fine_per_day_cents, renewed.fine_max_cents) == (0, 0)
    error = refused(lambda: renew_loan(desk, loan, datetime.date(2027, 2, 20)), item)
    assert codes(error) == ["loan.max_renewals"]


def test_rules_for_libraries_are_their_own_part_of_the_matrix(desk, libraries):
    make_rule(loan_days=14)
    make_rule(for_guests=True, loan_days=7)
    library_rule = make_rule(for_libraries=True, loan_days=42)
    choice = loan_rule_choose(for_guests=False, for_libraries=True, member_category_id=None, item_type="book",
                              branch_id=desk.main.pk)
    assert choice.rule.pk == library_rule.pk and not choice.is_default
    assert loan_rule_choose(for_guests=False, member_category_id=None, item_type="book",
                            branch_id=desk.main.pk).rule.loan_days == 14
    # A rule for libraries cannot name a member category or be for guests as well.
    with pytest.raises(IntegrityError), transaction.atomic():
        make_rule(for_libraries=True, for_guests=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_rule(for_libraries=True, member_category=desk.member.category)
    [item] = desk.items()
    assert lend_to_library(desk, item, libraries.beta).loan.rule_id == library_rule.pk


def test_limits_of_the_rules_for_libraries_count_all_loans_of_that_library(desk, libraries):
    make_rule(for_libraries=True, max_loans_total=2)
    items = desk.items(count=4)
    lend_to_library(desk, items[0], libraries.beta, "IBL-1")
    lend_to_library(desk, items[1], libraries.beta, "IBL-2")
    error = refused(lambda: lend_to_library(desk, items[2], libraries.beta, "IBL-3"), items[2])
    assert codes(error) == ["checkout.limit_total"] and error.overridable
    # Another library has its own count; a desk coordinator may override with a reason.
    lend_to_library(desk, items[2], libraries.gamma, "IBL-9")
    result = lend_to_library(desk, items[3], libraries.beta, "IBL-3", staff_user=desk.supervisor,
                             override_reason="Afspraak met de provincie")
    assert [refusal.code for refusal in result.overridden] == ["checkout.limit_total"]
    assert CirculationEvent.objects.filter(kind=CirculationEvent.Kind.OVERRIDE, loan=result.loan).exists()


def test_copy_not_for_loan_or_withdrawn_is_refused_to_a_library_too(desk, libraries):
    [item] = desk.items(not_for_loan=True)
    error = refused(lambda: lend_to_library(desk, item, libraries.beta), item)
    assert codes(error) == ["checkout.not_for_loan"]


# --- holds for a library ------------------------------------------------------------------

def test_library_hold_is_filled_at_checkin_without_a_notice_and_fulfilled_by_the_checkout(desk, libraries):
    beta = libraries.beta
    [item] = desk.items()
    lend(desk, item)
    hold = hold_for_library(desk, beta, title_id=item.title_id)
    assert hold.borrower_kind == BorrowerKind.LIBRARY and hold.member_id is None
    assert (hold.borrowing_library_id, hold.borrowing_library_ref) == (beta.pk, REQUEST)
    assert LedgerEntry.objects.filter(reference=f"hold:{hold.pk}").count() == 0
    assert [row.pk for row in title_queue(item.title_id)] == [hold.pk]
    # The same request cannot hold the title twice; another request of that library can.
    with pytest.raises(ValidationError) as caught:
        hold_for_library(desk, beta, title_id=item.title_id)
    assert error_codes(caught.value) == ["hold.library_duplicate"]
    assert Hold.objects.count() == 1

    notices = Notice.objects.count()
    result = take_back(desk, item)
    assert result.route == "hold_shelf" and result.hold.pk == hold.pk
    assert any(beta.name in str(note) and REQUEST in str(note) for note in result.notes)
    hold.refresh_from_db()
    assert hold.status == HoldStatus.READY and hold.assigned_item_id == item.pk
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_HOLD_SHELF
    assert Notice.objects.count() == notices
    assert [row.pk for row in hold_shelf(desk.main.pk)["ready"]] == [hold.pk]

    # The desk's member cannot take it; the library's checkout for that request sends it.
    error = refused(lambda: lend(desk, item), item)
    assert codes(error) == ["checkout.held_for_other"]
    member = make_member(card_number="A1000077", paid_until=PAID_UNTIL)
    member_hold = place(desk, member, title_id=item.title_id)
    loan = lend_to_library(desk, item, beta).loan
    hold.refresh_from_db()
    member_hold.refresh_from_db()
    assert hold.status == HoldStatus.FULFILLED and member_hold.status == HoldStatus.WAITING
    assert Item.objects.get(pk=item.pk).status == ItemStatus.ON_INTERLIBRARY_LOAN
    assert loan.borrowing_library_ref == REQUEST

    # Back from the library, checked in: the waiting member's hold is filled (the member is told).
    back = take_back(desk, item)
    assert back.route == "hold_shelf" and back.hold.pk == member_hold.pk
    assert Notice.objects.filter(member=member, kind="hold_ready").count() == 1


def test_a_waiting_library_hold_stops_a_members_renewal_and_the_reverse(desk, libraries):
    [item] = desk.items()
    loan = lend(desk, item, now=at(2026, 12, 1)).loan
    hold_for_library(desk, libraries.beta, title_id=item.title_id)
    error = refused(lambda: renew_loan(desk, loan, datetime.date(2026, 12, 20)), item)
    assert codes(error) == ["loan.held_for_other"]

    # (A copy out on interlibrary loan is no holdable copy itself: the title's other copy is.)
    copy, other = desk.items(count=2)
    library_loan = lend_to_library(desk, copy, libraries.gamma, now=at(2026, 12, 1)).loan
    lend(desk, other)
    place(desk, make_member(card_number="A1000078", paid_until=PAID_UNTIL), title_id=copy.title_id)
    error = refused(lambda: renew_loan(desk, library_loan, datetime.date(2026, 12, 20)), copy)
    assert codes(error) == ["loan.held_for_other"]


def test_desk_screens_show_a_library_by_name(desk, libraries, client):
    [item] = desk.items()
    lend(desk, item)
    member = make_member(card_number="A1000079", first_name="Bas", last_name="Wachter", paid_until=PAID_UNTIL)
    place(desk, member, title_id=item.title_id)
    hold = hold_for_library(desk, libraries.beta, title_id=item.title_id)
    [late] = desk.items()
    overdue = lend_to_library(desk, late, libraries.gamma, now=timezone.now() - datetime.timedelta(days=40)).loan

    client.defaults["HTTP_HOST"] = "alpha.localhost"
    client.force_login(desk.staff)
    page = client.get(f"/reserveringen/titel/{item.title_id}/").content.decode()
    row = page.split(f'data-testid="queue-row-{hold.pk}"')[1].split("</tr>")[0]
    assert f"{libraries.beta.name} (IBL {REQUEST})" in row and "Bas Wachter" not in row
    page = client.get("/uitlening/te-laat/").content.decode()
    assert late.barcode in page and libraries.gamma.name in page
    assert Loan.objects.get(pk=overdue.pk).is_library_loan


# --- tenant isolation -----------------------------------------------------------------------

def test_a_library_borrower_is_a_reference_no_personal_data_crosses(desk, libraries):
    beta = libraries.beta

    def beta_state():
        with tenant_context(beta):
            from members.models import Member

            return (Loan.objects.count(), Hold.objects.count(), LedgerEntry.objects.count(), Notice.objects.count(),
                    Member.objects.count())

    before = beta_state()
    public_before = (GuestLoan.objects.count(), CardIndex.objects.count(), OutboxMessage.objects.count())
    [item, held] = desk.items(count=2)
    loan = lend_to_library(desk, item, beta).loan
    lend(desk, held)
    hold = hold_for_library(desk, beta, title_id=held.title_id)
    take_back(desk, item)
    # Beta's schema is untouched, nothing is written to the national tables about a person.
    assert beta_state() == before
    assert (GuestLoan.objects.count(), CardIndex.objects.count(), OutboxMessage.objects.count()) == public_before
    # Alpha's rows name the library by its registry id and the request, nothing else of it.
    row = Loan.objects.filter(pk=loan.pk).values(
        "member_id", "guest_card_number", "guest_organisation_id", "borrowing_library_id", "borrowing_library_ref",
    ).get()
    assert row == {"member_id": None, "guest_card_number": "", "guest_organisation_id": None,
                   "borrowing_library_id": beta.pk, "borrowing_library_ref": REQUEST}
    hold_row = Hold.objects.filter(pk=hold.pk).values("member_id", "borrowing_library_id").get()
    assert hold_row == {"member_id": None, "borrowing_library_id": beta.pk}

    # Beta's own desk sees nothing of alpha's loan: the item is unknown there.
    with tenant_context(beta):
        assert not Loan.objects.filter(borrowing_library_id=beta.pk).exists()
        assert not Item.objects.filter(barcode=item.barcode).exists()


# --- who may lend to a library ------------------------------------------------------------

def test_only_this_librarys_staff_or_system_lend_to_a_library(desk, libraries, staff):
    [item] = desk.items()
    borrower = Borrower.library(libraries.beta, REQUEST)
    for actor, code in (
        (Actor.staff(staff.beta_desk, libraries.beta, branch_id=libraries.beta.branches.first().pk),
         "actor.other_library"),
        (Actor.member(desk.member.pk, desk.library, branch_id=desk.main.pk), "actor.not_owner"),
        (Actor.machine(3, desk.main.pk, desk.library), "actor.not_allowed"),
    ):
        with pytest.raises(ValidationError) as caught:
            checkout(actor=actor, borrower=borrower, barcode=item.barcode)
        assert error_codes(caught.value) == [code]
        assert not Loan.objects.exists()
        assert Item.objects.get(pk=item.pk).status == ItemStatus.AVAILABLE
    # The system (interlibrary loan's own step) may.
    loan = checkout(actor=Actor.system("ibl", desk.library, branch_id=desk.main.pk), borrower=borrower,
                    barcode=item.barcode).loan
    assert loan.is_library_loan and loan.actor_ref == "system:ibl" and loan.created_by_id is None
    # A member cannot renew a library's loan.
    with pytest.raises(ValidationError) as caught:
        renew(actor=Actor.member(desk.member.pk, desk.library), loan_id=loan.pk)
    assert error_codes(caught.value) == ["actor.not_owner"]


# --- the migration ----------------------------------------------------------------------------

def test_migration_gives_existing_loans_their_kind(desk, libraries):
    """Back to the schema before borrower kinds, loans as they were then (a member's,
    a guest's, a guest's whose card was anonymised, a member's unlinked after the
    retention period), and forward again: each has its kind and the constraint holds."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    items = desk.items(count=4)
    before_kinds = ("circulation", "0002_loan_overdue_level")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks while the tables change
    executor = MigrationExecutor(connection)
    latest = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "circulation"]
    executor.migrate([before_kinds])
    now = timezone.now()
    rows = [
        (items[0].pk, desk.member.pk, "", None, None, None),
        (items[1].pk, None, "B2000001", libraries.beta.pk, None, None),
        (items[2].pk, None, "", libraries.beta.pk, now, now),
        (items[3].pk, None, "", None, now, now),
    ]
    with connection.cursor() as cursor:
        for item_id, member_id, card, home, ended, anonymised in rows:
            cursor.execute(
                "INSERT INTO circulation_loan (item_id, title_id, member_id, guest_card_number, guest_organisation_id,"
                " fine_per_day_cents, fine_max_cents, branch_id, loaned_at, due_on, renewals, ended_at, ending,"
                " ended_branch_id, fine_cents, override_reason, anonymised_at, overdue_level)"
                " VALUES (%s, 1, %s, %s, %s, 0, 0, %s, %s, %s, 0, %s, %s, NULL, 0, '', %s, 0)",
                [item_id, member_id, card, home, desk.main.pk, now, now.date(), ended, "returned" if ended else "",
                 anonymised])
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    kinds = dict(Loan.objects.values_list("item_id", "borrower_kind"))
    assert kinds == {items[0].pk: BorrowerKind.MEMBER, items[1].pk: BorrowerKind.GUEST,
                     items[2].pk: BorrowerKind.GUEST, items[3].pk: BorrowerKind.MEMBER}


def test_only_this_librarys_staff_or_system_hold_a_copy_for_a_library(desk, libraries):
    [item] = desk.items()
    borrower = Borrower.library(libraries.beta, REQUEST)
    for actor, code in (
        (Actor.member(desk.member.pk, desk.library), "actor.not_owner"),
        (Actor.machine(3, desk.main.pk, desk.library), "actor.not_allowed"),
    ):
        with pytest.raises(ValidationError) as caught:
            hold_services.hold_place(actor=actor, borrower=borrower, title_id=item.title_id,
                                     pickup_branch_id=desk.main.pk)
        assert error_codes(caught.value) == [code]
    assert not Hold.objects.exists()
    hold = hold_services.hold_place(actor=Actor.system("ibl", desk.library), borrower=borrower,
                                    title_id=item.title_id, pickup_branch_id=desk.main.pk)
    assert hold.is_library_hold and hold.actor_ref == "system:ibl"


# --- the rules screen ---------------------------------------------------------------------------

def test_rules_screen_edits_and_explains_the_rules_for_libraries(client, desk, libraries, staff):
    client.defaults["HTTP_HOST"] = "alpha.localhost"
    client.force_login(staff.alpha_library_admin)
    values = {"who": "bibliotheek", "item_type": "", "branch": "", "loan_days": "42", "max_renewals": "1",
              "max_loans_total": "10", "max_loans_of_type": "", "loan_fee": "", "fine_per_day": "", "fine_max": "",
              "holdable": "on", "hold_fee": "", "hold_shelf_days": "5", "auto_renew": ""}
    assert client.post("/uitlening/regels/nieuw/", values).status_code == 302
    rule = LoanRule.objects.get()
    assert (rule.for_libraries, rule.for_guests, rule.member_category_id, rule.loan_days) == (True, False, None, 42)
    page = client.get("/uitlening/regels/").content.decode()
    assert "bibliotheken (IBL)" in page
    page = client.get(f"/uitlening/regels/{rule.pk}/wijzigen/").content.decode()
    assert 'value="bibliotheek" selected' in page
    page = client.get("/uitlening/regels/", {"who": "bibliotheek", "item_type": "book",
                                             "branch": str(desk.main.pk)}).content.decode()
    assert "ingevuld: bibliotheken" in page and "42 dagen" in page

    # A rule for libraries names no member category and is not for guests as well.
    admin = Actor.staff(staff.alpha_library_admin, desk.library)
    with pytest.raises(ValidationError) as caught:
        loan_rule_save(actor=admin, for_libraries=True, member_category_id=desk.member.category_id,
                       loan_days=21, max_renewals=2, hold_shelf_days=7)
    assert "loan_rule.libraries_no_category" in error_codes(caught.value)
    assert LoanRule.objects.count() == 1
