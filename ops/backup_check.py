"""``make backup-check``: prove that a backup restores to the same data.

1. A source database is created on the server, migrated and seeded with the demo
   (``seed_demo`` at a small scale: grids, people, households with encrypted ID numbers,
   tickets with their timelines, the points ledger).
2. It is backed up with ``ops/backup.sh`` (``pg_dump -Fc``) and restored with
   ``ops/restore.sh`` (``pg_restore``) into a second, empty database.
3. The two are compared: the row count of every table, a checksum of every row of the key
   tables, every sequence's position (new rows must not collide with restored ones) and
   the schema's triggers, constraints and indexes (the ledger's append-only triggers
   must come back with it).
4. The restored ID numbers are read with the installation's ``PII_KEYS`` (each decrypts
   and matches its lookup hash), and shown unreadable with any other key: a backup is only
   whole together with its keys.

Prints what it compared and exits non-zero on any difference. The two databases are
dropped afterwards unless ``--keep`` is given.

    python ops/backup_check.py [--scale 0.05] [--server postgres://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
OPS_DIR = BASE_DIR / "ops"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"

# Checksummed row by row: the tables whose loss or change would hurt most.
KEY_TABLES = (
    "grids_grid",
    "grids_gridassignment",
    "accounts_user",
    "residents_household",
    "residents_resident",
    "tickets_ticket",
    "tickets_ticketevent",
    "volunteers_pointsentry",
)


@dataclass
class Snapshot:
    counts: dict[str, int]
    checksums: dict[str, str]
    sequences: dict[str, int]
    schema: dict[str, list[str]]


@dataclass
class Result:
    source: Snapshot
    target: Snapshot
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


# --- databases ----------------------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    return f"{server.rstrip('/')}/{name}"


DROP = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
CREATE = sql.SQL("CREATE DATABASE {}")


def drop(server: str, name: str) -> None:
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(DROP.format(sql.Identifier(name)))


def recreate(server: str, name: str) -> None:
    drop(server, name)
    with psycopg.connect(database_url(server, "postgres"), autocommit=True) as admin:
        admin.execute(CREATE.format(sql.Identifier(name)))


def environment(database: str, pii_key: str | None) -> dict[str, str]:
    """The application's environment for one database: tasks run in the caller (no broker,
    no shared cache), the given personal-data key (``None``: this environment's own)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": "",
            "REDIS_URL": "",
            "DJANGO_SETTINGS_MODULE": "governance.settings",
        }
    )
    if pii_key is not None:
        env["PII_KEYS"] = pii_key
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, timeout=600
    )


def seed(database: str, *, scale: float, pii_key: str) -> None:
    env = environment(database, pii_key)
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("seed_demo", "--households-scale", str(scale), "--quiet", env=env)


def backup_and_restore(source: str, target: str, folder: Path) -> Path:
    """The documented commands, exactly: ops/backup.sh, then ops/restore.sh."""
    written = subprocess.run(
        [str(OPS_DIR / "backup.sh"), str(folder)],
        env={**os.environ, "DATABASE_URL": source, "MEDIA_ROOT": ""},
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    archive = Path(written.stdout.split()[0])
    subprocess.run(
        [str(OPS_DIR / "restore.sh"), str(archive)],
        env={**os.environ, "DATABASE_URL": target},
        check=True,
        capture_output=True,
        timeout=600,
    )
    return archive


# --- what is compared ---------------------------------------------------------------------------


def snapshot(database: str) -> Snapshot:
    with psycopg.connect(database) as session:
        tables = [
            row[0]
            for row in session.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {
            table: session.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]
            for table in tables
        }
        checksums = {
            table: session.execute(
                sql.SQL(
                    "SELECT coalesce(md5(string_agg(md5(t::text), '' ORDER BY t.id)), '') "
                    "FROM {} AS t"
                ).format(sql.Identifier(table))
            ).fetchone()[0]
            for table in KEY_TABLES
            if table in counts
        }
        sequences = {
            name: value or 0
            for name, value in session.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
            )
        }
        schema = {
            "triggers": sorted(
                f"{table}.{name}"
                for table, name in session.execute(
                    "SELECT c.relname, t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
                )
            ),
            "constraints": sorted(
                f"{table}.{name}"
                for table, name in session.execute(
                    "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'"
                )
            ),
            "indexes": sorted(
                f"{table}.{name}"
                for table, name in session.execute(
                    "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"
                )
            ),
        }
    return Snapshot(counts, checksums, sequences, schema)


def differences(source: Snapshot, target: Snapshot) -> list[str]:
    found = []
    for table in sorted(set(source.counts) | set(target.counts)):
        if source.counts.get(table) != target.counts.get(table):
            found.append(
                f"rows of {table}: {source.counts.get(table)} → {target.counts.get(table)}"
            )
    for table, checksum in source.checksums.items():
        if target.checksums.get(table) != checksum:
            found.append(f"contents of {table} differ")
    for name, value in source.sequences.items():
        if target.sequences.get(name, 0) < value:
            found.append(f"sequence {name}: {value} → {target.sequences.get(name)}")
    for kind, names in source.schema.items():
        missing = sorted(set(names) - set(target.schema.get(kind, [])))
        if missing:
            found.append(f"{kind} missing after the restore: {', '.join(missing[:10])}")
    return found


# --- personal data: readable with the keys, and only with them ----------------------------------


def verify_ids_in_this_process() -> int:
    """Run inside the application (``--verify-ids``): every stored ID number decrypts with
    ``PII_KEYS`` and matches its lookup hash. Prints how many; exits 1 if one does not."""
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.exceptions import ImproperlyConfigured

    from governance import pii
    from residents.models import Resident

    rows = Resident.objects.exclude(id_number_encrypted="").values_list(
        "id_number_encrypted", "id_number_hash"
    )
    read = 0
    for encrypted, lookup in rows.iterator():
        try:
            number = pii.decrypt(encrypted)
        except ImproperlyConfigured:
            sys.stdout.write("unreadable\n")
            return 1
        if pii.lookup_hash(number) != lookup:
            sys.stdout.write("mismatch\n")
            return 1
        read += 1
    sys.stdout.write(f"{read}\n")
    return 0


def ids_readable(database: str, pii_key: str | None) -> tuple[bool, str]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--verify-ids"],
        cwd=BASE_DIR,
        env=environment(database, pii_key),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode == 0, done.stdout.strip().splitlines()[-1] if done.stdout else ""


# --- the whole check ----------------------------------------------------------------------------


def check(source: str, target: str, *, pii_key: str | None, log=print) -> Result:
    """Back ``source`` up, restore it into the empty ``target`` and compare the two; the
    ID numbers are read back with ``pii_key`` (``None``: this environment's keys)."""
    with tempfile.TemporaryDirectory(prefix="gov-backup-") as folder:
        archive = backup_and_restore(source, target, Path(folder))
        log(f"Backed up and restored ({archive.stat().st_size} bytes).")
    result = Result(snapshot(source), snapshot(target))
    result.differences = differences(result.source, result.target)
    readable, read = ids_readable(target, pii_key)
    if not readable:
        result.differences.append(f"ID numbers unreadable with the installation's keys: {read}")
    readable_without, _ = ids_readable(target, Fernet.generate_key().decode())
    if readable_without and read not in ("", "0"):
        result.differences.append("ID numbers were readable without the installation's keys")
    report(result, read, log)
    return result


def run(
    *,
    server: str = DEFAULT_SERVER,
    scale: float = 0.05,
    source_name: str = "gov_backup_src",
    target_name: str = "gov_backup_dst",
    keep: bool = False,
    log=print,
) -> Result:
    """The whole check on two databases of its own on ``server``, with a key of its own."""
    source, target = database_url(server, source_name), database_url(server, target_name)
    pii_key = Fernet.generate_key().decode()
    try:
        log(f"Seeding {source_name} (scale {scale}) ...")
        recreate(server, source_name)
        seed(source, scale=scale, pii_key=pii_key)
        recreate(server, target_name)
        log(f"Backing up {source_name}, restoring into {target_name} ...")
        return check(source, target, pii_key=pii_key, log=log)
    finally:
        if not keep:
            drop(server, source_name)
            drop(server, target_name)


def report(result: Result, ids_read: str, log) -> None:
    counts = result.source.counts
    total = sum(counts.values())
    log(f"Tables compared: {len(counts)}, rows: {total}.")
    for table in KEY_TABLES:
        if table in counts:
            log(f"  {table:<28} {counts[table]:>7} rows  md5 {result.source.checksums[table][:12]}")
    log(f"Sequences compared: {len(result.source.sequences)}.")
    log(
        "Schema objects compared: "
        + ", ".join(f"{len(v)} {k}" for k, v in result.source.schema.items())
        + "."
    )
    log(f"ID numbers decrypted with the installation's keys: {ids_read}; with another key: none.")
    if result.ok:
        log("Backup check passed: the restore is identical.")
    else:
        log("Backup check FAILED:")
        for difference in result.differences:
            log(f"  - {difference}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default=os.environ.get("BACKUP_CHECK_SERVER", DEFAULT_SERVER))
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BACKUP_SCALE", 0.05)))
    parser.add_argument("--source", default="gov_backup_src")
    parser.add_argument("--target", default="gov_backup_dst")
    parser.add_argument("--keep", action="store_true", help="Keep both databases afterwards.")
    parser.add_argument("--verify-ids", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.verify_ids:
        return verify_ids_in_this_process()
    result = run(
        server=options.server,
        scale=options.scale,
        source_name=options.source,
        target_name=options.target,
        keep=options.keep,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
