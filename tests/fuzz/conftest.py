"""Fixtures of the API fuzzing: the data built once per module, the personas, and the
plumbing that lets Schemathesis call the WSGI application inside the test's transaction.

Transactions. Schemathesis calls ``governance.wsgi.application`` in-process, in the test's
thread, so the requests use the test's database connection. The data is built once per
module inside a transaction that is rolled back at the end (as ``tests/grids/
test_seed_demo.py`` does); each test is a savepoint inside it (pytest-django's ``db``) and
each generated request runs in a savepoint of its own that is rolled back too, so every
request meets exactly the data as built: a DELETE in one example cannot starve the next
of its record, and the fuzzer is reproducible. The price: ``transaction.on_commit``
callbacks (task queueing) never run; what they do is tested in the apps' own tests.

Django's ``request_started``/``request_finished`` signals close "old" connections; inside
a transaction that would close the test's own connection, so the fixture disconnects them
for the module (Django's test client does the same per request).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import override_settings

from governance.celery import app as celery_app
from tests.fuzz import tally
from tests.fuzz import world as fuzz_world
from tests.fuzz.scope import Oracle, private_strings

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(scope="module")
def fuzz_data(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict]:
    """The world, its personas' tokens and the scoping oracle, for the whole module."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    quiet = [logging.getLogger(name) for name in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # thousands of expected 4xx would flood the output
        logger.setLevel(logging.CRITICAL)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    media = tmp_path_factory.mktemp("fuzz-media")
    try:
        with (
            override_settings(PASSWORD_HASHERS=[FAST_HASHER], MEDIA_ROOT=media),
            django_db_blocker.unblock(),
            transaction.atomic(),
        ):
            built = fuzz_world.build()
            oracle = Oracle(
                grid_ids={p: built.grid_ids(fuzz_world.VISIBLE[p]) for p in fuzz_world.PERSONAS},
                above={p: built.grid_ids(fuzz_world.ABOVE[p]) for p in fuzz_world.PERSONAS},
                users=built.users,
            )
            yield {
                "world": built,
                "oracle": oracle,
                "private": private_strings(),
                "media": media,
            }
            transaction.set_rollback(True)
    finally:
        celery_app.conf.task_always_eager = eager
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def pytest_terminal_summary(terminalreporter) -> None:
    """The number of requests the fuzzers sent, for the README's figures."""
    line = tally.summary()
    if line:
        terminalreporter.write_line(line)
