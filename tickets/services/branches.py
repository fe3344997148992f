"""The side branches of the state chart: rejection, return to the 12345 hotline (退单),
duplicates, re-routing and deliberation (网格议事).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids import scoping
from grids.models import Grid
from tickets import permissions, states
from tickets.deadlines import apply_policy
from tickets.models import Category, Channel, EventKind, Ticket, TicketStatus
from tickets.services.steps import (
    active_category,
    cancel_pending_whistles,
    check_transition,
    lock_ticket,
    record_event,
    route_plan,
    route_ticket,
    save_fields,
    territorial_grid,
    to_deliberation,
    with_cancelled,
)


@transaction.atomic
def ticket_reject(*, actor, ticket: Ticket, reason: str) -> Ticket:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the ticket is rejected.")})
    ticket = lock_ticket(ticket)
    check_transition("reject", ticket, actor)
    now = timezone.now()
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.reject_reason, ticket.closed_at = TicketStatus.REJECTED, reason, now
    save_fields(ticket, "status", "reject_reason", "closed_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.REJECTED,
        from_status=before,
        now=now,
        note=reason,
        data=with_cancelled({}, cancelled),
    )
    return ticket


@transaction.atomic
def ticket_return(*, actor, ticket: Ticket, reason: str) -> Ticket:
    """退单: send a 12345 order back to the hotline as not ours, with the reason the
    hotline is told. Only hotline tickets that nobody has taken on yet (submitted,
    reopened, dispatched, claimable) go back; any other ticket is a ``Conflict`` (409),
    checked before the right (403), like every state check. The ticket is finished: its
    deadlines stop, pending whistles are withdrawn, and the reason is the event's note
    (``data.reason``), which the hotline app reports back in its export. Staff may
    reopen it (the hotline sent it again, or it went back by mistake)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the order goes back to the hotline.")})
    ticket = lock_ticket(ticket)
    _check_return(ticket, actor)
    now = timezone.now()
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.closed_at = TicketStatus.RETURNED, now
    save_fields(ticket, "status", "closed_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.RETURNED,
        from_status=before,
        now=now,
        note=reason,
        data=with_cancelled({"reason": reason}, cancelled),
    )
    return ticket


def _check_return(ticket: Ticket, actor) -> None:
    """Channel and state first (409), then the right (403): ``check_transition`` for a
    transition only some channels have."""
    if not states.allows_channel("return", ticket.channel):
        raise Conflict(
            _("Only a ticket that came from the 12345 hotline (%(channel)s) can go back to it.")
            % {"channel": Channel.HOTLINE.label},
            code="not_from_hotline",
        )
    if not states.allows("return", ticket.status):
        raise Conflict(
            _(
                "This ticket's status (%(status)s) does not allow this action: "
                "return to the hotline."
            )
            % {"status": TicketStatus(ticket.status).label},
            code="invalid_state",
        )
    if not permissions.may("return", actor, ticket):
        raise PermissionDenied(_("You may not do this to this ticket: return to the hotline."))


@transaction.atomic
def ticket_mark_duplicate(*, actor, ticket: Ticket, original: Ticket, note: str = "") -> Ticket:
    """Close ``ticket`` as a duplicate of ``original``. Its reporter follows the original
    from now on (``selectors.ticket_followers``): both timelines record the link."""
    if original.pk == ticket.pk:
        raise ValidationError({"original": _("A ticket cannot duplicate itself.")})
    locked = {t.pk: lock_ticket(t) for t in sorted((ticket, original), key=lambda t: t.pk)}
    ticket, original = locked[ticket.pk], locked[original.pk]
    check_transition("duplicate", ticket, actor)
    if original.status in (TicketStatus.REJECTED, TicketStatus.DUPLICATE):
        raise ValidationError(
            {"original": _("Link to the original ticket, not to a rejected ticket or a duplicate.")}
        )
    if not permissions.is_staff(actor, original):
        raise ValidationError({"original": _("The original must be a ticket of your grids.")})
    now = timezone.now()
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status, ticket.duplicate_of, ticket.closed_at = TicketStatus.DUPLICATE, original, now
    save_fields(ticket, "status", "duplicate_of", "closed_at")
    follower = {"reporter": ticket.reporter_id, "duplicate": ticket.pk}
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.MARKED_DUPLICATE,
        from_status=before,
        now=now,
        note=note,
        data=with_cancelled(
            {"original": original.pk, "original_number": original.number, "follower": follower},
            cancelled,
        ),
    )
    record_event(
        original,
        actor=actor,
        kind=EventKind.DUPLICATE_LINKED,
        from_status=original.status,
        now=now,
        note=note,
        data={"duplicate": ticket.pk, "duplicate_number": ticket.number, "follower": follower},
    )
    return ticket


@transaction.atomic
def ticket_reroute(
    *,
    actor,
    ticket: Ticket,
    category: Category | None = None,
    grid: Grid | None = None,
    note: str = "",
) -> Ticket:
    """Staff correct the category and/or grid the reporter guessed. The ticket starts
    over: policy deadlines from now, nobody holds it, and the new category's route applies
    when it dispatches automatically."""
    if category is None and grid is None:
        raise ValidationError({NON_FIELD_ERRORS: _("Give a new category or a new grid.")})
    ticket = lock_ticket(ticket)
    check_transition("reroute", ticket, actor)
    new_category = active_category(category) if category is not None else ticket.category
    new_grid = territorial_grid(grid) if grid is not None else ticket.grid
    if new_category.pk == ticket.category_id and new_grid.pk == ticket.grid_id:
        raise ValidationError({NON_FIELD_ERRORS: _("This is already the ticket's route.")})
    if not scoping.can_change(actor, new_grid):
        raise PermissionDenied(_("You may not move tickets to this grid."))
    now = timezone.now()
    before = ticket.status
    changes = {
        "category": [ticket.category_id, new_category.pk],
        "grid": [ticket.grid_id, new_grid.pk],
    }
    cancelled = cancel_pending_whistles(ticket)
    ticket.category, ticket.grid = new_category, new_grid
    ticket.status, ticket.assignee, ticket.responded_at = TicketStatus.SUBMITTED, None, None
    apply_policy(ticket, now)
    save_fields(
        ticket, "category", "grid", "status", "assignee", "responded_at", "respond_by", "resolve_by"
    )
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.REROUTED,
        from_status=before,
        now=now,
        note=note,
        data=with_cancelled(changes, cancelled),
    )
    plan = route_plan(ticket)
    if plan is not None:
        route_ticket(ticket, plan, now=now)
    return ticket


@transaction.atomic
def ticket_send_to_deliberation(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    """网格议事: the grid's meeting decides (meetings and their agenda come later)."""
    ticket = lock_ticket(ticket)
    check_transition("deliberate", ticket, actor)
    to_deliberation(ticket, actor=actor, now=timezone.now(), note=note)
    return ticket
