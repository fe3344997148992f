"""The tickets app's models, one module per subject; import them from here.

``core`` holds categories, tickets, their timeline and whistles. Other subjects (media,
meetings, notifications, …) get a module of their own and a line below.
"""

from tickets.models.core import (
    OPEN_WHISTLE_STATUSES,
    ZERO,
    Category,
    Channel,
    EventKind,
    Rating,
    Route,
    Ticket,
    TicketEvent,
    TicketSequence,
    TicketStatus,
    Whistle,
    WhistleStatus,
)
from tickets.models.media import TicketPhoto
from tickets.models.meetings import (
    TIER_OF_LEVEL,
    AgendaItem,
    Decision,
    Meeting,
    MeetingStatus,
    MeetingTier,
)
from tickets.models.notifications import (
    Escalation,
    EscalationDeadline,
    EscalationLevel,
    Notification,
    NotificationKind,
)
from tickets.models.rota import DutyShift

__all__ = [
    "OPEN_WHISTLE_STATUSES",
    # deliberation (网格议事)
    "TIER_OF_LEVEL",
    "ZERO",
    "AgendaItem",
    "Category",
    "Channel",
    "Decision",
    # notifications, escalation and the duty rota
    "DutyShift",
    "Escalation",
    "EscalationDeadline",
    "EscalationLevel",
    "EventKind",
    "Meeting",
    "MeetingStatus",
    "MeetingTier",
    "Notification",
    "NotificationKind",
    "Rating",
    "Route",
    "Ticket",
    "TicketEvent",
    # photos (随手拍)
    "TicketPhoto",
    "TicketSequence",
    "TicketStatus",
    "Whistle",
    "WhistleStatus",
]
