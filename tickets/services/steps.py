"""The steps every transition shares: lock the row, check state and right, record the
event, apply the deadline policy, number the ticket, and the four routing moves (to a
person, to the claim board, to departments, to deliberation).

The moves do no checks of their own: callers have checked the state and the actor's
right, or are the system carrying out a category's route.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.errors import Conflict
from governance.queueing import enqueue_on_commit
from grids.models import Grid, GridKind
from tickets import permissions, routing, states
from tickets.deadlines import apply_policy
from tickets.models import (
    OPEN_WHISTLE_STATUSES,
    Category,
    EventKind,
    Route,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketStatus,
    Whistle,
    WhistleStatus,
)
from tickets.signals import event_recorded, events_recorded

# Names of the transitions in messages ("… does not allow this action: claim").
ACTION_NAMES = {
    "dispatch": gettext_lazy("dispatch"),
    "claim": gettext_lazy("claim"),
    "accept": gettext_lazy("accept"),
    "start": gettext_lazy("start work"),
    "whistle": gettext_lazy("whistle to departments"),
    "resolve": gettext_lazy("resolve"),
    "rate": gettext_lazy("rate"),
    "reopen": gettext_lazy("reopen"),
    "reject": gettext_lazy("reject"),
    "duplicate": gettext_lazy("mark as duplicate"),
    "reroute": gettext_lazy("re-route"),
    "deliberate": gettext_lazy("send to deliberation"),
    "close_unrated": gettext_lazy("close unrated"),
    "return": gettext_lazy("return to the hotline"),
}


def actor_or_system(actor):
    """The actor to record: ``None`` stands for the system (and for anonymous reporters)."""
    return actor if actor is not None and actor.is_authenticated else None


def lock_ticket(ticket: Ticket | int) -> Ticket:
    """The ticket re-read under a row lock. Only the ticket row is locked (``of=self``):
    locking the joined grid and category would serialise unrelated tickets."""
    pk = ticket.pk if isinstance(ticket, Ticket) else ticket
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("grid", "category", "category__department")
        .get(pk=pk)
    )


def check_transition(action: str, ticket: Ticket, actor) -> None:
    """State first (409), then the actor's right (403)."""
    if not states.allows(action, ticket.status):
        raise Conflict(
            _("This ticket's status (%(status)s) does not allow this action: %(action)s.")
            % {"status": TicketStatus(ticket.status).label, "action": ACTION_NAMES[action]},
            code="invalid_state",
        )
    if not permissions.may(action, actor, ticket):
        raise PermissionDenied(
            _("You may not do this to this ticket: %(action)s.") % {"action": ACTION_NAMES[action]}
        )


def record_event(
    ticket: Ticket,
    *,
    actor,
    kind: str,
    from_status: str,
    now: datetime.datetime,
    note: str = "",
    data: dict | None = None,
) -> TicketEvent:
    """Append an event to the ticket's timeline and, once the transaction commits, queue
    its notifications: the one place every event passes, so none is forgotten (a failed
    enqueue is logged, never raised: see ``governance.queueing``). Other apps hear of it
    through ``tickets.signals.event_recorded``, in the same transaction."""
    # imported here: the tasks module imports the services, which import this module
    from tickets.tasks import notify_event_task

    event = TicketEvent.objects.create(
        ticket=ticket,
        actor=actor_or_system(actor),
        kind=kind,
        from_status=from_status,
        to_status=ticket.status,
        note=(note or "").strip(),
        data=data or {},
        created_at=now,
    )
    enqueue_on_commit(notify_event_task, event.pk)
    event_recorded.send(sender=TicketEvent, event=event)
    return event


def record_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """``record_event`` for many events at once (the escalation sweep's thousands): one
    insert, then one notification job for them all after the commit, and the other apps
    hear of them together through ``tickets.signals.events_recorded``."""
    from tickets.tasks import notify_events_task

    if not events:
        return []
    for event in events:
        event.to_status = event.ticket.status
        event.actor = actor_or_system(event.actor)
        event.note = (event.note or "").strip()
    created = TicketEvent.objects.bulk_create(events)
    enqueue_on_commit(notify_events_task, [event.pk for event in created])
    events_recorded.send(sender=TicketEvent, events=created)
    return created


def save_fields(ticket: Ticket, *fields: str) -> None:
    ticket.save(update_fields=[*fields, "updated_at"])


def next_number(now: datetime.datetime) -> str:
    """``YYYYMMDD-NNNN`` by local day, in one statement: the upsert locks the day's row
    until commit, so two reports opened at once get consecutive numbers, never the same
    one (both databases support ``INSERT … ON CONFLICT … RETURNING``)."""
    day = timezone.localdate(now)
    table = connection.ops.quote_name(TicketSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [connection.ops.adapt_datefield_value(day)],
        )
        (last,) = cursor.fetchone()
    return f"{day:%Y%m%d}-{last:04d}"


def cancel_pending_whistles(ticket: Ticket) -> list[int]:
    """Departments that have not reported in are no longer needed; ones that did keep
    their record."""
    ids = list(
        ticket.whistles.filter(status=WhistleStatus.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        Whistle.objects.filter(pk__in=ids).update(status=WhistleStatus.CANCELLED)
    return ids


def with_cancelled(data: dict, cancelled: list[int]) -> dict:
    return {**data, "cancelled_whistles": cancelled} if cancelled else data


# --- routing moves (no checks: callers have checked state and right) ---------------------------


def give_to(ticket, person, *, actor, now, note="", auto=False) -> None:
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.assignee = TicketStatus.DISPATCHED, person
    save_fields(ticket, "status", "assignee")
    data = with_cancelled({"assignee": person.pk, "auto": auto}, cancelled)
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.DISPATCHED,
        from_status=before,
        now=now,
        note=note,
        data=data,
    )


def publish(ticket, *, actor, now, note="", auto=False) -> None:
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.assignee = TicketStatus.CLAIMABLE, None
    save_fields(ticket, "status", "assignee")
    data = with_cancelled({"auto": auto}, cancelled)
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.PUBLISHED,
        from_status=before,
        now=now,
        note=note,
        data=data,
    )


def to_deliberation(ticket, *, actor, now, note="", auto=False) -> None:
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.assignee = TicketStatus.DELIBERATION, None
    save_fields(ticket, "status", "assignee")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.SENT_TO_DELIBERATION,
        from_status=before,
        now=now,
        note=note,
        data=with_cancelled({"auto": auto}, cancelled),
    )


def whistle_departments(
    ticket, departments: Iterable[Grid], *, actor, now, note="", auto=False
) -> None:
    """Whistle each department that has no open whistle on the ticket yet. Departments
    take the lead unless someone already accepted the ticket, who then keeps it."""
    before = ticket.status
    open_departments = set(
        ticket.whistles.filter(status__in=OPEN_WHISTLE_STATUSES).values_list(
            "department_id", flat=True
        )
    )
    created = [
        Whistle.objects.create(
            ticket=ticket,
            department=department,
            whistled_by=actor_or_system(actor),
            report_by=now + ticket.category.report_within,
            created_at=now,
        )
        for department in sorted(departments, key=lambda d: d.pk)
        if department.pk not in open_departments
    ]
    if ticket.status not in (TicketStatus.ACCEPTED, TicketStatus.IN_PROGRESS):
        ticket.status, ticket.assignee = TicketStatus.WHISTLED, None
        save_fields(ticket, "status", "assignee")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.WHISTLED,
        from_status=before,
        now=now,
        note=note,
        data={
            "departments": [w.department_id for w in created],
            "whistles": [w.pk for w in created],
            "auto": auto,
        },
    )


def route_ticket(ticket: Ticket, plan: routing.RoutePlan, *, now) -> None:
    """Carry out the category's route as the system (automatic dispatch)."""
    if not plan.routable:
        return
    if plan.route == Route.WORKER:
        give_to(ticket, plan.person, actor=None, now=now, auto=True)
    elif plan.route == Route.CLAIM_BOARD:
        publish(ticket, actor=None, now=now, auto=True)
    elif plan.route == Route.DEPARTMENT:
        whistle_departments(ticket, plan.departments, actor=None, now=now, auto=True)
    elif plan.route == Route.DELIBERATION:
        to_deliberation(ticket, actor=None, now=now, auto=True)


def route_plan(ticket: Ticket) -> routing.RoutePlan | None:
    if not ticket.category.auto_dispatch:
        return None
    return routing.plan_route(category=ticket.category, grid=ticket.grid)


def reopen(ticket: Ticket, now: datetime.datetime) -> None:
    """Back to the start of the loop: fresh deadlines, nobody holds it, no rating yet (the
    earlier rating stays in the timeline)."""
    ticket.status = TicketStatus.REOPENED
    ticket.assignee = None
    ticket.responded_at = ticket.resolved_at = ticket.closed_at = None
    ticket.rating, ticket.rating_comment, ticket.rated_at = "", "", None
    ticket.reject_reason = ""
    apply_policy(ticket, now)
    save_fields(
        ticket,
        "status",
        "assignee",
        "responded_at",
        "resolved_at",
        "closed_at",
        "rating",
        "rating_comment",
        "rated_at",
        "reject_reason",
        "respond_by",
        "resolve_by",
    )


def check_departments(ticket: Ticket, departments: Iterable[Grid] | None) -> list[Grid]:
    """Active industry grids of the ticket's county, none already whistled and open."""
    wanted = sorted({d.pk for d in departments or ()})
    if not wanted:
        raise ValidationError({"departments": _("Choose at least one department.")})
    found = {g.pk: g for g in Grid.objects.filter(pk__in=wanted)}
    already = set(
        ticket.whistles.filter(status__in=OPEN_WHISTLE_STATUSES).values_list(
            "department_id", flat=True
        )
    )
    for pk in wanted:
        department = found.get(pk)
        if department is None or not routing.department_serves(department, ticket.grid):
            raise ValidationError(
                {"departments": _("This is not an active department of the ticket's county.")}
            )
        if pk in already:
            raise ValidationError(
                {
                    "departments": _("%(department)s has already been whistled for this ticket.")
                    % {"department": department.name}
                }
            )
    return [found[pk] for pk in wanted]


def territorial_grid(grid: Grid, *, field: str = "grid") -> Grid:
    fresh = Grid.objects.filter(pk=grid.pk).first()
    if fresh is None or not fresh.is_active or fresh.kind == GridKind.INDUSTRY:
        raise ValidationError(
            {field: _("Choose an active territorial grid; departments are reached by a whistle.")}
        )
    return fresh


def active_category(category: Category, *, field: str = "category") -> Category:
    fresh = Category.objects.select_related("department").filter(pk=category.pk).first()
    if fresh is None or not fresh.is_active:
        raise ValidationError({field: _("Choose an active category.")})
    return fresh
