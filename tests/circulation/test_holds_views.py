"""The reservation screens in the browser's place: placing a hold from the member
page and the title page (every refusal in Dutch, nothing changed), the member's
holds with their actions, the title queue with the staff override, the hold shelf
and the pick list; desk role only, and no reach into another library."""

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from circulation.models import CirculationEvent, Hold, HoldStatus
from circulation.services import holds as hold_services
from circulation.services.loans import checkin, checkout
from core.actors import Actor
from members.models import AuditEntry, LedgerEntry
from members.services.ledger import block_add
from tests.factories import TitleFactory
from tests.members.factories import make_member

from .conftest import PAID_UNTIL
from .factories import make_rule

ALPHA = "alpha.localhost"
BETA = "beta.localhost"


@pytest.fixture
def others(desk):
    return [make_member(first_name=name, last_name="Wachter", paid_until=PAID_UNTIL) for name in ("Bas", "Cor")]


@pytest.fixture
def alpha_client(client, desk):
    client.force_login(desk.staff)
    client.defaults["HTTP_HOST"] = ALPHA
    return client


def lend(desk, item, member=None):
    return checkout(actor=desk.actor(), card_number=(member or desk.member).card_number,
                    barcode=item.barcode).loan


def place(desk, member, item, pickup=None):
    return hold_services.hold_place(actor=desk.actor(), member=member,
                                    title_id=item.title_id, pickup_branch_id=(pickup or desk.main).pk)


def holds_state(desk):
    with tenant_context(desk.library):
        return sorted(Hold.objects.values_list("pk", "status", "pickup_branch_id", "suspended_until", "queue_at"))


def page_text(response):
    return response.content.decode()


# --- desk home and permissions -------------------------------------------------------

def test_desk_home_has_the_reservations_card_for_desk_staff(client, desk, staff):
    client.force_login(desk.staff)
    page = page_text(client.get("/balie/", HTTP_HOST=ALPHA))
    assert 'aria-label="Reserveringen"' in page
    assert "/reserveringen/plank/" in page and "/reserveringen/picklijst/" in page
    client.force_login(staff.alpha_collection)
    assert 'aria-label="Reserveringen"' not in page_text(client.get("/balie/", HTTP_HOST=ALPHA))


@pytest.mark.parametrize("path", ["/reserveringen/plank/", "/reserveringen/picklijst/", "/reserveringen/titel/1/"])
def test_screens_need_the_desk_role(client, desk, staff, path):
    assert client.get(path, HTTP_HOST=ALPHA).status_code == 302  # to sign in
    client.force_login(staff.alpha_collection)
    response = client.get(path, HTTP_HOST=ALPHA)
    assert response.status_code == 403 and "Balie" in page_text(response)
    client.force_login(staff.gamma_library_admin)  # works elsewhere only
    assert client.get(path, HTTP_HOST=ALPHA).status_code == 403


def test_actions_need_the_desk_role(client, desk, others, staff):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    before = holds_state(desk)
    client.force_login(staff.alpha_collection)
    assert client.post(f"/reserveringen/{hold.pk}/annuleren/", {"reason": "x"}, HTTP_HOST=ALPHA).status_code == 403
    assert client.post(f"/reserveringen/lid/{others[1].pk}/nieuw/",
                       {"title_id": item.title_id, "pickup_branch": desk.main.pk}, HTTP_HOST=ALPHA).status_code == 403
    assert holds_state(desk) == before


# --- placing from the member page -------------------------------------------------------

def test_member_page_links_to_placing_and_lists_no_holds(alpha_client, desk):
    page = page_text(alpha_client.get(f"/leden/{desk.member.pk}/"))
    assert f"/reserveringen/lid/{desk.member.pk}/nieuw/" in page and ">Reserveren<" in page
    assert 'data-testid="no-holds"' in page


def test_place_hold_from_a_catalogue_search(alpha_client, desk, others):
    title = TitleFactory(title="Het geheim van de vuurtoren")
    item, = desk.items(title=title)
    lend(desk, item)
    page = page_text(alpha_client.get(f"/reserveringen/lid/{others[0].pk}/nieuw/", {"q": "vuurtoren"}))
    assert f'name="title_id" value="{title.pk}"' in page
    # Default pickup: the working branch (the member has no preferred branch).
    assert f'<option value="{desk.main.pk}" selected>' in page
    response = alpha_client.post(f"/reserveringen/lid/{others[0].pk}/nieuw/",
                                 {"title_id": title.pk, "pickup_branch": desk.other.pk})
    assert response.status_code == 302 and response["Location"] == f"/leden/{others[0].pk}/"
    with tenant_context(desk.library):
        hold = Hold.objects.get(member=others[0])
        assert hold.title_id == title.pk and hold.pickup_branch_id == desk.other.pk
        assert hold.expected_position == 1 and hold.expected_on is not None
    page = page_text(alpha_client.get(response["Location"]))
    assert "Reservering geplaatst: Het geheim van de vuurtoren, plaats 1 in de wachtrij" in page
    row = page.split(f'data-testid="hold-{hold.pk}"')[1].split("</tr>")[0]
    assert "Het geheim van de vuurtoren" in row and "Wacht" in row and desk.other.name in row
    assert hold.expected_on.strftime("%d-%m-%Y") in row


def test_default_pickup_is_the_members_preferred_branch(alpha_client, desk):
    with tenant_context(desk.library):
        member = make_member(first_name="Dirk", paid_until=PAID_UNTIL, preferred_branch_id=desk.other.pk)
    item, = desk.items()
    page = page_text(alpha_client.get(f"/reserveringen/lid/{member.pk}/nieuw/", {"titel": item.title_id}))
    assert f'<option value="{desk.other.pk}" selected>' in page
    assert f'value="{item.title_id}" id="title-{item.title_id}" style="width:auto" checked' in page


def test_place_hold_on_one_copy_by_barcode(alpha_client, desk, others):
    first, second = desk.items(count=2)
    response = alpha_client.post(f"/reserveringen/lid/{others[0].pk}/nieuw/",
                                 {"barcode": second.barcode, "pickup_branch": desk.main.pk})
    assert response.status_code == 302
    with tenant_context(desk.library):
        hold = Hold.objects.get(member=others[0])
        assert hold.item_id == second.pk and hold.title_id == second.title_id


def test_place_hold_refusals_in_dutch_change_nothing(alpha_client, desk, others, libraries):
    item, = desk.items()
    lend(desk, item)
    place(desk, others[0], item)
    with tenant_context(desk.library):
        dvd, = desk.items(item_type="dvd")
        make_rule(item_type="dvd", holdable=False)
        block_add(actor=desk.actor(), member=others[1], reason="Boek beschadigd teruggebracht")
        ledger_before = LedgerEntry.objects.count()
    beta_branch = libraries.beta.branches.first()
    cases = [
        (others[0], {"title_id": item.title_id, "pickup_branch": desk.main.pk}, "al gereserveerd"),
        (desk.member, {"title_id": item.title_id, "pickup_branch": desk.main.pk}, "nu al geleend"),
        (desk.member, {"title_id": dvd.title_id, "pickup_branch": desk.main.pk},
         "geen exemplaren die gereserveerd kunnen worden"),
        (desk.member, {"title_id": item.title_id, "pickup_branch": beta_branch.pk}, "hoort niet bij"),
        (others[1], {"title_id": item.title_id, "pickup_branch": desk.main.pk}, "kan nu niet reserveren"),
        (desk.member, {"barcode": "ONBEKEND1", "pickup_branch": desk.main.pk}, "onbekend in deze bibliotheek"),
        (desk.member, {"pickup_branch": desk.main.pk}, "Kies een titel of een exemplaar"),
    ]
    before = holds_state(desk)
    for member, data, text in cases:
        response = alpha_client.post(f"/reserveringen/lid/{member.pk}/nieuw/", data)
        assert response.status_code == 400, text
        page = page_text(response)
        assert 'data-testid="errors"' in page and text in page, text
    assert holds_state(desk) == before
    with tenant_context(desk.library):
        assert LedgerEntry.objects.count() == ledger_before


# --- placing from the title page ---------------------------------------------------------

def test_title_page_form_for_desk_staff_only(client, desk, staff):
    item, = desk.items()
    client.force_login(staff.alpha_library_admin)  # collection and desk
    page = page_text(client.get(f"/collectie/titel/{item.title_id}/", HTTP_HOST=ALPHA))
    assert 'aria-label="Reserveren voor een lid"' in page
    assert f"/reserveringen/titel/{item.title_id}/reserveren/" in page
    client.force_login(staff.alpha_collection)
    page = page_text(client.get(f"/collectie/titel/{item.title_id}/", HTTP_HOST=ALPHA))
    assert 'aria-label="Exemplaren toevoegen"' in page and "Reserveren voor een lid" not in page


def test_place_hold_from_the_title_page_by_card(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    url = f"/reserveringen/titel/{item.title_id}/reserveren/"
    response = alpha_client.post(url, {"card_number": others[0].card_number.lower(), "pickup_branch": ""})
    assert response.status_code == 302 and response["Location"] == f"/reserveringen/titel/{item.title_id}/"
    with tenant_context(desk.library):
        hold = Hold.objects.get(member=others[0])
        assert hold.pickup_branch_id == desk.main.pk  # the working branch: no preferred branch
    page = page_text(alpha_client.get(response["Location"]))
    assert "Bas Wachter (pas" in page and "plaats 1 in de wachtrij" in page

    before = holds_state(desk)
    for data, text in [
        ({"card_number": "", "pickup_branch": ""}, "Scan of typ het pasnummer"),
        ({"card_number": "NIEMAND99", "pickup_branch": ""}, "Er is geen lid met pasnummer NIEMAND99"),
        ({"card_number": others[0].card_number, "pickup_branch": ""}, "al gereserveerd"),
    ]:
        response = alpha_client.post(url, data)
        assert response.status_code == 400 and text in page_text(response)
    assert holds_state(desk) == before


# --- acting on a member's holds ----------------------------------------------------------

def test_cancel_needs_a_reason_and_cancels(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    next_url = f"/leden/{others[0].pk}/"
    response = alpha_client.post(f"/reserveringen/{hold.pk}/annuleren/", {"reason": " ", "next": next_url})
    assert response["Location"] == next_url
    assert "Geef een reden" in page_text(alpha_client.get(next_url))
    with tenant_context(desk.library):
        assert Hold.objects.get(pk=hold.pk).status == HoldStatus.WAITING
    alpha_client.post(f"/reserveringen/{hold.pk}/annuleren/", {"reason": "Al gekocht", "next": next_url})
    with tenant_context(desk.library):
        hold.refresh_from_db()
        assert hold.status == HoldStatus.CANCELLED and hold.cancel_reason == "Al gekocht"
    page = page_text(alpha_client.get(next_url))
    assert "De reservering is geannuleerd" in page and 'data-testid="no-holds"' in page
    # Once more: the service's Dutch refusal.
    alpha_client.post(f"/reserveringen/{hold.pk}/annuleren/", {"reason": "Nogmaals"})
    assert "al afgesloten" in page_text(alpha_client.get(next_url))


def test_suspend_resume_and_change_pickup(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    member_url = f"/leden/{others[0].pk}/"
    until = timezone.localdate() + datetime.timedelta(days=30)

    for value, text in [("", "Vul een geldige datum in"), (timezone.localdate().isoformat(), "in de toekomst")]:
        alpha_client.post(f"/reserveringen/{hold.pk}/opschorten/", {"until": value})
        assert text in page_text(alpha_client.get(member_url))
    alpha_client.post(f"/reserveringen/{hold.pk}/opschorten/", {"until": until.isoformat()})
    with tenant_context(desk.library):
        hold.refresh_from_db()
        assert hold.suspended_until == until
        assert hold.expected_on >= until
    page = page_text(alpha_client.get(member_url))
    row = page.split(f'data-testid="hold-{hold.pk}"')[1].split("</tr>")[0]
    assert until.strftime("%d-%m-%Y") in row and "Hervatten" in row

    alpha_client.post(f"/reserveringen/{hold.pk}/hervatten/")
    with tenant_context(desk.library):
        hold.refresh_from_db()
        assert hold.suspended_until is None
    alpha_client.post(f"/reserveringen/{hold.pk}/hervatten/")
    assert "niet opgeschort" in page_text(alpha_client.get(member_url))

    alpha_client.post(f"/reserveringen/{hold.pk}/ophaalvestiging/", {"pickup_branch": desk.other.pk})
    with tenant_context(desk.library):
        hold.refresh_from_db()
        assert hold.pickup_branch_id == desk.other.pk
    alpha_client.post(f"/reserveringen/{hold.pk}/ophaalvestiging/", {"pickup_branch": desk.other.pk})
    assert "wordt al opgehaald in" in page_text(alpha_client.get(member_url))


def test_pickup_branch_of_another_library_refused(alpha_client, desk, others, libraries):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    before = holds_state(desk)
    beta_branch = libraries.beta.branches.first()
    alpha_client.post(f"/reserveringen/{hold.pk}/ophaalvestiging/", {"pickup_branch": beta_branch.pk})
    assert "hoort niet bij" in page_text(alpha_client.get(f"/leden/{others[0].pk}/"))
    assert holds_state(desk) == before


def test_expected_date_unknown_when_no_copy_can_fill(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    with tenant_context(desk.library):
        Hold.objects.filter(pk=hold.pk).update(expected_on=None)
    page = page_text(alpha_client.get(f"/leden/{others[0].pk}/"))
    row = page.split(f'data-testid="hold-{hold.pk}"')[1].split("</tr>")[0]
    assert 'style="white-space:nowrap">onbekend<' in row


# --- the queue of a title ----------------------------------------------------------------

def test_queue_shows_positions_and_expected_dates_and_is_audited(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    first, second = place(desk, others[0], item), place(desk, others[1], item)
    response = alpha_client.get(f"/reserveringen/titel/{item.title_id}/")
    page = page_text(response)
    assert response.status_code == 200
    for position, hold in ((1, first), (2, second)):
        hold.refresh_from_db()
        row = page.split(f'data-testid="queue-row-{hold.pk}"')[1].split("</tr>")[0]
        assert f'data-testid="position">{position}<' in row
        assert hold.expected_on.strftime("%d-%m-%Y") in row
        assert hold.member.full_name in row
    with tenant_context(desk.library):
        entry = AuditEntry.objects.filter(action="search").latest("at")
        assert entry.detail["member_ids"] == sorted([others[0].pk, others[1].pk])
        assert entry.detail["query"]["screen"] == "reserveringen-wachtrij"


def test_queue_move_needs_a_reason_and_is_logged(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    first, second = place(desk, others[0], item), place(desk, others[1], item)
    url = f"/reserveringen/titel/{item.title_id}/verplaatsen/"
    before = holds_state(desk)
    response = alpha_client.post(url, {"hold_id": second.pk, "before_hold_id": first.pk, "reason": ""})
    assert response.status_code == 400 and "Geef een reden" in page_text(response)
    response = alpha_client.post(url, {"hold_id": first.pk, "before_hold_id": first.pk, "reason": "x"})
    assert response.status_code == 400 and "Kies een andere reservering" in page_text(response)
    assert holds_state(desk) == before

    response = alpha_client.post(url, {"hold_id": second.pk, "before_hold_id": first.pk,
                                       "reason": "Medische noodzaak, afgesproken met teamleider"})
    assert response.status_code == 302
    with tenant_context(desk.library):
        first.refresh_from_db()
        second.refresh_from_db()
        assert (second.expected_position, first.expected_position) == (1, 2)
        event = CirculationEvent.objects.get(kind=CirculationEvent.Kind.QUEUE, hold=second)
        assert "Medische noodzaak" in event.detail and event.staff_user_id == desk.staff.pk
    page = page_text(alpha_client.get(response["Location"]))
    assert "staat nu vóór die van" in page and "Medische noodzaak" in page
    assert page.index(f'queue-row-{second.pk}"') < page.index(f'queue-row-{first.pk}"')


def test_queue_of_an_unknown_title_is_404(alpha_client, desk):
    assert alpha_client.get("/reserveringen/titel/987654321/").status_code == 404


# --- hold shelf and pick list -------------------------------------------------------------

def test_hold_shelf_ready_expiring_expired_and_incoming(alpha_client, desk, others):
    ready_item, expired_item, transit_item = desk.items(), desk.items(), desk.items()
    ready_item, expired_item, transit_item = ready_item[0], expired_item[0], transit_item[0]
    for item in (ready_item, expired_item, transit_item):
        lend(desk, item)
    ready = place(desk, others[0], ready_item)
    expired = place(desk, others[0], expired_item)
    incoming = place(desk, others[1], transit_item, pickup=desk.main)
    for item in (ready_item, expired_item):
        checkin(actor=desk.actor(), barcode=item.barcode)
    checkin(actor=desk.actor(branch=desk.other), barcode=transit_item.barcode)
    with tenant_context(desk.library):
        today = timezone.localdate()
        Hold.objects.filter(pk=ready.pk).update(shelf_until=today)
        Hold.objects.filter(pk=expired.pk).update(shelf_until=today - datetime.timedelta(days=2))
        hold_services.holds_expire(actor=Actor.system("nightly", desk.library), today=today)

    page = page_text(alpha_client.get("/reserveringen/plank/", {"vestiging": desk.main.pk}))
    ready_part = page.split('data-testid="shelf-ready"')[1].split("</section>")[0]
    assert ready_item.barcode in ready_part and "Bas Wachter" in ready_part
    assert 'data-testid="expiring"' in ready_part and "verloopt vandaag" in ready_part
    expired_part = page.split('data-testid="shelf-expired"')[1].split("</section>")[0]
    assert expired_item.barcode in expired_part and ready_item.barcode not in expired_part
    incoming_part = page.split('data-testid="shelf-incoming"')[1].split("</section>")[0]
    assert transit_item.barcode in incoming_part and "Cor Wachter" in incoming_part
    assert incoming.pk

    # The other branch's shelf is empty; ?vestiging= of another library falls back to the working branch.
    page = page_text(alpha_client.get("/reserveringen/plank/", {"vestiging": desk.other.pk}))
    assert ready_item.barcode not in page and f"Reserveringsplank {desk.other.name}" in page


def test_copy_of_a_hold_cancelled_while_ready_is_listed_to_take_off_the_shelf(alpha_client, desk, others):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    checkin(actor=desk.actor(), barcode=item.barcode)
    alpha_client.post(f"/reserveringen/{hold.pk}/annuleren/", {"reason": "Lid verhuisd"})
    page = page_text(alpha_client.get("/reserveringen/plank/"))
    assert item.barcode not in page.split('data-testid="shelf-ready"')[1].split("</section>")[0]
    expired_part = page.split('data-testid="shelf-expired"')[1].split("</section>")[0]
    assert item.barcode in expired_part and "Geannuleerd: Lid verhuisd" in expired_part
    # Taken off and checked in: to the shelf, and off the list.
    with tenant_context(desk.library):
        result = checkin(actor=desk.actor(), barcode=item.barcode)
        assert result.route == "shelf"
    page = page_text(alpha_client.get("/reserveringen/plank/"))
    assert item.barcode not in page.split('data-testid="shelf-expired"')[1].split("</section>")[0]


def test_pick_list_names_the_copy_to_take_off_the_shelf(alpha_client, desk, others):
    title = TitleFactory()
    on_shelf, = desk.items(title=title, shelf_location="Romans", call_number="ROMA GEHE")
    elsewhere, = desk.items(title=title, branch=desk.other)
    lend(desk, elsewhere)
    hold = place(desk, others[0], on_shelf, pickup=desk.other)
    page = page_text(alpha_client.get("/reserveringen/picklijst/", {"vestiging": desk.main.pk}))
    row = page.split(f'data-testid="pick-{hold.pk}"')[1].split("</tr>")[0]
    for text in (title.title, "Romans", "ROMA GEHE", on_shelf.barcode, desk.other.name):
        assert text in row
    assert "Scan daarna elk exemplaar bij Innemen" in page and "data-print-page" in page
    page = page_text(alpha_client.get("/reserveringen/picklijst/", {"vestiging": desk.other.pk}))
    assert 'data-testid="pick-empty"' in page


# --- another library -----------------------------------------------------------------------

def test_beta_staff_cannot_see_or_touch_alphas_holds(client, desk, others, staff):
    item, = desk.items()
    lend(desk, item)
    hold = place(desk, others[0], item)
    before = holds_state(desk)
    client.force_login(staff.beta_desk)
    page = page_text(client.get(f"/reserveringen/titel/{item.title_id}/", HTTP_HOST=BETA))
    assert 'data-testid="queue-empty"' in page and "Bas Wachter" not in page
    for action, data in [("annuleren", {"reason": "weg"}), ("opschorten", {"until": "2099-01-01"}),
                         ("hervatten", {}), ("ophaalvestiging", {"pickup_branch": desk.other.pk})]:
        assert client.post(f"/reserveringen/{hold.pk}/{action}/", data, HTTP_HOST=BETA).status_code == 404
    assert client.get(f"/reserveringen/lid/{others[0].pk}/nieuw/", HTTP_HOST=BETA).status_code == 404
    response = client.post(f"/reserveringen/titel/{item.title_id}/verplaatsen/",
                           {"hold_id": hold.pk, "before_hold_id": hold.pk, "reason": "x"}, HTTP_HOST=BETA)
    assert response.status_code == 404
    shelf = page_text(client.get("/reserveringen/plank/", HTTP_HOST=BETA))
    assert "Bas Wachter" not in shelf
    assert holds_state(desk) == before
