"""Every write to tickets, whistles and categories: one function per state change.

A transition re-reads the ticket under a row lock (``SELECT … FOR UPDATE``), checks that
the state allows it (else ``governance.errors.Conflict``, HTTP 409) and that the actor may
do it (else ``PermissionDenied``, 403), writes the change and appends a ``TicketEvent``
in the same transaction: the timeline never disagrees with the ticket. Bad input raises
``ValidationError`` keyed by field (400). The state chart is ``tickets.states`` and the
rights are ``tickets.permissions``; the services only carry them out.

Rows are locked ticket first, then its whistles; two tickets in primary-key order.
Callers import from here (``from tickets import services``); the modules of this package
are its chapters.
"""

from __future__ import annotations

from tickets.services.branches import (
    ticket_mark_duplicate,
    ticket_reject,
    ticket_reroute,
    ticket_return,
    ticket_send_to_deliberation,
)
from tickets.services.categories import (
    category_create,
    category_delete,
    category_errors,
    category_update,
)
from tickets.services.lifecycle import (
    ticket_accept,
    ticket_claim,
    ticket_close_unrated,
    ticket_dispatch,
    ticket_rate,
    ticket_reopen,
    ticket_resolve,
    ticket_start,
)
from tickets.services.media import ticket_attach_photos
from tickets.services.meetings import (
    FollowUp,
    item_decide,
    item_withdraw,
    meeting_add_item,
    meeting_cancel,
    meeting_record,
    meeting_schedule,
    ticket_close_by_decision,
)
from tickets.services.opening import ticket_open, ticket_rate_by_link
from tickets.services.whistles import ticket_whistle, whistle_reply, whistle_report_in

__all__ = [
    "FollowUp",
    "category_create",
    "category_delete",
    "category_errors",
    "category_update",
    "item_decide",
    "item_withdraw",
    "meeting_add_item",
    "meeting_cancel",
    "meeting_record",
    "meeting_schedule",
    "ticket_accept",
    "ticket_attach_photos",
    "ticket_claim",
    "ticket_close_by_decision",
    "ticket_close_unrated",
    "ticket_dispatch",
    "ticket_mark_duplicate",
    "ticket_open",
    "ticket_rate",
    "ticket_rate_by_link",
    "ticket_reject",
    "ticket_reopen",
    "ticket_reroute",
    "ticket_resolve",
    "ticket_return",
    "ticket_send_to_deliberation",
    "ticket_start",
    "ticket_whistle",
    "whistle_reply",
    "whistle_report_in",
]
