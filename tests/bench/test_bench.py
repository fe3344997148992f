"""``manage.py bench`` at the tiny scale: the bench itself works end to end (builds its own
county in its own database, measures every figure, writes them) — nothing is asserted
about time, CI machines vary too much.

The command runs in a process of its own, exactly as ``make bench`` runs it, against a
bench database named for this test so that a developer's kept bench database is never
touched."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.measure import KEYS

MANAGE = Path(settings.BASE_DIR) / "manage.py"


@pytest.fixture
def bench_database(tmp_path) -> str:
    if connection.vendor == "postgresql":
        return f"{settings.DATABASES['default']['NAME']}_benchtest"
    return str(tmp_path / "bench.sqlite3")


def run_bench(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(MANAGE), "bench", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_tiny_bench_writes_every_figure(tmp_path, bench_database):
    output = tmp_path / "results.json"
    done = run_bench("--scale", "tiny", "--output", str(output), "--database", bench_database)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    assert results["scale"] == "tiny"
    assert results["database"] == connection.vendor
    for key in KEYS:
        assert isinstance(results[key], int | float), key
        assert results[key] >= 0, key
    assert results["ticket_list_queries"] >= 1
    assert results["dashboard_root_ratio"] == pytest.approx(
        results["dashboard_root_ms"] / results["dashboard_root_baseline_ms"], rel=1e-2
    )
    assert results["ticket_list_ratio"] == pytest.approx(
        results["ticket_list_ms"] / results["ticket_list_baseline_ms"], rel=1e-2
    )
    assert results["details"]["ticket_list_rows"] == 50  # a full page was measured
    assert results["details"]["escalation_rungs_climbed"] >= 20  # the just-overdue tickets
    assert results["rows"]["tickets.Ticket"] == 800
    assert results["hardware"]["cores"] >= 1
    assert results["by_scale"]["tiny"]["ticket_open_per_s"] == results["ticket_open_per_s"]
    # the bench database is gone afterwards (no --keep)
    if connection.vendor == "sqlite":
        assert not Path(bench_database).exists()
    assert "Bench database dropped" in done.stdout


def test_an_unknown_scale_is_refused():
    done = run_bench("--scale", "huge")
    assert done.returncode != 0
    assert "invalid choice" in done.stderr


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite answer")
def test_rollups_are_a_postgresql_feature(db):
    out = io.StringIO()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "PostgreSQL only" in out.getvalue()
