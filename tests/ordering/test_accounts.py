"""The library's customer number and delivery location at a supplier, per branch
(issue 17): entered on the supplier screen, sent in the ORDERS message of an order
for that branch (RFF+API after NAD+BY, NAD+DP with the supplier's kind of code, as
in the EDItEUR library profile) and shown on the printed order; refusals change
nothing."""

import warnings

import pytest

from ordering import edifact
from ordering.models import EdiMessage, SupplierAccount
from ordering.services import suppliers
from tests.refusals import refused

from .conftest import make_order, standard_order

pytestmark = pytest.mark.django_db

MAIN_GLN = "8711234500014"
OTHER_GLN = "8719999000022"


def _segments(text):
    from pydifact.segmentcollection import Interchange

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interchange = Interchange.from_str(text)
    (message,) = list(interchange.get_messages())
    return [(segment.tag, segment.elements) for segment in message.segments]


def _one_branch_order(acq, branch):
    return make_order(acq, (acq.titles[1], 2499, [(branch, 2)], acq.adult), send=True)


def _accounts(acq):
    return sorted(SupplierAccount.objects.filter(supplier=acq.supplier).values_list(
        "branch_id", "account_number", "delivery_location"))


def test_an_order_for_one_branch_sends_that_branchs_account_and_delivery_location(acq):
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk,
                                    account_number="K-1001", delivery_location=MAIN_GLN)
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.other.pk,
                                    account_number="K-2002", delivery_location=OTHER_GLN)
    order = _one_branch_order(acq, acq.other)
    text = EdiMessage.objects.get(order=order, kind="ORDERS").content
    segments = _segments(text)
    tags = [tag for tag, _ in segments]
    by = tags.index("NAD")
    # The buyer's reference group follows NAD+BY; the delivery party follows the supplier.
    assert segments[by] == ("NAD", ["BY", ["8719999000013", "", "9"]])
    assert segments[by + 1] == ("RFF", [["API", "K-2002"]])
    assert segments[by + 2][1][0] == "SU"
    assert segments[by + 3] == ("NAD", ["DP", [OTHER_GLN, "", "9"]])
    assert "K-1001" not in text and MAIN_GLN not in text
    # LSB's own strict reader still reads the message.
    read = edifact.read_interchange(text, expected="ORDERS")
    assert [line.reference for line in read.documents[0].lines] == [f"{order.number}/1"]


def test_a_san_supplier_gets_the_san_agency_in_the_delivery_party(acq):
    acq.supplier.edi_id_qualifier = "31B"
    acq.supplier.save(update_fields=["edi_id_qualifier"])
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk,
                                    account_number="K-1001", delivery_location="0154989")
    segments = _segments(EdiMessage.objects.get(order=_one_branch_order(acq, acq.main)).content)
    assert ("NAD", ["DP", ["0154989", "", "31B"]]) in segments


def test_without_an_account_for_the_branch_the_segments_are_left_out(acq):
    # Only the other branch has an account; the supplier has no default account.
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.other.pk,
                                    account_number="K-2002", delivery_location=OTHER_GLN)
    text = EdiMessage.objects.get(order=_one_branch_order(acq, acq.main)).content
    assert "RFF+API" not in text and "NAD+DP" not in text and "K-2002" not in text
    # An account without a delivery location sends the number only.
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk,
                                    account_number="K-1001")
    text = EdiMessage.objects.get(order=_one_branch_order(acq, acq.main)).content
    assert "RFF+API:K-1001'" in text and "NAD+DP" not in text


def test_an_order_for_several_branches_names_no_single_delivery_party(acq):
    """One message has one delivery party: copies for two branches keep their GIR LLO
    codes, and no branch's account is sent as if it were the whole order's."""
    for branch, number, gln in ((acq.main, "K-1001", MAIN_GLN), (acq.other, "K-2002", OTHER_GLN)):
        suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=branch.pk,
                                        account_number=number, delivery_location=gln)
    text = EdiMessage.objects.get(order=standard_order(acq)).content
    assert "RFF+API" not in text and "NAD+DP" not in text
    assert f"{acq.main.code}:LLO" in text and f"{acq.other.code}:LLO" in text


def test_the_printed_order_shows_each_branchs_account(acq, client):
    from tests.conftest import host_client

    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk,
                                    account_number="K-1001", delivery_location=MAIN_GLN)
    order = standard_order(acq)  # copies for main and other; only main has an account
    client.force_login(acq.staff.alpha_acquisitions)
    html = host_client(client, "alpha").get(f"/inkoop/bestellingen/{order.pk}/afdruk/").content.decode()
    assert "Klantnummer" in html
    assert f"<td>{acq.main.name}</td><td>K-1001</td><td>{MAIN_GLN}</td>" in html
    assert f"<td>{acq.other.name}</td><td>—</td><td>—</td>" in html


def test_the_supplier_screen_records_an_account_for_a_branch(acq, client):
    from tests.conftest import host_client

    client.force_login(acq.staff.alpha_acquisitions)
    http = host_client(client, "alpha")
    url = f"/inkoop/leveranciers/{acq.supplier.pk}/"
    response = http.post(url, {"action": "account", "branch": acq.other.pk, "account_number": "K-2002",
                               "delivery_location": OTHER_GLN})
    assert response.status_code == 302
    assert _accounts(acq) == [(acq.other.pk, "K-2002", OTHER_GLN)]
    response = http.post(url, {"action": "account", "branch": acq.other.pk, "account_number": "K-2002",
                               "delivery_location": "8719999000023"})
    assert response.status_code == 400
    assert "geen geldige GLN" in response.content.decode()
    assert _accounts(acq) == [(acq.other.pk, "K-2002", OTHER_GLN)]


def test_refusals_change_nothing(acq, libraries):
    suppliers.supplier_account_save(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk,
                                    account_number="K-1001", delivery_location=MAIN_GLN)
    before = _accounts(acq)
    save = dict(actor=acq.actor, supplier_id=acq.supplier.pk, branch_id=acq.main.pk, account_number="K-9999")
    with refused("supplier.delivery_location_invalid", match="8711234500015"):
        suppliers.supplier_account_save(**save, delivery_location="8711234500015")  # check digit off by one
    with refused("supplier.delivery_location_invalid"):
        suppliers.supplier_account_save(**save, delivery_location="871123450001")  # 12 digits
    with refused("supplier.account_missing"):
        suppliers.supplier_account_save(**{**save, "account_number": "  "}, delivery_location=MAIN_GLN)
    with refused("branch.other_library"):
        suppliers.supplier_account_save(**{**save, "branch_id": 999_999}, delivery_location=MAIN_GLN)
    beta_branch = libraries.beta.branches.first()
    with refused("branch.other_library"):
        suppliers.supplier_account_save(**{**save, "branch_id": beta_branch.pk}, delivery_location=MAIN_GLN)
    with refused("branch.choose"):
        suppliers.supplier_account_save(**{**save, "branch_id": ""}, delivery_location=MAIN_GLN)
    with refused("supplier.not_found"):
        suppliers.supplier_account_save(**{**save, "supplier_id": 999_999}, delivery_location=MAIN_GLN)
    acq.supplier.edi_id_qualifier = "31B"
    acq.supplier.save(update_fields=["edi_id_qualifier"])
    with refused("supplier.delivery_location_invalid", match="SAN"):
        suppliers.supplier_account_save(**save, delivery_location="0154988")  # SAN check character wrong
    acq.supplier.edi_id_qualifier = "ZZZ"
    acq.supplier.save(update_fields=["edi_id_qualifier"])
    with refused("supplier.edi_id_invalid"):
        suppliers.supplier_account_save(**save, delivery_location="MAG 1")
    assert _accounts(acq) == before
