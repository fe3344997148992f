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

__all__ = [
    "OPEN_WHISTLE_STATUSES",
    "ZERO",
    "Category",
    "Channel",
    "EventKind",
    "Rating",
    "Route",
    "Ticket",
    "TicketEvent",
    "TicketSequence",
    "TicketStatus",
    "Whistle",
    "WhistleStatus",
]
