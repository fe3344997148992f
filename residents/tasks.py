"""Background work of the residents app: spreadsheet imports and the campaign sweep.

Tasks take ids, re-fetch, and claim their row with a conditional update so a task
delivered twice (late acknowledgement) does its work once.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from residents import services
from residents.importing import ImportFileError, apply_import, plan_import, read_table
from residents.models import ImportJob, ImportStatus

logger = logging.getLogger(__name__)


def _claim(job_id: int, from_status: str, to_status: str) -> ImportJob | None:
    claimed = ImportJob.objects.filter(pk=job_id, status=from_status).update(status=to_status)
    return ImportJob.objects.select_related("created_by").get(pk=job_id) if claimed else None


def _progress(job_id: int):
    def report(done: int, total: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)

    return report


def _rows(job: ImportJob):
    with job.file.open("rb") as handle:
        return read_table(handle.read(), job.original_name)


def _fail(job_id: int, message: str) -> None:
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.FAILED, error=message, finished_at=timezone.now()
    )


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def import_plan_task(job_id: int) -> None:
    """The dry run: what each row would do, written to the job's report."""
    job = _claim(job_id, ImportStatus.PENDING, ImportStatus.PLANNING)
    if job is None:
        return
    try:
        rows = _rows(job)
        plan = plan_import(rows, user=job.created_by, progress=_progress(job_id))
    except ImportFileError as exc:
        _fail(job_id, str(exc))
        return
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.PLANNED,
        counts=plan.counts(),
        report=plan.report(),
        total_rows=len(rows),
        processed_rows=len(rows),
    )


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def import_apply_task(job_id: int) -> None:
    """The confirmed import, in one transaction; its report replaces the dry run's."""
    job = _claim(job_id, ImportStatus.PLANNED, ImportStatus.APPLYING)
    if job is None:
        return
    try:
        plan = apply_import(_rows(job), user=job.created_by, progress=_progress(job_id))
    except ImportFileError as exc:
        _fail(job_id, str(exc))
        return
    except Exception:
        logger.exception("import %s failed", job_id)
        _fail(job_id, "The import failed and nothing was written; see the server log.")
        return
    ImportJob.objects.filter(pk=job_id).update(
        status=ImportStatus.APPLIED,
        counts=plan.counts(),
        report=plan.report(),
        finished_at=timezone.now(),
    )


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=600, soft_time_limit=540)
def campaigns_close_expired_task() -> int:
    """Close campaigns past their deadline with their report (every few minutes)."""
    return services.campaigns_close_expired()
