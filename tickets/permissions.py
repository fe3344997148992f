"""Who may do what to a ticket: one small table, read by the services (which refuse with
``PermissionDenied``) and by ``allowed_actions`` (what a page or app offers the user).

The parts people play, all derived from grid assignments through ``grids.scoping``:

- **staff**: community staff or a grid leader whose *change* scope covers the ticket's
  grid (superusers everywhere). They dispatch, whistle, reject, re-route, reopen, and
  return a 12345 order to the hotline (退单).
- **worker**: anyone whose *view* scope covers the ticket's grid, whatever the role
  (grid workers, unit heads, party secretaries, leaders): they may claim from the board.
- **assignee**: the worker the ticket was given to, while still on the grid.
- **reporter**: the signed-in user who reported it; they rate it.
- **liaison**: anyone whose scope covers a whistled department (a department liaison of
  that industry grid, or above it); they report in and reply for the department.

Whether the *state* allows a transition is ``tickets.states``; both checks are needed.
"""

from __future__ import annotations

from collections.abc import Callable

from grids import scoping
from grids.models import Grid
from tickets import claimers, states
from tickets.models import Channel, Ticket, TicketStatus, Whistle, WhistleStatus

# --- the parts ----------------------------------------------------------------------------


def is_staff(user, ticket: Ticket) -> bool:
    return scoping.can_change(user, ticket.grid)


def is_worker(user, ticket: Ticket) -> bool:
    return scoping.can_view(user, ticket.grid)


def is_assignee(user, ticket: Ticket) -> bool:
    """The assignee, as long as they still work on the grid (an ended assignment ends it)
    or, for a claimer without a grid role, still serve its community."""
    return (
        user is not None
        and ticket.assignee_id is not None
        and ticket.assignee_id == user.pk
        and (is_worker(user, ticket) or claimers.serves(user, ticket.grid))
    )


def is_reporter(user, ticket: Ticket) -> bool:
    return user is not None and ticket.reporter_id is not None and ticket.reporter_id == user.pk


def is_liaison(user, department: Grid) -> bool:
    return scoping.can_view(user, department)


def _reported_in_for(user, ticket: Ticket) -> bool:
    """A liaison of a department that reported in on this ticket (uses prefetched whistles
    when the caller has them)."""
    return any(
        whistle.status in (WhistleStatus.REPORTED, WhistleStatus.REPLIED)
        and is_liaison(user, whistle.department)
        for whistle in ticket.whistles.all()
    )


# --- the table ----------------------------------------------------------------------------


def can_claim(user, ticket: Ticket) -> bool:
    """Who may take a ticket from the claim board (党员接单): anyone whose scope covers the
    ticket's grid, and the volunteers and party members who serve its community
    (``tickets.claimers``)."""
    return is_worker(user, ticket) or claimers.serves(user, ticket.grid)


def can_resolve(user, ticket: Ticket) -> bool:
    """Staff, the assignee, or, while departments lead (whistled), one that reported in."""
    if is_staff(user, ticket) or is_assignee(user, ticket):
        return True
    return ticket.status == TicketStatus.WHISTLED and _reported_in_for(user, ticket)


def can_rate(user, ticket: Ticket) -> bool:
    """The reporter rates (闭环评事). Staff enter the rating only for a reporter who has no
    account (anonymous web report, 12345 caller) after calling them back."""
    if ticket.reporter_id is not None:
        return is_reporter(user, ticket)
    return is_staff(user, ticket)


RULES: dict[str, Callable[..., bool]] = {
    "dispatch": is_staff,
    "claim": can_claim,
    "accept": is_assignee,
    "start": is_assignee,
    "whistle": is_staff,
    "resolve": can_resolve,
    "rate": can_rate,
    "reopen": is_staff,
    "reject": is_staff,
    "duplicate": is_staff,
    "reroute": is_staff,
    "deliberate": is_staff,
    "close_unrated": is_staff,
    # 退单: whoever dispatches and rejects on the grid sends a 12345 order back.
    "return": is_staff,
}


def may(action: str, user, ticket: Ticket) -> bool:
    return RULES[action](user, ticket)


# What a person starts from a page or the API; closing an unrated ticket is the system's
# job (staff may only hurry it along from the admin, under the same time rule).
USER_ACTIONS: tuple[str, ...] = tuple(action for action in RULES if action != "close_unrated")


def allowed_actions(user, ticket: Ticket) -> list[str]:
    """The transitions this user may start now (state, channel and right allow it)."""
    return [
        action
        for action in USER_ACTIONS
        if states.allows(action, ticket.status)
        and states.allows_channel(action, ticket.channel)
        and RULES[action](user, ticket)
    ]


# --- whistles -------------------------------------------------------------------------------


def may_see_reporter_phone(user, ticket: Ticket) -> bool:
    """The reporter's number in full for those who call them back (the grid's staff, the
    assignee) and for whoever entered the report; masked for everyone else, everywhere
    (API, pages, admin)."""
    return is_staff(user, ticket) or is_assignee(user, ticket) or ticket.created_by_id == user.pk


def can_act_for_department(user, whistle: Whistle) -> bool:
    """Report in and reply (部门报到) are the department's acts, not the grid's."""
    return is_liaison(user, whistle.department)


# --- opening and assigning ------------------------------------------------------------------


def can_open(user, grid: Grid, channel: str) -> bool:
    """Anyone signed in may report (residents, informants such as delivery riders,
    integrators). A patrol or unit-head report comes from someone working on the grid; a
    12345 order is entered by the grid's staff. Without an account only the resident web
    page may report."""
    if user is None or not user.is_authenticated:
        return channel == Channel.RESIDENT_WEB
    if channel == Channel.HOTLINE:
        return scoping.can_change(user, grid)
    if channel in (Channel.PATROL, Channel.UNIT_HEAD):
        return scoping.can_view(user, grid)
    return True


def can_be_assigned(person, ticket: Ticket) -> bool:
    """A ticket can be given to an active person who can see it (their scope covers the
    grid: someone on the grid, above it, or on the grid the ticket sits in)."""
    return person is not None and person.is_active and scoping.can_view(person, ticket.grid)


# --- deliberation meetings (网格议事) -----------------------------------------------------------


def can_run_meeting(user, grid: Grid) -> bool:
    """Schedule, record and cancel a grid's meeting, put tickets on its agenda and decide
    its items: community staff and grid leaders whose change scope covers the meeting's
    grid (superusers everywhere). Everyone whose scope covers the grid reads it."""
    return scoping.can_change(user, grid)


def can_view_meeting(user, grid: Grid) -> bool:
    return scoping.can_view(user, grid)


def can_propose(user, grid: Grid) -> bool:
    """Put a resident's proposal on a meeting's agenda (群众提事): anyone working in the
    meeting's grid scope, since unit heads and grid workers are the ones who hear them
    (seed 004: 单元长 as 民情前哨)."""
    return scoping.can_view(user, grid)


def can_close_by_decision(user, ticket: Ticket) -> bool:
    """Close a ticket in deliberation with the meeting's decision as its resolution: the
    ticket's staff (not in ``RULES``: it is the meeting's act, offered on the agenda item,
    not a ticket endpoint)."""
    return is_staff(user, ticket)
