"""`manage.py check --deploy` with production settings reports nothing (issue 22)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**env_changes):
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' (tests/browser/conftest.py sets it in this
    # process when collected); production never has it, and check --deploy rightly refuses it.
    dropped = ("DEBUG", "SECRET_KEY", "SECURE_SSL", "PRODUCTION", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_changes)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


PRODUCTION = {"DEBUG": "False", "PRODUCTION": "True", "ALLOWED_HOSTS": "ledger.example.com",
              "CSRF_TRUSTED_ORIGINS": "https://ledger.example.com", "TRUSTED_PROXIES": "10.0.0.0/8"}


def test_check_deploy_with_production_settings_has_zero_warnings():
    result = check_deploy(**PRODUCTION, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr


def test_the_same_check_fails_without_https_settings_or_with_a_weak_key():
    """So the test above is not vacuous: the deploy checks do look at these settings."""
    no_ssl = check_deploy(**{**PRODUCTION, "PRODUCTION": "False"}, SECRET_KEY=secrets.token_urlsafe(50))
    assert "security.W004" in no_ssl.stderr or "security.W008" in no_ssl.stderr
    weak = check_deploy(**PRODUCTION, SECRET_KEY="change-me-to-a-long-random-string")
    assert weak.returncode != 0 and "ledgerline.E001" in weak.stderr
