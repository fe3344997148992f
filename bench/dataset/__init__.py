"""The synthetic county the bench measures: built in bulk, deterministically (one seeded
random generator per scale), relative to a reference moment ``now`` that is kept with the
data, so a database reused days later is measured exactly as it was built.

Order of the build: the grid tree (checked with ``grids.tree_check`` afterwards), the
people who work it, households and residents, tickets with their timelines, volunteers
with activities and points, open campaigns; then the id sequences are moved past the
loaded rows, the dashboard's rollups are rebuilt from the loaded rows, and the planner's
statistics are refreshed (``VACUUM ANALYZE`` on PostgreSQL, so index-only scans work).
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from bench.dataset import grids, people, residents, tickets, volunteers
from bench.loader import Ids, Loader, reset_sequences
from bench.scales import Scale
from grids.models import Grid
from grids.tree_check import check_tree

Log = Callable[[str], None]


class BuildError(Exception):
    pass


def build(scale: Scale, *, log: Log) -> dict:
    """Build the county at ``scale`` in the (empty, migrated) current database; returns
    what was built, for ``bench_dataset``."""
    started = time.monotonic()
    rng = random.Random(f"bench-{scale.name}")
    now = timezone.now().replace(second=0, microsecond=0)
    ids = Ids()
    with transaction.atomic(), Loader(log) as loader:
        step = _stepper(log)
        step("Grid tree")
        tree = grids.plan(scale, ids, rng)
        grids.load(tree, loader, now)
        step("People who work the grids")
        staff = people.plan(tree, scale.reporters, ids, now)
        people.load(staff, loader, now)
        step("Households and residents")
        archive = residents.build(
            tree,
            households=scale.households,
            residents=scale.residents,
            ids=ids,
            loader=loader,
            rng=rng,
            now=now,
        )
        step("Tickets, timelines, whistles and escalations")
        tickets.build(
            tree,
            staff,
            archive,
            total=scale.tickets,
            open_total=scale.open_tickets,
            just_overdue=scale.just_overdue,
            ids=ids,
            loader=loader,
            rng=rng,
            now=now,
            log=log,
        )
        step("Volunteers, activities, points and campaigns")
        volunteers.build(
            tree,
            staff,
            archive,
            volunteers=scale.volunteers,
            activities=scale.activities,
            campaigns=scale.open_campaigns,
            ids=ids,
            loader=loader,
            rng=rng,
            now=now,
        )
        reset_sequences(loader.models)
        triggers_fired = loader.triggers_fired
        counts = dict(loader.counts)
    step("Checking the grid tree")
    problems = check_tree(Grid)
    if problems:
        raise BuildError("The grid tree is broken: " + "; ".join(problems[:5]))
    step("Dashboard rollups")
    rebuild_rollups(log, needed=not triggers_fired)
    step("Planner statistics")
    refresh_statistics()
    return {
        "scale": scale.name,
        "now": now.isoformat(),
        "built_at": timezone.now().isoformat(),
        "build_seconds": round(time.monotonic() - started, 1),
        "counts": counts,
        "grids": len(tree.all()),
        "county": tree.county.id,
        "township": tree.townships[0].id,
        "community": tree.communities[0].id,
        "admin": staff.admin,
        "county_leader": staff.county_leader,
        "users": get_user_model().objects.count(),
    }


def _stepper(log: Log) -> Callable[[str], None]:
    started = time.monotonic()

    def step(title: str) -> None:
        log(f"[{time.monotonic() - started:7.1f} s] {title}")

    return step


def rebuild_rollups(log: Log, *, needed: bool = True) -> None:
    """Rebuild the dashboard's rollups when the project keeps them (the loaded rows went
    past the triggers that keep them current)."""
    try:
        from governance.dashboard import rollups
    except ImportError:
        log("  (no rollups in this version)")
        return
    if not rollups.enabled():
        log("  (rollups are kept on PostgreSQL only)")
        return
    if not needed:
        log("  (kept current by the triggers during the load)")
        return
    started = time.monotonic()
    rows = rollups.rebuild()
    log(f"  {rows:,} rollup rows in {time.monotonic() - started:.1f} s")


def refresh_statistics() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")


def reference_now(meta: dict) -> datetime.datetime:
    return datetime.datetime.fromisoformat(meta["now"])
