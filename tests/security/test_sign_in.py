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


# --- the lock-out (finding 2) ------------------------------------------------------------

def _desk_sign_in(client, username, password, host=ALPHA, address="10.1.1.1"):
    return client.post("/balie/inloggen/", {"username": username, "password": password}, HTTP_HOST=host,
                       REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_a_desk_account_then_its_library_admin_frees_it(client, libraries, staff, settings):
    for _ in range(settings.STAFF_SIGN_IN_MAX_FAILURES - 1):
        assert _desk_sign_in(client, "alpha.desk", "fout").status_code == 200
    assert _desk_sign_in(client, "alpha.desk", "fout").status_code == 429  # the fifth failure locks
    locked = _desk_sign_in(client, "alpha.desk", PASSWORD)
    assert locked.status_code == 429
    assert "Inloggen tijdelijk geblokkeerd" in locked.content.decode()
    assert "Inloggen kan over 15 minuten weer." in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # From another address too: the lock is the account's.
    assert _desk_sign_in(client, "alpha.desk", PASSWORD, address="10.9.9.9").status_code == 429

    admin = client.__class__()
    admin.force_login(staff.alpha_library_admin)
    page = admin.get("/balie/beheer/", HTTP_HOST=ALPHA).content.decode()
    assert 'data-testid="sign-in-locked"' in page
    admin.post("/balie/beheer/inloggen-vrijgeven/", {"user": staff.alpha_desk.pk}, HTTP_HOST=ALPHA)
    assert _desk_sign_in(client, "alpha.desk", PASSWORD).status_code == 302


def test_a_library_admin_frees_only_their_own_staff(client, libraries, staff, settings):
    for _ in range(settings.STAFF_SIGN_IN_MAX_FAILURES):
        _desk_sign_in(client, "beta.desk", "fout", host="beta.localhost")
    admin = client.__class__()
    admin.force_login(staff.alpha_library_admin)
    response = admin.post("/balie/beheer/inloggen-vrijgeven/", {"user": staff.beta_desk.pk}, HTTP_HOST=ALPHA,
                          follow=True)
    assert "is geen medewerkersaccount van Testbibliotheek alpha" in response.content.decode()
    assert _desk_sign_in(client, "beta.desk", PASSWORD, host="beta.localhost").status_code == 429


def test_the_national_admin_sign_in_locks_out_too(client, staff, settings):
    for number in range(settings.STAFF_SIGN_IN_MAX_FAILURES):
        response = client.post("/admin/login/", {"username": "national", "password": "fout"}, HTTP_HOST="localhost",
                               REMOTE_ADDR="10.2.2.2")
        assert response.status_code == (200 if number < settings.STAFF_SIGN_IN_MAX_FAILURES - 1 else 429)
    response = client.post("/admin/login/", {"username": "national", "password": PASSWORD}, HTTP_HOST="localhost",
                           REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 429
    assert "Vraag de landelijk beheerder" in response.content.decode()


def test_a_right_password_where_the_account_has_no_role_counts_as_a_failure(client, libraries, settings):
    for _ in range(settings.STAFF_SIGN_IN_MAX_FAILURES):
        _desk_sign_in(client, "alpha.desk", PASSWORD, host="beta.localhost")
    assert _desk_sign_in(client, "alpha.desk", PASSWORD).status_code == 429


def test_many_failures_from_one_address_lock_that_address_only(client, libraries, settings):
    settings.STAFF_SIGN_IN_ADDRESS_MAX_FAILURES = 8
    for number in range(8):
        _desk_sign_in(client, f"gok{number}", "fout", address="10.3.3.3")
    assert _desk_sign_in(client, "alpha.desk", PASSWORD, address="10.3.3.3").status_code == 429
    assert _desk_sign_in(client, "alpha.desk", PASSWORD, address="10.4.4.4").status_code == 302


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(client, libraries, settings):
    settings.STAFF_SIGN_IN_ADDRESS_MAX_FAILURES = 3
    settings.LSB_TRUSTED_PROXIES = 1
    for number in range(3):  # the client claims a new address each time; the proxy appends the real one
        client.post("/balie/inloggen/", {"username": f"gok{number}", "password": "fout"}, HTTP_HOST=ALPHA,
                    REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{number}, 10.5.5.5")
    response = client.post("/balie/inloggen/", {"username": "alpha.desk", "password": PASSWORD}, HTTP_HOST=ALPHA,
                           REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.99, 10.5.5.5")
    assert response.status_code == 429
