"""The figures of issue 8, measured on the bench database.

Each figure is the median of repeated runs after a warm-up. Measurements that write
(opening tickets, the escalation sweep, the import) really commit, as in production, and
the rows they added are deleted afterwards (``Cleanup``), so every run starts from the
same county and a database kept with ``--keep`` can be measured again with ``--reuse``.

Time-dependent figures use the reference moment the county was built around (the
dashboards' "this month", the sweep's "now"), so a database reused days later gives the
same work to do. Background jobs are queued to an in-memory broker that nobody consumes,
as in production a worker elsewhere would take them: their cost is not the caller's.
Everything runs with ``DEBUG`` off (no query log), as in production.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import random
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import connection, models, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from bench.dataset import reference_now
from bench.scales import Scale
from governance.dashboard import rollups

Figures = dict[str, float]

GOALS: dict[str, tuple[str, float]] = {
    "dashboard_root_ms": ("<=", 50),
    "dashboard_community_ms": ("<=", 10),
    "dashboard_root_ratio": ("<=", 0.5),
    "ticket_list_ms": ("<=", 4),
    "ticket_list_ratio": ("<=", 4),
    "ticket_list_queries": ("<=", 3),
    "ticket_open_per_s": (">=", 300),
    "escalation_sweep_s": ("<=", 5),
    "locate_per_s": (">=", 5000),
    "import_rows_per_s": (">=", 1000),
    "peak_rss_mb": ("<=", 500),
}
KEYS = (
    "dashboard_root_ms",
    "dashboard_community_ms",
    "dashboard_root_baseline_ms",
    "dashboard_root_ratio",
    "ticket_list_ms",
    "ticket_list_baseline_ms",
    "ticket_list_ratio",
    "ticket_list_queries",
    "ticket_open_per_s",
    "escalation_sweep_s",
    "locate_per_s",
    "import_rows_per_s",
    "peak_rss_mb",
)
# --only names a group; each group measures these keys
GROUPS: dict[str, tuple[str, ...]] = {
    "dashboard": ("dashboard_root_ms", "dashboard_community_ms", "dashboard_root_baseline_ms"),
    "ticket_list": ("ticket_list_ms", "ticket_list_baseline_ms", "ticket_list_queries"),
    "ticket_open": ("ticket_open_per_s",),
    "escalation": ("escalation_sweep_s",),
    "locate": ("locate_per_s",),
    "import": ("import_rows_per_s",),
}


def median_of(run: Callable[[], object], *, runs: int, warmups: int = 1) -> float:
    """Median wall time of ``run`` in seconds, after ``warmups`` untimed runs."""
    for _ in range(warmups):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# --- leaving the county as it was -----------------------------------------------------------


def _tables() -> list[type[models.Model]]:
    """Every concrete model with an integer primary key (history and through tables too)."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        pk = model._meta.pk
        if model._meta.app_label == "dashboard":
            continue  # kept by the triggers: the deletes below append their own changes
        if model._meta.managed and not model._meta.proxy and isinstance(pk, models.AutoField):
            found.append(model)
    return found


class Cleanup:
    """Remembers the highest id of every table; ``restore`` deletes the rows added since.

    All deletes run in one transaction: the foreign keys are checked at its end, so the
    order does not matter, and the dashboard's rollup triggers see every delete."""

    def __init__(self) -> None:
        self.marks = {m: self._top(m) for m in _tables()}

    @staticmethod
    def _top(model) -> int:
        return model._base_manager.order_by("-pk").values_list("pk", flat=True).first() or 0

    def restore(self) -> int:
        removed = 0
        with transaction.atomic():
            for model, mark in self.marks.items():
                if self._top(model) > mark:
                    removed += model._base_manager.filter(pk__gt=mark)._raw_delete(
                        model._base_manager.db
                    )
        rollups.compact()  # as the beat would: the run's changes and their undoing cancel
        return removed


def _with_cleanup(run: Callable[[], object]) -> Callable[[], object]:
    def wrapped():
        cleanup = Cleanup()
        try:
            return run()
        finally:
            cleanup.restore()

    return wrapped


def measure_with_cleanup(run: Callable[[], object], *, runs: int, warmup=None) -> float:
    """Like ``median_of`` but each run's rows are removed after it (not timed)."""
    if warmup is not None:
        _with_cleanup(warmup)()
    samples = []
    for _ in range(runs):
        cleanup = Cleanup()
        started = time.perf_counter()
        try:
            run()
            samples.append(time.perf_counter() - started)
        finally:
            cleanup.restore()
    return statistics.median(samples)


# --- background jobs --------------------------------------------------------------------------


def queue_in_memory() -> None:
    """Jobs go to an in-memory broker nobody reads, instead of running in the caller."""
    from governance.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    app.conf.broker_connection_retry_on_startup = False


# --- the figures ------------------------------------------------------------------------------


@dataclass
class Context:
    scale: Scale
    meta: dict

    @property
    def now(self) -> datetime.datetime:
        return reference_now(self.meta)

    def grid(self, key: str):
        from grids.models import Grid

        return Grid.objects.get(pk=self.meta[key])

    def user(self, key: str):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.get(pk=self.meta[key])


def dashboard(ctx: Context) -> Figures:
    from governance.dashboard.periods import this_month
    from governance.dashboard.selectors import dashboard_for

    now = ctx.now
    period = this_month(timezone.localdate(now))
    root, community = ctx.grid("county"), ctx.grid("community")
    runs = ctx.scale.dashboard_runs

    def board(grid):
        return lambda: dashboard_for(grid=grid, period=period, unit="month", now=now)

    baseline_sql = (
        "SELECT t.status, COUNT(*) FROM tickets_ticket t "
        "JOIN grids_grid g ON g.id = t.grid_id "
        "WHERE g.tree_id = %s AND g.lft >= %s AND g.rght <= %s GROUP BY t.status"
    )

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(baseline_sql, [root.tree_id, root.lft, root.rght])
            return cursor.fetchall()

    return {
        "dashboard_root_ms": 1000 * median_of(board(root), runs=runs, warmups=2),
        "dashboard_community_ms": 1000 * median_of(board(community), runs=runs, warmups=2),
        "dashboard_root_baseline_ms": 1000 * median_of(baseline, runs=runs, warmups=2),
    }


LIST_STATUSES = ("submitted", "dispatched", "claimable", "accepted", "in_progress", "reopened")


def list_query(township) -> dict:
    """What the township's leader asks for: the work still in hand, most urgent first."""
    return {"grid": township.pk, "status": list(LIST_STATUSES), "ordering": "resolve_by"}


def ticket_list(ctx: Context) -> Figures:
    from rest_framework.authtoken.models import Token

    from grids.models import AssignmentRole, GridAssignment

    township = ctx.grid("township")
    leader = (
        GridAssignment.objects.filter(grid=township, role=AssignmentRole.DISTRICT_LEADER)
        .select_related("user")
        .first()
        .user
    )
    token, _ = Token.objects.get_or_create(user=leader)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    query = list_query(township)
    runs = ctx.scale.list_requests

    def api():
        response = client.get("/api/v1/tickets/", query)
        assert response.status_code == 200, response.content[:500]
        return response

    def plain():
        response = client.get("/bench/ticket-list-baseline/", query)
        assert response.status_code == 200, response.content[:500]
        return response

    with override_settings(ROOT_URLCONF="bench.urls"):
        first = api().json()
        rows = len(first["results"])
        if rows != len(json.loads(plain().content)):
            raise AssertionError("the API and the plain view returned different pages")
        with CaptureQueriesContext(connection) as captured:
            api()
        queries = len(captured.captured_queries)  # before other requests reset the log
        figures = {
            "ticket_list_ms": 1000 * median_of(api, runs=runs, warmups=3),
            "ticket_list_baseline_ms": 1000 * median_of(plain, runs=runs, warmups=3),
            "ticket_list_queries": queries,
        }
    figures["ticket_list_rows"] = rows
    return figures


def ticket_open(ctx: Context) -> Figures:
    """Tickets opened through ``ticket_open`` with coordinates (so ``locate`` runs), an
    automatically dispatched category (so the route runs), one transaction each."""
    from grids.models import Grid
    from tickets import services
    from tickets.models import Category, Channel

    rng = random.Random("bench-open")
    root = ctx.grid("county")
    actor = ctx.user("county_leader")
    category = Category.objects.get(code="facility_repair")
    box = Grid.objects.filter(pk=root.pk).values_list("min_lat", "max_lat", "min_lng", "max_lng")[0]
    count = ctx.scale.tickets_to_open

    def open_many(n: int):
        def run():
            for i in range(n):
                services.ticket_open(
                    actor=actor,
                    reporter=actor,
                    category=category,
                    title=f"基准工单{i}",
                    channel=Channel.API,
                    lat=rng.uniform(box[0], box[1]),
                    lng=rng.uniform(box[2], box[3]),
                )

        return run

    seconds = measure_with_cleanup(open_many(count), runs=3, warmup=open_many(max(5, count // 20)))
    return {"ticket_open_per_s": count / seconds}


def escalation(ctx: Context) -> Figures:
    from tickets.escalation import escalation_sweep

    now = ctx.now
    limit = ctx.scale.just_overdue * 2 + 1000
    climbed = {}

    def sweep():
        climbed["n"] = escalation_sweep(now=now, limit=limit)

    seconds = measure_with_cleanup(
        sweep, runs=ctx.scale.sweep_runs, warmup=lambda: escalation_sweep(now=now, limit=20)
    )
    return {"escalation_sweep_s": seconds, "escalation_rungs_climbed": climbed["n"]}


def locate(ctx: Context) -> Figures:
    from grids.locate import locate as find
    from grids.models import Grid

    rng = random.Random("bench-locate")
    root = ctx.grid("county")
    min_lat, max_lat, min_lng, max_lng = Grid.objects.filter(pk=root.pk).values_list(
        "min_lat", "max_lat", "min_lng", "max_lng"
    )[0]
    points = [
        (rng.uniform(min_lat, max_lat), rng.uniform(min_lng, max_lng))
        for _ in range(ctx.scale.locate_points)
    ]
    found = {}

    def run():
        found["n"] = sum(1 for lat, lng in points if find(lat, lng) is not None)

    seconds = median_of(run, runs=5, warmups=1)
    return {"locate_per_s": len(points) / seconds, "locate_found_share": found["n"] / len(points)}


def import_file(ctx: Context, rows: int) -> bytes:
    """A spreadsheet of ``rows`` new residents, three to a new household, on the micro
    grids (buildings named ``B…`` so no room collides with the county's own)."""
    from bench.dataset.residents import IdNumbers, person_name, phone
    from grids.models import Grid, GridLevel
    from residents.importing import EXPORT_HEADERS

    rng = random.Random("bench-import")
    codes = list(
        Grid.objects.filter(level=GridLevel.MICRO).order_by("pk").values_list("code", flat=True)
    )
    numbers = IdNumbers("990002")
    today = timezone.localdate(ctx.now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADERS)
    for i in range(rows):
        household, member = divmod(i, 3)
        if member == 0:
            code, building, room = rng.choice(codes), f"B{household // 40 + 1}", household % 40
        gender = rng.choice(("男", "女"))
        birth = today - datetime.timedelta(days=rng.randint(20 * 365, 80 * 365))
        writer.writerow(
            [
                code,
                building,
                "1",
                f"{room + 1:02d}01",
                "",
                "",
                person_name(rng),
                numbers.make(birth, "male" if gender == "男" else "female"),
                gender,
                birth.isoformat(),
                "汉族",
                phone(rng),
                "户主" if member == 0 else "子女",
                "在住",
                "低保" if rng.random() < 0.03 else "",
            ]
        )
    return out.getvalue().encode()


def spreadsheet_import(ctx: Context) -> Figures:
    from residents.importing import apply_import, read_table

    admin = ctx.user("admin")
    rows = ctx.scale.import_rows
    data = import_file(ctx, rows)
    result = {}

    def run():
        table = read_table(data, "bench.csv")
        plan = apply_import(table, user=admin)
        result["counts"] = plan.counts()

    seconds = measure_with_cleanup(run, runs=3, warmup=run)
    if result["counts"]["create"] != rows:
        raise AssertionError(f"the import refused rows: {result['counts']}")
    return {"import_rows_per_s": rows / seconds}


MEASURES: dict[str, Callable[[Context], Figures]] = {
    "dashboard": dashboard,
    "ticket_list": ticket_list,
    "ticket_open": ticket_open,
    "escalation": escalation,
    "locate": locate,
    "import": spreadsheet_import,
}


def measure(ctx: Context, *, only: str | None = None, log=print, profile: bool = False) -> dict:
    """Every figure (or one group) with its derived ratios and the peak memory."""
    settings.DEBUG = False
    queue_in_memory()
    figures: dict[str, float] = {"load_average_before": round(os.getloadavg()[0], 2)}
    for name, run in MEASURES.items():
        if only and name != only:
            continue
        log(f"  measuring {name}…")
        started = time.monotonic()
        if profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                figures.update(run(ctx))
            log(profiler.output_text(unicode=True, color=False, show_all=False))
        else:
            figures.update(run(ctx))
        log(f"    done in {time.monotonic() - started:.1f} s")
    if "dashboard_root_ms" in figures:
        figures["dashboard_root_ratio"] = (
            figures["dashboard_root_ms"] / figures["dashboard_root_baseline_ms"]
        )
    if "ticket_list_ms" in figures:
        figures["ticket_list_ratio"] = (
            figures["ticket_list_ms"] / figures["ticket_list_baseline_ms"]
        )
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the machine's load while measuring: other work slows every figure down
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    return figures


def meets(key: str, value: float) -> bool | None:
    goal = GOALS.get(key)
    if goal is None:
        return None
    op, target = goal
    return value <= target if op == "<=" else value >= target
