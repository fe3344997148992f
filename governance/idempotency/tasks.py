"""Forgetting old idempotency keys (daily, ``CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from governance.idempotency.models import IdempotencyRecord


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def idempotency_purge_task() -> int:
    """Delete the answers older than ``IDEMPOTENCY_KEY_TTL``; returns how many. A phone
    that stayed offline longer than that and replays gets its request run again."""
    cutoff = timezone.now() - settings.IDEMPOTENCY_KEY_TTL
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
