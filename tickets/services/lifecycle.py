"""The main line of a ticket: dispatch (社区派单), claim (党员接单), accept, start,
resolve, then the reporter's rating (闭环评事), a staff reopen, or the unrated auto-close.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid
from tickets import permissions, states
from tickets.deadlines import auto_close_after
from tickets.models import EventKind, Rating, Ticket, TicketStatus
from tickets.services.steps import (
    cancel_pending_whistles,
    check_departments,
    check_transition,
    give_to,
    lock_ticket,
    publish,
    record_event,
    reopen,
    route_plan,
    route_ticket,
    save_fields,
    whistle_departments,
    with_cancelled,
)
from volunteers.services import points_post_for_ticket


@transaction.atomic
def ticket_dispatch(
    *,
    actor,
    ticket: Ticket,
    assignee=None,
    claim_board: bool = False,
    departments: Iterable[Grid] | None = None,
    note: str = "",
) -> Ticket:
    """社区派单: give the ticket to a person, publish it on the claim board, or whistle it
    to departments (exactly one of the three)."""
    departments = list(departments or ())
    if sum([assignee is not None, bool(claim_board), bool(departments)]) != 1:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Dispatch to exactly one of: a person, the claim board, departments."
                )
            }
        )
    ticket = lock_ticket(ticket)
    check_transition("dispatch", ticket, actor)
    now = timezone.now()
    if assignee is not None:
        if not permissions.can_be_assigned(assignee, ticket):
            raise ValidationError({"assignee": _("This person does not work on this grid.")})
        if ticket.status == TicketStatus.DISPATCHED and ticket.assignee_id == assignee.pk:
            raise ValidationError({"assignee": _("The ticket is already with this person.")})
        give_to(ticket, assignee, actor=actor, now=now, note=note)
    elif claim_board:
        if ticket.status == TicketStatus.CLAIMABLE:
            raise Conflict(_("This ticket is already on the claim board."), code="invalid_state")
        publish(ticket, actor=actor, now=now, note=note)
    else:
        whistle_departments(
            ticket, check_departments(ticket, departments), actor=actor, now=now, note=note
        )
    return ticket


@transaction.atomic
def ticket_claim(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    """党员接单: the first claim wins. The row lock makes every other claimer wait for the
    winner's commit and then see the ticket taken (409)."""
    ticket = lock_ticket(ticket)
    if ticket.status != TicketStatus.CLAIMABLE and ticket.assignee_id is not None:
        raise Conflict(_("Someone else has already taken this ticket."), code="already_claimed")
    check_transition("claim", ticket, actor)
    now = timezone.now()
    ticket.status, ticket.assignee = TicketStatus.ACCEPTED, actor
    ticket.responded_at = ticket.responded_at or now
    save_fields(ticket, "status", "assignee", "responded_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.CLAIMED,
        from_status=TicketStatus.CLAIMABLE,
        now=now,
        note=note,
    )
    return ticket


@transaction.atomic
def ticket_accept(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    """The assignee takes the ticket on: this is the response the policy times."""
    ticket = lock_ticket(ticket)
    check_transition("accept", ticket, actor)
    now = timezone.now()
    before = ticket.status
    ticket.status = TicketStatus.ACCEPTED
    ticket.responded_at = ticket.responded_at or now
    save_fields(ticket, "status", "responded_at")
    record_event(
        ticket, actor=actor, kind=EventKind.ACCEPTED, from_status=before, now=now, note=note
    )
    return ticket


@transaction.atomic
def ticket_start(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    ticket = lock_ticket(ticket)
    check_transition("start", ticket, actor)
    now = timezone.now()
    before = ticket.status
    ticket.status = TicketStatus.IN_PROGRESS
    save_fields(ticket, "status")
    record_event(
        ticket, actor=actor, kind=EventKind.STARTED, from_status=before, now=now, note=note
    )
    return ticket


@transaction.atomic
def ticket_resolve(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    """The handler says it is done; the reporter's rating closes the loop."""
    ticket = lock_ticket(ticket)
    check_transition("resolve", ticket, actor)
    now = timezone.now()
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_at = now
    ticket.responded_at = ticket.responded_at or now
    save_fields(ticket, "status", "resolved_at", "responded_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.RESOLVED,
        from_status=before,
        now=now,
        note=note,
        data=with_cancelled({}, cancelled),
    )
    return ticket


# --- closing the loop (闭环评事) ----------------------------------------------------------------


@transaction.atomic
def ticket_rate(*, actor, ticket: Ticket, rating: str, comment: str = "") -> Ticket:
    """Satisfied or basically satisfied closes the ticket; unsatisfied reopens it with
    fresh deadlines (and routes it again when the category dispatches automatically)."""
    check_rating(rating)
    ticket = lock_ticket(ticket)
    check_transition("rate", ticket, actor)
    return apply_rating(
        ticket,
        actor=actor,
        rating=rating,
        comment=comment,
        data={"on_behalf": not permissions.is_reporter(actor, ticket)},
    )


def check_rating(rating: str) -> None:
    if rating not in Rating.values:
        raise ValidationError(
            {"rating": _("Choose satisfied, basically satisfied or unsatisfied.")}
        )


def apply_rating(ticket: Ticket, *, actor, rating: str, comment: str, data: dict) -> Ticket:
    """The rating itself, once state and right are checked. Precondition: the caller
    holds the ticket's row lock (``lock_ticket``)."""
    now = timezone.now()
    before = ticket.status
    comment = (comment or "").strip()
    if rating == Rating.UNSATISFIED:
        reopen(ticket, now)  # the rating stays in the timeline, not on the reopened ticket
    else:
        ticket.status, ticket.closed_at = TicketStatus.CLOSED, now
        ticket.rating, ticket.rating_comment, ticket.rated_at = rating, comment, now
        save_fields(ticket, "status", "closed_at", "rating", "rating_comment", "rated_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.RATED,
        from_status=before,
        now=now,
        note=comment,
        data={"rating": rating, **data},
    )
    if ticket.status == TicketStatus.CLOSED and rating == Rating.SATISFIED:
        points_post_for_ticket(ticket=ticket)  # 党员接单 earns the claimer points
    if ticket.status == TicketStatus.REOPENED:
        plan = route_plan(ticket)
        if plan is not None:
            route_ticket(ticket, plan, now=now)
    return ticket


@transaction.atomic
def ticket_reopen(*, actor, ticket: Ticket, note: str = "") -> Ticket:
    """Staff reopen a resolved, closed or rejected ticket; the policy runs afresh."""
    ticket = lock_ticket(ticket)
    check_transition("reopen", ticket, actor)
    now = timezone.now()
    before = ticket.status
    reopen(ticket, now)
    record_event(
        ticket, actor=actor, kind=EventKind.REOPENED, from_status=before, now=now, note=note
    )
    plan = route_plan(ticket)
    if plan is not None:
        route_ticket(ticket, plan, now=now)
    return ticket


@transaction.atomic
def ticket_close_unrated(*, ticket: Ticket, actor=None) -> Ticket:
    """Close a resolved ticket whose reporter did not rate it in time
    (``settings.TICKET_AUTO_CLOSE_AFTER``, 7 days by default). ``actor=None`` is the
    periodic task; staff may run it from the admin, under the same time rule."""
    ticket = lock_ticket(ticket)
    if actor is not None:
        check_transition("close_unrated", ticket, actor)
    elif not states.allows("close_unrated", ticket.status):
        raise Conflict(_("This ticket is no longer waiting for a rating."), code="invalid_state")
    now = timezone.now()
    if ticket.resolved_at is None or ticket.resolved_at > now - auto_close_after():
        raise Conflict(_("The reporter still has time to rate this ticket."), code="too_early")
    ticket.status, ticket.closed_at = TicketStatus.CLOSED, now
    save_fields(ticket, "status", "closed_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.CLOSED,
        from_status=TicketStatus.RESOLVED,
        now=now,
        data={"unrated": True, "auto": actor is None},
    )
    return ticket
