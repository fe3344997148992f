"""Background work of the hotline app: a file's dry run and its real run.

Tasks take ids, re-fetch, and claim their job with a conditional update so a task
delivered twice (late acknowledgement) does its work once; the rows themselves are
idempotent besides (``hotline.services.receive_order``).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.files import ImportFileError, read_table
from hotline.importing import apply_import, plan_import
from hotline.models import HotlineImport
from residents.models import ImportStatus

logger = logging.getLogger(__name__)


def _claim(job_id: int, from_status: str, to_status: str) -> HotlineImport | None:
    claimed = HotlineImport.objects.filter(pk=job_id, status=from_status).update(status=to_status)
    if not claimed:
        return None
    return HotlineImport.objects.select_related("created_by", "area").get(pk=job_id)


def _progress(job_id: int):
    def report(done: int, total: int) -> None:
        HotlineImport.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)

    return report


def _rows(job: HotlineImport):
    with job.file.open("rb") as handle:
        return read_table(handle.read(), job.original_name)


def _fail(job_id: int, message: str) -> None:
    HotlineImport.objects.filter(pk=job_id).update(
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
        plan = plan_import(rows, user=job.created_by, area=job.area, progress=_progress(job_id))
    except ImportFileError as exc:
        _fail(job_id, str(exc))
        return
    HotlineImport.objects.filter(pk=job_id).update(
        status=ImportStatus.PLANNED, counts=plan.counts(), report=plan.report()
    )


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def import_apply_task(job_id: int) -> None:
    """The confirmed import, one transaction per order; its report replaces the dry
    run's. A failure part-way keeps the orders already received: the same file imported
    again finishes the work (received orders are then unchanged)."""
    job = _claim(job_id, ImportStatus.PLANNED, ImportStatus.APPLYING)
    if job is None:
        return
    try:
        plan = apply_import(
            _rows(job), user=job.created_by, area=job.area, progress=_progress(job_id)
        )
    except ImportFileError as exc:
        _fail(job_id, str(exc))
        return
    except Exception:
        logger.exception("hotline import %s failed", job_id)
        _fail(
            job_id,
            _(
                "The import stopped on an unexpected error; the orders received before it "
                "are kept. Import the same file again to finish it; see the server log."
            ),
        )
        return
    HotlineImport.objects.filter(pk=job_id).update(
        status=ImportStatus.APPLIED,
        counts=plan.counts(),
        report=plan.report(),
        finished_at=timezone.now(),
    )
