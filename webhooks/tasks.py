"""Celery tasks of the webhooks: thin, safe to run twice, each a call to ``outbox``.

Both are acknowledged late and rejected back to the queue when a worker dies: running an
attempt twice is harmless (each attempt is claimed with a conditional UPDATE before it
is sent), losing one is not. Retries are not Celery retries: a failed attempt sets the
delivery's ``next_attempt_at`` and the catch-up sweep queues it when it is due.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from webhooks import outbox

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=60, soft_time_limit=45)
def deliver_task(delivery_id: int) -> str | None:
    """One attempt of one delivery (queued after the event's commit, by a replay, or by
    the sweep). Returns the delivery's status, or ``None`` when another worker has it, it
    is not due or it is finished."""
    return outbox.delivery_send(delivery_id=delivery_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=60, soft_time_limit=50)
def deliveries_catch_up_task() -> int:
    """Every minute (``CELERY_BEAT_SCHEDULE``): queue the deliveries that are due —
    retries whose time has come, and attempts whose task was lost. Returns how many."""
    try:
        return outbox.deliveries_catch_up()
    except SoftTimeLimitExceeded:
        logger.warning("webhook catch-up cut short by its time limit; the next one continues")
        return 0
