"""Celery tasks of the tickets app: thin, safe to run twice, each a call to a service."""

from __future__ import annotations

import logging

from celery import shared_task

from governance.errors import Conflict
from tickets import selectors, services

logger = logging.getLogger(__name__)

BATCH = 500


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def ticket_auto_close_task(limit: int = BATCH) -> int:
    """Close resolved tickets whose reporter did not rate them in time; returns how many.

    Idempotent: each ticket is claimed by ``services.ticket_close_unrated`` under its row
    lock and re-checked there, so a second run (or a reporter rating at the same moment)
    finds it moved on and skips it. A backlog larger than ``limit`` drains over the next
    runs.
    """
    closed = 0
    for ticket in selectors.tickets_due_for_auto_close().only("pk")[:limit]:
        try:
            services.ticket_close_unrated(ticket=ticket)
        except Conflict:
            continue  # rated, reopened or closed since the list was read
        closed += 1
    if closed:
        logger.info("closed %d unrated tickets", closed)
    return closed
