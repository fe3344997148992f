"""Fixtures of the webhooks tests: a real receiving endpoint, an integrator, tickets.

People, beside alice (staff of A), bob (worker on A1), charlie (worker on B) and dan
(district leader of C) from ``tests/conftest.py``::

    ivy    an integrator: read-only (district leader) assignment on community A
    olga   another integrator, on community B
    frank  a resident with an account, who reports and rates
"""

from __future__ import annotations

import datetime

import pytest

from grids.models import AssignmentRole
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category, open_ticket
from tests.webhooks.receiver import Receiver
from tickets import services as tickets
from webhooks import services
from webhooks.models import EventType


@pytest.fixture(autouse=True)
def _webhooks_settings(settings):
    """The receivers run on 127.0.0.1, which production refuses; short timeouts."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOKS_TIMEOUT = 0.5


@pytest.fixture
def receiver():
    endpoint = Receiver(hang_seconds=1.5).start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def ivy(world, make_user):
    user = make_user("ivy", is_staff=False, full_name="集成商艾薇")
    assign(user, world.A, AssignmentRole.DISTRICT_LEADER)
    return user


@pytest.fixture
def olga(world, make_user):
    user = make_user("olga", is_staff=False)
    assign(user, world.B, AssignmentRole.DISTRICT_LEADER)
    return user


@pytest.fixture
def frank(db, make_user):
    return make_user("frank", is_staff=False, full_name="居民弗兰克", phone="13912345678")


@pytest.fixture
def hazard(db):
    return make_category(
        name="安全隐患",
        code="hazard",
        respond=datetime.timedelta(hours=1),
        resolve=datetime.timedelta(days=2),
    )


@pytest.fixture
def subscribe(receiver):
    """Subscribe ``owner`` to ``grid``'s subtree; returns (subscription, secret)."""

    def _subscribe(owner, grid, *types, url=None, **kwargs):
        return services.subscription_create(
            actor=owner,
            grid=grid,
            url=url or receiver.url,
            event_types=list(types) or [EventType.TICKET_OPENED],
            **kwargs,
        )

    return _subscribe


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run what is queued after the commit (the delivery tasks, eagerly) of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def report(world, hazard, frank, after_commit):
    """A ticket reported by frank (on A1a unless told), its tasks run after the commit."""

    def _report(grid=None, **kwargs):
        with after_commit():
            return open_ticket(category=hazard, grid=grid or world.A1a, reporter=frank, **kwargs)

    return _report


@pytest.fixture
def resolve(worker, frank, after_commit):
    """Dispatch to bob, accept and resolve (each step's tasks run after its commit)."""

    def _resolve(ticket):
        root = superuser()
        for step in (
            lambda: tickets.ticket_dispatch(actor=root, ticket=ticket, assignee=worker),
            lambda: tickets.ticket_accept(actor=worker, ticket=ticket),
            lambda: tickets.ticket_resolve(actor=worker, ticket=ticket, note="已修好路灯"),
        ):
            with after_commit():
                step()
        ticket.refresh_from_db()
        return ticket

    return _resolve
