"""Self-service through the REST API with a machine key: a whole visit (patron
check, checkout, renew, pay, checkin with the sorting route), each refusal with
its service code and nothing changed, and no reach into another library."""

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Loan, Transfer
from circulation.services.holds import hold_place
from circulation.services.loans import checkout
from members.models import AuditEntry, CardSignIn, LedgerEntry
from members.selectors.ledger import member_balance_cents
from members.services.ledger import ledger_charge
from core.actors import Actor
from tests.circulation.conftest import PAID_UNTIL
from tests.circulation.factories import make_items
from tests.members.factories import make_member

from .conftest import codes, machine_key

pytestmark = pytest.mark.django_db

PATRON = "/api/v1/selfservice/patron/"
CHECKOUT = "/api/v1/selfservice/checkout/"
CHECKIN = "/api/v1/selfservice/checkin/"
RENEW = "/api/v1/selfservice/renew/"
RENEW_ALL = "/api/v1/selfservice/renew-all/"
PAY = "/api/v1/selfservice/payments/"


def state():
    return {
        "loans": sorted(Loan.objects.values_list("pk", "ended_at", "due_on", "renewals")),
        "ledger": LedgerEntry.objects.count(),
        "events": CirculationEvent.objects.count(),
        "transfers": Transfer.objects.count(),
    }


def test_a_self_service_visit(api, http):
    member, machine = api.desk.member, api.machine
    card = member.card_number
    book, other_branch_book = api.desk.items()[0], api.desk.items(branch=api.desk.other)[0]

    patron = http.post(PATRON, api.machine_key, {"card_number": card, "pin": "1234"})
    assert patron.status_code == 200, patron.body
    assert patron.body["member_id"] == member.pk and patron.body["may_borrow"] is True
    assert patron.body["loans"] == [] and patron.body["holds"] == []
    audit = AuditEntry.objects.filter(member_id_ref=member.pk, action=AuditEntry.Action.VIEW).latest("pk")
    assert audit.actor_ref == machine.actor_ref and audit.detail["screen"] == "api_patron_check"

    lent = http.post(CHECKOUT, api.machine_key, {"card_number": card, "barcode": book.barcode})
    assert lent.status_code == 201, lent.body
    assert lent.body["renewed"] is False and lent.body["loan"]["barcode"] == book.barcode
    loan = Loan.objects.get(pk=lent.body["loan"]["id"])
    assert loan.member_id == member.pk and loan.actor_ref == machine.actor_ref and loan.branch_id == api.desk.main.pk
    second = http.post(CHECKOUT, api.machine_key, {"card_number": card, "barcode": other_branch_book.barcode,
                                                   "pin": "1234"})
    assert second.status_code == 201

    patron = http.post(PATRON, api.machine_key, {"card_number": card, "pin": "1234"})
    assert sorted(row["barcode"] for row in patron.body["loans"]) == sorted([book.barcode, other_branch_book.barcode])

    # Renewing today gives no later due date: the renewal service's refusal, as a 409 with its code.
    too_early = http.post(RENEW, api.machine_key, {"card_number": card, "barcode": book.barcode})
    assert too_early.status_code == 409
    assert codes(too_early) == ["loan.renewal_too_early"]
    all_of_them = http.post(RENEW_ALL, api.machine_key, {"card_number": card})
    assert all_of_them.status_code == 200
    assert [row["renewed"] for row in all_of_them.body["results"]] == [False, False]
    assert {row["errors"][0]["code"] for row in all_of_them.body["results"]} == {"loan.renewal_too_early"}

    # Back at the machine: one goes on this branch's shelf, the other to its own branch.
    home = http.post(CHECKIN, api.machine_key, {"barcode": book.barcode})
    assert home.status_code == 200, home.body
    assert (home.body["route"], home.body["code"], home.body["loan_ended"]) == ("shelf", "route.shelf", True)
    away = http.post(CHECKIN, api.machine_key, {"barcode": other_branch_book.barcode})
    assert (away.body["route"], away.body["code"]) == ("transit", "route.transit")
    assert away.body["params"] == {"branch": api.desk.other.name}
    assert away.body["destination_branch_id"] == api.desk.other.pk
    assert away.body["message"] == f"TRANSPORT NAAR {api.desk.other.name.upper()}"
    assert Transfer.objects.get(item=other_branch_book).actor_ref == machine.actor_ref


def test_checkin_routes_a_copy_to_a_waiting_hold(api, http):
    [item] = api.desk.items()
    checkout(actor=api.desk.actor(), card_number=api.desk.member.card_number, barcode=item.barcode)
    waiting = make_member(card_number="A1000009", paid_until=PAID_UNTIL)
    hold_place(actor=api.desk.actor(), member=waiting, title_id=item.title_id, pickup_branch_id=api.desk.other.pk)
    response = http.post(CHECKIN, api.machine_key, {"barcode": item.barcode})
    assert response.body["route"] == "hold_transit" and response.body["code"] == "route.hold_transit"
    assert response.body["destination_branch_id"] == api.desk.other.pk and response.body["hold_id"] is not None
    assert [note["code"] for note in response.body["notes"]] == ["checkin.hold_transit"]


def test_a_wrong_pin_is_refused_and_counted_like_everywhere(api, http):
    card = api.desk.member.card_number
    response = http.post(PATRON, api.machine_key, {"card_number": card, "pin": "9999"})
    assert response.status_code == 403
    assert codes(response) == ["auth.invalid"]
    sign_in = CardSignIn.objects.get(card_number=card)
    assert sign_in.failures == 1 and sign_in.last_channel == "api"
    [item] = api.desk.items()
    before = state()
    refused = http.post(CHECKOUT, api.machine_key, {"card_number": card, "barcode": item.barcode, "pin": "0000"})
    assert refused.status_code == 403 and codes(refused) == ["auth.invalid"]
    assert state() == before


def test_refused_checkouts_carry_every_code_and_change_nothing(api, http):
    [item] = api.desk.items()
    other = make_member(card_number="A1000008", paid_until=PAID_UNTIL)
    checkout(actor=api.desk.actor(), card_number=other.card_number, barcode=item.barcode)
    ledger_charge(actor=Actor.system("test", api.alpha), member=api.desk.member, charge_type="other",
                  amount_cents=5000)
    before = state()
    response = http.post(CHECKOUT, api.machine_key, {"card_number": api.desk.member.card_number,
                                                     "barcode": item.barcode})
    assert response.status_code == 409
    assert codes(response) == ["checkout.on_loan_to_other"]
    [fresh] = api.desk.items()
    blocked = http.post(CHECKOUT, api.machine_key, {"card_number": api.desk.member.card_number,
                                                    "barcode": fresh.barcode})
    assert blocked.status_code == 409
    assert "member.balance_too_high" in codes(blocked)
    assert state() == before
    unknown = http.post(CHECKOUT, api.machine_key, {"card_number": api.desk.member.card_number,
                                                    "barcode": "NOSUCH123"})
    assert unknown.status_code == 404 and codes(unknown) == ["scan.item_unknown"]
    card_unknown = http.post(CHECKOUT, api.machine_key, {"card_number": "ZZ99999999", "barcode": fresh.barcode})
    assert card_unknown.status_code == 404 and codes(card_unknown) == ["borrower.card_unknown"]
    assert state() == before


def test_request_shape_errors_name_the_field(api, http):
    bad = http.post(PAY, api.machine_key, {"card_number": api.desk.member.card_number, "amount_cents": "500",
                                           "method": "pin"})
    assert bad.status_code == 400
    [error] = bad.body["errors"]
    assert (error["code"], error["field"], error["params"]["reason"]) == ("api.field_invalid", "amount_cents",
                                                                          "invalid")
    missing = http.post(CHECKOUT, api.machine_key, {"barcode": "X1"})
    assert missing.status_code == 400
    assert [(e["field"], e["params"]["reason"]) for e in missing.body["errors"]] == [("card_number", "required")]
    zero = http.post(PAY, api.machine_key, {"card_number": api.desk.member.card_number, "amount_cents": 0,
                                            "method": "pin"})
    assert zero.status_code == 400 and zero.body["errors"][0]["params"]["reason"] == "min_value"


def test_renew_and_pay(api, http):
    [item] = api.desk.items()
    loan = checkout(actor=api.desk.actor(), card_number=api.desk.member.card_number, barcode=item.barcode).loan
    Loan.objects.filter(pk=loan.pk).update(due_on=loan.due_on.replace(year=loan.due_on.year - 1))
    renewed = http.post(RENEW, api.machine_key, {"card_number": api.desk.member.card_number, "barcode": item.barcode})
    assert renewed.status_code == 200, renewed.body
    assert renewed.body["renewals"] == 1 and renewed.body["id"] == loan.pk
    other = make_member(card_number="A1000007", paid_until=PAID_UNTIL)
    not_theirs = http.post(RENEW, api.machine_key, {"card_number": other.card_number, "barcode": item.barcode})
    assert not_theirs.status_code == 409 and codes(not_theirs) == ["api.loan_not_of_card"]

    ledger_charge(actor=Actor.system("test", api.alpha), member=api.desk.member, charge_type="other",
                  amount_cents=350)
    paid = http.post(PAY, api.machine_key, {"card_number": api.desk.member.card_number, "amount_cents": 200,
                                            "method": "pin"})
    assert paid.status_code == 201, paid.body
    assert paid.body["balance_cents"] == member_balance_cents(api.desk.member)
    entry = LedgerEntry.objects.get(pk=paid.body["id"])
    assert entry.kind == "payment" and entry.amount_cents == 200 and entry.actor_ref == api.machine.actor_ref
    unknown = http.post(PAY, api.machine_key, {"card_number": "ZZ99999999", "amount_cents": 200, "method": "cash"})
    assert unknown.status_code == 404 and codes(unknown) == ["api.card_unknown"]


def test_item_information_and_another_librarys_items(api, http):
    [item] = api.desk.items()
    free = http.get(f"/api/v1/items/{item.barcode}/", api.machine_key)
    assert free.status_code == 200
    assert (free.body["status"], free.body["due_on"]) == ("available", None)
    loan = checkout(actor=api.desk.actor(), card_number=api.desk.member.card_number, barcode=item.barcode).loan
    lent = http.get(f"/api/v1/items/{item.barcode}/", api.machine_key)
    assert (lent.body["status"], lent.body["due_on"]) == ("on_loan", loan.due_on.isoformat())

    with tenant_context(api.beta):
        [beta_item] = make_items(api.beta, branch=api.beta_branch)
        beta_member = make_member(card_number="B1000001", paid_until=PAID_UNTIL)
    before = state()
    assert http.get(f"/api/v1/items/{beta_item.barcode}/", api.machine_key).status_code == 404
    # Scanned here: at most "this copy is another library's" (to the crate back home), nothing lent, nothing read.
    for response in (
        http.post(CHECKIN, api.machine_key, {"barcode": beta_item.barcode}),
        http.post(CHECKOUT, api.machine_key, {"card_number": api.desk.member.card_number,
                                              "barcode": beta_item.barcode}),
    ):
        assert response.status_code in (404, 409), response.body
        assert codes(response) in (["scan.item_unknown"], ["scan.item_of_other_library"])
    # A beta card at alpha's machine is a guest card, never a way into beta's member data.
    patron = http.post(PATRON, api.machine_key, {"card_number": beta_member.card_number, "pin": "1234"})
    assert patron.status_code == 403 and codes(patron) == ["auth.invalid"]
    assert state() == before
    with tenant_context(api.beta):
        assert not AuditEntry.objects.filter(member_id_ref=beta_member.pk, action="view").exists()


def test_a_machine_that_requires_the_pin_refuses_patron_actions_without_it(api, http):
    _, key = machine_key(api.alpha, api.desk.main, "alpha-kiosk-pin", pin_required=True)
    [item] = api.desk.items()
    card = api.desk.member.card_number
    before = state()
    for path, body in ((CHECKOUT, {"card_number": card, "barcode": item.barcode}),
                       (RENEW, {"card_number": card, "barcode": item.barcode}),
                       (RENEW_ALL, {"card_number": card}),
                       (PAY, {"card_number": card, "amount_cents": 100, "method": "cash"})):
        refused = http.post(path, key, body)
        assert refused.status_code == 403, path
        assert [(e["code"], e["field"]) for e in refused.body["errors"]] == [("api.pin_required", "pin")]
    assert state() == before
    lent = http.post(CHECKOUT, key, {"card_number": card, "barcode": item.barcode, "pin": "1234"})
    assert lent.status_code == 201
    assert http.post(CHECKIN, key, {"barcode": item.barcode}).status_code == 200  # no card, no PIN


def test_a_guest_cards_renewal_at_a_machine_is_told_to_its_home_library(api, http):
    # As at the desk and in SIP2 (issue 14, finding 1): a lookup of another library's
    # card is in that library's audit log under the machine, refused or not.
    from tests.security.test_guest_privacy import _forget_lookups

    with tenant_context(api.beta):
        guest = make_member(card_number="B7000031")
    connection.set_tenant(api.alpha)
    _forget_lookups()
    [book] = api.desk.items()
    before = state()
    renewed = http.post(RENEW, api.machine_key, {"card_number": guest.card_number, "barcode": book.barcode})
    assert renewed.status_code == 409 and codes(renewed) == ["api.loan_not_of_card"]
    assert state() == before
    with tenant_context(api.beta):
        [entry] = AuditEntry.objects.filter(member_id_ref=guest.pk, action=AuditEntry.Action.GUEST_LOOKUP)
        assert entry.actor_ref == api.machine.actor_ref
