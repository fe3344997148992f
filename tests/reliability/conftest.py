"""Fixtures of the fault tests: throwaway servers, the Celery app pointed at one, and a
second database session that holds locks for as long as a test needs a task to wait.

These tests need the real services: PostgreSQL as the test database and a Redis broker
(the second pass of ``.ci/run``); they are skipped with the reason anywhere else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from governance.celery import app as celery_app
from tests.conftest import requires_redis
from tests.reliability.servers import ThrowawayPostgres, ThrowawayRedis, database_url

_redis_missing = ThrowawayRedis.unavailable_reason()
_postgres_missing = ThrowawayPostgres.unavailable_reason()

needs_redis_server = pytest.mark.skipif(
    _redis_missing is not None, reason=f"needs a throwaway Redis: {_redis_missing}"
)
needs_postgres_server = pytest.mark.skipif(
    _postgres_missing is not None, reason=f"needs a throwaway PostgreSQL: {_postgres_missing}"
)
postgres_test_database = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="runs on the real services: needs PostgreSQL as the test database "
    "(DATABASE_URL=postgres://...), the second pass of .ci/run",
)
# Every fault test: PostgreSQL as the test database and a Redis broker configured, i.e.
# the second CI pass. The servers each test stops are its own.
on_real_services = [postgres_test_database, requires_redis, needs_redis_server]


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _reset_broker_connections() -> None:
    """Make the app look its pools up again for the current ``broker_url``."""
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@contextlib.contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process sends its tasks to ``url`` (not eagerly) inside the block."""
    keys = ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    previous = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        broker_url=url, broker_read_url=url, broker_write_url=url, task_always_eager=False
    )
    _reset_broker_connections()
    try:
        yield
    finally:
        celery_app.conf.update(previous)
        _reset_broker_connections()


@pytest.fixture
def test_database_url(transactional_db) -> str:
    """The test database, for processes the test starts (they see committed rows only,
    hence ``transactional_db``)."""
    return database_url(connection.settings_dict)


def _connect() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings.get("HOST") or "127.0.0.1",
        port=settings.get("PORT") or 5432,
        user=settings.get("USER") or "postgres",
        password=settings.get("PASSWORD") or None,
        dbname=settings["NAME"],
        connect_timeout=10,
    )


class LockHolder:
    """A second session on the test database that takes locks and keeps them until
    ``release``: the way a test makes a task wait at a chosen point."""

    def __init__(self) -> None:
        self.session = _connect()
        self.backend_pid = self.session.info.backend_pid

    def lock_rows(self, table: str, pk: int) -> None:
        self.session.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [pk])

    def lock_table(self, table: str) -> None:
        # EXCLUSIVE lets others read, and makes every writer wait
        self.session.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")

    def waiting(self) -> list[int]:
        """Backends of the test database waiting for a lock (other than ours)."""
        with _connect() as probe:
            rows = probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s ORDER BY pid",
                [self.backend_pid],
            ).fetchall()
        return [row[0] for row in rows]

    def release(self) -> None:
        if not self.session.closed:
            self.session.rollback()
            self.session.close()


@pytest.fixture
def lock_holder(transactional_db) -> Iterator[LockHolder]:
    holder = LockHolder()
    try:
        yield holder
    finally:
        holder.release()
