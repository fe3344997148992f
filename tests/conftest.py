"""Shared fixtures: a small world of two counties, and people named by their part.

The world (boxes are lng/lat rectangles so ``locate`` can be tested)::

    county C                          county C2 (another tree)
      township T1                       township T9
        community A
          estate A1
            micro A1a
          estate A2
        community B
          estate B1
      township T2
      industry D1 (police), industry D2 (market supervision)
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from governance.celery import app as celery_app
from grids.models import AssignmentRole, Grid, GridKind, GridLevel
from tests.grids.factories import UserFactory, assign, make_grid, superuser

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (locking and concurrency); runs in the second pass of .ci/run",
)


def run_in_threads(count: int, work) -> list[BaseException]:
    """Start ``count`` threads released together by a barrier; return their errors."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _redis_reachable() -> bool:
    url = urlparse(os.environ.get("CELERY_BROKER_URL", ""))
    if url.scheme != "redis":
        return False
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), 2):
            return True
    except OSError:
        return False


requires_redis = pytest.mark.skipif(
    not _redis_reachable(),
    reason="needs a Redis broker (CELERY_BROKER_URL=redis://...); runs in the second pass",
)


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Tasks run in the caller unless a test asks for the real broker (marker ``broker``)."""
    eager = "broker" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness costs seconds per test user and tests nothing here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    C: Grid
    T1: Grid
    A: Grid
    A1: Grid
    A1a: Grid
    A2: Grid
    B: Grid
    B1: Grid
    T2: Grid
    D1: Grid
    D2: Grid
    C2: Grid
    T9: Grid

    def refresh(self) -> World:
        for name, grid in vars(self).items():
            setattr(self, name, Grid.objects.get(pk=grid.pk))
        return self


@pytest.fixture
def world(db) -> World:
    return make_world()


def make_world() -> World:
    """Two counties: C (townships T1 and T2, communities A and B, estates and a micro
    grid, two departments) and C2 beside it, for what must not leak across."""
    C = make_grid(None, GridLevel.COUNTY, name="县C", box=(100.0, 30.0, 101.0, 31.0))
    T1 = make_grid(C, GridLevel.TOWNSHIP, name="镇T1", box=(100.0, 30.0, 100.5, 31.0))
    A = make_grid(T1, GridLevel.COMMUNITY, name="社区A", box=(100.0, 30.0, 100.5, 30.5))
    A1 = make_grid(A, GridLevel.ESTATE, name="小区A1", box=(100.0, 30.0, 100.25, 30.5))
    A1a = make_grid(A1, GridLevel.MICRO, name="微网格A1a", box=(100.0, 30.0, 100.1, 30.1))
    A2 = make_grid(A, GridLevel.ESTATE, name="小区A2", box=(100.25, 30.0, 100.5, 30.5))
    B = make_grid(T1, GridLevel.COMMUNITY, name="社区B", box=(100.0, 30.5, 100.5, 31.0))
    B1 = make_grid(B, GridLevel.ESTATE, name="小区B1", box=(100.0, 30.5, 100.5, 31.0))
    T2 = make_grid(C, GridLevel.TOWNSHIP, name="镇T2", box=(100.5, 30.0, 101.0, 31.0))
    D1 = make_grid(C, GridLevel.TOWNSHIP, name="县公安局", kind=GridKind.INDUSTRY)
    D2 = make_grid(C, GridLevel.TOWNSHIP, name="县市场监管局", kind=GridKind.INDUSTRY)
    C2 = make_grid(None, GridLevel.COUNTY, name="县C2", box=(110.0, 35.0, 111.0, 36.0))
    T9 = make_grid(C2, GridLevel.TOWNSHIP, name="镇T9", box=(110.0, 35.0, 111.0, 36.0))
    return World(C, T1, A, A1, A1a, A2, B, B1, T2, D1, D2, C2, T9).refresh()


@pytest.fixture
def staff(world, make_user):
    """Alice: community staff of community A (sees and changes A's subtree)."""
    alice = make_user("alice")
    assign(alice, world.A, AssignmentRole.COMMUNITY_STAFF)
    return alice


@pytest.fixture
def worker(world, make_user):
    """Bob: a full-time grid worker on estate A1 (sees A1 and A1a, changes no grid)."""
    bob = make_user("bob")
    assign(bob, world.A1, AssignmentRole.FULL_TIME_WORKER)
    return bob


@pytest.fixture
def outsider(world, make_user):
    """Charlie: a grid worker on community B, A's sibling (sees nothing of A)."""
    charlie = make_user("charlie")
    assign(charlie, world.B, AssignmentRole.FULL_TIME_WORKER)
    return charlie


@pytest.fixture
def leader(world, make_user):
    """Dan: district leader of county C (reads the whole county, changes nothing)."""
    dan = make_user("dan")
    assign(dan, world.C, AssignmentRole.DISTRICT_LEADER)
    return dan


@pytest.fixture
def admin_user(db):
    return superuser()


@pytest.fixture
def make_user(db):
    def _make(username: str, **kwargs):
        return UserFactory(username=username, **kwargs)

    return _make


@pytest.fixture
def api_client_for():
    """An API client authenticated by token, as integrators and the mobile app are."""

    def _client(user) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _client
