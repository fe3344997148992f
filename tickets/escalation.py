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
    TicketEvent,
    Whistle,
    WhistleStatus,
)
from tickets.services.steps import lock_ticket, record_event, record_events

logger = logging.getLogger(__name__)

# The kind of the timeline event (``EventKind.ESCALATED`` once the core choices carry it).
ESCALATED = EventKind.ESCALATED
LADDER: tuple[str, ...] = tuple(EscalationLevel.values)  # bottom to top
BATCH = 500
CHUNK = 100  # tickets locked and climbed in one transaction by the sweep

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


def _assignments(grid_ids: set[int]):
    """``(grid, role, user)`` of the current assignments on ``grid_ids`` that hold rungs."""
    return (
        GridAssignment.objects.current()
        .filter(grid__in=grid_ids, role__in=_ALL_ROLES, user__is_active=True)
        .order_by("user_id")
        .values_list("grid_id", "role", "user_id")
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
        assigned: dict[int, dict[str, list[int]]] = {}
        for grid_id, role, user_id in _assignments({g.pk for g in self._ancestors}):
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
    data = Climb(ticket, deadline, due, rung, level_due, next_at).event_data()
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


def prefetch_ladders(grids: list[Grid], ladders: dict[int, Ladder]) -> None:
    """Put in ``ladders`` the ladder of every grid of ``grids`` not there yet, reading the
    grids above them all in one query and the assignments on those grids in another: a
    sweep's tickets lie on hundreds of micro grids, which one ladder each would read in
    two queries apiece."""
    missing = {grid.pk: grid for grid in grids if grid.pk not in ladders}
    if not missing:
        return
    above_any = Q(pk__in=[])
    for grid in missing.values():
        above_any |= Q(tree_id=grid.tree_id, lft__lt=grid.lft, rght__gt=grid.rght)
    known: dict[int, Grid] = dict(missing)
    known.update((grid.pk, grid) for grid in Grid.objects.filter(above_any).defer("boundary"))
    chains: dict[int, list[Grid]] = {}
    for pk, grid in missing.items():
        chain: list[Grid] = []
        node: Grid | None = grid
        while node is not None:
            chain.append(node)
            node = known.get(node.parent_id) if node.parent_id is not None else None
        chains[pk] = [g for g in reversed(chain) if g.kind != GridKind.INDUSTRY]  # top first
    assigned: dict[int, dict[str, list[int]]] = {}
    for grid_id, role, user_id in _assignments({g.pk for chain in chains.values() for g in chain}):
        assigned.setdefault(grid_id, {}).setdefault(role, []).append(user_id)
    for pk, chain in chains.items():
        ladder = Ladder(missing[pk])
        ladder.__dict__["_ancestors"] = chain  # the cached properties, filled
        ladder.__dict__["_assigned"] = {g.pk: assigned[g.pk] for g in chain if g.pk in assigned}
        ladders[pk] = ladder


def _ladder(grid: Grid, ladders: dict[int, Ladder] | None) -> Ladder:
    """The grid's ladder, shared through ``ladders`` by the tickets of one sweep (who
    holds which rung does not change in its few seconds; two queries saved a ticket)."""
    if ladders is None:
        return Ladder(grid)
    if grid.pk not in ladders:
        ladders[grid.pk] = Ladder(grid)
    return ladders[grid.pk]


@dataclass(frozen=True)
class Climb:
    """One rung to climb: what ``_climb`` writes."""

    ticket: Ticket
    deadline: str
    due: datetime.datetime
    rung: Rung
    level_due: datetime.datetime
    next_at: datetime.datetime | None

    def event_data(self) -> dict:
        return {
            "deadline": self.deadline,
            "missed": self.due.isoformat(),
            "level": self.rung.level,
            "level_number": LADDER.index(self.rung.level) + 1,
            "level_due": self.level_due.isoformat(),
            "level_grid": self.rung.grid.pk if self.rung.grid else None,
            "recipients": list(self.rung.people),
            "vacant": not self.rung.people,
        }


def _plan(
    ticket: Ticket,
    deadline: str,
    *,
    reached: dict[str, datetime.datetime | None],
    ladder: Ladder,
    now: datetime.datetime,
) -> list[Climb]:
    """The rungs of ``deadline``'s ladder that have fallen due by ``now`` and are not in
    ``reached`` (level → its ``next_at``), bottom first."""
    due = _missed(ticket, deadline, now)
    if due is None:
        return []
    index = max((LADDER.index(level) + 1 for level in reached), default=0)
    if index >= len(LADDER):
        return []
    level_due = due if index == 0 else reached[LADDER[index - 1]]
    if level_due is None:
        return []
    window = _window(ticket, deadline)
    climbs: list[Climb] = []
    pulled_forward = False
    while index < len(LADDER) and (pulled_forward or level_due <= now):
        rung = ladder.rung(LADDER[index])
        next_at = due + window * (index + 1) if index + 1 < len(LADDER) else None
        climbs.append(Climb(ticket, deadline, due, rung, level_due, next_at))
        pulled_forward = not rung.people  # nobody was told: the next rung at once
        level_due = next_at or level_due
        index += 1
    return climbs


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
    reached = dict(
        Escalation.objects.filter(
            ticket=ticket, whistle__isnull=True, deadline=deadline, due_at=due
        ).values_list("level", "next_at")
    )
    climbed: list[Escalation] = []
    plan = _plan(ticket, deadline, reached=reached, ladder=_ladder(ticket.grid, ladders), now=now)
    for step in plan:
        escalation = _climb(
            ticket,
            deadline=deadline,
            due=step.due,
            rung=step.rung,
            level_due=step.level_due,
            next_at=step.next_at,
            now=now,
        )
        if escalation is None:
            break
        climbed.append(escalation)
    return climbed


def tickets_escalate(
    *,
    tickets: list[int],
    deadline: str,
    now: datetime.datetime | None = None,
    ladders: dict[int, Ladder] | None = None,
) -> int:
    """``ticket_escalate`` for many tickets in one transaction: their rows locked in one
    statement (in id order, so two sweeps never deadlock), the rungs already reached read in
    one, every event appended in one insert and every ledger row in another. Returns how
    many rungs were climbed.

    The ledger's unique constraint still stands behind it: a writer that bypassed the
    lock and climbed one of these rungs meanwhile makes the whole batch fail, and the
    sweep then takes its tickets one by one (``ticket_escalate``, a savepoint a rung).
    """
    now = now or timezone.now()
    ladders = {} if ladders is None else ladders
    with transaction.atomic():
        locked = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("grid", "category")
            .defer("grid__boundary")  # the polygon: kilobytes a grid, not needed here
            .filter(pk__in=tickets)
            .order_by("pk")
        )
        prefetch_ladders([ticket.grid for ticket in locked], ladders)
        reached: dict[tuple[int, datetime.datetime], dict] = {}
        for ticket_id, due_at, level, next_at in Escalation.objects.filter(
            ticket__in=[t.pk for t in locked], whistle__isnull=True, deadline=deadline
        ).values_list("ticket_id", "due_at", "level", "next_at"):
            reached.setdefault((ticket_id, due_at), {})[level] = next_at
        plan: list[Climb] = []
        for ticket in locked:
            due = _missed(ticket, deadline, now)
            if due is None:
                continue
            plan += _plan(
                ticket,
                deadline,
                reached=reached.get((ticket.pk, due), {}),
                ladder=_ladder(ticket.grid, ladders),
                now=now,
            )
        events = record_events(
            [
                TicketEvent(
                    ticket=step.ticket,
                    kind=ESCALATED,
                    from_status=step.ticket.status,
                    data=step.event_data(),
                    created_at=now,
                )
                for step in plan
            ]
        )
        Escalation.objects.bulk_create(
            Escalation(
                ticket=step.ticket,
                deadline=step.deadline,
                due_at=step.due,
                level=step.rung.level,
                event=event,
                next_at=step.next_at,
                created_at=now,
            )
            for step, event in zip(plan, events, strict=True)
        )
    return len(plan)


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

    Tickets are taken ``CHUNK`` at a time, each chunk in its own transaction
    (``tickets_escalate``), so a long sweep commits as it goes and a sweep cut short (time
    limit, worker lost) leaves the rest to the next one. A chunk that fails is taken again
    one ticket at a time, and a ticket that fails for an unexpected reason is logged and
    skipped, so it cannot hold up the others.
    """
    now = now or timezone.now()
    ladders: dict[int, Ladder] = {}
    climbed = 0
    for deadline in (EscalationDeadline.RESPOND, EscalationDeadline.RESOLVE):
        due = tickets_to_escalate(deadline=deadline, now=now, limit=limit)
        for start in range(0, len(due), CHUNK):
            chunk = due[start : start + CHUNK]
            climbed += _sweep_chunk(chunk, deadline=deadline, now=now, ladders=ladders)
    for pk in whistles_to_escalate(now=now, limit=limit):
        climbed += _guarded(whistle_escalate, {"whistle": pk}, now=now)
    if climbed:
        logger.info("escalated %d overdue deadlines", climbed)
    return climbed


def _sweep_chunk(
    chunk: list[int], *, deadline: str, now: datetime.datetime, ladders: dict[int, Ladder]
) -> int:
    try:
        return tickets_escalate(tickets=chunk, deadline=deadline, now=now, ladders=ladders)
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        logger.warning("escalating %d tickets together failed; one by one", len(chunk))
    return sum(
        _guarded(ticket_escalate, {"ticket": pk, "deadline": deadline, "ladders": ladders}, now=now)
        for pk in chunk
    )


def _guarded(step, arguments: dict, *, now: datetime.datetime) -> int:
    """Run one escalation; a failure is logged (the next sweep retries) and counts 0."""
    try:
        result = step(now=now, **arguments)
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        named = {key: value for key, value in arguments.items() if key != "ladders"}
        logger.exception("escalation of %r failed; the next sweep retries it", named)
        return 0
    return len(result) if isinstance(result, list) else int(result is not None)
