"""Every figure of the leaders' dashboard, computed once here for the page, the exports
and the API alike, over a grid's subtree (MPTT bounds) and a period.

The number of queries is fixed whatever the subtree's size: each family of figures is one
aggregate (grouped where a breakdown is asked for), and the child-grid ranking maps each
row to its child with one CASE over the children's bounds.

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
"""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.dashboard.periods import Period, trend_buckets
from grids.models import Grid
from residents.models import Campaign, CampaignStatus, Household, LivingStatus, Resident
from tickets import states
from tickets.deadlines import overdue_q
from tickets.models import (
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


def _ticket_counts(period: Period, now: datetime.datetime) -> dict[str, Count]:
    due = _in("resolve_by", period)
    respond_due = _in("respond_by", period)
    return {
        "opened": Count("pk", filter=_in("created_at", period)),
        "closed": Count("pk", filter=_in("closed_at", period)),
        "open_now": Count("pk", filter=Q(status__in=states.OPEN)),
        "overdue_now": Count("pk", filter=overdue_q(now)),
        "due": Count("pk", filter=due),
        "completed": Count("pk", filter=due & Q(resolved_at__lt=period.end)),
        "resolved_on_time": Count("pk", filter=due & Q(resolved_at__lte=F("resolve_by"))),
        "respond_due": Count("pk", filter=respond_due),
        "responded_on_time": Count("pk", filter=respond_due & Q(responded_at__lte=F("respond_by"))),
    }


def _hours(durations: list[datetime.timedelta]) -> dict[str, float | None]:
    if not durations:
        return {"median": None, "p90": None}
    hours = sorted(d.total_seconds() / 3600 for d in durations)
    p90 = hours[max(0, -(-len(hours) * 9 // 10) - 1)]  # nearest rank
    return {"median": round(statistics.median(hours), 1), "p90": round(p90, 1)}


def ticket_figures(grid: Grid, period: Period, now: datetime.datetime) -> dict[str, Any]:
    tickets = tickets_in(grid)
    counts = tickets.aggregate(**_ticket_counts(period, now))
    responses = [
        answered - created
        for created, answered in tickets.filter(_in("responded_at", period)).values_list(
            "created_at", "responded_at"
        )
    ]
    resolutions = [
        resolved - created
        for created, resolved in tickets.filter(_in("resolved_at", period)).values_list(
            "created_at", "resolved_at"
        )
    ]
    events = TicketEvent.objects.filter(_subtree(grid, "ticket__grid"), _in("created_at", period))
    ratings = dict(
        events.filter(kind=EventKind.RATED)
        .values_list("data__rating")
        .annotate(n=Count("pk"))
        .values_list("data__rating", "n")
    )
    rated = sum(ratings.values())
    good = sum(ratings.get(r, 0) for r in GOOD_RATINGS)
    reopened = events.filter(to_status=TicketStatus.REOPENED).count()  # staff or a bad rating
    return {
        **counts,
        "completion_rate": rate(counts["completed"], counts["due"]),
        "on_time_resolution_rate": rate(counts["resolved_on_time"], counts["due"]),
        "on_time_response_rate": rate(counts["responded_on_time"], counts["respond_due"]),
        "response_hours": _hours(responses),
        "resolution_hours": _hours(resolutions),
        "ratings": rated,
        "ratings_by_kind": {r: ratings.get(r, 0) for r in Rating.values},
        "satisfaction_rate": rate(good, rated),
        "reopened": reopened,
    }


def _breakdown(queryset: QuerySet, key: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    rows = queryset.values(key).annotate(n=Count("pk")).order_by("-n", key)
    return [
        {"key": r[key], "label": str(labels.get(r[key], r[key])), "count": r["n"]} for r in rows
    ]


def whistle_figures(grid: Grid, period: Period) -> list[dict[str, Any]]:
    """Whistles blown from this subtree in the period, by department (部门报到)."""
    rows = Whistle.objects.filter(_subtree(grid, "ticket__grid"), _in("created_at", period))
    by_department: dict[int, dict[str, Any]] = {}
    for department_id, name, created, reported in rows.values_list(
        "department_id", "department__name", "created_at", "reported_at"
    ):
        row = by_department.setdefault(
            department_id,
            {"department": department_id, "name": name, "whistles": 0, "reported": 0, "_hours": []},
        )
        row["whistles"] += 1
        if reported is not None:
            row["reported"] += 1
            row["_hours"].append((reported - created).total_seconds() / 3600)
    result = []
    for row in sorted(by_department.values(), key=lambda r: (-r["whistles"], r["name"])):
        hours = row.pop("_hours")
        row["report_in_rate"] = rate(row["reported"], row["whistles"])
        row["mean_report_in_hours"] = round(sum(hours) / len(hours), 1) if hours else None
        result.append(row)
    return result


def people_figures(grid: Grid, today: datetime.date) -> tuple[dict, list, list]:
    households = Household.objects.filter(_subtree(grid, "grid"))
    duty = households.aggregate(
        total=Count("pk"),
        with_duty=Count("pk", filter=Q(visit_due_on__isnull=False)),
        overdue=Count("pk", filter=Q(visit_due_on__lt=today)),
    )
    living = Resident.objects.filter(
        _subtree(grid, "household__grid"), living_status=LivingStatus.RESIDENT
    )
    residents = living.count()
    key_groups = [
        {"key": code, "label": name, "count": n}
        for code, name, n in living.filter(tags__isnull=False)
        .values_list("tags__code", "tags__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "tags__code")
    ]
    covered = duty["with_duty"] - duty["overdue"]
    people = {
        "households": duty["total"],
        "residents": residents,
        "must_visit_households": duty["with_duty"],
        "must_visit_covered": covered,
        "must_visit_coverage": rate(covered, duty["with_duty"]),
        "visits_overdue": duty["overdue"],
    }
    campaigns = [
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
        .annotate(total=Count("tasks"), done=Count("tasks", filter=Q(tasks__done_at__isnull=False)))
        .order_by("deadline")
    ]
    return people, key_groups, campaigns


def _child_of(children: list[Grid], path: str) -> Case:
    return Case(
        *[
            When(**{f"{path}__lft__gte": c.lft, f"{path}__rght__lte": c.rght}, then=Value(c.pk))
            for c in children
        ],
        default=Value(None),
        output_field=IntegerField(),
    )


def ranking(grid: Grid, period: Period, now: datetime.datetime) -> list[dict[str, Any]]:
    """The child grids on each headline figure, best completion rate first."""
    children = list(grid.get_children().order_by("code"))
    if not children:
        return []
    rows = {
        r["child"]: r
        for r in tickets_in(grid)
        .annotate(child=_child_of(children, "grid"))
        .filter(child__isnull=False)
        .values("child")
        .annotate(**_ticket_counts(period, now))
    }
    ratings = {
        (r["child"], r["data__rating"]): r["n"]
        for r in TicketEvent.objects.filter(
            _subtree(grid, "ticket__grid"), _in("created_at", period), kind=EventKind.RATED
        )
        .annotate(child=_child_of(children, "ticket__grid"))
        .filter(child__isnull=False)
        .values("child", "data__rating")
        .annotate(n=Count("pk"))
    }
    result = []
    for child in children:
        row = rows.get(child.pk, {})
        rated = sum(n for (c, _r), n in ratings.items() if c == child.pk)
        good = sum(ratings.get((child.pk, r), 0) for r in GOOD_RATINGS)
        result.append(
            {
                "grid": child.pk,
                "name": child.name,
                "code": child.code,
                "opened": row.get("opened", 0),
                "closed": row.get("closed", 0),
                "open_now": row.get("open_now", 0),
                "overdue_now": row.get("overdue_now", 0),
                "completion_rate": rate(row.get("completed", 0), row.get("due", 0)),
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


def trend(grid: Grid, unit: str, today: datetime.date) -> list[dict[str, Any]]:
    """Opened and closed per month (or week) for the last twelve, oldest first."""
    buckets = trend_buckets(unit, today)
    span = Period(buckets[0].first_day, buckets[-1].last_day)
    trunc = TruncWeek if unit == "week" else TruncMonth
    tz = timezone.get_current_timezone()
    tickets = tickets_in(grid)

    def per_bucket(field_name: str) -> dict[datetime.date, int]:
        rows = (
            tickets.filter(_in(field_name, span))
            .annotate(bucket=trunc(field_name, tzinfo=tz))
            .values("bucket")
            .annotate(n=Count("pk"))
        )
        return {
            timezone.localdate(r["bucket"])
            if isinstance(r["bucket"], datetime.datetime)
            else r["bucket"]: r["n"]
            for r in rows
        }

    opened, closed = per_bucket("created_at"), per_bucket("closed_at")
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
    subtree_tickets = tickets_in(grid).filter(_in("created_at", period))
    people, key_groups, campaigns = people_figures(grid, today)
    return Dashboard(
        grid=grid,
        period=period,
        unit=unit,
        tickets=ticket_figures(grid, period, now),
        by_status=_breakdown(subtree_tickets, "status", dict(TicketStatus.choices)),
        by_category=_breakdown(subtree_tickets, "category__name", {}),
        by_channel=_breakdown(subtree_tickets, "channel", dict(Channel.choices)),
        whistles=whistle_figures(grid, period),
        people=people,
        key_groups=key_groups,
        campaigns=campaigns,
        ranking=ranking(grid, period, now),
        trend=trend(grid, unit, today),
        participation=participation(grid, period, now),
    )
