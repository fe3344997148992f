"""The ticket state chart as data: from which statuses each transition may start.

One table read by the services (a transition from any other status is a ``Conflict``,
HTTP 409), by ``permissions.allowed_actions`` (what a page or app may offer) and drawn in
``tickets/README.md``. Where a transition ends is the service's business: some end in
one of several statuses (a dispatch goes to a person, the claim board or departments).
"""

from __future__ import annotations

from tickets.models import Channel
from tickets.models import TicketStatus as S

# Someone still has to act: the respond/resolve deadlines run and the sweep looks here.
OPEN: frozenset[str] = frozenset(
    {
        S.SUBMITTED,
        S.REOPENED,
        S.DISPATCHED,
        S.CLAIMABLE,
        S.WHISTLED,
        S.ACCEPTED,
        S.IN_PROGRESS,
        S.DELIBERATION,
    }
)
# Nothing more will happen unless staff reopen it. A returned (退单) 12345 order went back
# to the hotline as not ours: its deadlines stop like a rejection's.
FINISHED: frozenset[str] = frozenset({S.CLOSED, S.REJECTED, S.DUPLICATE, S.RETURNED})
# Waiting for a handler: nobody has taken the ticket on yet.
UNTAKEN: frozenset[str] = frozenset(
    {S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE, S.DELIBERATION}
)

ALLOWED_FROM: dict[str, frozenset[str]] = {
    "dispatch": UNTAKEN | {S.WHISTLED},
    "claim": frozenset({S.CLAIMABLE}),
    "accept": frozenset({S.DISPATCHED}),
    "start": frozenset({S.ACCEPTED}),
    # From accepted/in progress a whistle calls departments in to help; the assignee
    # keeps the lead and the status stays. From anywhere else the departments lead.
    "whistle": OPEN,
    "resolve": frozenset({S.ACCEPTED, S.IN_PROGRESS, S.WHISTLED}),
    "rate": frozenset({S.RESOLVED}),
    # A returned order comes back when the hotline sends it again, or was returned by
    # mistake: staff reopen it like a rejected ticket.
    "reopen": frozenset({S.RESOLVED, S.CLOSED, S.REJECTED, S.RETURNED}),
    "reject": OPEN,
    "duplicate": OPEN,
    "reroute": OPEN,
    "deliberate": frozenset({S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE}),
    "close_unrated": frozenset({S.RESOLVED}),
    # 网格议事: a meeting adopted the item and its decision settles the ticket (meetings).
    "close_by_decision": frozenset({S.DELIBERATION}),
    # 退单: while nobody has taken the order on. Once accepted, whistled to departments or
    # put before a meeting, the community made it its own and rejects it if it must.
    "return": frozenset({S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE}),
}

# Transitions only some channels' tickets have: only a 12345 order can go back to the
# hotline (any other ticket is a ``Conflict``, like a state that does not allow it).
ONLY_FOR_CHANNELS: dict[str, frozenset[str]] = {"return": frozenset({Channel.HOTLINE})}

# Whistles: a department reports in and replies while the ticket is still being handled.
WHISTLE_ACTIVE_TICKET: frozenset[str] = OPEN | {S.RESOLVED}


def allows(action: str, status: str) -> bool:
    return status in ALLOWED_FROM[action]


def allows_channel(action: str, channel: str) -> bool:
    """Whether a ticket that came in through ``channel`` has this transition at all."""
    channels = ONLY_FOR_CHANNELS.get(action)
    return channels is None or channel in channels
