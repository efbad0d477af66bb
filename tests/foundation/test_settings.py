"""Production mode refuses to start without the settings it cannot do without."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = {
    "DEBUG": "0",
    "SECRET_KEY": "s3cret",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/lsb",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "ALLOWED_HOSTS": ".example.nl",
}


def start_django(environment):
    env = {key: value for key, value in os.environ.items() if key not in COMPLETE}
    env.update(environment)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"])
def test_production_mode_refuses_to_start_naming_the_missing_setting(missing):
    result = start_django({key: value for key, value in COMPLETE.items() if key != missing})
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert "production mode" in result.stderr


def test_production_mode_starts_with_everything_set():
    result = start_django(COMPLETE)
    assert result.returncode == 0, result.stderr


def test_development_mode_falls_back_to_local_defaults():
    result = start_django({"DEBUG": "1"})
    assert result.returncode == 0, result.stderr
