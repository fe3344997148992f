"""Rollups: what the dashboard counts, kept per grid and local day so that a county's
figures are read from a few hundred rows instead of counted over a million tickets.

**What is counted.** Every figure of ``selectors`` that sums over a period or a subtree is
a sum of *facts*. A fact is ``(metric, day, day2, key, n, total)``, contributed by one row
of the database in its current state (``*_facts`` below, and the same definitions in SQL in
``rollup_sql``):

============  ==============================  =====================================
metric        from                            day / day2 / key
============  ==============================  =====================================
opened*       every ticket                    created day
status        every ticket                    created day; key: its status now
category      every ticket                    created day; key: category id
channel       every ticket                    created day; key: channel
closed*       a ticket with ``closed_at``     closed day
due*          every ticket                    resolve-by day; day2: the day it was
                                              resolved (not before the due day, never
                                              if unresolved); key "1" if resolved in time
respond       every ticket                    respond-by day; key "1" if answered in time
answered      a ticket answered               the day of its response (how many
                                              response times a period ranks)
resolved      a ticket resolved               the day of its resolution
open*         a ticket in an open status      —
overdue*      a ticket in an open status      the day it becomes overdue (the earlier
                                              deadline still running)
rated*        a ``rated`` event               event day; key: the rating
reopened      an event ending ``reopened``    event day
whistled      a whistle                       whistle day; key: department id
reported      a whistle reported in           whistle day; key: department; total: µs
household     a household                     its must-visit due day (never if none)
resident      a resident living there         —
tag           (living resident, key group)    key: the key group's id
============  ==============================  =====================================

Metrics marked * are also split by the child grid they fall under, for the ranking of
child grids; the others carry child 0.

**Where rows are kept.** A fact is added to each grid above its row's grid (and that
grid itself) down to ``ROLLUP_DEPTH``: the county, its townships and its communities.
Deeper grids (estates, micro grids) hold a few hundred tickets, which the dashboard
counts live as fast as it would read rows. The dashboard of a county or a township reads
its own rows; a community's ranking of its estates reads the community's rows split by
child. Rollups are a PostgreSQL feature: on SQLite (the embedded demo database) every
dashboard is counted live, with the same fact definitions, so both give the same figures.

**How they stay current.** Database triggers (``rollup_sql``) on tickets, ticket events,
whistles, households, residents and their key groups append the difference between the
facts of a row's old state and those of its new state (``models.RollupDelta``; folded into
the rows by ``compact`` every few seconds, read together with them meanwhile), in the
statement that changes the row and therefore in its transaction: every path is covered,
the services, the admin, bulk imports, raw updates (the demo moves its tickets back in
time with ``update()``), deletes. A ticket re-routed to another grid, or a household
moved, takes its events, whistles and residents' facts along. A grid moved in the tree
(rare; ``grids.services.grid_move``) is handled here (``grid_moved``): the moved subtree's
facts are subtracted from the old ancestors and added to the new ones in the same
transaction.

**Live figures.** "Open now" is a state kept exactly by the rollups; "overdue now" depends
on the clock: the rollups give the tickets overdue since before today, one indexed query
adds those that became overdue today up to ``now``. Response and resolution times
(median, 90th percentile) are exact order statistics: knowing from the rollups how many
tickets were answered and resolved in the period, one query picks the two or three
values needed with ``percentile_disc`` at those ranks, both figures in one scan.

``rebuild()`` recomputes every row from the tables (the bench after a bulk load, a
changed time zone); ``check()`` recounts the rows with the Python definitions below,
independently of the SQL, and reports every difference (``manage.py rebuild_rollups
--check``).
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import connection, transaction

from grids.models import Grid
from tickets import states
from tickets.models import EventKind, TicketStatus

VERSION = "2"  # bump when a definition changes: the bench then rebuilds its rollups
ROLLUP_DEPTH = 2  # county (0), township (1), community (2)
NO_DAY = datetime.date(1, 1, 1)
NEVER = datetime.date(9999, 12, 31)

OPENED, STATUS, CATEGORY, CHANNEL, CLOSED = "opened", "status", "category", "channel", "closed"
DUE, RESPOND, OPEN, OVERDUE = "due", "respond", "open", "overdue"
RATED, REOPENED, WHISTLED, REPORTED = "rated", "reopened", "whistled", "reported"
ANSWERED, RESOLVED = "answered", "resolved"
HOUSEHOLD, RESIDENT, TAG = "household", "resident", "tag"
SPLIT = frozenset({OPENED, CLOSED, DUE, OPEN, OVERDUE, RATED})
PERIOD_METRICS = (OPENED, STATUS, CATEGORY, CHANNEL, CLOSED, DUE, RESPOND, ANSWERED, RESOLVED,
                  RATED, REOPENED, WHISTLED, REPORTED)  # fmt: skip
STATE_METRICS = (OPEN, OVERDUE, HOUSEHOLD, RESIDENT, TAG)
KEY_LENGTH = 40

Fact = tuple[str, datetime.date, datetime.date, str, int, int]


def enabled() -> bool:
    """Rollups are kept (by triggers) on PostgreSQL only."""
    return connection.vendor == "postgresql"


def uses_rollups(grid: Grid) -> bool:
    return enabled() and grid.depth <= ROLLUP_DEPTH


@cache
def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_day(moment: datetime.datetime | None) -> datetime.date | None:
    return moment.astimezone(_zone()).date() if moment is not None else None


# --- the facts, in Python ---------------------------------------------------------------------
#
# The reference definitions: the live dashboard counts with them, ``check`` compares the
# rollups with them. ``rollup_sql`` holds the same definitions for the triggers.


@dataclass(frozen=True)
class TicketRow:
    grid_id: int
    status: str
    category_id: int
    channel: str
    created_at: datetime.datetime
    closed_at: datetime.datetime | None
    respond_by: datetime.datetime
    responded_at: datetime.datetime | None
    resolve_by: datetime.datetime
    resolved_at: datetime.datetime | None

    @property
    def overdue_since(self) -> datetime.datetime:
        """When the ticket is (or would be) overdue: the earlier deadline still running."""
        if self.responded_at is None:
            return min(self.respond_by, self.resolve_by)
        return self.resolve_by


TICKET_COLUMNS = tuple(TicketRow.__dataclass_fields__)


def ticket_facts(t: TicketRow) -> list[Fact]:
    created = local_day(t.created_at)
    due_day = local_day(t.resolve_by)
    resolved = t.resolved_at is not None
    facts: list[Fact] = [
        (OPENED, created, NO_DAY, "", 1, 0),
        (STATUS, created, NO_DAY, t.status, 1, 0),
        (CATEGORY, created, NO_DAY, str(t.category_id), 1, 0),
        (CHANNEL, created, NO_DAY, t.channel, 1, 0),
        (
            DUE,
            due_day,
            max(local_day(t.resolved_at), due_day) if resolved else NEVER,
            "1" if resolved and t.resolved_at <= t.resolve_by else "0",
            1,
            0,
        ),
        (
            RESPOND,
            local_day(t.respond_by),
            NO_DAY,
            "1" if t.responded_at is not None and t.responded_at <= t.respond_by else "0",
            1,
            0,
        ),
    ]
    if t.closed_at is not None:
        facts.append((CLOSED, local_day(t.closed_at), NO_DAY, "", 1, 0))
    if t.responded_at is not None:
        facts.append((ANSWERED, local_day(t.responded_at), NO_DAY, "", 1, 0))
    if resolved:
        facts.append((RESOLVED, local_day(t.resolved_at), NO_DAY, "", 1, 0))
    if t.status in states.OPEN:
        facts.append((OPEN, NO_DAY, NO_DAY, "", 1, 0))
        facts.append((OVERDUE, local_day(t.overdue_since), NO_DAY, "", 1, 0))
    return facts


def rating_key(rating) -> str:
    return rating[:KEY_LENGTH] if isinstance(rating, str) else ""


def event_facts(kind: str, to_status: str, rating, created_at: datetime.datetime) -> list[Fact]:
    facts: list[Fact] = []
    if kind == EventKind.RATED:
        facts.append((RATED, local_day(created_at), NO_DAY, rating_key(rating), 1, 0))
    if to_status == TicketStatus.REOPENED:
        facts.append((REOPENED, local_day(created_at), NO_DAY, "", 1, 0))
    return facts


def microseconds(delta: datetime.timedelta) -> int:
    return delta // datetime.timedelta(microseconds=1)


def whistle_facts(department_id: int, created_at, reported_at) -> list[Fact]:
    day = local_day(created_at)
    facts: list[Fact] = [(WHISTLED, day, NO_DAY, str(department_id), 1, 0)]
    if reported_at is not None:
        facts.append(
            (REPORTED, day, NO_DAY, str(department_id), 1, microseconds(reported_at - created_at))
        )
    return facts


def household_facts(visit_due_on: datetime.date | None) -> list[Fact]:
    return [(HOUSEHOLD, visit_due_on or NEVER, NO_DAY, "", 1, 0)]


def resident_facts(tag_ids: Iterable[int]) -> list[Fact]:
    """A living resident and its key groups (residents who moved out or died count
    nowhere)."""
    return [(RESIDENT, NO_DAY, NO_DAY, "", 1, 0)] + [
        (TAG, NO_DAY, NO_DAY, str(tag), 1, 0) for tag in tag_ids
    ]


# --- summaries: what the figures are computed from ---------------------------------------------


@dataclass
class Cell:
    """The sums of one (child, metric, key): ``n`` over the period (or all, for state
    metrics), ``completed`` those with ``day2`` up to the period's end, ``total``,
    ``before`` those dated before today, ``dated`` those with a day."""

    n: int = 0
    completed: int = 0
    total: int = 0
    before: int = 0
    dated: int = 0


@dataclass
class Summary:
    cells: dict[tuple[int, str, str], Cell] = field(default_factory=dict)
    trend_opened: dict[datetime.date, int] = field(default_factory=dict)
    trend_closed: dict[datetime.date, int] = field(default_factory=dict)
    overdue_today: dict[int, int] = field(default_factory=dict)  # child → count
    response_hours: dict = field(default_factory=dict)
    resolution_hours: dict = field(default_factory=dict)
    names: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    _index: dict = field(default_factory=dict, repr=False)

    def by_child(self, metric: str) -> dict[int, dict[str, Cell]]:
        """The cells of ``metric``, child → key → cell (built once after gathering)."""
        if self._index.get("_size") != len(self.cells):
            self._index = {"_size": len(self.cells)}
            for (child, metric_, key), cell in self.cells.items():
                self._index.setdefault(metric_, {}).setdefault(child, {})[key] = cell
        return self._index.get(metric, {})

    def cell(self, child: int, metric: str, key: str = "") -> Cell:
        return self.cells.get((child, metric, key), Cell())

    def keys(self, metric: str, child: int | None = None) -> dict[str, Cell]:
        """Cells of ``metric`` by key, of one child or summed over all of them."""
        by_child = self.by_child(metric)
        if child is not None:
            return by_child.get(child, {})
        found: dict[str, Cell] = {}
        for cells in by_child.values():
            for key, cell in cells.items():
                into = found.setdefault(key, Cell())
                into.n += cell.n
                into.completed += cell.completed
                into.total += cell.total
                into.before += cell.before
                into.dated += cell.dated
        return found

    def total(self, metric: str, attr: str = "n", *, child: int | None = None) -> int:
        return sum(getattr(cell, attr) for cell in self.keys(metric, child).values())


class Window:
    """The days a dashboard asks about: the period, the trend's span, today."""

    def __init__(self, first: datetime.date, last: datetime.date, span_first, span_last, today):
        self.first, self.last = first, last
        self.span_first, self.span_last = span_first, span_last
        self.today = today

    def in_period(self, day: datetime.date) -> bool:
        return self.first <= day <= self.last


def summarize(
    rows: Iterable[tuple[int, Fact]], window: Window, summary: Summary | None = None
) -> Summary:
    """Sum facts (each with its child) the way the rollup query sums rows."""
    summary = summary or Summary()
    cells = summary.cells
    for child, (metric, day, day2, key, n, total) in rows:
        if metric not in SPLIT:
            child = 0
        if metric in (STATUS, CLOSED) and window.span_first <= day <= window.span_last:
            trend = summary.trend_opened if metric == STATUS else summary.trend_closed
            trend[day] = trend.get(day, 0) + n
        if metric in PERIOD_METRICS and not window.in_period(day):
            continue
        cell = cells.get((child, metric, key))
        if cell is None:
            cell = cells[(child, metric, key)] = Cell()
        cell.n += n
        cell.total += total
        if day2 <= window.last:
            cell.completed += n
        if day < window.today:
            cell.before += n
        if day != NEVER:
            cell.dated += n
    return summary


# --- reading the rollups ---------------------------------------------------------------------


def _cells_sql(where: str) -> str:
    """The rollup rows and the pending changes of one grid matching ``where``, in one
    statement: a compaction committing meanwhile moves rows from one to the other, and a
    single statement sees either both before or both after."""
    columns = "child, metric, day, day2, key, n, total"
    return (
        f"SELECT {columns} FROM dashboard_rollup WHERE grid_id = %(grid)s AND {where} "
        f"UNION ALL SELECT {columns} FROM dashboard_rollupdelta "
        f"WHERE grid_id = %(grid)s AND {where}"
    )


def read(grid: Grid, window: Window, summary: Summary) -> None:
    """Two queries: the period's and the state metrics' sums by (child, metric, key), and
    the trend's opened and closed per day."""
    params = {
        "grid": grid.pk,
        "period": list(PERIOD_METRICS),
        "state": list(STATE_METRICS),
        "first": window.first,
        "last": window.last,
        "today": window.today,
        "never": NEVER,
        "trend": [STATUS, CLOSED],
        "span_first": window.span_first,
        "span_last": window.span_last,
    }
    cells = _cells_sql(
        "((metric = ANY(%(period)s) AND day BETWEEN %(first)s AND %(last)s) "
        "OR metric = ANY(%(state)s))"
    )
    trend = _cells_sql("metric = ANY(%(trend)s) AND day BETWEEN %(span_first)s AND %(span_last)s")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT child, metric, key, SUM(n), SUM(n) FILTER (WHERE day2 <= %(last)s), "
            "SUM(total), SUM(n) FILTER (WHERE day < %(today)s), "
            "SUM(n) FILTER (WHERE day <> %(never)s) "
            f"FROM ({cells}) AS cells GROUP BY child, metric, key",
            params,
        )
        # SUM over bigint is numeric in PostgreSQL: counted back as integers
        for child, metric, key, *sums in cursor.fetchall():
            summary.cells[(child, metric, key)] = Cell(*(int(value or 0) for value in sums))
        cursor.execute(
            f"SELECT metric, day, SUM(n) FROM ({trend}) AS cells GROUP BY metric, day", params
        )
        for metric, day, n in cursor.fetchall():
            target = summary.trend_opened if metric == STATUS else summary.trend_closed
            target[day] = int(n)


def compact(batch: int = 50_000) -> int:
    """Fold the pending changes into the rollup rows (``models.RollupDelta``), ``batch``
    at a time, each batch in its own transaction; returns how many were folded (0 when
    another compaction is running)."""
    from governance.dashboard import rollup_sql

    if not enabled():
        return 0
    folded = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            done = rollup_sql.compact(cursor, batch)
        if done is None:
            return folded
        folded += done
        if done < batch:
            return folded


# --- rebuilding and checking -------------------------------------------------------------------


def rebuild(grid_ids: Iterable[int] | None = None) -> int:
    """Recompute the rows of every rollup grid (or of ``grid_ids``) from the tables;
    returns how many rows there are now. PostgreSQL only."""
    from governance.dashboard import rollup_sql

    if not enabled():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        rollup_sql.install_functions(cursor)
        return rollup_sql.rebuild(cursor, None if grid_ids is None else list(grid_ids))


def _rollup_ancestors() -> dict[int, list[tuple[int, int]]]:
    """For every grid: the rollup grids above it (itself included) and, for each, the
    child of that grid on the way down (0 for the grid itself)."""
    parent = dict(Grid.objects.values_list("pk", "parent_id"))
    depth = dict(Grid.objects.values_list("pk", "depth"))
    found: dict[int, list[tuple[int, int]]] = {}
    for pk in parent:
        chain, below, node = [], 0, pk
        while node is not None:
            if depth[node] <= ROLLUP_DEPTH:
                chain.append((node, below))
            below, node = node, parent[node]
        found[pk] = chain
    return found


def expected_facts() -> Iterator[tuple[int, Fact]]:
    """Every fact of the database with the grid it belongs to, by the Python definitions."""
    from residents.models import Household, LivingStatus, Resident
    from tickets.models import Ticket, TicketEvent, Whistle

    for values in Ticket.objects.values_list(*TICKET_COLUMNS).iterator(chunk_size=5000):
        row = TicketRow(*values)
        for fact in ticket_facts(row):
            yield row.grid_id, fact
    events = TicketEvent.objects.filter(kind=EventKind.RATED) | TicketEvent.objects.filter(
        to_status=TicketStatus.REOPENED
    )
    for grid_id, kind, to_status, rating, created in events.values_list(
        "ticket__grid_id", "kind", "to_status", "data__rating", "created_at"
    ).iterator(chunk_size=5000):
        for fact in event_facts(kind, to_status, rating, created):
            yield grid_id, fact
    for grid_id, department, created, reported in Whistle.objects.values_list(
        "ticket__grid_id", "department_id", "created_at", "reported_at"
    ).iterator(chunk_size=5000):
        for fact in whistle_facts(department, created, reported):
            yield grid_id, fact
    for grid_id, due in Household.objects.values_list("grid_id", "visit_due_on").iterator(
        chunk_size=5000
    ):
        for fact in household_facts(due):
            yield grid_id, fact
    tags: dict[int, list[int]] = defaultdict(list)
    for resident, tag in Resident.tags.through.objects.values_list(
        "resident_id", "keygrouptag_id"
    ).iterator(chunk_size=5000):
        tags[resident].append(tag)
    for pk, grid_id in (
        Resident.objects.filter(living_status=LivingStatus.RESIDENT)
        .values_list("pk", "household__grid_id")
        .iterator(chunk_size=5000)
    ):
        for fact in resident_facts(tags.get(pk, ())):
            yield grid_id, fact


def check(limit: int = 20) -> list[str]:
    """Every difference between the rollup rows and a recount with the Python
    definitions (empty when they agree)."""
    from governance.dashboard.models import Rollup, RollupDelta

    if not enabled():
        return []
    ancestors = _rollup_ancestors()
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for grid_id, (metric, day, day2, key, n, total) in expected_facts():
        for ancestor, child in ancestors[grid_id]:
            cell = expected[(ancestor, child if metric in SPLIT else 0, metric, day, day2, key)]
            cell[0] += n
            cell[1] += total
    stored: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    columns = ("grid_id", "child", "metric", "day", "day2", "key", "n", "total")
    for model in (Rollup, RollupDelta):
        for g, c, m, d, d2, k, n, t in model.objects.values_list(*columns).iterator(
            chunk_size=10000
        ):
            stored[(g, c, m, d, d2, k)][0] += n
            stored[(g, c, m, d, d2, k)][1] += t
    stored = {cell: sums for cell, sums in stored.items() if sums != [0, 0]}
    expected = {cell: sums for cell, sums in expected.items() if sums != [0, 0]}
    problems = []
    for cell in sorted(set(expected) | set(stored), key=str):
        want = expected.get(cell, [0, 0])
        have = stored.get(cell, [0, 0])
        if want != have:
            problems.append(f"{cell}: rollup {have}, recount {want}")
            if len(problems) >= limit:
                break
    return problems


# --- grids moved in the tree --------------------------------------------------------------------


def _chain(grid_id: int | None) -> list[tuple[int, int]]:
    """``(id, depth)`` of ``grid_id`` and its ancestors, root first."""
    chain = []
    while grid_id is not None:
        pk, parent, depth = Grid.objects.values_list("pk", "parent_id", "depth").get(pk=grid_id)
        chain.append((pk, depth))
        grid_id = parent
    return list(reversed(chain))


def grid_moved(grid: Grid, old_parent_id: int | None) -> None:
    """Move the facts of ``grid``'s subtree from its old ancestors to its new ones (in
    the transaction of the move); rollup grids inside the subtree whose depth changed
    are recomputed."""
    from governance.dashboard import rollup_sql

    if not enabled():
        return
    grid.refresh_from_db(fields=["tree_id", "lft", "rght", "depth", "parent"])
    old = _chain(old_parent_id)
    new = _chain(grid.parent_id)
    moves: list[tuple[int, int, int]] = []  # (rollup grid, child, sign)
    for chain, sign in ((old, -1), (new, 1)):
        path = [pk for pk, _d in chain] + [grid.pk]
        for index, (pk, depth) in enumerate(chain):
            if depth <= ROLLUP_DEPTH:
                moves.append((pk, path[index + 1], sign))
    with connection.cursor() as cursor:
        rollup_sql.move_subtree(cursor, grid, moves)
        if len(old) != len(new):  # the subtree changed depth: its own rollup grids too
            inside = list(
                Grid.objects.filter(
                    tree_id=grid.tree_id, lft__gte=grid.lft, rght__lte=grid.rght
                ).values_list("pk", flat=True)
            )
            rollup_sql.rebuild(cursor, inside)
