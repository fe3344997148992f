"""Deadlines: the category's policy applied to a ticket, what "overdue" means, and how
long a resolved ticket waits for its rating.

``respond_by`` and ``resolve_by`` live on the ticket, set when it opens, reopens or is
re-routed, so changing a category never moves running deadlines, and the overdue sweep
is an indexed range scan (seed 003: a fire must be answered within 10 minutes).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tickets import states
from tickets.models import Ticket

DEFAULT_AUTO_CLOSE_AFTER = datetime.timedelta(days=7)


def apply_policy(ticket: Ticket, now: datetime.datetime) -> None:
    """Deadlines from the ticket's category, counted from ``now``. The durations are added
    in UTC: added to a local time of a zone with daylight saving, Python's wall-clock
    arithmetic would gain or lose the hour of the change."""
    start = now.astimezone(datetime.UTC)
    ticket.respond_by = start + ticket.category.respond_within
    ticket.resolve_by = start + ticket.category.resolve_within


def overdue_q(now: datetime.datetime | None = None) -> Q:
    """Open tickets past a deadline: nobody responded by ``respond_by``, or it is not
    resolved by ``resolve_by``. Served by the (status, respond_by) and (status,
    resolve_by) indexes."""
    now = now or timezone.now()
    return Q(status__in=states.OPEN) & (
        Q(responded_at__isnull=True, respond_by__lt=now) | Q(resolve_by__lt=now)
    )


def is_overdue(ticket: Ticket, now: datetime.datetime | None = None) -> bool:
    """``overdue_q`` evaluated on a loaded ticket, without a query."""
    now = now or timezone.now()
    if ticket.status not in states.OPEN:
        return False
    return (ticket.responded_at is None and ticket.respond_by < now) or ticket.resolve_by < now


def auto_close_after() -> datetime.timedelta:
    """How long a resolved ticket waits for its rating before closing itself
    (``settings.TICKET_AUTO_CLOSE_AFTER``, 7 days unless set)."""
    return getattr(settings, "TICKET_AUTO_CLOSE_AFTER", DEFAULT_AUTO_CLOSE_AFTER)
