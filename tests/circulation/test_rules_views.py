"""The loan-rule matrix and circulation settings screens (library administrators):
who may use them, create/edit/delete with amounts in euros, Dutch errors that save
nothing, the 'Welke regel geldt?' tool and the settings."""

import re

import pytest
from django_tenants.utils import tenant_context

from circulation.models import CirculationSettings, LoanRule
from staff.models import Role
from tests.conftest import host_client
from tests.factories import staff_with_role

from .factories import make_rule

pytestmark = pytest.mark.django_db

BASE = "/uitlening/regels/"


@pytest.fixture
def alpha(libraries, member_defaults):
    """alpha with its categories (member_defaults.alpha) and two branches."""
    main, other = list(libraries.alpha.branches.order_by("name"))[:2]
    return type("Alpha", (), {"library": libraries.alpha, "main": main, "other": other,
                              "adult": member_defaults.alpha["adult_category"],
                              "youth": member_defaults.alpha["youth_category"]})


@pytest.fixture
def admin(client, staff):
    client.force_login(staff.alpha_library_admin)
    return host_client(client, "alpha")


def rule_post(**fields):
    values = {"who": "", "item_type": "", "branch": "", "loan_days": "21", "max_renewals": "2",
              "max_loans_total": "", "max_loans_of_type": "", "loan_fee": "", "fine_per_day": "", "fine_max": "",
              "holdable": "on", "hold_fee": "", "hold_shelf_days": "7", "auto_renew": "on"}
    values.update(fields)
    return values


def rules_in(library):
    with tenant_context(library):
        return list(LoanRule.objects.order_by("pk"))


def text(response):
    return response.content.decode()


def test_only_library_admins_of_this_library(client, libraries, staff, alpha):
    with tenant_context(libraries.alpha):
        rule = make_rule()
    urls = [BASE, BASE + "nieuw/", f"{BASE}{rule.pk}/wijzigen/", f"{BASE}{rule.pk}/verwijderen/",
            BASE + "instellingen/"]
    host_client(client, "alpha")
    for url in urls:
        assert client.get(url).status_code == 302  # to the sign-in page
    beta_admin = staff_with_role(libraries.beta, Role.LIBRARY_ADMIN, username="beta.library_admin")
    for user in (staff.alpha_desk, staff.alpha_collection, beta_admin):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403, (user, url)
        assert client.post(f"{BASE}{rule.pk}/verwijderen/").status_code == 403
        assert client.post(BASE + "nieuw/", rule_post(item_type="dvd")).status_code == 403
        assert client.post(BASE + "instellingen/", {"floating_item_types": ["book"], "transfer_days": "3"}
                           ).status_code == 403
    assert [r.pk for r in rules_in(libraries.alpha)] == [rule.pk]
    with tenant_context(libraries.alpha):
        assert not CirculationSettings.objects.exists()
    client.force_login(staff.alpha_library_admin)
    for url in urls:
        assert client.get(url).status_code == 200, url
    # beta's own administrator works on beta's host
    client.force_login(beta_admin)
    assert host_client(client, "beta").get(BASE).status_code == 200


def test_desk_home_links_to_the_rules_for_library_admins_only(client, staff, alpha):
    host_client(client, "alpha")
    client.force_login(staff.alpha_desk)
    assert BASE not in text(client.get("/balie/"))
    client.force_login(staff.alpha_library_admin)
    assert f'href="{BASE}"' in text(client.get("/balie/"))


def test_create_with_euros_and_the_overview_shows_it(admin, alpha):
    response = admin.post(BASE + "nieuw/", rule_post(
        who=str(alpha.adult.pk), item_type="dvd", branch=str(alpha.other.pk), loan_days="7", max_renewals="1",
        max_loans_of_type="3", loan_fee="€ 1", fine_per_day="0,25", fine_max="5.00", hold_fee="0.5",
        auto_renew="",
    ))
    assert response.status_code == 302
    [rule] = rules_in(alpha.library)
    assert response["Location"] == f"{BASE}#regel-{rule.pk}"
    assert (rule.for_guests, rule.member_category_id, rule.item_type, rule.branch_id) == (
        False, alpha.adult.pk, "dvd", alpha.other.pk)
    assert (rule.loan_days, rule.max_renewals, rule.max_loans_total, rule.max_loans_of_type) == (7, 1, None, 3)
    assert (rule.loan_fee_cents, rule.fine_per_day_cents, rule.fine_max_cents, rule.hold_fee_cents) == (
        100, 25, 500, 50)
    assert rule.holdable and not rule.auto_renew

    page = text(admin.get(BASE))
    row = re.search(rf'<tr id="regel-{rule.pk}".*?</tr>', page, re.S).group(0)
    for shown in ("Volwassene", "Dvd", alpha.other.name, "7 dagen", "€ 1,00", "€ 0,25", "€ 5,00", "€ 0,50",
                  f"{BASE}{rule.pk}/wijzigen/", f"{BASE}{rule.pk}/verwijderen/"):
        assert shown in row, shown
    assert "Nieuwe regel" in page


def test_guests_and_everyone_and_thousands(admin, alpha):
    assert admin.post(BASE + "nieuw/", rule_post(who="gast", max_loans_total="5", fine_per_day="0,10",
                                                 fine_max="1.250,00")).status_code == 302
    assert admin.post(BASE + "nieuw/", rule_post()).status_code == 302
    guests, everyone = rules_in(alpha.library)
    assert (guests.for_guests, guests.member_category_id, guests.max_loans_total, guests.fine_max_cents) == (
        True, None, 5, 125000)
    assert (everyone.for_guests, everyone.member_category_id, everyone.item_type, everyone.branch_id) == (
        False, None, "", None)
    assert everyone.loan_fee_cents == everyone.fine_per_day_cents == 0
    page = text(admin.get(BASE))
    assert "gastleners" in page and "iedereen" in page and "alle soorten" in page and "alle vestigingen" in page


def test_edit_shows_euros_and_saves_changes(admin, alpha):
    with tenant_context(alpha.library):
        rule = make_rule(member_category=alpha.youth, loan_days=21, fine_per_day_cents=25, fine_max_cents=500)
    form = text(admin.get(f"{BASE}{rule.pk}/wijzigen/"))
    assert 'value="0,25"' in form and 'value="5,00"' in form and "Uitleenregel wijzigen" in form
    assert re.search(rf'<option value="{alpha.youth.pk}" selected>', form)
    response = admin.post(f"{BASE}{rule.pk}/wijzigen/", rule_post(
        who=str(alpha.youth.pk), loan_days="28", fine_per_day="0", fine_max="0"))
    assert response.status_code == 302
    [changed] = rules_in(alpha.library)
    assert (changed.pk, changed.loan_days, changed.fine_per_day_cents, changed.fine_max_cents) == (
        rule.pk, 28, 0, 0)
    assert admin.get(f"{BASE}987654/wijzigen/").status_code == 404


def test_delete_asks_first(admin, alpha):
    with tenant_context(alpha.library):
        rule = make_rule(item_type="dvd", loan_days=7)
    confirm = admin.get(f"{BASE}{rule.pk}/verwijderen/")
    assert confirm.status_code == 200 and "Weet u zeker" in text(confirm) and "Dvd" in text(confirm)
    assert rules_in(alpha.library) == [rule]
    response = admin.post(f"{BASE}{rule.pk}/verwijderen/")
    assert response.status_code == 302 and response["Location"] == BASE
    assert rules_in(alpha.library) == []
    assert "Uitleenregel verwijderd" in text(admin.get(BASE))
    assert admin.post(f"{BASE}{rule.pk}/verwijderen/").status_code == 404


@pytest.mark.parametrize("fields, message", [
    ({"loan_fee": "tien"}, "Geef een bedrag in euro"),
    ({"fine_per_day": "0,255"}, "Geef een bedrag in euro"),
    ({"loan_days": "drie"}, "Geef een geheel getal."),
    ({"loan_days": ""}, "Vul dit veld in."),
    ({"who": "999999"}, "Kies een van de mogelijkheden."),
    ({"loan_days": "0"}, "De uitleentermijn moet een geheel getal van 1 tot en met 365 zijn."),
    ({"max_renewals": "-1"}, "Het maximum aantal verlengingen moet een geheel getal van 0 tot en met 99 zijn."),
    ({"hold_shelf_days": "61"}, "Het aantal dagen op de reserveringsplank moet een geheel getal van 1 tot en met 60"),
    ({"fine_per_day": "0,50", "fine_max": "0,25"}, "De maximale boete mag niet lager zijn dan de boete per dag."),
])
def test_invalid_input_shows_dutch_errors_and_saves_nothing(admin, alpha, fields, message):
    response = admin.post(BASE + "nieuw/", rule_post(**fields))
    assert response.status_code == 400
    assert message in text(response)
    assert rules_in(alpha.library) == []


def test_inactive_branch_is_refused_by_the_service(admin, alpha):
    alpha.other.is_active = False
    alpha.other.save()
    response = admin.post(BASE + "nieuw/", rule_post(branch=str(alpha.other.pk)))
    assert response.status_code == 400 and "is niet actief" in text(response)
    assert rules_in(alpha.library) == []


def test_a_second_rule_for_the_same_cell_is_refused(admin, alpha):
    with tenant_context(alpha.library):
        existing = make_rule(member_category=alpha.adult, item_type="dvd", loan_days=7)
        other = make_rule(member_category=alpha.adult, loan_days=21)
    response = admin.post(BASE + "nieuw/", rule_post(who=str(alpha.adult.pk), item_type="dvd", loan_days="14"))
    assert response.status_code == 400
    assert "Er is al een regel voor precies deze combinatie; pas die aan." in text(response)
    # Editing another rule into the same cell is refused too.
    response = admin.post(f"{BASE}{other.pk}/wijzigen/", rule_post(who=str(alpha.adult.pk), item_type="dvd"))
    assert response.status_code == 400 and "Er is al een regel" in text(response)
    assert [(r.pk, r.item_type, r.loan_days) for r in rules_in(alpha.library)] == [
        (existing.pk, "dvd", 7), (other.pk, "", 21)]
    # Wildcards count as a cell value: a second rule for everyone, everything, everywhere is refused.
    assert admin.post(BASE + "nieuw/", rule_post()).status_code == 302
    again = admin.post(BASE + "nieuw/", rule_post(loan_days="10"))
    assert again.status_code == 400 and "Er is al een regel" in text(again)
    assert len(rules_in(alpha.library)) == 3


def test_which_rule_shows_the_winner_why_and_the_candidates_in_order(admin, alpha):
    with tenant_context(alpha.library):
        adults = make_rule(member_category=alpha.adult, loan_days=21)
        adult_dvd = make_rule(member_category=alpha.adult, item_type="dvd", loan_days=7)
        main_dvd = make_rule(item_type="dvd", branch_id=alpha.main.pk, loan_days=3)
        make_rule(item_type="dvd", branch_id=alpha.other.pk, loan_days=5)  # other branch: no candidate
        make_rule(member_category=alpha.youth, loan_days=28)  # other category: no candidate
        make_rule(for_guests=True, loan_days=14)  # guests only
    page = text(admin.get(BASE, {"who": str(alpha.adult.pk), "item_type": "dvd", "branch": str(alpha.main.pk)}))
    result = re.search(r'<div data-testid="which-rule">.*?</div>\s*\{?', page, re.S).group(0)
    assert "Deze regel geldt" in result
    # Equally specific (two dimensions each): the branch counts most.
    assert ("Meest specifieke passende regel (ingevuld: vestiging, soort materiaal). "
            "2 andere passende regel(s) zijn algemener.") in result
    order = [int(pk) for pk in re.findall(r'data-testid="candidate-(\d+)"', result)]
    assert order == [main_dvd.pk, adult_dvd.pk, adults.pk]
    winner_row = re.search(r'<tr class="winner"[^>]*>.*?</tr>', result, re.S).group(0)
    assert f'candidate-{main_dvd.pk}"' in winner_row and "geldt" in winner_row and "3 dagen" in winner_row

    # Adults, a book, at the other branch: only the category rule.
    page = text(admin.get(BASE, {"who": str(alpha.adult.pk), "item_type": "book", "branch": str(alpha.other.pk)}))
    assert re.findall(r'data-testid="candidate-(\d+)"', page) == [str(adults.pk)]
    assert "Meest specifieke passende regel (ingevuld: ledencategorie)." in page

    # Guests borrowing a DVD: only the guest rule, never the members' rules.
    page = text(admin.get(BASE, {"who": "gast", "item_type": "dvd", "branch": str(alpha.main.pk)}))
    assert len(re.findall(r'data-testid="candidate-(\d+)"', page)) == 1
    assert "ingevuld: gastleners" in page and "14 dagen" in page


def test_which_rule_without_a_match_shows_the_lsb_default(admin, alpha):
    page = text(admin.get(BASE, {"who": "gast", "item_type": "book", "branch": str(alpha.main.pk)}))
    assert "Standaardregel van LSB" in page
    assert "Geen regel van de bibliotheek past voor gastleners; de standaardregel van LSB geldt." in page
    default = re.search(r'<tr class="winner" data-testid="candidate-default">.*?</tr>', page, re.S).group(0)
    assert "21 dagen" in default and "alle soorten" in default


def test_which_rule_asks_for_every_choice(admin, alpha):
    response = admin.get(BASE, {"who": "", "item_type": "dvd", "branch": ""})
    page = text(response)
    assert response.status_code == 200
    assert "Kies een ledencategorie of gastleners." in page and "Kies een vestiging." in page
    assert 'data-testid="which-rule"' not in page


def test_settings_save_floating_types_and_transfer_days(admin, alpha):
    page = text(admin.get(BASE + "instellingen/"))
    assert "Zwevende collectie" in page and 'value="book"' in page
    response = admin.post(BASE + "instellingen/", {"floating_item_types": ["book", "dvd"], "transfer_days": "3"})
    assert response.status_code == 302
    with tenant_context(alpha.library):
        settings = CirculationSettings.objects.get()
        assert (settings.floating_item_types, settings.transfer_days) == (["book", "dvd"], 3)
    page = text(admin.get(BASE + "instellingen/"))
    assert "Uitleeninstellingen opgeslagen" in page
    assert re.search(r'value="dvd"[^>]*checked', page) and not re.search(r'value="game"[^>]*checked', page)
    assert "Zwevende collectie: Boek, Dvd" in text(admin.get(BASE))

    # Nothing floats any more.
    assert admin.post(BASE + "instellingen/", {"transfer_days": "2"}).status_code == 302
    with tenant_context(alpha.library):
        assert CirculationSettings.objects.get().floating_item_types == []

    # The processing fee kept when a lost copy turns up (issue 12, item 2), in euros.
    assert "Verwerkingskosten bij een teruggevonden verloren exemplaar" in text(admin.get(BASE + "instellingen/"))
    assert admin.post(BASE + "instellingen/", {"transfer_days": "2", "lost_found_fee_cents": "7,50"}
                      ).status_code == 302
    with tenant_context(alpha.library):
        assert CirculationSettings.objects.get().lost_found_fee_cents == 750
    assert 'value="7,50"' in text(admin.get(BASE + "instellingen/"))


@pytest.mark.parametrize("data, message", [
    ({"floating_item_types": ["book"], "transfer_days": "31"},
     "Het aantal dagen transport moet een geheel getal van 0 tot en met 30 zijn."),
    ({"floating_item_types": ["boek"], "transfer_days": "2"}, "Kies bestaande soorten materiaal."),
    ({"floating_item_types": ["book"], "transfer_days": "twee"}, "Geef een geheel getal."),
])
def test_invalid_settings_show_dutch_errors_and_save_nothing(admin, alpha, data, message):
    response = admin.post(BASE + "instellingen/", data)
    assert response.status_code == 400 and message in text(response)
    with tenant_context(alpha.library):
        assert not CirculationSettings.objects.exists()


def test_a_guest_rule_for_young_guests_on_the_rules_screen(admin, alpha):
    """Issue 12, item 6: 'voor wie' offers guests by age group; the matrix names it."""
    page = text(admin.get(BASE + "nieuw/"))
    assert 'value="gast-jeugd"' in page and 'value="gast-volwassen"' in page
    response = admin.post(BASE + "nieuw/", rule_post(who="gast-jeugd", fine_per_day="0"))
    assert response.status_code == 302
    [rule] = rules_in(alpha.library)
    assert (rule.for_guests, rule.guest_age_group, rule.member_category_id) == (True, "youth", None)
    assert "gastleners (jeugd)" in text(admin.get(BASE))
    edit = text(admin.get(f"{BASE}{rule.pk}/wijzigen/"))
    assert 'value="gast-jeugd" selected' in edit
