"""Folding the rollups' pending changes into their rows (``CELERY_BEAT_SCHEDULE``)."""

from __future__ import annotations

from celery import shared_task

from governance.dashboard import rollups


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def rollups_compact_task() -> int:
    """Every few seconds: the dashboard reads the pending changes along with the rows, so
    a late or skipped run costs only speed, never a wrong figure."""
    return rollups.compact()
