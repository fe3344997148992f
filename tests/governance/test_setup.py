"""Settings, translations and background jobs: the foundation the apps stand on."""

from __future__ import annotations

import gettext
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from governance.celery import app as celery_app
from governance.env import env_bool, env_int, env_list
from grids.models import Grid
from grids.tasks import grid_tree_check_task
from tests.conftest import requires_redis

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_language_and_time_zone():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert "en" in dict(settings.LANGUAGES)
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True


def test_deploy_check_is_clean_with_production_variables(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "x7Kq9-production-secret-for-the-check-" + "a1b2c3d4e5f6g7h8i9j0" * 2,
        "ALLOWED_HOSTS": "grid.example.org",
        "PII_KEYS": "1hA2nW4h0u0S1JqfYqZk6wqg9uWcS3tn0n2ymwJm0mI=",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start(tmp_path):
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "", "DATABASE_URL": "sqlite:///:memory:"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("reader", "raw", "expected"),
    [
        (lambda: env_bool("X_TEST"), "yes", True),
        (lambda: env_bool("X_TEST"), "0", False),
        (lambda: env_int("X_TEST", 3), "42", 42),
        (lambda: env_int("X_TEST", 3), "", 3),
        (lambda: env_list("X_TEST"), "a.org, b.org,", ["a.org", "b.org"]),
    ],
)
def test_env_readers(monkeypatch, reader, raw, expected):
    monkeypatch.setenv("X_TEST", raw)
    assert reader() == expected


@pytest.mark.parametrize(("reader", "raw"), [(env_bool, "maybe"), (lambda n: env_int(n, 1), "ten")])
def test_env_readers_refuse_bad_values(monkeypatch, reader, raw):
    monkeypatch.setenv("X_TEST", raw)
    with pytest.raises(ImproperlyConfigured, match="X_TEST"):
        reader("X_TEST")


def _po_entries() -> dict[str, str]:
    text = PO.read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block:
            raise AssertionError(f"fuzzy translation left in {PO.name}: {block}")
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r"^msgstr(?:\[0\])? ((?:\".*\"\n?)+)", block, re.M)
        if not msgid:
            continue
        key = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', msgid.group(1)))
        if key:
            entries[key] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', msgstr.group(1)))
    return entries


def test_every_message_is_translated_and_compiled():
    entries = _po_entries()
    assert len(entries) > 100
    untranslated = [k for k, v in entries.items() if not v]
    assert untranslated == []
    with (PO.with_suffix(".mo")).open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [k for k, v in entries.items() if "\\" not in k and compiled.gettext(k) != v]
    assert stale == [], "run `make messages`: the .mo is older than the .po"


@requires_redis
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_task_travels_through_the_real_broker_to_a_worker(world):
    """The periodic tree check, sent through Redis and run by a real worker thread."""
    # given a broken tree, so the task leaves a trace we can wait for; the handler sits on
    # the task's own logger because a worker re-plumbs the root logger when it starts
    Grid.objects.filter(pk=world.A1.pk).update(lft=999)
    records: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = records.append
    task_logger = logging.getLogger("grids.tasks")
    task_logger.addHandler(handler)

    # when
    try:
        celery_app.control.purge()  # nothing left over from an earlier, interrupted run
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            grid_tree_check_task.delay()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not records:
                time.sleep(0.1)
    finally:
        task_logger.removeHandler(handler)

    # then
    assert any("tree invariant broken" in r.getMessage() for r in records)
