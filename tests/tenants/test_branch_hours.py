"""Library administrators maintain their branches' opening hours and closed days;
the circulation calendar (due dates, fines) follows what they save."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from core.actors import Actor
from core.errors import error_codes
from staff.models import Role
from tenants import services
from tenants.calendar import due_date, public_holidays
from tenants.models import ClosedDate, OpeningPeriod
from tenants.selectors import branches_hours_overview

from ..conftest import host_client
from ..factories import staff_with_role
from ..refusals import refused

pytestmark = pytest.mark.django_db

T = datetime.time
NINE_TO_FIVE = [(weekday, T(9), T(17)) for weekday in range(7)]
# A Monday; three weeks later is Monday 23 September 2030, no public holiday near.
START = datetime.date(2030, 9, 2)
LOAN_DAYS = 21


@pytest.fixture
def branch(libraries):
    """Alpha's first branch: open every day 09:00-17:00 (tests/conftest.py)."""
    return libraries.alpha.branches.order_by("name").first()


@pytest.fixture
def other_branch(libraries):
    return libraries.alpha.branches.order_by("name")[1]


@pytest.fixture
def admin(libraries, staff):
    """Alpha's library administrator, working in alpha's schema (as the desk's requests do)."""
    with tenant_context(libraries.alpha):
        yield Actor.staff(staff.alpha_library_admin, libraries.alpha)


def hours_of(branch):
    return list(OpeningPeriod.objects.filter(branch=branch).order_by("weekday", "opens")
                .values_list("weekday", "opens", "closes"))


# --- services: opening hours -------------------------------------------------------------------


def test_opening_hours_replace_the_week_with_split_days_and_closed_days(branch, staff, admin):
    services.branch_opening_hours_set(
        branch=branch, actor=admin,
        periods=[(0, T(13), T(17)), (0, T(10), T(12)), (2, T(9), T(20)), (5, T(10), T(16))],
    )
    assert hours_of(branch) == [(0, T(10), T(12)), (0, T(13), T(17)), (2, T(9), T(20)), (5, T(10), T(16))]


def test_touching_periods_are_allowed_and_four_per_day_is_the_maximum(branch, staff, admin):
    four = [(1, T(8), T(9)), (1, T(9), T(10)), (1, T(11), T(12)), (1, T(13), T(14))]
    services.branch_opening_hours_set(branch=branch, actor=admin, periods=four)
    assert hours_of(branch) == four


@pytest.mark.parametrize(
    "periods, message, code",
    [
        ([(0, T(17), T(9))], "Maandag 17:00–09:00: de sluitingstijd moet na de openingstijd liggen.",
         "branch_hours.closes_before_opens"),
        ([(3, T(12), T(12))], "Donderdag 12:00–12:00: de sluitingstijd moet na de openingstijd liggen.",
         "branch_hours.closes_before_opens"),
        ([(4, T(9), T(13)), (4, T(12), T(17))], "Vrijdag: 09:00–13:00 en 12:00–17:00 overlappen.",
         "branch_hours.overlap"),
        ([(6, T(9), T(17)), (6, T(10), T(11))], "Zondag: 09:00–17:00 en 10:00–11:00 overlappen.",
         "branch_hours.overlap"),
        ([(1, T(h), T(h, 30)) for h in range(8, 13)], "Dinsdag: hoogstens 4 openingstijden per dag.",
         "branch_hours.too_many_periods"),
        ([], "Vul ten minste één openingstijd in.", "branch_hours.empty_week"),
        ([(7, T(9), T(17))], "Onbekende dag", "branch_hours.day_unknown"),
        ([(0, "09:00", "17:00")], "Maandag: vul een geldige tijd in", "branch_hours.time_invalid"),
    ],
)
def test_opening_hours_refused_in_dutch_and_nothing_changes(branch, staff, periods, message, code, admin):
    before = hours_of(branch)
    # A valid day alongside: it must not be saved either.
    with pytest.raises(ValidationError) as refused:
        services.branch_opening_hours_set(
            branch=branch, actor=admin, periods=[(2, T(10), T(11)), *periods]
            if periods else [],
        )
    assert any(m.startswith(message) for m in refused.value.messages), refused.value.messages
    assert code in error_codes(refused.value)
    assert hours_of(branch) == before


def test_every_problem_is_reported_at_once(branch, staff, admin):
    with pytest.raises(ValidationError) as refused:
        services.branch_opening_hours_set(
            branch=branch, actor=admin,
            periods=[(0, T(17), T(9)), (4, T(9), T(13)), (4, T(12), T(17))],
        )
    assert len(refused.value.messages) == 2
    assert error_codes(refused.value) == ["branch_hours.closes_before_opens", "branch_hours.overlap"]


# --- services: closed dates --------------------------------------------------------------------


def test_closed_date_added_and_a_duplicate_refused_naming_the_first_reason(branch, staff, admin):
    day = datetime.date(2030, 10, 7)
    services.closed_date_add(branch=branch, date=day, reason="  Studiedag  ", actor=admin)
    assert list(ClosedDate.objects.filter(branch=branch).values_list("date", "reason")) == [(day, "Studiedag")]
    with pytest.raises(ValidationError) as refused:
        services.closed_date_add(branch=branch, date=day, reason="Verbouwing", actor=admin)
    assert refused.value.messages == [f"{branch.name} is op 07-10-2030 al gesloten (Studiedag)."]
    assert refused.value.code == "closed_date.already_closed"
    assert ClosedDate.objects.filter(branch=branch).count() == 1


def test_the_same_date_may_be_closed_at_another_branch(branch, other_branch, staff, admin):
    day = datetime.date(2030, 10, 7)
    services.closed_date_add(branch=branch, date=day, reason="Studiedag", actor=admin)
    services.closed_date_add(branch=other_branch, date=day, reason="Studiedag", actor=admin)
    assert ClosedDate.objects.filter(date=day).count() == 2


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_closed_date_needs_a_reason(branch, staff, reason, admin):
    with pytest.raises(ValidationError) as refused:
        services.closed_date_add(branch=branch, date=datetime.date(2030, 10, 7), reason=reason,
                                 actor=admin)
    assert refused.value.messages == ["Vul een reden in voor de sluitingsdag."]
    assert refused.value.code == "closed_date.reason_missing"
    assert not ClosedDate.objects.filter(branch=branch).exists()


def test_closed_date_reason_too_long_refused(branch, staff, admin):
    with refused("closed_date.reason_too_long", match="te lang"):
        services.closed_date_add(branch=branch, date=datetime.date(2030, 10, 7), reason="x" * 121,
                                 actor=admin)
    assert not ClosedDate.objects.filter(branch=branch).exists()


def test_a_week_of_renovation_skips_days_already_closed(branch, staff, admin):
    services.closed_date_add(branch=branch, date=datetime.date(2030, 10, 9), reason="Studiedag",
                             actor=admin)
    created, skipped = services.closed_dates_add_range(
        branch=branch, start=datetime.date(2030, 10, 7), end=datetime.date(2030, 10, 13), reason="Verbouwing",
        actor=admin,
    )
    assert len(created) == 6 and [c.date for c in skipped] == [datetime.date(2030, 10, 9)]
    reasons = dict(ClosedDate.objects.filter(branch=branch).values_list("date", "reason"))
    assert len(reasons) == 7
    assert reasons[datetime.date(2030, 10, 9)] == "Studiedag"
    assert reasons[datetime.date(2030, 10, 13)] == "Verbouwing"


def test_a_range_of_one_day_and_of_366_days_is_allowed(branch, staff, admin):
    created, _ = services.closed_dates_add_range(
        actor=admin, branch=branch, start=datetime.date(2031, 1, 1), end=datetime.date(2031, 1, 1), reason="Inventaris")
    assert len(created) == 1
    created, _ = services.closed_dates_add_range(
        actor=admin, branch=branch, start=datetime.date(2032, 1, 1), end=datetime.date(2032, 12, 31), reason="Nieuwbouw")
    assert len(created) == 366  # 2032 is a leap year


@pytest.mark.parametrize(
    "start, end, message, code",
    [
        (datetime.date(2030, 10, 13), datetime.date(2030, 10, 7), "De einddatum ligt vóór de begindatum.",
         "closed_date.end_before_start"),
        (datetime.date(2030, 1, 1), datetime.date(2031, 1, 2),
         "Een periode van sluitingsdagen is hoogstens 366 dagen (367 gekozen).", "closed_date.range_too_long"),
    ],
)
def test_a_range_refused_adds_nothing(branch, staff, start, end, message, code, admin):
    with pytest.raises(ValidationError) as refused:
        services.closed_dates_add_range(branch=branch, start=start, end=end, reason="Verbouwing",
                                        actor=admin)
    assert refused.value.messages == [message] and refused.value.code == code
    assert not ClosedDate.objects.filter(branch=branch).exists()


def test_closed_date_removed_only_from_its_own_branch(branch, other_branch, staff, admin):
    closed = services.closed_date_add(branch=branch, date=datetime.date(2030, 10, 7), reason="Studiedag",
                                      actor=admin)
    with refused("closed_date.unknown", match="bestaat niet"):
        services.closed_date_remove(actor=admin, branch=other_branch, closed_date_id=closed.pk)
    assert ClosedDate.objects.filter(pk=closed.pk).exists()
    services.closed_date_remove(actor=admin, branch=branch, closed_date_id=closed.pk)
    assert not ClosedDate.objects.filter(pk=closed.pk).exists()
    with refused("closed_date.unknown", match="bestaat niet"):
        services.closed_date_remove(actor=admin, branch=branch, closed_date_id=closed.pk)


def test_hours_and_closed_days_only_by_this_librarys_staff_for_its_own_branches(libraries, staff, branch, admin):
    before = hours_of(branch)
    day = datetime.date(2030, 10, 7)
    beta_branch = libraries.beta.branches.order_by("name").first()
    beta_before = hours_of(beta_branch)
    beta_desk = Actor.staff(staff.beta_desk, libraries.beta)  # beta's staff while the connection is in alpha
    member = Actor.member(1, libraries.alpha)
    for call, code in [
        (lambda: services.branch_opening_hours_set(actor=beta_desk, branch=branch, periods=NINE_TO_FIVE),
         "actor.other_library"),
        (lambda: services.closed_date_add(actor=beta_desk, branch=branch, date=day, reason="Studiedag"),
         "actor.other_library"),
        (lambda: services.branch_opening_hours_set(actor=admin, branch=beta_branch, periods=NINE_TO_FIVE),
         "branch.not_of_library"),
        (lambda: services.closed_dates_add_range(actor=admin, branch=beta_branch, start=day, end=day,
                                                 reason="Studiedag"), "branch.not_of_library"),
        (lambda: services.closed_date_add(actor=member, branch=branch, date=day, reason="Studiedag"),
         "actor.not_allowed"),
    ]:
        with refused(code):
            call()
    assert hours_of(branch) == before and hours_of(beta_branch) == beta_before
    assert not ClosedDate.objects.filter(date=day).exists()


# --- selectors ---------------------------------------------------------------------------------


def test_public_holidays_in_dutch_without_good_friday():
    listed = dict(public_holidays([2030]))
    assert listed[datetime.date(2030, 4, 27)] == "Koningsdag"
    assert listed[datetime.date(2030, 12, 25)] == "Eerste kerstdag"
    assert datetime.date(2030, 4, 19) not in listed  # Goede vrijdag: the circulation calendar keeps it open
    assert list(listed) == sorted(listed)


def test_overview_shows_today_and_the_next_closed_day(libraries, branch, staff):
    # Upcoming dates (branches_of() lists closed dates from the real today on), no holiday in between.
    today = timezone.localdate() + datetime.timedelta(days=30)
    holiday_dates = {day for day, _name in public_holidays([today.year, today.year + 1, today.year + 2])}
    while {today + datetime.timedelta(days=n) for n in range(3)} & holiday_dates:
        today += datetime.timedelta(days=1)
    ClosedDate.objects.create(branch=branch, date=today, reason="Studiedag")
    ClosedDate.objects.create(branch=branch, date=today + datetime.timedelta(days=2), reason="Verbouwing")
    rows = {row["branch"].pk: row for row in branches_hours_overview(libraries.alpha, today=today)}
    assert rows[branch.pk]["closed_today"] == "Studiedag" and rows[branch.pk]["today"] == []
    assert rows[branch.pk]["next_closed"] == (today + datetime.timedelta(days=2), "Verbouwing")
    second = libraries.alpha.branches.order_by("name")[1]
    assert rows[second.pk]["has_hours"] is False and rows[second.pk]["closed_today"] is None
    next_holiday = next(h for h in public_holidays([today.year, today.year + 1]) if h[0] > today)
    assert rows[second.pk]["next_closed"] == next_holiday


def test_overview_lists_today_s_periods(libraries, branch, staff, admin):
    split_days = [(w, T(10), T(12)) for w in range(7)] + [(w, T(13), T(17)) for w in range(7)]
    services.branch_opening_hours_set(actor=admin, branch=branch, periods=split_days)
    working_day = datetime.date(2030, 9, 25)  # a Wednesday, no public holiday
    rows = {row["branch"].pk: row for row in branches_hours_overview(libraries.alpha, today=working_day)}
    assert rows[branch.pk]["closed_today"] is None
    assert [(p.opens, p.closes) for p in rows[branch.pk]["today"]] == [(T(10), T(12)), (T(13), T(17))]


# --- screens: permissions ----------------------------------------------------------------------


def branch_urls(branch_id, closed_date_id=1):
    return [
        ("get", "/balie/beheer/vestigingen/"),
        ("get", f"/balie/beheer/vestigingen/{branch_id}/"),
        ("post", f"/balie/beheer/vestigingen/{branch_id}/"),
        ("post", f"/balie/beheer/vestigingen/{branch_id}/sluitingsdagen/"),
        ("post", f"/balie/beheer/vestigingen/{branch_id}/sluitingsdagen/{closed_date_id}/verwijderen/"),
    ]


@pytest.mark.parametrize("role", [Role.DESK, Role.COLLECTION, Role.ACQUISITIONS])
def test_staff_without_library_admin_role_are_refused(client, staff, branch, role):
    client.force_login(getattr(staff, f"alpha_{role}"))
    host_client(client, "alpha")
    for method, url in branch_urls(branch.pk):
        response = getattr(client, method)(url)
        assert response.status_code == 403, url
        assert "de rol <strong>Bibliotheekbeheer</strong> nodig" in response.content.decode()
    assert hours_of(branch) == NINE_TO_FIVE


def test_another_librarys_admin_is_refused_on_this_librarys_host(client, libraries, branch):
    beta_admin = staff_with_role(libraries.beta, Role.LIBRARY_ADMIN, username="beta.library_admin")
    client.force_login(beta_admin)
    host_client(client, "alpha")
    for method, url in branch_urls(branch.pk):
        assert getattr(client, method)(url).status_code == 403, url
    assert hours_of(branch) == NINE_TO_FIVE


def test_a_branch_of_another_library_is_not_found(client, libraries, staff):
    beta_branch = libraries.beta.branches.order_by("name").first()
    closed = ClosedDate.objects.create(branch=beta_branch, date=datetime.date(2030, 10, 7), reason="Studiedag")
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    for method, url in branch_urls(beta_branch.pk, closed.pk)[1:]:
        assert getattr(client, method)(url, {"d0_0_opens": "09:00", "d0_0_closes": "12:00", "date": "2030-10-08",
                                             "reason": "x"}).status_code == 404, url
    assert ClosedDate.objects.filter(branch=beta_branch).count() == 1
    assert not OpeningPeriod.objects.filter(branch=beta_branch).exists()
    assert client.get("/balie/beheer/vestigingen/999999/").status_code == 404


def test_library_admin_sees_branches_hours_and_holidays(client, libraries, staff, branch):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    page = client.get("/balie/beheer/vestigingen/").content.decode()
    for b in libraries.alpha.branches.all():
        assert b.name in page and f"/balie/beheer/vestigingen/{b.pk}/" in page
    assert "geen openingstijden vastgelegd" in page  # the second branch
    response = client.get(f"/balie/beheer/vestigingen/{branch.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "De bibliotheek is op feestdagen gesloten" in page
    assert "Koningsdag" in page and "Goede vrijdag" not in page
    assert 'name="d0_0_opens" value="09:00"' in page and 'name="d6_0_closes" value="17:00"' in page
    assert 'name="d0_1_opens"' in page and 'name="d0_2_opens"' not in page  # two periods shown per day


def test_admin_pages_link_to_the_branch_screens(client, staff):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    assert "/balie/beheer/vestigingen/" in client.get("/balie/").content.decode()
    assert "/balie/beheer/vestigingen/" in client.get("/balie/beheer/").content.decode()
    client.force_login(staff.alpha_desk)
    assert "/balie/beheer/vestigingen/" not in client.get("/balie/").content.decode()


# --- screens: saving, and the circulation calendar follows ------------------------------------


def week_form(**overrides):
    """Every day 09:00-17:00, with overrides like d0_0_opens=''."""
    data = {}
    for weekday in range(7):
        data[f"d{weekday}_0_opens"] = "09:00"
        data[f"d{weekday}_0_closes"] = "17:00"
    data.update(overrides)
    return data


def test_closing_mondays_on_the_screen_moves_the_due_date(client, staff, branch):
    assert due_date(branch.pk, start=START, loan_days=LOAN_DAYS) == datetime.date(2030, 9, 23)  # a Monday
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    response = client.post(f"/balie/beheer/vestigingen/{branch.pk}/",
                           week_form(d0_0_opens="", d0_0_closes="", d1_1_opens="18:00", d1_1_closes="20:30"))
    assert response.status_code == 302
    assert hours_of(branch)[:3] == [(1, T(9), T(17)), (1, T(18), T(20, 30)), (2, T(9), T(17))]
    assert due_date(branch.pk, start=START, loan_days=LOAN_DAYS) == datetime.date(2030, 9, 24)  # Tuesday
    page = client.get(response["Location"]).content.decode()
    assert "zijn opgeslagen" in page and 'name="d1_1_closes" value="20:30"' in page


def test_a_closed_week_added_on_the_screen_moves_the_due_date_past_it(client, staff, branch):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    response = client.post(f"/balie/beheer/vestigingen/{branch.pk}/sluitingsdagen/",
                           {"date": "2030-09-23", "until": "2030-09-29", "reason": "Verbouwing"})
    assert response.status_code == 302
    assert ClosedDate.objects.filter(branch=branch).count() == 7
    assert due_date(branch.pk, start=START, loan_days=LOAN_DAYS) == datetime.date(2030, 9, 30)
    page = client.get(response["Location"]).content.decode()
    assert "7 sluitingsdagen toegevoegd" in page and "Verbouwing" in page


def test_adding_and_removing_one_closed_day_on_the_screen(client, staff, branch):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    url = f"/balie/beheer/vestigingen/{branch.pk}/sluitingsdagen/"
    assert client.post(url, {"date": "2030-09-23", "reason": "Studiedag"}).status_code == 302
    assert due_date(branch.pk, start=START, loan_days=LOAN_DAYS) == datetime.date(2030, 9, 24)
    duplicate = client.post(url, {"date": "2030-09-23", "reason": "Nog een"})
    assert duplicate.status_code == 400
    assert "al gesloten (Studiedag)" in duplicate.content.decode()
    closed = ClosedDate.objects.get(branch=branch)
    response = client.post(f"{url}{closed.pk}/verwijderen/", follow=True)
    assert "niet meer gesloten" in response.content.decode()
    assert due_date(branch.pk, start=START, loan_days=LOAN_DAYS) == datetime.date(2030, 9, 23)


@pytest.mark.parametrize(
    "data, message",
    [
        (week_form(d0_0_closes="08:00"), "Maandag 09:00–08:00: de sluitingstijd moet na de openingstijd liggen."),
        (week_form(d4_1_opens="16:00", d4_1_closes="18:00"), "Vrijdag: 09:00–17:00 en 16:00–18:00 overlappen."),
        (week_form(d2_0_closes=""), "Woensdag: vul zowel de openingstijd als de sluitingstijd in."),
        (week_form(d3_0_opens="negen uur"), "Vul een tijd in als uu:mm."),
        ({}, "Vul ten minste één openingstijd in."),
    ],
)
def test_hours_refused_on_the_screen_keep_the_old_hours_and_the_input(client, staff, branch, data, message):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    response = client.post(f"/balie/beheer/vestigingen/{branch.pk}/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert hours_of(branch) == NINE_TO_FIVE


@pytest.mark.parametrize(
    "data, message",
    [
        ({"date": "2030-09-23", "reason": ""}, "Vul een reden in voor de sluitingsdag."),
        ({"date": "", "reason": "Studiedag"}, "Vul een datum in."),
        ({"date": "2030-09-23", "until": "2030-09-20", "reason": "Verbouwing"},
         "De einddatum ligt vóór de begindatum."),
        ({"date": "2030-01-01", "until": "2031-06-01", "reason": "Nieuwbouw"}, "hoogstens 366 dagen"),
    ],
)
def test_closed_days_refused_on_the_screen(client, staff, branch, data, message):
    client.force_login(staff.alpha_library_admin)
    host_client(client, "alpha")
    response = client.post(f"/balie/beheer/vestigingen/{branch.pk}/sluitingsdagen/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ClosedDate.objects.filter(branch=branch).exists()
