"""Celery tasks of the volunteers app: thin, idempotent, ids in.

- ``points_post_for_ticket_task(ticket_id)``: the points a claimed ticket earns when it
  closes satisfied, for callers that prefer to post after their commit
  (``enqueue_on_commit(points_post_for_ticket_task, ticket.pk)``); running it twice posts
  once (the ledger's ``UNIQUE (source, reason)``).
- ``redemptions_expire_task``: cancel and refund redemptions nobody picked up in time
  (``VOLUNTEERS_PICKUP_DAYS``, 30 by default); each is re-checked under its locks, so two
  overlapping runs cancel each redemption once. Schedule it from ``CELERY_BEAT_SCHEDULE``
  (hourly, ``expires`` a little under that).
"""

from __future__ import annotations

import logging

from celery import shared_task

from tickets.models import Ticket
from volunteers import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def points_post_for_ticket_task(ticket_id: int) -> None:
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    services.points_post_for_ticket(ticket=ticket)


@shared_task(acks_late=True, ignore_result=True)
def redemptions_expire_task() -> int:
    cancelled = services.redemptions_expire()
    if cancelled:
        logger.info("cancelled %d redemptions not picked up in time", cancelled)
    return cancelled
