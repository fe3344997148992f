"""Production settings, run for real in a separate process: Django's deploy checks pass
(and would catch a weakened setting), and an actual sign-in answers with HSTS, the
Content-Security-Policy, clickjacking protection and secure, HTTP-only cookies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run inside the production process: migrate a fresh SQLite file, sign in over HTTPS and
# over HTTP, and print what came back.
SIGN_IN = """
import json
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from governance.accounts.models import User

call_command("migrate", verbosity=0)
User.objects.create_user("alice", password="a-long-passphrase-for-alice")
client = Client(HTTP_HOST="grid.example.org")
signed_in = client.post(
    "/accounts/login/",
    {"username": "alice", "password": "a-long-passphrase-for-alice"},
    secure=True,
)
plain = Client(HTTP_HOST="grid.example.org").get("/accounts/login/")
print(json.dumps({
    "status": signed_in.status_code,
    "headers": dict(signed_in.items()),
    "cookies": {
        name: {"secure": bool(c["secure"]), "httponly": bool(c["httponly"]),
               "samesite": c["samesite"]}
        for name, c in signed_in.cookies.items()
    },
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
}))
"""


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "x7Kq9-production-secret-for-the-security-test-" + "q1w2e3r4t5" * 4,
            "ALLOWED_HOSTS": "grid.example.org",
            "PII_KEYS": "1hA2nW4h0u0S1JqfYqZk6wqg9uWcS3tn0n2ymwJm0mI=",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "governance.settings",
        }
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_deploy_checks_of_the_security_tag_pass(production_env):
    result = _run(
        ["manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        production_env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deploy_checks_bite_on_a_weakened_setting(production_env):
    production_env["SECURE_HSTS_SECONDS"] = "0"
    production_env["SESSION_COOKIE_SECURE"] = "0"
    result = _run(
        ["manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        production_env,
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # HSTS
    assert "SESSION_COOKIE_SECURE" in result.stderr + result.stdout


def test_a_real_sign_in_answers_with_the_protections(production_env):
    result = _run(["-c", SIGN_IN], production_env)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])

    assert answer["status"] == 302  # signed in
    headers = answer["headers"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"

    session, csrf = answer["cookies"]["sessionid"], answer["cookies"]["csrftoken"]
    assert session == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"

    # plain HTTP is sent to HTTPS before anything else happens
    assert answer["plain_status"] == 301
    assert answer["plain_location"] == "https://grid.example.org/accounts/login/"
