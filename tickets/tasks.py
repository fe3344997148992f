"""Celery tasks of the tickets app: thin, safe to run twice, each a call to a service."""

from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from governance.errors import Conflict
from tickets import escalation, notifications, selectors, services

logger = logging.getLogger(__name__)

BATCH = 500


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=240)
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


# --- escalation and notifications -------------------------------------------------------------
# Both are idempotent (unique constraints, conditional claims), so they are acknowledged
# late and rejected back to the queue when a worker dies mid-run: running again is safe,
# losing a run is not. Retry countdowns stay far below the broker's visibility timeout.


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=60, soft_time_limit=50)
def ticket_escalation_sweep_task(limit: int = escalation.BATCH) -> int:
    """Every minute (``CELERY_BEAT_SCHEDULE``): climb every escalation rung that has fallen
    due (``tickets.escalation``); returns how many. Two sweeps at once climb each rung
    once; a sweep cut short by its time limit leaves the rest to the next one."""
    try:
        return escalation.escalation_sweep(limit=limit)
    except SoftTimeLimitExceeded:
        logger.warning("escalation sweep cut short by its time limit; the next one continues")
        return 0


# The notification jobs: acknowledged after the work, put back if the worker dies, and a
# failing mail server retried with backoff (the inbox lines already written stay).
NOTIFY_OPTIONS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(time_limit=120, soft_time_limit=100, **NOTIFY_OPTIONS)
def notify_event_task(event_id: int) -> int:
    """Queued by ``record_event`` after each commit: the event's inbox lines (one per
    recipient, however often this runs) and their emails (at most one each). A mail server
    that fails is retried with backoff; the notifications already written stay."""
    return notifications.notify_event(event_id=event_id)


@shared_task(time_limit=600, soft_time_limit=540, **NOTIFY_OPTIONS)
def notify_events_task(event_ids: list[int]) -> int:
    """``notify_event_task`` for events appended together (``record_events``: the
    escalation sweep's), one job instead of one each. Every event is notified before a mail
    failure is raised for the retry, which notifies none twice."""
    failure: Exception | None = None
    sent = 0
    for event_id in event_ids:
        try:
            sent += notifications.notify_event(event_id=event_id)
        except (SMTPException, OSError) as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
    return sent


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=300, soft_time_limit=240)
def notifications_catch_up_task() -> int:
    """Every two minutes: notify the events whose own task was lost (the outbox)."""
    return notifications.notifications_catch_up()
