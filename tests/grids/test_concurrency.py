"""Structural writes from many threads at once, on PostgreSQL (SQLite has one writer and
ignores row locks, so these are skipped there and run in the second pass of .ci/run)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from grids import services
from grids.locking import acquire_tree_lock, tree_lock_key
from grids.models import Grid, GridLevel
from grids.tree_check import check_tree
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import make_grid, superuser

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_threads_inserting_under_one_parent_leave_a_valid_tree():
    # given
    county = make_grid(None, GridLevel.COUNTY, box=(100, 30, 101, 31))
    township = make_grid(county, GridLevel.TOWNSHIP)
    make_grid(township, GridLevel.COMMUNITY)  # a sibling subtree whose bounds must shift too
    actor = superuser()

    # when
    errors = run_in_threads(
        20,
        lambda i: services.grid_create(
            actor=actor,
            parent=township,  # a stale instance: the service must re-read it under the lock
            name=f"社区{i}",
            code=f"C{i:03d}",
            level=GridLevel.COMMUNITY,
        ),
    )

    # then
    assert errors == []
    assert Grid.objects.filter(parent=township).count() == 21
    assert check_tree(Grid) == []
    township.refresh_from_db()
    assert township.rght - township.lft == 2 * 21 + 1


def test_concurrent_moves_and_inserts_leave_a_valid_tree():
    county = make_grid(None, GridLevel.COUNTY)
    townships = [make_grid(county, GridLevel.TOWNSHIP) for _ in range(2)]
    communities = [make_grid(townships[0], GridLevel.COMMUNITY) for _ in range(10)]
    actor = superuser()

    def work(i: int) -> None:
        if i % 2:
            services.grid_move(actor=actor, grid=communities[i], parent=townships[1])
        else:
            services.grid_create(
                actor=actor,
                parent=townships[i % 2],
                name=f"n{i}",
                code=f"N{i:03d}",
                level=GridLevel.COMMUNITY,
            )

    assert run_in_threads(10, work) == []
    assert check_tree(Grid) == []
    assert Grid.objects.filter(parent=townships[1]).count() == 5


def test_tree_lock_excludes_a_second_transaction():
    """While one transaction holds the tree lock, no other can take it."""
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with transaction.atomic():
            acquire_tree_lock(Grid)
            held.set()
            release.wait(timeout=30)
        connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(timeout=30)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [tree_lock_key(Grid)])
            assert cursor.fetchone()[0] is False
    finally:
        release.set()
        thread.join(timeout=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [tree_lock_key(Grid)])
        assert cursor.fetchone()[0] is True
        cursor.execute("SELECT pg_advisory_unlock(%s)", [tree_lock_key(Grid)])
