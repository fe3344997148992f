"""Backups restore to the same data: ``ops/backup.sh`` (pg_dump) of a database seeded with
the demo, ``ops/restore.sh`` (pg_restore) into another, then every table's rows, the key
tables' contents, the sequences and the schema's triggers, constraints and indexes
compared, and the ID numbers read back with the installation's keys and not without them
(``ops/backup_check.py``; ``make backup-check`` runs the same on databases of its own at a
larger scale).

The seeded database is the test database itself (already migrated, so the test pays for
the seeding only); the restore goes into a database of the test's own on the same server.
"""

from __future__ import annotations

import os
import shutil

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from ops import backup_check
from tests.reliability.conftest import postgres_test_database
from tests.reliability.servers import database_url

pytestmark = [
    postgres_test_database,
    pytest.mark.skipif(
        shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
        reason="needs pg_dump and pg_restore",
    ),
    pytest.mark.django_db(transaction=True),
]

CHANGE_ONE_TICKET = (
    "UPDATE tickets_ticket SET title = title || '?' WHERE id = (SELECT min(id) FROM tickets_ticket)"
)
LOSE_ONE_NOTIFICATION = (
    "DELETE FROM tickets_notification WHERE id = (SELECT max(id) FROM tickets_notification)"
)


@pytest.fixture
def restored_into():
    """An empty database of the test's own on the test database's server."""
    server = database_url(connection.settings_dict).rsplit("/", 1)[0]
    name = f"gov_backup_test{os.getpid()}"
    backup_check.recreate(server, name)
    try:
        yield backup_check.database_url(server, name)
    finally:
        backup_check.drop(server, name)


def _restore_builtin_rows() -> None:
    """An earlier transactional test's flush removed the rows the data migrations wrote
    (key groups, team kinds, default categories); the demo needs them back."""
    from importlib import import_module

    from django.apps import apps

    from tickets.models import Category

    for module, function in (
        ("residents.migrations.0002_builtin_key_groups", "create"),
        ("volunteers.migrations.0003_builtin_team_kinds", "create"),
    ):
        getattr(import_module(module), function)(apps, None)
    if not Category.objects.exists():
        import_module("tickets.migrations.0002_default_categories").create_defaults(apps, None)


def test_a_seeded_database_restores_identically_and_a_difference_is_caught(restored_into):
    # given the demo, seeded at a small scale
    _restore_builtin_rows()
    call_command("seed_demo", households_scale=0.002, quiet=True)
    source = database_url(connection.settings_dict)
    lines: list[str] = []

    # when it is backed up and restored with the documented scripts
    result = backup_check.check(source, restored_into, pii_key=None, log=lines.append)

    # then the restore is identical, on data that is really there
    assert result.ok, result.differences
    counts = result.target.counts
    assert counts["residents_resident"] > 0
    assert counts["tickets_ticketevent"] > counts["tickets_ticket"] > 0
    assert counts["tickets_notification"] > 0
    assert "volunteers_pointsentry" in result.target.checksums
    assert any("points_entry" in name for name in result.target.schema["triggers"])
    assert lines[-1] == "Backup check passed: the restore is identical."
    readback = next(line for line in lines if "decrypted with the installation's keys" in line)
    assert f": {counts['residents_resident']};" in readback

    # and a restore that lost a row, or changed one, is told apart
    with psycopg.connect(restored_into) as session:
        session.execute(LOSE_ONE_NOTIFICATION)
        session.execute(CHANGE_ONE_TICKET)
    found = backup_check.differences(result.source, backup_check.snapshot(restored_into))
    notifications = counts["tickets_notification"]
    assert found == [
        f"rows of tickets_notification: {notifications} → {notifications - 1}",
        "contents of tickets_ticket differ",
    ]
