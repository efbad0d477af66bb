"""Staff sign in at their library's address and work only where a role allows."""

import pytest
from django.urls import reverse

from staff.models import LibraryRole, Role
from staff.selectors import working_branch

ALL_ROLES = Role.values
PASSWORD = "correct-horse-battery-staple"


def sign_in(client, host, username):
    return client.post("/balie/inloggen/", {"username": username, "password": PASSWORD}, HTTP_HOST=host)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_signs_in_at_its_library_and_sees_the_desk_home(client, libraries, role):
    response = sign_in(client, "alpha.localhost", f"alpha.{role}")
    assert response.status_code == 302 and response["Location"] == "/balie/"
    home = client.get("/balie/", HTTP_HOST="alpha.localhost")
    assert home.status_code == 200
    page = home.content.decode()
    assert "Testbibliotheek alpha" in page
    assert "Alpha vestiging 1" in page  # the working branch
    assert str(Role(role).label) in page


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_role_is_refused_sign_in_at_another_library(client, libraries, role):
    response = sign_in(client, "beta.localhost", f"alpha.{role}")
    assert response.status_code == 200
    # The same answer as a wrong password: nothing tells the password was right.
    assert "Onbekende gebruikersnaam of verkeerd wachtwoord." in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_session_carried_to_another_library_is_refused(client, libraries, staff, role):
    client.force_login(getattr(staff, f"alpha_{role}"))
    for path in ("/balie/", "/balie/beheer/"):
        response = client.get(path, HTTP_HOST="gamma.localhost")
        assert response.status_code == 403
        assert "geen rol bij Testbibliotheek gamma" in response.content.decode()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_library_admin_screen_needs_the_library_admin_role(client, libraries, staff, role):
    client.force_login(getattr(staff, f"alpha_{role}"))
    response = client.get("/balie/beheer/", HTTP_HOST="alpha.localhost")
    if role == Role.LIBRARY_ADMIN:
        assert response.status_code == 200
        assert "Medewerkers en rollen" in response.content.decode()
    else:
        assert response.status_code == 403
        assert "de rol <strong>Bibliotheekbeheer</strong> nodig" in response.content.decode()


def test_poi_and_national_administrators_have_no_desk_access_without_a_role(client, libraries, staff):
    for user in (staff.bisc_poi, staff.national):
        client.force_login(user)
        assert client.get("/balie/", HTTP_HOST="alpha.localhost").status_code == 403


def test_wrong_password_is_refused_in_dutch(client, libraries):
    response = client.post(
        "/balie/inloggen/", {"username": "alpha.desk", "password": "fout"}, HTTP_HOST="alpha.localhost"
    )
    assert "Onbekende gebruikersnaam of verkeerd wachtwoord." in response.content.decode()


def test_signed_out_staff_are_sent_to_sign_in(client, libraries):
    response = client.get("/balie/", HTTP_HOST="alpha.localhost")
    assert response.status_code == 302
    assert response["Location"].startswith("/balie/inloggen/?next=/balie/")


def test_staff_choose_their_working_branch_but_never_another_librarys(client, libraries, staff):
    client.force_login(staff.alpha_desk)
    second = libraries.alpha.branches.order_by("name")[1]
    response = client.post("/balie/vestiging/", {"branch": second.pk}, HTTP_HOST="alpha.localhost", follow=True)
    assert f"U werkt nu in vestiging {second.name}." in response.content.decode()
    assert working_branch(client.session, libraries.alpha) == second

    foreign = libraries.beta.branches.first()
    response = client.post("/balie/vestiging/", {"branch": foreign.pk}, HTTP_HOST="alpha.localhost", follow=True)
    assert "Deze vestiging hoort niet bij deze bibliotheek." in response.content.decode()
    assert working_branch(client.session, libraries.alpha) == second


def test_library_admin_grants_and_revokes_roles(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.post(
        "/balie/beheer/rol-toekennen/", {"username": "alpha.desk", "role": Role.COLLECTION}, HTTP_HOST="alpha.localhost"
    )
    assert response.status_code == 302
    assert LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.alpha, role=Role.COLLECTION).exists()

    client.post(
        "/balie/beheer/rol-intrekken/",
        {"user": staff.alpha_desk.pk, "role": Role.COLLECTION},
        HTTP_HOST="alpha.localhost",
    )
    assert not LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.alpha,
                                          role=Role.COLLECTION).exists()
    assert LibraryRole.objects.filter(user=staff.alpha_desk, organisation=libraries.alpha, role=Role.DESK).exists()


def test_granting_to_an_unknown_account_is_refused(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.post(
        "/balie/beheer/rol-toekennen/", {"username": "niemand", "role": Role.DESK}, HTTP_HOST="alpha.localhost"
    )
    assert response.status_code == 400
    assert "&#x27;niemand&#x27; is geen medewerkersaccount van Testbibliotheek alpha." in response.content.decode()


def test_the_last_library_admin_cannot_be_revoked(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.post(
        "/balie/beheer/rol-intrekken/",
        {"user": staff.alpha_library_admin.pk, "role": Role.LIBRARY_ADMIN},
        HTTP_HOST="alpha.localhost",
        follow=True,
    )
    assert "minstens één beheerder" in response.content.decode()
    assert LibraryRole.objects.filter(user=staff.alpha_library_admin, role=Role.LIBRARY_ADMIN).exists()


def test_staff_screens_do_not_exist_on_the_national_host(client, staff):
    client.force_login(staff.alpha_desk)
    assert client.get("/balie/", HTTP_HOST="localhost").status_code == 404
