"""Integrations with a staff key: members (audited reads), holds, titles and
availability; another library's members, holds and items are never reached."""

import pytest
from django_tenants.utils import tenant_context

from circulation.models import Hold
from circulation.services.loans import checkout
from members.models import AuditEntry, Member
from tests.circulation.conftest import PAID_UNTIL
from tests.circulation.factories import make_items
from tests.members.factories import make_member

from .conftest import BETA, codes

pytestmark = pytest.mark.django_db


def test_member_search_and_details_are_audited_as_the_staff_member(api, http, staff):
    member = api.desk.member
    found = http.get("/api/v1/members/?q=Jansen", api.desk_key)
    assert found.status_code == 200
    assert [row["id"] for row in found.body["results"]] == [member.pk]
    assert found.body["has_more"] is False and found.body["next"] is None
    search = AuditEntry.objects.filter(action=AuditEntry.Action.SEARCH).latest("pk")
    assert search.actor_ref == f"staff:{staff.alpha_desk.pk}" and search.detail["member_ids"] == [member.pk]
    assert search.detail["screen"] == "api_members_search"

    detail = http.get(f"/api/v1/members/{member.pk}/", api.desk_key)
    assert detail.status_code == 200
    assert (detail.body["card_number"], detail.body["last_name"], detail.body["may_borrow"]) == (
        member.card_number, "Jansen", True)
    view = AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, member_id_ref=member.pk).latest("pk")
    assert view.actor_ref == f"staff:{staff.alpha_desk.pk}" and view.detail["screen"] == "api_member"
    assert view.staff_user_id == staff.alpha_desk.pk

    nothing = http.get("/api/v1/members/", api.desk_key)
    assert nothing.status_code == 200 and nothing.body["results"] == []


def test_member_search_pages(api, http):
    for number in range(3):
        make_member(card_number=f"A200000{number}", last_name="Pagina", paid_until=PAID_UNTIL)
    first = http.get("/api/v1/members/?name=Pagina&limit=2", api.desk_key)
    assert len(first.body["results"]) == 2 and first.body["has_more"] is True
    assert "offset=2" in first.body["next"]
    second = http.get(first.body["next"].split("localhost", 1)[1], api.desk_key)
    assert len(second.body["results"]) == 1 and second.body["has_more"] is False
    bad = http.get("/api/v1/members/?name=Pagina&limit=0", api.desk_key)
    assert bad.status_code == 400 and bad.body["errors"][0]["field"] == "limit"


def test_member_loans_and_holds(api, http):
    [item], [wanted] = api.desk.items(), api.desk.items()
    checkout(actor=api.desk.actor(), card_number=api.desk.member.card_number, barcode=item.barcode)
    checkout(actor=api.desk.actor(), card_number="A1000001", barcode=wanted.barcode)
    other = make_member(card_number="A1000005", paid_until=PAID_UNTIL)
    loans = http.get(f"/api/v1/members/{api.desk.member.pk}/loans/", api.desk_key)
    assert loans.status_code == 200
    assert sorted(row["barcode"] for row in loans.body["results"]) == sorted([item.barcode, wanted.barcode])

    placed = http.post("/api/v1/holds/", api.desk_key, {"member_id": other.pk, "title_id": wanted.title_id,
                                                          "pickup_branch_id": api.desk.other.pk})
    assert placed.status_code == 201, placed.body
    hold = Hold.objects.get(pk=placed.body["id"])
    assert hold.member_id == other.pk and hold.actor_ref == f"staff:{api.desk_token.user_id}"
    assert placed.body["pickup_branch_id"] == api.desk.other.pk and placed.body["status"] == "waiting"
    twice = http.post("/api/v1/holds/", api.desk_key, {"member_id": other.pk, "title_id": wanted.title_id,
                                                         "pickup_branch_id": api.desk.other.pk})
    assert twice.status_code == 409 and codes(twice) == ["hold.duplicate"]
    beta_branch = http.post("/api/v1/holds/", api.desk_key, {"member_id": other.pk, "title_id": item.title_id,
                                                               "pickup_branch_id": api.beta_branch.pk})
    assert beta_branch.status_code == 409 and codes(beta_branch) == ["branch.other_library"]
    neither = http.post("/api/v1/holds/", api.desk_key, {"member_id": other.pk, "pickup_branch_id": api.desk.main.pk})
    assert neither.status_code == 409 and codes(neither) == ["hold.title_missing"]
    shapeless = http.post("/api/v1/holds/", api.desk_key, {"member_id": "1", "title_id": item.title_id,
                                                             "pickup_branch_id": api.desk.main.pk})
    assert shapeless.status_code == 400 and shapeless.body["errors"][0]["field"] == "member_id"

    holds = http.get(f"/api/v1/members/{other.pk}/holds/", api.desk_key)
    assert [row["id"] for row in holds.body["results"]] == [hold.pk]
    assert http.get(f"/api/v1/holds/{hold.pk}/", api.desk_key).body["title_id"] == wanted.title_id
    cancelled = http.post(f"/api/v1/holds/{hold.pk}/cancel/", api.desk_key, {"reason": "Via koppeling"})
    assert cancelled.status_code == 200 and cancelled.body["status"] == "cancelled"
    again = http.post(f"/api/v1/holds/{hold.pk}/cancel/", api.desk_key, {})
    assert again.status_code == 409 and codes(again) == ["hold.closed"]
    assert http.post("/api/v1/holds/99999999/cancel/", api.desk_key, {}).status_code == 404


def test_another_librarys_members_and_holds_are_not_reached(api, http):
    with tenant_context(api.beta):
        beta_members = [make_member(card_number=f"B300000{n}", last_name="Betalid", paid_until=PAID_UNTIL)
                        for n in range(4)]
    beta_member = beta_members[-1]
    found = http.get("/api/v1/members/?q=Betalid", api.desk_key)
    assert found.status_code == 200 and found.body["results"] == []
    by_card = http.get(f"/api/v1/members/?card_number={beta_member.card_number}", api.desk_key)
    assert by_card.body["results"] == []
    detail = http.get(f"/api/v1/members/{beta_member.pk}/", api.desk_key)
    if Member.objects.filter(pk=beta_member.pk).exists():  # alpha's own member with the same number
        assert detail.body["card_number"] != beta_member.card_number
    else:
        assert detail.status_code == 404 and codes(detail) == ["member.not_found"]
    for path in (f"/api/v1/members/{beta_member.pk}/", f"/api/v1/members/{beta_member.pk}/loans/"):
        assert http.get(path, api.desk_key, host=BETA).status_code == 403
    with tenant_context(api.beta):
        assert not AuditEntry.objects.filter(action=AuditEntry.Action.VIEW, member_id_ref=beta_member.pk).exists()
    assert http.get("/api/v1/members/abc/", api.desk_key).status_code == 404
    assert http.get("/api/v1/members/99999999999999999999/", api.desk_key).status_code == 404


def test_titles_and_availability_here_and_elsewhere(api, http):
    [item, second] = api.desk.items(count=2)
    title_id = item.title_id
    with tenant_context(api.beta):
        from catalogue.models import Title

        make_items(api.beta, branch=api.beta_branch, title=Title.objects.get(pk=title_id), count=3)
    checkout(actor=api.desk.actor(), card_number=api.desk.member.card_number, barcode=item.barcode)

    title = http.get(f"/api/v1/titles/{title_id}/", api.machine_key)
    assert title.status_code == 200
    assert title.body["here"] == {"total": 2, "available": 1}
    assert title.body["elsewhere"] == {"total": 3, "available": 3}
    availability = http.get(f"/api/v1/titles/{title_id}/availability/", api.desk_key)
    assert availability.body["here"] == [{"branch_id": api.desk.main.pk, "branch_name": api.desk.main.name,
                                          "total": 2, "available": 1}]
    assert [(row["organisation_id"], row["available"]) for row in availability.body["elsewhere"]] == [
        (api.beta.pk, 3)]
    items = http.get(f"/api/v1/titles/{title_id}/items/", api.collection_key)
    assert {row["barcode"]: row["status"] for row in items.body["results"]} == {
        item.barcode: "on_loan", second.barcode: "available"}

    search = http.get(f"/api/v1/titles/?q={title.body['title'].split()[0]}", api.desk_key)
    assert search.status_code == 200 and title_id in [row["id"] for row in search.body["results"]]
    assert http.get("/api/v1/titles/?material_type=nonsense", api.desk_key).status_code == 400
    assert http.get("/api/v1/titles/999999999/", api.desk_key).status_code == 404
