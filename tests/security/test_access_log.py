"""Personal data stays out of the web server's access log (issue 14, finding 8):
gunicorn (with the project's gunicorn.conf.py, as every LSB start uses it) logs
the path without its query string or referring page."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_access_log_has_no_query_strings_or_referrers(tmp_path, django_db_setup):
    port = _free_port()
    log = tmp_path / "access.log"
    env = dict(os.environ)
    from django.conf import settings

    database = settings.DATABASES["default"]
    env["DATABASE_URL"] = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "lsb.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--access-logfile", str(log)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/uitlening/uitlenen/?pas=2010000001&naam=Jansen",
            headers={"Host": "alpha.localhost", "Referer": "http://alpha.localhost/leden/?q=geheim@example.nl"})
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(request, timeout=5)
                break
            except urllib.error.HTTPError:
                break  # an answer (a redirect to sign in) is enough
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=15)
    text = log.read_text()
    assert "/uitlening/uitlenen/" in text
    for secret in ("2010000001", "Jansen", "geheim", "pas="):
        assert secret not in text, text
