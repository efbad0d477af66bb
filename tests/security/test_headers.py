"""Hardening (issue 14, finding 10): Content-Security-Policy without inline
scripts, HTTPS with HSTS behind a proxy, no-store on signed-in pages, desk
sessions that end at browser close and after idle time, and a clean
`manage.py check --deploy` in production mode."""

import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_tenants.utils import tenant_context

from staff.middleware import LAST_SEEN_KEY

from .urlwalk import library_routes, national_routes

ROOT = Path(__file__).resolve().parents[2]
ALPHA = "alpha.localhost"
PASSWORD = "correct-horse-battery-staple"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def test_every_page_has_a_content_security_policy_without_inline_script(client, libraries, staff):
    client.force_login(staff.alpha_library_admin)
    response = client.get("/balie/", HTTP_HOST=ALPHA)
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "Content-Security-Policy" in client.get("/admin/login/", HTTP_HOST="localhost")


@pytest.mark.parametrize("host, routes, user", [
    (ALPHA, library_routes, "alpha_library_admin"),
    ("localhost", national_routes, "national"),
])
def test_no_page_has_an_inline_script_or_event_handler(client, libraries, staff, desk, host, routes, user):
    """Every page a GET reaches (parameters filled with this library's ids where
    known): the policy would block an inline script, so none may be there."""
    client.force_login(getattr(staff, user))
    client.raise_request_exception = False
    [item] = desk.items()
    values = {"member_id": desk.member.pk, "barcode": item.barcode, "title_id": item.title_id,
              "branch_id": desk.main.pk, "kind": "hold_ready"}
    offenders, pages = [], 0
    for route in routes():
        response = client.get(route.path(values), HTTP_HOST=host)
        if "html" not in response.get("Content-Type", "") or not hasattr(response, "content"):
            continue
        pages += 1
        html = response.content.decode(errors="replace")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER):
            for match in pattern.finditer(html):
                offenders.append((route.route, match.group(0)[:80]))
    assert pages > 20
    assert offenders == [], offenders


def test_behind_a_proxy_http_is_redirected_and_https_gets_hsts(client, libraries, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    plain = client.get("/balie/inloggen/", HTTP_HOST=ALPHA)
    assert plain.status_code == 301 and plain["Location"] == "https://alpha.localhost/balie/inloggen/"
    assert client.get("/healthz", HTTP_HOST=ALPHA).status_code != 301  # load balancers probe over HTTP
    secure = client.get("/balie/inloggen/", HTTP_HOST=ALPHA, HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload" or \
        secure["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


def test_signed_in_pages_are_not_stored(client, libraries, staff, desk):
    assert "no-store" not in client.get("/", HTTP_HOST=ALPHA).get("Cache-Control", "")
    client.force_login(staff.alpha_desk)
    for path in (f"/leden/{desk.member.pk}/", f"/uitlening/uitlenen/?pas={desk.member.card_number}", "/balie/"):
        response = client.get(path, HTTP_HOST=ALPHA)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path


def test_a_desk_session_ends_when_the_browser_closes(client, libraries):
    response = client.post("/balie/inloggen/", {"username": "alpha.desk", "password": PASSWORD}, HTTP_HOST=ALPHA)
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""  # a browser-session cookie


def test_a_desk_session_ends_after_the_idle_time(client, libraries, staff, settings):
    settings.LSB_DESK_IDLE_MINUTES = 30
    client.force_login(staff.alpha_desk)
    assert client.get("/balie/", HTTP_HOST=ALPHA).status_code == 200
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 29 * 60
    session.save()
    assert client.get("/balie/", HTTP_HOST=ALPHA).status_code == 200  # 29 minutes: still signed in
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - 31 * 60
    session.save()
    response = client.get("/balie/", HTTP_HOST=ALPHA, follow=True)
    assert response.redirect_chain[0][0].startswith("/balie/inloggen/?next=/balie/")
    assert "U bent afgemeld na 30 minuten zonder activiteit." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_desk_scan_after_the_idle_time_gets_401(client, libraries, staff, settings):
    client.force_login(staff.alpha_desk)
    client.get("/balie/", HTTP_HOST=ALPHA)
    session = client.session
    session[LAST_SEEN_KEY] = time.time() - (settings.LSB_DESK_IDLE_MINUTES + 1) * 60
    session.save()
    response = client.post("/uitlening/innemen/scan/", {"barcode": "X"}, HTTP_HOST=ALPHA, HTTP_HX_REQUEST="true")
    assert response.status_code == 401


def test_check_deploy_is_clean_in_production_mode():
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": ".bibliotheek.example",
                "DJANGO_SETTINGS_MODULE": "lsb.settings"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
