"""Deadlines and escalation: a ticket nobody moves climbs a ladder of people, one rung at
a time, each rung once.

The ladder (``EscalationLevel``, bottom to top) and who stands on each rung, seen from the
ticket's grid:

1. **grid** — the grid leaders (网格长) of the ticket's grid, or of the nearest grid above
   it that has any;
2. **community** — the community staff of the ticket's community (the ancestor whose level
   is *community*);
3. **township** — community staff, grid leaders and district leaders assigned on the
   ticket's township;
4. **county** — district leaders and staff of the county (the tree's root).

Timing. Each deadline climbs its own ladder: the response deadline (``respond_by``, while
nobody has responded) and the resolution deadline (``resolve_by``, while the ticket is open).
The first rung is climbed when the deadline passes; each further rung after another full
window of that deadline (the category's *respond within* or *resolve within*) has passed
without the progress the deadline asks for. A fire answered within 10 minutes therefore
reaches the grid leader at +10 min, the community at +20, the township at +30 and the
county at +40; a repair to be resolved within 3 days reaches the county after 12. A rung
nobody holds (no community above a dedicated grid, nobody assigned on the township) is
recorded as *vacant* and the next rung follows at once: waiting a window for nobody helps
no one. A reopened or re-routed ticket has fresh deadlines and climbs afresh.

A department whistled in (网格吹哨) that has not reported in (部门报到) by its whistle's
``report_by`` is escalated straight to the county, once per whistle.

Once. Every rung climbed is a ``TicketEvent`` of kind ``escalated`` (the level, the deadline
missed, who was told, in ``data``) and an ``Escalation`` row written in the same
transaction. The sweep re-reads the rungs under the ticket's row lock before climbing, and
the row's unique constraint (ticket, deadline, due, level) stops a second climb of the same
rung even if two sweeps get past that check at once; the loser's savepoint is rolled back,
event included. A sweep that did not run (broker or worker down) loses nothing: the next
one finds the deadlines still in the database and climbs every rung that fell due since, in
order, in one go.

Who is told is kept in the event; ``tickets.notifications`` turns the event into inbox
lines and emails after the commit.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from functools import cached_property

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from grids.models import AssignmentRole, Grid, GridAssignment, GridKind, GridLevel
from tickets import states
from tickets.models import (
    Escalation,
    EscalationDeadline,
    EscalationLevel,
    EventKind,
    Ticket,
    Whistle,
    WhistleStatus,
)
from tickets.services.steps import lock_ticket, record_event

logger = logging.getLogger(__name__)

# The kind of the timeline event (``EventKind.ESCALATED`` once the core choices carry it).
ESCALATED = EventKind.ESCALATED
LADDER: tuple[str, ...] = tuple(EscalationLevel.values)  # bottom to top
BATCH = 500

# Who stands on each rung above the first, and at which administrative level.
_RUNG_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    EscalationLevel.COMMUNITY: (
        GridLevel.COMMUNITY,
        frozenset({AssignmentRole.COMMUNITY_STAFF}),
    ),
    EscalationLevel.TOWNSHIP: (
        GridLevel.TOWNSHIP,
        frozenset(
            {
                AssignmentRole.COMMUNITY_STAFF,
                AssignmentRole.GRID_LEADER,
                AssignmentRole.DISTRICT_LEADER,
            }
        ),
    ),
    EscalationLevel.COUNTY: (
        GridLevel.COUNTY,
        frozenset({AssignmentRole.DISTRICT_LEADER, AssignmentRole.COMMUNITY_STAFF}),
    ),
}
_ALL_ROLES = frozenset({AssignmentRole.GRID_LEADER}).union(
    *(roles for _level, roles in _RUNG_ROLES.values())
)


@dataclass(frozen=True)
class Rung:
    level: str
    grid: Grid | None  # where the people of this rung are assigned; None when vacant
    people: tuple[int, ...]  # user ids


class Ladder:
    """The people above a grid, rung by rung. Two queries (the grid's ancestors and their
    current assignments), made on first use."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid

    @cached_property
    def _ancestors(self) -> list[Grid]:
        # top first (tree order); departments are not territory and hold no rung
        return list(self.grid.get_ancestors(include_self=True).exclude(kind=GridKind.INDUSTRY))

    @cached_property
    def _assigned(self) -> dict[int, dict[str, list[int]]]:
        rows = (
            GridAssignment.objects.current()
            .filter(
                grid__in=[g.pk for g in self._ancestors],
                role__in=_ALL_ROLES,
                user__is_active=True,
            )
            .order_by("user_id")
            .values_list("grid_id", "role", "user_id")
        )
        assigned: dict[int, dict[str, list[int]]] = {}
        for grid_id, role, user_id in rows:
            assigned.setdefault(grid_id, {}).setdefault(role, []).append(user_id)
        return assigned

    def _people(self, grid: Grid, roles: frozenset[str]) -> tuple[int, ...]:
        by_role = self._assigned.get(grid.pk, {})
        return tuple(sorted({pk for role in roles for pk in by_role.get(role, ())}))

    def rung(self, level: str) -> Rung:
        if level == EscalationLevel.GRID:
            for grid in reversed(self._ancestors):  # nearest first
                people = self._people(grid, frozenset({AssignmentRole.GRID_LEADER}))
                if people:
                    return Rung(level, grid, people)
            return Rung(level, None, ())
        grid_level, roles = _RUNG_ROLES[level]
        for grid in reversed(self._ancestors):
            if grid.level == grid_level:
                people = self._people(grid, roles)
                return Rung(level, grid if people else None, people)
        return Rung(level, None, ())

    def first_occupied(self) -> Rung | None:
        """The lowest rung somebody holds: who dispatches and answers for the grid."""
        for level in LADDER:
            rung = self.rung(level)
            if rung.people:
                return rung
        return None


# --- one ticket -------------------------------------------------------------------------------


def _missed(ticket: Ticket, deadline: str, now: datetime.datetime) -> datetime.datetime | None:
    """The deadline the ticket has missed as of ``now`` (``None`` if it has not, or no
    longer has: it responded, was resolved or left the open statuses)."""
    if ticket.status not in states.OPEN:
        return None
    if deadline == EscalationDeadline.RESPOND:
        waiting = ticket.responded_at is None and ticket.respond_by < now
        return ticket.respond_by if waiting else None
    return ticket.resolve_by if ticket.resolve_by < now else None


def _window(ticket: Ticket, deadline: str) -> datetime.timedelta:
    category = ticket.category
    if deadline == EscalationDeadline.RESPOND:
        return category.respond_within
    return category.resolve_within


def _climb(
    ticket: Ticket,
    *,
    deadline: str,
    due: datetime.datetime,
    rung: Rung,
    level_due: datetime.datetime,
    next_at: datetime.datetime | None,
    now: datetime.datetime,
    whistle: Whistle | None = None,
) -> Escalation | None:
    """Write one rung: the timeline event and the ledger row, in a savepoint. ``None``
    when the rung was climbed by someone else in the meantime (unique constraint)."""
    data = {
        "deadline": deadline,
        "missed": due.isoformat(),
        "level": rung.level,
        "level_number": LADDER.index(rung.level) + 1,
        "level_due": level_due.isoformat(),
        "level_grid": rung.grid.pk if rung.grid else None,
        "recipients": list(rung.people),
        "vacant": not rung.people,
    }
    if whistle is not None:
        data.update({"whistle": whistle.pk, "department": whistle.department_id})
    try:
        with transaction.atomic():
            event = record_event(
                ticket,
                actor=None,
                kind=ESCALATED,
                from_status=ticket.status,
                now=now,
                data=data,
            )
            return Escalation.objects.create(
                ticket=ticket,
                whistle=whistle,
                deadline=deadline,
                due_at=due,
                level=rung.level,
                event=event,
                next_at=next_at,
                created_at=now,
            )
    except IntegrityError:
        logger.info("rung %s of %s already climbed for ticket %s", rung.level, deadline, ticket.pk)
        return None


def _ladder(grid: Grid, ladders: dict[int, Ladder] | None) -> Ladder:
    """The grid's ladder, shared through ``ladders`` by the tickets of one sweep (who
    holds which rung does not change in its few seconds; two queries saved a ticket)."""
    if ladders is None:
        return Ladder(grid)
    if grid.pk not in ladders:
        ladders[grid.pk] = Ladder(grid)
    return ladders[grid.pk]


@transaction.atomic
def ticket_escalate(
    *,
    ticket: Ticket | int,
    deadline: str,
    now: datetime.datetime | None = None,
    ladders: dict[int, Ladder] | None = None,
) -> list[Escalation]:
    """Climb every rung of ``deadline``'s ladder that has fallen due by ``now``, in order;
    returns the rungs climbed (none if the ticket moved on or they were climbed already).

    The ticket is re-read under its row lock, so a response or resolution committed a
    moment ago stops the climb, and a concurrent sweep waits here and then finds the rungs.
    """
    now = now or timezone.now()
    ticket = lock_ticket(ticket)
    due = _missed(ticket, deadline, now)
    if due is None:
        return []
    window = _window(ticket, deadline)
    reached = dict(
        Escalation.objects.filter(
            ticket=ticket, whistle__isnull=True, deadline=deadline, due_at=due
        ).values_list("level", "next_at")
    )
    index = max((LADDER.index(level) + 1 for level in reached), default=0)
    if index >= len(LADDER):
        return []
    level_due = due if index == 0 else reached[LADDER[index - 1]]
    if level_due is None:
        return []
    ladder = _ladder(ticket.grid, ladders)
    climbed: list[Escalation] = []
    pulled_forward = False
    while index < len(LADDER) and (pulled_forward or level_due <= now):
        rung = ladder.rung(LADDER[index])
        next_at = due + window * (index + 1) if index + 1 < len(LADDER) else None
        escalation = _climb(
            ticket,
            deadline=deadline,
            due=due,
            rung=rung,
            level_due=level_due,
            next_at=next_at,
            now=now,
        )
        if escalation is None:
            break
        climbed.append(escalation)
        pulled_forward = not rung.people  # nobody was told: the next rung at once
        level_due = next_at or level_due
        index += 1
    return climbed


@transaction.atomic
def whistle_escalate(
    *, whistle: Whistle | int, now: datetime.datetime | None = None
) -> Escalation | None:
    """A department that has not reported in by ``report_by`` goes to the county, once."""
    now = now or timezone.now()
    whistle_id = whistle.pk if isinstance(whistle, Whistle) else whistle
    ticket_id = Whistle.objects.values_list("ticket_id", flat=True).get(pk=whistle_id)
    ticket = lock_ticket(ticket_id)  # ticket first, as report-in locks them
    whistle = Whistle.objects.select_related("department").get(pk=whistle_id)
    if (
        whistle.status != WhistleStatus.PENDING
        or whistle.report_by >= now
        or ticket.status not in states.OPEN
        or Escalation.objects.filter(whistle=whistle).exists()
    ):
        return None
    return _climb(
        ticket,
        deadline=EscalationDeadline.REPORT_IN,
        due=whistle.report_by,
        rung=Ladder(ticket.grid).rung(EscalationLevel.COUNTY),
        level_due=whistle.report_by,
        next_at=None,
        now=now,
        whistle=whistle,
    )


# --- the sweep --------------------------------------------------------------------------------


def tickets_to_escalate(*, deadline: str, now: datetime.datetime, limit: int = BATCH) -> list[int]:
    """Open tickets past ``deadline`` whose next rung has fallen due, most overdue first.

    The (status, respond_by) and (status, resolve_by) indexes find the overdue tickets; the
    ledger's unique index answers "is a rung still to come and due?" per ticket, so tickets
    that reached the top, or wait for the next window, cost nothing further.
    """
    field = "respond_by" if deadline == EscalationDeadline.RESPOND else "resolve_by"
    waiting = Escalation.objects.filter(
        ticket=OuterRef("pk"),
        whistle__isnull=True,
        deadline=deadline,
        due_at=OuterRef(field),
    ).filter(Q(next_at__isnull=True) | Q(next_at__gt=now))
    overdue = Ticket.objects.filter(status__in=states.OPEN, **{f"{field}__lt": now})
    if deadline == EscalationDeadline.RESPOND:
        overdue = overdue.filter(responded_at__isnull=True)
    return list(
        overdue.filter(~Exists(waiting)).order_by(field, "pk").values_list("pk", flat=True)[:limit]
    )


def whistles_to_escalate(*, now: datetime.datetime, limit: int = BATCH) -> list[int]:
    """Pending whistles past their report-in deadline, not yet escalated."""
    escalated = Escalation.objects.filter(whistle=OuterRef("pk"))
    return list(
        Whistle.objects.filter(status=WhistleStatus.PENDING, report_by__lt=now)
        .filter(~Exists(escalated))
        .order_by("report_by", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def escalation_sweep(*, now: datetime.datetime | None = None, limit: int = BATCH) -> int:
    """Climb every rung that has fallen due; returns how many were climbed.

    Each ticket is its own transaction, so a long sweep commits as it goes and a sweep cut
    short (time limit, worker lost) leaves the rest to the next one. A ticket that fails
    for an unexpected reason is logged and skipped, so it cannot hold up the others.
    """
    now = now or timezone.now()
    climbed = 0
    ladders: dict[int, Ladder] = {}
    work = [
        (ticket_escalate, {"ticket": pk, "deadline": deadline, "ladders": ladders})
        for deadline in (EscalationDeadline.RESPOND, EscalationDeadline.RESOLVE)
        for pk in tickets_to_escalate(deadline=deadline, now=now, limit=limit)
    ] + [(whistle_escalate, {"whistle": pk}) for pk in whistles_to_escalate(now=now, limit=limit)]
    for step, arguments in work:
        try:
            result = step(now=now, **arguments)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            named = {key: value for key, value in arguments.items() if key != "ladders"}
            logger.exception("escalation of %r failed; the next sweep retries it", named)
            continue
        climbed += len(result) if isinstance(result, list) else int(result is not None)
    if climbed:
        logger.info("escalated %d overdue deadlines", climbed)
    return climbed
