"""网格议事: deliberation meetings, their agenda, and the decisions that move tickets on.

群众提事 → 网格议事 → 分类办事 → 闭环评事 (seed 003): a ticket sent to deliberation or a
resident's proposal goes onto a meeting's agenda; the meeting is recorded as held (who
came, the minutes); each item is decided. An adopted item opens follow-up tickets through
``ticket_open`` and, when a ticket is behind it, dispatches that ticket as decided or
closes it with the decision as its resolution; a rejected ticket is rejected with the
decision's note; a deferred one stays in deliberation for a later meeting.

Every change to a ticket goes through a ticket transition (``ticket_dispatch``,
``ticket_reject`` or ``ticket_close_by_decision`` below), so the state chart, the rights
and the timeline hold here too, and a decision is one transaction: if any follow-up or
the ticket's move is refused, nothing of the decision is kept.

Locks are taken meeting first, then the agenda item, then the ticket; a ticket's own
transitions lock only the ticket, so no two paths wait on each other in opposite order.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from governance.errors import Conflict
from grids.models import Grid, GridKind
from tickets import permissions, states
from tickets.models import (
    TIER_OF_LEVEL,
    AgendaItem,
    Category,
    Channel,
    Decision,
    EventKind,
    Meeting,
    MeetingStatus,
    Ticket,
    TicketStatus,
)
from tickets.services.branches import ticket_reject
from tickets.services.lifecycle import ticket_dispatch
from tickets.services.opening import ticket_open
from tickets.services.steps import (
    cancel_pending_whistles,
    lock_ticket,
    record_event,
    save_fields,
    with_cancelled,
)

# Follow-up tickets are the grid's own work, found at its meeting rather than reported
# through a resident's channel; the link to the meeting is ``AgendaItem.follow_ups``.
FOLLOW_UP_CHANNEL = Channel.DELIBERATION

# How far in the future a "held at" may lie (clocks of phones and servers disagree).
CLOCK_SKEW = datetime.timedelta(minutes=5)

CLOSE_BY_DECISION = gettext_lazy("close with the meeting's decision")


@dataclass(frozen=True)
class FollowUp:
    """A follow-up ticket an adopted item opens (分类办事): category and grid are chosen
    at the meeting; the grid must lie in the meeting's subtree."""

    category: Category
    grid: Grid
    title: str
    description: str = ""


# --- locks and checks ---------------------------------------------------------------------------


def lock_meeting(meeting: Meeting | int) -> Meeting:
    """The meeting re-read under a row lock (its grid joined, not locked)."""
    pk = meeting.pk if isinstance(meeting, Meeting) else meeting
    return Meeting.objects.select_for_update(of=("self",)).select_related("grid").get(pk=pk)


def lock_item(item: AgendaItem | int) -> tuple[Meeting, AgendaItem]:
    """The item's meeting, then the item, each under a row lock (the documented order)."""
    pk = item.pk if isinstance(item, AgendaItem) else item
    meeting_id = AgendaItem.objects.values_list("meeting_id", flat=True).get(pk=pk)
    meeting = lock_meeting(meeting_id)
    item = AgendaItem.objects.select_for_update(of=("self",)).get(pk=pk)
    item.meeting = meeting
    return meeting, item


def _require_running(actor, meeting: Meeting) -> None:
    if not permissions.can_run_meeting(actor, meeting.grid):
        raise PermissionDenied(_("Only staff of this grid may run its meetings."))


def _refuse_unless(meeting: Meeting, *allowed: str) -> None:
    """State first (409): what a meeting in its status can no longer do."""
    if meeting.status in allowed:
        return
    if meeting.status == MeetingStatus.CANCELLED:
        raise Conflict(_("This meeting was cancelled."), code="invalid_state")
    if meeting.status == MeetingStatus.HELD:
        raise Conflict(_("This meeting has already been held."), code="invalid_state")
    raise Conflict(_("Record the meeting as held before deciding its items."), code="invalid_state")


def _in_subtree(grid: Grid, root: Grid) -> bool:
    return grid.tree_id == root.tree_id and root.lft <= grid.lft and grid.rght <= root.rght


def _meeting_grid(grid: Grid) -> Grid:
    """An active territorial grid at a level meetings are held at (seed 004's three)."""
    fresh = Grid.objects.filter(pk=grid.pk).first() if grid is not None else None
    if (
        fresh is None
        or not fresh.is_active
        or fresh.kind == GridKind.INDUSTRY
        or fresh.level not in TIER_OF_LEVEL
    ):
        raise ValidationError(
            {"grid": _("Meetings are held at an active community, estate or micro grid.")}
        )
    return fresh


def _check_chair(chair, grid: Grid) -> None:
    if chair is None:
        return
    if not chair.is_active or not permissions.can_view_meeting(chair, grid):
        raise ValidationError({"chaired_by": _("The chair must work on this grid or above it.")})


# --- meetings -----------------------------------------------------------------------------------


@transaction.atomic
def meeting_schedule(
    *,
    actor,
    grid: Grid,
    title: str,
    scheduled_at: datetime.datetime,
    venue: str = "",
    chaired_by=None,
) -> Meeting:
    """Plan a meeting at a grid; its tier (point / station / hall) follows the grid's
    level now and is kept even if the grid is re-levelled later (figures stay as held)."""
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the meeting a title.")})
    if scheduled_at is None:
        raise ValidationError({"scheduled_at": _("Say when the meeting takes place.")})
    if timezone.is_naive(scheduled_at):
        raise ValidationError({"scheduled_at": _("Give the time with its time zone.")})
    grid = _meeting_grid(grid)
    if not permissions.can_run_meeting(actor, grid):
        raise PermissionDenied(_("Only staff of this grid may run its meetings."))
    _check_chair(chaired_by, grid)
    return Meeting.objects.create(
        grid=grid,
        tier=TIER_OF_LEVEL[grid.level],
        title=title,
        venue=(venue or "").strip(),
        scheduled_at=scheduled_at,
        chaired_by=chaired_by,
        created_by=actor,
    )


@transaction.atomic
def meeting_record(
    *,
    actor,
    meeting: Meeting,
    minutes: str,
    attendees: Iterable = (),
    resident_attendees: int = 0,
    held_at: datetime.datetime | None = None,
    chaired_by=None,
) -> Meeting:
    """The meeting took place: who came (people with an account by name, residents
    without one as a count) and the minutes. Its items are decided afterwards, one by
    one, with ``item_decide``."""
    minutes = (minutes or "").strip()
    if not minutes:
        raise ValidationError({"minutes": _("Write the minutes of the meeting.")})
    if resident_attendees is None or resident_attendees < 0:
        raise ValidationError({"resident_attendees": _("Give a number of residents, 0 or more.")})
    people = sorted({person.pk: person for person in attendees}.values(), key=lambda p: p.pk)
    if not people and not resident_attendees:
        raise ValidationError({"attendees": _("Record who came to the meeting.")})
    now = timezone.now()
    held_at = held_at or now
    if timezone.is_naive(held_at):
        raise ValidationError({"held_at": _("Give the time with its time zone.")})
    if held_at > now + CLOCK_SKEW:
        raise ValidationError({"held_at": _("A meeting cannot be recorded before it is held.")})
    meeting = lock_meeting(meeting)
    _refuse_unless(meeting, MeetingStatus.PLANNED)
    _require_running(actor, meeting)
    if chaired_by is not None:
        _check_chair(chaired_by, meeting.grid)
        meeting.chaired_by = chaired_by
    meeting.status, meeting.held_at = MeetingStatus.HELD, held_at
    meeting.minutes, meeting.resident_attendees = minutes, resident_attendees
    meeting.save(
        update_fields=[
            "status",
            "held_at",
            "minutes",
            "resident_attendees",
            "chaired_by",
            "updated_at",
        ]
    )
    meeting.attendees.set(people)
    return meeting


@transaction.atomic
def meeting_cancel(*, actor, meeting: Meeting, reason: str) -> Meeting:
    """Call a planned meeting off. Its open items are withdrawn: their tickets stay in
    deliberation and may go onto the next meeting's agenda."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the meeting is cancelled.")})
    meeting = lock_meeting(meeting)
    _refuse_unless(meeting, MeetingStatus.PLANNED)
    _require_running(actor, meeting)
    meeting.status, meeting.cancel_reason = MeetingStatus.CANCELLED, reason
    meeting.save(update_fields=["status", "cancel_reason", "updated_at"])
    meeting.items.filter(decision="", withdrawn_at__isnull=True).update(withdrawn_at=timezone.now())
    return meeting


# --- the agenda ---------------------------------------------------------------------------------


@transaction.atomic
def meeting_add_item(
    *,
    actor,
    meeting: Meeting,
    ticket: Ticket | None = None,
    proposal: str = "",
    proposer=None,
    proposer_name: str = "",
) -> AgendaItem:
    """Put a ticket in deliberation (of the meeting's grid or below it) or a resident's
    proposal on the agenda of a planned or held meeting (a proposal may be raised at the
    meeting itself). Staff put tickets on; anyone working in the grid's scope may enter
    a resident's proposal, named by the resident's account or name (by default, the one
    entering it). A ticket is on one open agenda at a time."""
    proposal = (proposal or "").strip()
    proposer_name = (proposer_name or "").strip()
    if (ticket is None) == (not proposal):
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Put either a ticket or a proposal on the agenda.")}
        )
    if ticket is not None and (proposer is not None or proposer_name):
        raise ValidationError(
            {"proposer": _("A ticket's proposer is its reporter; name proposers of proposals.")}
        )
    if len(proposer_name) > AgendaItem._meta.get_field("proposer_name").max_length:
        raise ValidationError({"proposer_name": _("This name is too long.")})
    meeting = lock_meeting(meeting)
    _refuse_unless(meeting, MeetingStatus.PLANNED, MeetingStatus.HELD)
    if ticket is None:
        if not permissions.can_propose(actor, meeting.grid):
            raise PermissionDenied(_("You may not add proposals to this meeting."))
        if proposer is None and not proposer_name:
            proposer = actor
    else:
        _require_running(actor, meeting)
        ticket = lock_ticket(ticket)
        if not _in_subtree(ticket.grid, meeting.grid):
            raise ValidationError({"ticket": _("This ticket is not on the meeting's grid.")})
        if ticket.status != TicketStatus.DELIBERATION:
            raise Conflict(
                _("Only a ticket in deliberation goes on an agenda; send it to deliberation."),
                code="invalid_state",
            )
        if ticket.agenda_items.filter(decision="", withdrawn_at__isnull=True).exists():
            raise Conflict(
                _("This ticket is already on the agenda of a meeting."), code="already_on_agenda"
            )
    last = meeting.items.aggregate(last=Max("order"))["last"] or 0
    try:
        with transaction.atomic():  # the unique constraints are the last word
            return AgendaItem.objects.create(
                meeting=meeting,
                order=last + 1,
                ticket=ticket,
                proposal=proposal,
                proposer=proposer,
                proposer_name=proposer_name,
                created_by=actor,
            )
    except IntegrityError as exc:
        raise Conflict(
            _("This ticket is already on the agenda of a meeting."), code="already_on_agenda"
        ) from exc


@transaction.atomic
def item_withdraw(*, actor, item: AgendaItem) -> AgendaItem:
    """Take an open item off the agenda (e.g. its ticket was handled another way); a
    ticket still in deliberation may then go onto another meeting's agenda."""
    meeting, item = lock_item(item)
    _refuse_unless(meeting, MeetingStatus.PLANNED, MeetingStatus.HELD)
    if not item.is_open:
        raise Conflict(_("This item has already been decided or withdrawn."), code="invalid_state")
    _require_running(actor, meeting)
    item.withdrawn_at = timezone.now()
    item.save(update_fields=["withdrawn_at"])
    return item


# --- decisions ----------------------------------------------------------------------------------


def _check_decision(
    *,
    item: AgendaItem,
    decision: str,
    note: str,
    follow_ups: Sequence[FollowUp],
    handling: list[str],
) -> None:
    """The input rules of a decision (400), checked before the state (409) and the right
    (403) as every transition does; they need the item to know whether a ticket is behind
    it."""
    if decision not in Decision.values:
        raise ValidationError({"decision": _("Choose adopted, rejected or deferred.")})
    if decision == Decision.REJECTED and not note:
        raise ValidationError({"note": _("Say why the meeting rejected it.")})
    if decision != Decision.ADOPTED and follow_ups:
        raise ValidationError({"follow_ups": _("Only an adopted item opens follow-up tickets.")})
    if decision == Decision.ADOPTED and item.ticket_id is None and not follow_ups:
        raise ValidationError(
            {"follow_ups": _("An adopted proposal opens at least one follow-up ticket.")}
        )
    adopted_ticket = decision == Decision.ADOPTED and item.ticket_id is not None
    if handling and not adopted_ticket:
        raise ValidationError(
            {NON_FIELD_ERRORS: _("Only an adopted ticket is dispatched or closed by the decision.")}
        )
    if adopted_ticket and len(handling) != 1:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Say how the adopted ticket goes on: to a person, the claim board, "
                    "departments, or closed with the decision."
                )
            }
        )
    for index, follow_up in enumerate(follow_ups, start=1):
        if not (follow_up.title or "").strip():
            raise ValidationError(
                {"follow_ups": _("Follow-up %(n)d: give it a title.") % {"n": index}}
            )


def _with_meeting(meeting: Meeting, note: str) -> str:
    """The note a ticket's timeline keeps of the decision: which meeting, and what it said."""
    if note:
        return _("Meeting “%(meeting)s” decided: %(note)s") % {
            "meeting": meeting.title,
            "note": note,
        }
    return _("Meeting “%(meeting)s” decided.") % {"meeting": meeting.title}


def _open_follow_ups(
    *, actor, meeting: Meeting, item: AgendaItem, follow_ups: Sequence[FollowUp]
) -> list[Ticket]:
    """分类办事: each follow-up through ``ticket_open`` (policy, route, timeline). Its
    reporter is who will rate it (闭环评事): the reporter of the deliberated ticket when
    they have an account, else the proposer with an account, else whoever entered the
    proposal for a resident without one (a unit head, a grid worker: they carry the
    resident's word back), else the decider. A proposer without an account is named."""
    reporter = None
    if item.ticket_id is not None:
        reporter = item.ticket.reporter
    else:
        reporter = item.proposer or item.created_by
    reporter = reporter or actor
    opened = []
    for index, follow_up in enumerate(follow_ups, start=1):
        if follow_up.grid is None or not _in_subtree(follow_up.grid, meeting.grid):
            raise ValidationError(
                {
                    "follow_ups": _(
                        "Follow-up %(n)d: choose a grid of the meeting's grid or below it."
                    )
                    % {"n": index}
                }
            )
        try:
            ticket = ticket_open(
                actor=actor,
                reporter=reporter,
                category=follow_up.category,
                grid=follow_up.grid,
                title=follow_up.title,
                description=follow_up.description,
                channel=FOLLOW_UP_CHANNEL,
                reporter_name=item.proposer_name,
            )
        except ValidationError as exc:
            raise ValidationError(
                {
                    "follow_ups": [
                        _("Follow-up %(n)d: %(error)s") % {"n": index, "error": message}
                        for message in exc.messages
                    ]
                }
            ) from exc
        opened.append(ticket)
    item.follow_ups.add(*opened)
    return opened


@transaction.atomic
def item_decide(
    *,
    actor,
    item: AgendaItem,
    decision: str,
    note: str = "",
    follow_ups: Sequence[FollowUp] = (),
    assignee=None,
    claim_board: bool = False,
    departments: Iterable[Grid] | None = None,
    close_ticket: bool = False,
) -> AgendaItem:
    """Record the meeting's decision on one item of a held meeting.

    - adopted: opens ``follow_ups`` (at least one for a proposal) and, for a ticket,
      exactly one of: dispatch to ``assignee``, to the ``claim_board`` or to
      ``departments`` (``ticket_dispatch``), or ``close_ticket`` with the decision as its
      resolution (``ticket_close_by_decision``);
    - rejected: a ticket is rejected with ``note`` as the reason (``ticket_reject``);
    - deferred: the ticket stays in deliberation for a later meeting's agenda.

    One transaction: a refused follow-up or ticket move keeps nothing of the decision.
    """
    note = (note or "").strip()
    follow_ups = list(follow_ups or ())
    departments = list(departments or ())
    handling = [
        name
        for name, chosen in (
            ("assignee", assignee is not None),
            ("claim_board", bool(claim_board)),
            ("departments", bool(departments)),
            ("close_ticket", bool(close_ticket)),
        )
        if chosen
    ]
    meeting, item = lock_item(item)
    _check_decision(
        item=item, decision=decision, note=note, follow_ups=follow_ups, handling=handling
    )
    _refuse_unless(meeting, MeetingStatus.HELD)
    if not item.is_open:
        raise Conflict(_("This item has already been decided or withdrawn."), code="invalid_state")
    _require_running(actor, meeting)
    ticket = None
    if item.ticket_id is not None:
        ticket = lock_ticket(item.ticket_id)
        item.ticket = ticket
        if ticket.status != TicketStatus.DELIBERATION:
            raise Conflict(
                _(
                    "The ticket is no longer in deliberation (%(status)s); withdraw the item "
                    "instead."
                )
                % {"status": TicketStatus(ticket.status).label},
                code="ticket_moved_on",
            )
    now = timezone.now()
    item.decision, item.decision_note = decision, note
    item.decided_at, item.decided_by = now, actor
    item.save(update_fields=["decision", "decision_note", "decided_at", "decided_by"])
    if follow_ups:
        _open_follow_ups(actor=actor, meeting=meeting, item=item, follow_ups=follow_ups)
    if ticket is None or decision == Decision.DEFERRED:
        return item
    timeline_note = _with_meeting(meeting, note)
    if decision == Decision.REJECTED:
        ticket_reject(actor=actor, ticket=ticket, reason=timeline_note)
    elif close_ticket:
        ticket_close_by_decision(actor=actor, ticket=ticket, item=item, note=timeline_note)
    else:
        ticket_dispatch(
            actor=actor,
            ticket=ticket,
            assignee=assignee,
            claim_board=bool(claim_board),
            departments=departments,
            note=timeline_note,
        )
    return item


@transaction.atomic
def ticket_close_by_decision(*, actor, ticket: Ticket, item: AgendaItem, note: str) -> Ticket:
    """deliberation → closed: the meeting adopted the item and its decision is the
    ticket's resolution (nothing is left for a handler to do). The timeline's ``closed``
    event names the meeting, the item and the follow-ups it opened."""
    ticket = lock_ticket(ticket)
    if not states.allows("close_by_decision", ticket.status):
        raise Conflict(
            _("This ticket's status (%(status)s) does not allow this action: %(action)s.")
            % {"status": TicketStatus(ticket.status).label, "action": CLOSE_BY_DECISION},
            code="invalid_state",
        )
    if not permissions.can_close_by_decision(actor, ticket):
        raise PermissionDenied(
            _("You may not do this to this ticket: %(action)s.") % {"action": CLOSE_BY_DECISION}
        )
    now = timezone.now()
    before = ticket.status
    cancelled = cancel_pending_whistles(ticket)
    ticket.status = TicketStatus.CLOSED
    ticket.resolved_at = ticket.closed_at = now
    ticket.responded_at = ticket.responded_at or now
    save_fields(ticket, "status", "resolved_at", "closed_at", "responded_at")
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.CLOSED,
        from_status=before,
        now=now,
        note=note,
        data=with_cancelled(
            {
                "decision": Decision.ADOPTED.value,
                "meeting": item.meeting_id,
                "agenda_item": item.pk,
                "follow_ups": sorted(item.follow_ups.values_list("pk", flat=True)),
            },
            cancelled,
        ),
    )
    return ticket
