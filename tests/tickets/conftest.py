"""Fixtures of the tickets tests: more people of the world, and categories.

People, beside alice (staff of A), bob (worker on A1), charlie (worker on B, A's
sibling) and dan (district leader of C) from ``tests/conftest.py``::

    grace  grid leader of estate A1            (staff for tickets on A1's subtree)
    carol  part-time worker on micro grid A1a   (sees A1a, may claim, may be assigned)
    erin   department liaison of D1, the police (reports in when D1 is whistled)
    frank  a resident with an account, no grid role (reports and rates)
"""

from __future__ import annotations

import datetime

import pytest

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.tickets.factories import make_category, ticket_in
from tickets.models import Route


@pytest.fixture
def grace(world, make_user):
    user = make_user("grace")
    assign(user, world.A1, AssignmentRole.GRID_LEADER)
    return user


@pytest.fixture
def carol(world, make_user):
    user = make_user("carol")
    assign(user, world.A1a, AssignmentRole.PART_TIME_WORKER)
    return user


@pytest.fixture
def erin(world, make_user):
    user = make_user("erin")
    assign(user, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    return user


@pytest.fixture
def frank(db, make_user):
    return make_user("frank", is_staff=False)


@pytest.fixture
def hazard(db):
    """Dispatched by hand (no auto-dispatch), reports need an account."""
    return make_category(
        name="安全隐患",
        respond=datetime.timedelta(hours=1),
        resolve=datetime.timedelta(days=2),
    )


@pytest.fixture
def fire(db):
    """Seed 003: answered within 10 minutes; goes straight to the grid's worker."""
    return make_category(
        name="消防火情",
        respond=datetime.timedelta(minutes=10),
        resolve=datetime.timedelta(hours=2),
        report=datetime.timedelta(minutes=10),
        auto_dispatch=True,
        anonymous=True,
    )


@pytest.fixture
def errands(db):
    """助老服务: published on the claim board at once."""
    return make_category(name="为老服务订单", route=Route.CLAIM_BOARD, auto_dispatch=True)


@pytest.fixture
def police_matter(world):
    """Whistled to the police (D1) at once."""
    return make_category(
        name="治安", route=Route.DEPARTMENT, department=world.D1, auto_dispatch=True
    )


@pytest.fixture
def people(world, staff, worker, outsider, leader, admin_user, grace, carol, erin, frank):
    """Everyone by name, for the matrices."""
    return {
        "admin": admin_user,
        "alice": staff,
        "grace": grace,
        "bob": worker,
        "carol": carol,
        "dan": leader,
        "charlie": outsider,
        "frank": frank,
        "erin": erin,
    }


@pytest.fixture
def make_ticket(world, hazard, frank, worker):
    """A ticket on micro grid A1a in a given status, reported by frank, handled by bob."""

    def _make(status: str = "submitted", **kwargs):
        values = {
            "category": hazard,
            "grid": world.A1a,
            "reporter": frank,
            "assignee": worker,
            "department": world.D1,
            **kwargs,
        }
        return ticket_in(status, **values)

    return _make
