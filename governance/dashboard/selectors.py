"""Every figure of the leaders' dashboard, computed once here for the page, the exports
and the API alike, over a grid's subtree (MPTT bounds) and a period.

Definitions (also written on the page):
- opened / closed: created / closed within the period;
- open now and overdue now: ``tickets.states.OPEN`` and ``tickets.deadlines.overdue_q``,
  the same definitions the escalation uses (not resolved, closed, rejected or a duplicate;
  past the response deadline without a response, or past the resolution deadline);
- response and resolution times: from report to the response / resolution now on the
  ticket (a reopened ticket starts again, so its first round is not counted twice);
- completion rate (办结率): of the tickets whose resolution deadline falls in the period,
  the share resolved by the end of the period;
- on-time response / resolution: of the tickets whose deadline falls in the period, the
  share answered / resolved by the deadline;
- satisfaction (满意度): of the ratings given in the period, the share "satisfied" or
  "basically satisfied" (unsatisfied ratings count although they reopen the ticket).
A rate with nothing to count is ``None`` and shows as "no data", never a division by zero.

How they are counted. Every figure is a sum of *facts* (``rollups``: a ticket opened on a
day, closed on a day, due on a day…), gathered into one ``rollups.Summary`` and turned
into figures by the functions below, whichever way the facts were gathered:

- a county, township or community on PostgreSQL reads its **rollups**, rows per grid and
  local day kept by database triggers: two queries over a few hundred rows, whatever the
  size of the subtree; plus the live parts — the order statistics of response and
  resolution times (one ranking query each, returning the two or three rows needed),
  the tickets that became overdue since midnight (one indexed query), and the names of
  categories, key groups and departments (one query);
- a smaller grid, and every grid on SQLite, **counts live**: one query each for the
  tickets, events, whistles, households and residents of the subtree that the period and
  the states concern, turned into facts in Python by the same definitions.

The number of queries is fixed whatever the subtree's size (15 at most, the
participation figures included), and a leaf grid, with no child ranking, needs one fewer.
"""

from __future__ import annotations

import bisect
import datetime
import statistics
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.dashboard import rollups
from governance.dashboard.periods import Period, trend_buckets
from governance.dashboard.rollups import (
    ANSWERED,
    CATEGORY,
    CHANNEL,
    CLOSED,
    DUE,
    HOUSEHOLD,
    OPEN,
    OPENED,
    OVERDUE,
    RATED,
    REOPENED,
    REPORTED,
    RESIDENT,
    RESOLVED,
    RESPOND,
    STATUS,
    TAG,
    WHISTLED,
    Cell,
    Summary,
    TicketRow,
    Window,
)
from grids.models import Grid, GridKind
from residents.models import (
    Campaign,
    CampaignStatus,
    CampaignTask,
    Household,
    KeyGroupTag,
    LivingStatus,
    Resident,
)
from tickets import states
from tickets.models import (
    Category,
    Channel,
    EventKind,
    Rating,
    Ticket,
    TicketEvent,
    TicketStatus,
    Whistle,
)
from tickets.selectors_meetings import deliberation_figures
from volunteers.selectors import participation_figures

GOOD_RATINGS = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
OPEN_STATUSES = sorted(states.OPEN)


@dataclass
class Dashboard:
    grid: Grid
    period: Period
    unit: str
    tickets: dict[str, Any]
    by_status: list[dict[str, Any]]
    by_category: list[dict[str, Any]]
    by_channel: list[dict[str, Any]]
    whistles: list[dict[str, Any]]
    people: dict[str, Any]
    key_groups: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    ranking: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    participation: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.tickets["opened"] or self.tickets["open_now"] or self.people["households"])


def rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal, or ``None`` when there is nothing to count."""
    return round(100 * part / whole, 1) if whole else None


def _in(field_name: str, period: Period) -> Q:
    return Q(**{f"{field_name}__gte": period.start, f"{field_name}__lt": period.end})


def _subtree(grid: Grid, path: str) -> Q:
    return Q(
        **{
            f"{path}__tree_id": grid.tree_id,
            f"{path}__lft__gte": grid.lft,
            f"{path}__rght__lte": grid.rght,
        }
    )


def tickets_in(grid: Grid) -> QuerySet[Ticket]:
    return Ticket.objects.filter(_subtree(grid, "grid"))


def overdue_since() -> Case:
    """When an open ticket is (or will be) overdue: its response deadline while nobody
    has answered, its resolution deadline after (deadlines are ordered, so this is the
    earlier one still running). PostgreSQL indexes it for the open tickets."""
    return Case(
        When(responded_at__isnull=True, then=F("respond_by")),
        default=F("resolve_by"),
    )


# --- gathering the facts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Children:
    """The child grids in code order, and which one a grid (by its ``lft``) falls under."""

    grids: tuple[Grid, ...]

    @classmethod
    def of(cls, grid: Grid) -> Children:
        if grid.rght - grid.lft <= 1:  # a leaf: nothing to rank, no query
            return cls(())
        return cls(tuple(grid.get_children().defer("boundary").order_by("code")))

    def child_of(self, lft: int) -> int:
        """The id of the child whose subtree holds the grid at ``lft``; 0 for none."""
        ordered = self._by_lft
        index = bisect.bisect_right([c.lft for c in ordered], lft) - 1
        if index >= 0 and ordered[index].lft <= lft <= ordered[index].rght:
            return ordered[index].pk
        return 0

    @property
    def _by_lft(self) -> list[Grid]:
        return sorted(self.grids, key=lambda c: c.lft)


def _window(period: Period, unit: str, today: datetime.date) -> Window:
    buckets = trend_buckets(unit, today)
    return Window(
        period.first_day, period.last_day, buckets[0].first_day, buckets[-1].last_day, today
    )


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def gather(grid: Grid, children: Children, period: Period, window: Window, now) -> Summary:
    summary = Summary()
    if rollups.uses_rollups(grid):
        rollups.read(grid, window, summary)
        summary.names = _names()
        _order_statistics(grid, period, summary)
        _overdue_today(grid, children, window.today, now, summary)
    else:
        _live(grid, children, period, window, now, summary)
    return summary


def _names() -> dict[tuple[str, str], tuple[str, str]]:
    """The names the rollups' keys stand for: categories, key groups, departments."""
    categories = Category.objects.annotate(ns=Value("c"), label_code=Value("")).values_list(
        "ns", "pk", "label_code", "name"
    )
    tags = KeyGroupTag.objects.annotate(ns=Value("t")).values_list("ns", "pk", "code", "name")
    departments = (
        Grid.objects.filter(kind=GridKind.INDUSTRY)
        .annotate(ns=Value("d"), label_code=Value(""))
        .values_list("ns", "pk", "label_code", "name")
    )
    return {
        (ns, str(pk)): (code, name)
        for ns, pk, code, name in categories.union(tags, departments, all=True)
    }


def _ranks(n: int) -> list[int]:
    """The ranks (1-based, ascending) the median and the 90th percentile need: the middle
    one or two, and the nearest rank of 90 %."""
    return sorted({(n + 1) // 2, (n + 2) // 2, (9 * n + 9) // 10}) if n else []


def _from_ranks(n: int, hours: dict[int, float]) -> dict[str, float | None]:
    """``_hours``'s figures from the values at ``_ranks(n)`` (same arithmetic)."""
    if not n:
        return {"median": None, "p90": None}
    median = hours[(n + 1) // 2] if n % 2 else (hours[n // 2] + hours[n // 2 + 1]) / 2
    return {"median": round(median, 1), "p90": round(hours[(9 * n + 9) // 10], 1)}


PICKED_SQL = """
    SELECT answered.n, answered.picked, resolved.n, resolved.picked
    FROM (SELECT count(*) AS n, percentile_disc(%(answered)s::float8[])
                 WITHIN GROUP (ORDER BY t.responded_at - t.created_at) AS picked
          FROM tickets_ticket t
          WHERE t.responded_at >= %(start)s AND t.responded_at < %(end)s
            AND t.grid_id IN (SELECT g.id FROM grids_grid g WHERE g.tree_id = %(tree)s
                              AND g.lft >= %(lft)s AND g.rght <= %(rght)s)) AS answered,
         (SELECT count(*) AS n, percentile_disc(%(resolved)s::float8[])
                 WITHIN GROUP (ORDER BY t.resolved_at - t.created_at) AS picked
          FROM tickets_ticket t
          WHERE t.resolved_at >= %(start)s AND t.resolved_at < %(end)s
            AND t.grid_id IN (SELECT g.id FROM grids_grid g WHERE g.tree_id = %(tree)s
                              AND g.lft >= %(lft)s AND g.rght <= %(rght)s)) AS resolved
"""

RANKED_SQL = """
    SELECT rn, n, moment - created_at FROM (
        SELECT t.created_at, t.{field} AS moment,
               row_number() OVER (ORDER BY t.{field} - t.created_at) AS rn,
               count(*) OVER () AS n
        FROM tickets_ticket t JOIN grids_grid g ON g.id = t.grid_id
        WHERE g.tree_id = %s AND g.lft >= %s AND g.rght <= %s
          AND t.{field} >= %s AND t.{field} < %s
    ) ranked
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2, (9 * n + 9) / 10)
"""


def _order_statistics(grid: Grid, period: Period, summary: Summary) -> None:
    """Median and 90th percentile (nearest rank) of the hours from report to response
    and to resolution in the period, exactly as ``_hours`` computes them from every
    ticket, but picked by the database: the rollups say how many tickets were answered
    and resolved, ``percentile_disc`` returns the durations at the ranks needed (a
    fraction just under each rank, so the rank is exact), and the hours are computed from
    those durations. Should the counts disagree with the rollups, the ranks are taken
    by numbering the rows instead (``RANKED_SQL``)."""
    counts = {"answered": summary.total(ANSWERED), "resolved": summary.total(RESOLVED)}
    ranks = {key: _ranks(n) for key, n in counts.items()}
    params = {
        "start": period.start,
        "end": period.end,
        "tree": grid.tree_id,
        "lft": grid.lft,
        "rght": grid.rght,
        **{key: [(r - 0.5) / counts[key] for r in ranks[key]] for key in counts},
    }
    with connection.cursor() as cursor:
        cursor.execute(PICKED_SQL, params)
        answered, answered_at, resolved, resolved_at = cursor.fetchone()
        found = {"answered": (answered, answered_at), "resolved": (resolved, resolved_at)}
        figures = {}
        for key, field_name in (("answered", "responded_at"), ("resolved", "resolved_at")):
            n, durations = found[key]
            if n == counts[key]:
                hours = {
                    rank: d.total_seconds() / 3600
                    for rank, d in zip(ranks[key], durations or [], strict=True)
                }
            else:  # the rollups disagree: number the rows (always right, slower)
                cursor.execute(
                    RANKED_SQL.format(field=field_name),
                    [grid.tree_id, grid.lft, grid.rght, period.start, period.end],
                )
                rows = cursor.fetchall()
                n = rows[0][1] if rows else 0
                hours = {rank: d.total_seconds() / 3600 for rank, _n, d in rows}
            figures[key] = _from_ranks(n, hours)
    summary.response_hours = figures["answered"]
    summary.resolution_hours = figures["resolved"]


def _hours(durations: list[datetime.timedelta]) -> dict[str, float | None]:
    if not durations:
        return {"median": None, "p90": None}
    hours = sorted(d.total_seconds() / 3600 for d in durations)
    p90 = hours[max(0, -(-len(hours) * 9 // 10) - 1)]  # nearest rank
    return {"median": round(statistics.median(hours), 1), "p90": round(p90, 1)}


def _child_case(children: Children) -> Case:
    """The child grid (id) a ticket's grid falls under, 0 for none."""
    return Case(
        *[
            When(grid__lft__gte=c.lft, grid__rght__lte=c.rght, then=Value(c.pk))
            for c in children.grids
        ],
        default=Value(0),
        output_field=IntegerField(),
    )


def _overdue_today(grid: Grid, children: Children, today, now, summary: Summary) -> None:
    """Open tickets that became overdue since midnight (the rollups hold the earlier
    ones), counted by child grid in the database."""
    overdue = (
        tickets_in(grid)
        .annotate(overdue_since=overdue_since())
        .filter(
            status__in=OPEN_STATUSES, overdue_since__gte=_midnight(today), overdue_since__lt=now
        )
        .order_by()
    )
    if not children.grids:
        summary.overdue_today[0] = overdue.count()
        return
    for child, n in overdue.values_list(_child_case(children)).annotate(n=Count("pk")):
        summary.overdue_today[child] = n


def _live(grid: Grid, children: Children, period: Period, window: Window, now, summary: Summary):
    """Count the subtree's rows that the period, the trend and the states concern, with
    the facts' definitions (six queries)."""
    span = Period(min(window.first, window.span_first), max(window.last, window.span_last))
    today_start = _midnight(window.today)
    rows = tickets_in(grid).filter(
        _in("created_at", span)
        | _in("closed_at", span)
        | _in("resolve_by", period)
        | _in("respond_by", period)
        | _in("responded_at", period)
        | _in("resolved_at", period)
        | Q(status__in=OPEN_STATUSES)
    )
    facts = []
    responses, resolutions = [], []
    for lft, category_name, *values in rows.values_list(
        "grid__lft", "category__name", *rollups.TICKET_COLUMNS
    ):
        ticket = TicketRow(*values)
        child = children.child_of(lft)
        summary.names[("c", str(ticket.category_id))] = ("", category_name)
        facts.extend((child, fact) for fact in rollups.ticket_facts(ticket))
        if ticket.responded_at and period.start <= ticket.responded_at < period.end:
            responses.append(ticket.responded_at - ticket.created_at)
        if ticket.resolved_at and period.start <= ticket.resolved_at < period.end:
            resolutions.append(ticket.resolved_at - ticket.created_at)
        if ticket.status in states.OPEN and today_start <= ticket.overdue_since < now:
            summary.overdue_today[child] = summary.overdue_today.get(child, 0) + 1
    summary.response_hours = _hours(responses)
    summary.resolution_hours = _hours(resolutions)
    events = TicketEvent.objects.filter(
        _subtree(grid, "ticket__grid"),
        _in("created_at", period),
        Q(kind=EventKind.RATED) | Q(to_status=TicketStatus.REOPENED),
    ).values_list("ticket__grid__lft", "kind", "to_status", "data__rating", "created_at")
    for lft, kind, to_status, rating, created in events:
        child = children.child_of(lft)
        facts.extend((child, f) for f in rollups.event_facts(kind, to_status, rating, created))
    whistles = Whistle.objects.filter(
        _subtree(grid, "ticket__grid"), _in("created_at", period)
    ).values_list("department_id", "department__name", "created_at", "reported_at")
    for department, name, created, reported in whistles:
        summary.names[("d", str(department))] = ("", name)
        facts.extend((0, f) for f in rollups.whistle_facts(department, created, reported))
    rollups.summarize(facts, window, summary)
    _live_people(grid, window.today, summary)


def _live_people(grid: Grid, today: datetime.date, summary: Summary) -> None:
    duty = Household.objects.filter(_subtree(grid, "grid")).aggregate(
        total=Count("pk"),
        with_duty=Count("pk", filter=Q(visit_due_on__isnull=False)),
        overdue=Count("pk", filter=Q(visit_due_on__lt=today)),
    )
    summary.cells[(0, HOUSEHOLD, "")] = Cell(
        n=duty["total"], before=duty["overdue"], dated=duty["with_duty"]
    )
    living = Resident.objects.filter(
        _subtree(grid, "household__grid"), living_status=LivingStatus.RESIDENT
    ).order_by()
    # one query: the residents (tag 0), then each key group's count
    everyone = (
        living.annotate(tag=Value(0), tag_code=Value(""), tag_name=Value(""))
        .values("tag", "tag_code", "tag_name")
        .annotate(n=Count("pk"))
        .values_list("tag", "tag_code", "tag_name", "n")
    )
    tagged = (
        living.filter(tags__isnull=False)
        .values_list("tags__id", "tags__code", "tags__name")
        .annotate(n=Count("pk"))
    )
    for tag, code, name, n in everyone.union(tagged, all=True):
        if tag == 0:
            summary.cells[(0, RESIDENT, "")] = Cell(n=n)
            continue
        summary.cells[(0, TAG, str(tag))] = Cell(n=n)
        summary.names[("t", str(tag))] = (code, name)


# --- the figures ---------------------------------------------------------------------------------


def _ticket_dict(summary: Summary, child: int | None = None) -> dict[str, Any]:
    def total(metric: str, attr: str = "n") -> int:
        return summary.total(metric, attr, child=child)

    def keyed(metric: str, key: str) -> int:
        cell = summary.keys(metric, child).get(key)
        return cell.n if cell else 0

    today_part = (
        sum(summary.overdue_today.values())
        if child is None
        else summary.overdue_today.get(child, 0)
    )
    return {
        "opened": total(OPENED),
        "closed": total(CLOSED),
        "open_now": total(OPEN),
        "overdue_now": total(OVERDUE, "before") + today_part,
        "due": total(DUE),
        "completed": total(DUE, "completed"),
        "resolved_on_time": keyed(DUE, "1"),
        "respond_due": total(RESPOND),
        "responded_on_time": keyed(RESPOND, "1"),
        "ratings": {key: cell.n for key, cell in summary.keys(RATED, child).items()},
    }


def tickets_from(summary: Summary) -> dict[str, Any]:
    counts = _ticket_dict(summary)
    ratings = counts.pop("ratings")
    rated = sum(ratings.values())
    good = sum(ratings.get(r, 0) for r in GOOD_RATINGS)
    return {
        **counts,
        "completion_rate": rate(counts["completed"], counts["due"]),
        "on_time_resolution_rate": rate(counts["resolved_on_time"], counts["due"]),
        "on_time_response_rate": rate(counts["responded_on_time"], counts["respond_due"]),
        "response_hours": summary.response_hours,
        "resolution_hours": summary.resolution_hours,
        "ratings": rated,
        "ratings_by_kind": {r: ratings.get(r, 0) for r in Rating.values},
        "satisfaction_rate": rate(good, rated),
        "reopened": summary.total(REOPENED),
    }


def ticket_figures(grid: Grid, period: Period, now: datetime.datetime) -> dict[str, Any]:
    """The ticket figures of a subtree and period (the headline of ``dashboard_for``)."""
    today = timezone.localdate(now)
    window = _window(period, "month", today)
    summary = gather(grid, Children.of(grid), period, window, now)
    return tickets_from(summary)


def _breakdown(rows: dict[str, int], labels: dict[str, str]) -> list[dict[str, Any]]:
    ordered = sorted(((n, key) for key, n in rows.items() if n), key=lambda r: (-r[0], r[1]))
    return [{"key": key, "label": str(labels.get(key, key)), "count": n} for n, key in ordered]


def breakdowns(summary: Summary) -> tuple[list, list, list]:
    """Tickets opened in the period by status, category (by name, as categories with one
    name count together) and channel, largest first."""
    by_status = {k: c.n for k, c in summary.keys(STATUS).items()}
    by_category: dict[str, int] = {}
    for key, cell in summary.keys(CATEGORY).items():
        name = summary.names.get(("c", key), ("", key))[1]
        by_category[name] = by_category.get(name, 0) + cell.n
    by_channel = {k: c.n for k, c in summary.keys(CHANNEL).items()}
    return (
        _breakdown(by_status, dict(TicketStatus.choices)),
        _breakdown(by_category, {}),
        _breakdown(by_channel, dict(Channel.choices)),
    )


def whistle_figures(summary: Summary) -> list[dict[str, Any]]:
    """Whistles blown from this subtree in the period, by department (部门报到)."""
    reported = summary.keys(REPORTED)
    result = []
    for key, cell in summary.keys(WHISTLED).items():
        if not cell.n:
            continue
        done = reported.get(key, Cell())
        result.append(
            {
                "department": int(key),
                "name": summary.names.get(("d", key), ("", key))[1],
                "whistles": cell.n,
                "reported": done.n,
                "report_in_rate": rate(done.n, cell.n),
                "mean_report_in_hours": round(done.total / 3_600_000_000 / done.n, 1)
                if done.n
                else None,
            }
        )
    result.sort(key=lambda r: (-r["whistles"], r["name"]))
    return result


def people_from(summary: Summary) -> tuple[dict, list]:
    households = summary.cell(0, HOUSEHOLD)
    covered = households.dated - households.before
    people = {
        "households": households.n,
        "residents": summary.cell(0, RESIDENT).n,
        "must_visit_households": households.dated,
        "must_visit_covered": covered,
        "must_visit_coverage": rate(covered, households.dated),
        "visits_overdue": households.before,
    }
    groups = []
    for key, cell in summary.keys(TAG).items():
        if cell.n:
            code, name = summary.names.get(("t", key), (key, key))
            groups.append({"key": code, "label": name, "count": cell.n})
    groups.sort(key=lambda g: (-g["count"], g["key"]))
    return people, groups


def campaign_figures(grid: Grid) -> list[dict[str, Any]]:
    """Open campaigns of the subtree with their progress. The tasks are counted per
    campaign from their (campaign, grid, done) index, not joined to the campaign rows: a
    county-wide campaign has a task per household."""
    tasks = CampaignTask.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign")
    total = tasks.annotate(n=Count("pk")).values("n")
    done = tasks.filter(done_at__isnull=False).annotate(n=Count("pk")).values("n")
    return [
        {
            "id": c.pk,
            "title": c.title,
            "grid": c.grid.name,
            "total": c.total,
            "done": c.done,
            "progress": rate(c.done, c.total),
            "deadline": c.deadline,
        }
        for c in Campaign.objects.filter(_subtree(grid, "grid"), status=CampaignStatus.OPEN)
        .select_related("grid")
        .defer("grid__boundary")
        .annotate(
            total=Coalesce(Subquery(total), 0),
            done=Coalesce(Subquery(done), 0),
        )
        .order_by("deadline")
    ]


def ranking(summary: Summary, children: Children) -> list[dict[str, Any]]:
    """The child grids on each headline figure, best completion rate first."""
    result = []
    for child in children.grids:
        counts = _ticket_dict(summary, child.pk)
        ratings = counts["ratings"]
        rated = sum(ratings.values())
        good = sum(ratings.get(r, 0) for r in GOOD_RATINGS)
        result.append(
            {
                "grid": child.pk,
                "name": child.name,
                "code": child.code,
                "opened": counts["opened"],
                "closed": counts["closed"],
                "open_now": counts["open_now"],
                "overdue_now": counts["overdue_now"],
                "completion_rate": rate(counts["completed"], counts["due"]),
                "satisfaction_rate": rate(good, rated),
            }
        )
    result.sort(
        key=lambda r: (
            r["completion_rate"] is None,
            -(r["completion_rate"] or 0),
            r["overdue_now"],
            r["code"],
        )
    )
    return result


def trend(summary: Summary, unit: str, today: datetime.date) -> list[dict[str, Any]]:
    """Opened and closed per month (or week) for the last twelve, oldest first."""
    buckets = trend_buckets(unit, today)

    def bucket_of(day: datetime.date) -> datetime.date:
        if unit == "week":
            return day - datetime.timedelta(days=day.weekday())
        return day.replace(day=1)

    opened: dict[datetime.date, int] = {}
    closed: dict[datetime.date, int] = {}
    for source, into in ((summary.trend_opened, opened), (summary.trend_closed, closed)):
        for day, n in source.items():
            into[bucket_of(day)] = into.get(bucket_of(day), 0) + n
    return [
        {
            "label": b.first_day.strftime("%Y-%m" if unit == "month" else "%m-%d"),
            "start": b.first_day,
            "opened": opened.get(b.first_day, 0),
            "closed": closed.get(b.first_day, 0),
        }
        for b in buckets
    ]


def participation(grid: Grid, period: Period, now: datetime.datetime) -> dict[str, Any]:
    """Volunteering, points, dual registration (volunteers app) and deliberation (tickets
    app), each computed by its own app's selector."""
    volunteering = participation_figures(
        grid=grid, start=period.first_day, end=period.last_day, now=now
    )
    meetings = deliberation_figures(grid=grid, start=period.start, end=period.end)
    hours = volunteering["volunteer_hours"]
    figures = {
        **volunteering,
        "volunteer_hours": float(hours),
        "deliberation_sessions": meetings.sessions_held,
        "deliberation_venues": meetings.venues,
        "items_decided": meetings.items_decided,
        "items_adopted": meetings.items_adopted,
    }
    figures["rows"] = [
        (_("Volunteer hours"), figures["volunteer_hours"]),
        (_("Activities held"), figures["activities_held"]),
        (_("Volunteers who served"), figures["volunteers"]),
        (_("Points earned"), figures["points_earned"]),
        (_("Points redeemed"), figures["points_redeemed"]),
        (_("Dual-registered party members"), figures["dual_registered"]),
        (_("Dual-registered members active"), figures["dual_registered_active"]),
        (_("Deliberation sessions held"), figures["deliberation_sessions"]),
        (_("Deliberation items decided"), figures["items_decided"]),
        (_("Deliberation items adopted"), figures["items_adopted"]),
    ]
    return figures


def dashboard_for(
    *, grid: Grid, period: Period, unit: str = "month", now: datetime.datetime | None = None
) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    children = Children.of(grid)
    summary = gather(grid, children, period, _window(period, unit, today), now)
    by_status, by_category, by_channel = breakdowns(summary)
    people, key_groups = people_from(summary)
    return Dashboard(
        grid=grid,
        period=period,
        unit=unit,
        tickets=tickets_from(summary),
        by_status=by_status,
        by_category=by_category,
        by_channel=by_channel,
        whistles=whistle_figures(summary),
        people=people,
        key_groups=key_groups,
        campaigns=campaign_figures(grid),
        ranking=ranking(summary, children),
        trend=trend(summary, unit, today),
        participation=participation(grid, period, now),
    )
