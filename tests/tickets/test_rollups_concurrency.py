"""Many transactions changing tickets of one county at once (PostgreSQL, real threads).

Every ticket change touches the county's rollup cells. When the triggers updated those
cells in place, two transactions that changed tickets of different days in opposite
orders waited on each other's cells and one died in a deadlock (seen under ``make
load``); now the triggers only append changes and a compaction folds them in.
"""

from __future__ import annotations

import datetime
import threading
import time
import zoneinfo

import pytest
import time_machine
from django.db import transaction

from governance.dashboard import rollups
from governance.dashboard.models import RollupDelta
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Ticket

# A transactional test that does not restore a serialized database: it lives here, among
# the other ones of its kind, after the browser tests (which restore one and would meet the
# content types this test's flush recreates).
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
THREADS = 12


def test_dispatches_in_opposite_orders_neither_deadlock_nor_miscount(world, make_user):
    hazard = make_category(respond=datetime.timedelta(hours=1), resolve=datetime.timedelta(days=2))
    frank = make_user("frank", is_staff=False)
    pairs = []
    for i in range(THREADS):
        pair = []
        for day in (3, 4):  # two created days: two sets of county cells
            moment = datetime.datetime(2026, 3, day, 9, i, tzinfo=SH)
            with time_machine.travel(moment, tick=False):
                grid = world.A1 if i % 2 else world.B1
                pair.append(open_ticket(category=hazard, grid=grid, reporter=frank))
        pairs.append(pair if i % 2 == 0 else pair[::-1])
    rollups.compact()
    root = superuser()
    stop = threading.Event()
    folded: list[int] = []

    def compact_meanwhile() -> None:
        while not stop.is_set():
            folded.append(rollups.compact(batch=50))
            time.sleep(0.01)

    compactor = threading.Thread(target=compact_meanwhile)
    compactor.start()

    def dispatch_both(i: int) -> None:
        with transaction.atomic():
            first, second = (Ticket.objects.get(pk=t.pk) for t in pairs[i])
            services.ticket_dispatch(actor=root, ticket=first, assignee=root)
            time.sleep(0.05)  # hold the first ticket's changes while the others run
            services.ticket_dispatch(actor=root, ticket=second, assignee=root)

    try:
        errors = run_in_threads(THREADS, dispatch_both)
    finally:
        stop.set()
        compactor.join(timeout=60)

    assert errors == []
    assert Ticket.objects.filter(status="dispatched").count() == 2 * THREADS
    assert rollups.check() == []  # with whatever is still pending
    rollups.compact()
    assert not RollupDelta.objects.exists()
    assert rollups.check() == []
    assert sum(folded) > 0  # the compaction ran beside the dispatches
