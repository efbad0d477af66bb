"""Sign-in (issue 14, findings 2, 3 and 6): one answer for a right password where
the account has no role and a wrong one; roles only for this library's own
accounts; the national admin's sign-in never ends in a server error; repeated
failures lock an account and an address out."""

import re

import pytest

from staff.models import LibraryRole, Role

PASSWORD = "correct-horse-battery-staple"
ALPHA = "alpha.localhost"


def _answer(response):
    """A sign-in page without what differs per request (the CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_no_role_here_answers_as_a_wrong_password(client, libraries):
    right = client.post("/balie/inloggen/", {"username": "alpha.desk", "password": PASSWORD}, HTTP_HOST="beta.localhost")
    wrong = client.post("/balie/inloggen/", {"username": "alpha.desk", "password": "fout"}, HTTP_HOST="beta.localhost")
    unknown = client.post("/balie/inloggen/", {"username": "niemand", "password": "fout"}, HTTP_HOST="beta.localhost")
    assert right.status_code == wrong.status_code == unknown.status_code == 200
    assert _answer(right) == _answer(wrong).replace('value="alpha.desk"', 'value="alpha.desk"')
    assert "Onbekende gebruikersnaam of verkeerd wachtwoord." in _answer(right)
    assert _answer(unknown).replace("niemand", "alpha.desk") == _answer(right)
    assert "_auth_user_id" not in client.session


def test_a_library_admin_cannot_find_or_grant_national_accounts(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    answers = {}
    for username in ("national", "bisc.poi", "beta.desk", "bestaat-niet"):
        response = client.post("/balie/beheer/rol-toekennen/", {"username": username, "role": Role.LIBRARY_ADMIN},
                               HTTP_HOST=ALPHA)
        assert response.status_code == 400
        answers[username] = _answer(response).replace(username, "X")
    assert len(set(answers.values())) == 1, "the answer tells which usernames exist"
    for user in (staff.national, staff.bisc_poi, staff.beta_desk):
        assert not LibraryRole.objects.filter(user=user, organisation=libraries.alpha).exists()


@pytest.mark.parametrize("next_page", [None, "", "https://evil.example/", "//evil.example/admin/"])
def test_the_national_admin_sign_in_goes_to_the_admin_without_a_safe_next_page(client, staff, next_page):
    data = {"username": "national", "password": PASSWORD}
    if next_page is not None:
        data["next"] = next_page
    response = client.post("/admin/login/", data, HTTP_HOST="localhost")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_desk_sign_in_goes_to_the_desk_without_a_safe_next_page(client, libraries):
    response = client.post("/balie/inloggen/", {"username": "alpha.desk", "password": PASSWORD,
                                                "next": "https://evil.example/"}, HTTP_HOST=ALPHA)
    assert response.status_code == 302 and response["Location"] == "/balie/"
