"""The bench's own database, so that it never touches the developer's data.

On PostgreSQL the bench works in a database of its own beside the configured one (the
configured name plus ``_bench``), created here and dropped afterwards unless ``--keep``;
on SQLite in a file of its own under ``var/`` (``bench.sqlite3``), deleted the same way.
The default connection is pointed at it for the duration of the command (and in the
measuring child process, which is told the name), then pointed back.

What was built (scale, reference moment, row counts, build time) is written into the
bench database itself, in a small table ``bench_dataset``, so ``--reuse`` knows what it
finds there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, connections

META_TABLE = "bench_dataset"


@dataclass(frozen=True)
class Target:
    vendor: str
    name: str  # PostgreSQL database name, or SQLite file path

    @property
    def label(self) -> str:
        return self.name if self.vendor == "postgresql" else Path(self.name).name


def default_target() -> Target:
    """Where the bench works for the configured database."""
    vendor = connection.vendor
    if vendor == "postgresql":
        configured = settings.DATABASES["default"]["NAME"]
        return Target(vendor, f"{configured}_bench")
    if vendor == "sqlite":
        return Target(vendor, str(Path(settings.VAR_DIR) / "bench.sqlite3"))
    raise RuntimeError(f"The bench supports PostgreSQL and SQLite, not {vendor}.")


def _maintenance_cursor():
    return connection._nodb_cursor()


def exists(target: Target) -> bool:
    if target.vendor == "sqlite":
        return Path(target.name).exists()
    with _maintenance_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [target.name])
        return cursor.fetchone() is not None


def create(target: Target) -> None:
    """A new, empty bench database (an old one of the same name is dropped first)."""
    drop(target)
    if target.vendor == "sqlite":
        Path(target.name).parent.mkdir(parents=True, exist_ok=True)
        return
    with _maintenance_cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{target.name}"')


def drop(target: Target) -> None:
    if target.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(target.name + suffix).unlink(missing_ok=True)
        return
    with _maintenance_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target.name}" WITH (FORCE)')


@contextmanager
def using(target: Target) -> Iterator[None]:
    """Point the default connection at the bench database, and back afterwards."""
    wrapper = connections["default"]
    original = wrapper.settings_dict["NAME"]
    configured = settings.DATABASES["default"]["NAME"]
    wrapper.close()
    wrapper.settings_dict["NAME"] = target.name
    settings.DATABASES["default"]["NAME"] = target.name
    try:
        yield
    finally:
        wrapper.close()
        wrapper.settings_dict["NAME"] = original
        settings.DATABASES["default"]["NAME"] = configured


def switch_to(target: Target) -> None:
    """For the measuring child process, which lives only to measure the bench database."""
    wrapper = connections["default"]
    wrapper.close()
    wrapper.settings_dict["NAME"] = target.name
    settings.DATABASES["default"]["NAME"] = target.name


# --- what was built ---------------------------------------------------------------------------


def write_meta(values: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key varchar(40) PRIMARY KEY, value text)"
        )
        cursor.execute(f"DELETE FROM {META_TABLE}")
        for key, value in values.items():
            cursor.execute(
                f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s)",
                [key, json.dumps(value, default=str)],
            )


def read_meta() -> dict[str, Any] | None:
    """What the bench database holds, or ``None`` when it holds no finished build."""
    tables = connection.introspection.table_names()
    if META_TABLE not in tables:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, value FROM {META_TABLE}")
        return {key: json.loads(value) for key, value in cursor.fetchall()} or None


def server_version() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0]
    import sqlite3

    return sqlite3.sqlite_version
