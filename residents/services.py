"""Writes to the household archives: one function per state change, each atomic.

Bad input raises ``ValidationError`` keyed by field, a missing right ``PermissionDenied``,
a state that moved on (a campaign task someone else just recorded) ``Conflict``.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from governance import pii
from governance.errors import Conflict
from governance.queueing import enqueue_on_commit
from grids import scoping
from grids.models import Grid, GridLevel
from residents import permissions
from residents.models import (
    Campaign,
    CampaignStatus,
    CampaignTask,
    Household,
    ImportJob,
    ImportStatus,
    KeyGroupTag,
    LivingStatus,
    PersonalDataAccess,
    Relation,
    Resident,
    Visit,
    VisitKind,
)
from residents.personal_data import parse_id_number, validate_phone

HOUSEHOLD_FIELDS = (
    "building",
    "unit",
    "room",
    "address",
    "phone",
    "notes",
    "is_party_lead",
    "lead_household",
)
RESIDENT_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "id_number",
    "phone",
    "relation",
    "living_status",
    "tags",
    "notes",
)
HOUSEHOLD_LEVELS = (GridLevel.COMMUNITY, GridLevel.ESTATE, GridLevel.MICRO)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _unknown(changes: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unknown})


# --- households -----------------------------------------------------------------------------


def _check_household(household: Household) -> None:
    if household.grid.level not in HOUSEHOLD_LEVELS:
        raise ValidationError(
            {"grid": _("A household belongs to a community, village, estate or micro grid.")}
        )
    if not household.grid.is_active:
        raise ValidationError({"grid": _("This grid is no longer active.")})
    if not (household.room or household.address):
        raise ValidationError(
            {"address": _("Give a room number, or a free address for a house without one.")}
        )
    if household.phone:
        try:
            household.phone = validate_phone(household.phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc
    lead = household.lead_household
    if lead is not None and (not lead.is_party_lead or lead.pk == household.pk):
        raise ValidationError(
            {"lead_household": _("Choose another household that is a party-member lead household.")}
        )
    duplicate = Household.objects.filter(
        grid=household.grid,
        building=household.building,
        unit=household.unit,
        room=household.room,
    ).exclude(pk=household.pk)
    if household.room and duplicate.exists():
        raise ValidationError({"room": _("This room already has a household archive.")})


@transaction.atomic
def household_create(*, actor, grid: Grid, **fields: Any) -> Household:
    _unknown(fields, HOUSEHOLD_FIELDS)
    _require(permissions.can_edit_archive(actor, grid), _("You may not add households here."))
    household = Household(grid=grid, **fields)
    _check_household(household)
    household.save()
    return household


@transaction.atomic
def household_update(*, actor, household: Household, **changes: Any) -> Household:
    _unknown(changes, (*HOUSEHOLD_FIELDS, "grid"))
    household = Household.objects.select_for_update().select_related("grid").get(pk=household.pk)
    _require(
        permissions.can_edit_archive(actor, household.grid),
        _("You may not change this household."),
    )
    if "grid" in changes:
        _require(
            permissions.can_edit_archive(actor, changes["grid"]),
            _("You may not move households to that grid."),
        )
    for field, value in changes.items():
        setattr(household, field, value)
    _check_household(household)
    household.save()
    return household


def household_refresh_duty(household: Household, *, today: datetime.date | None = None) -> None:
    """Recompute the must-visit duty (四必访) from the tags of the people living there.

    The shortest interval among living residents' tags applies; the clock runs from the
    last visit, or from the archive's creation when nobody has visited yet.
    """
    interval = KeyGroupTag.objects.filter(
        residents__household=household,
        residents__living_status=LivingStatus.RESIDENT,
        visit_interval_days__isnull=False,
    ).aggregate(shortest=Min("visit_interval_days"))["shortest"]
    start = household.last_visited_at or household.created_at or timezone.now()
    household.visit_interval_days = interval
    household.visit_due_on = (
        timezone.localdate(start) + datetime.timedelta(days=interval) if interval else None
    )
    Household.objects.filter(pk=household.pk).update(
        visit_interval_days=household.visit_interval_days,
        visit_due_on=household.visit_due_on,
        last_visited_at=household.last_visited_at,
    )


def households_refresh_duties(household_ids: set[int]) -> None:
    """The bulk form of ``household_refresh_duty`` (imports, demo data); also sets a head
    where a household has none and a resident is marked as the head."""
    shortest = dict(
        Household.objects.filter(pk__in=household_ids)
        .filter(residents__living_status=LivingStatus.RESIDENT)
        .annotate(days=Min("residents__tags__visit_interval_days"))
        .values_list("pk", "days")
    )
    heads: dict[int, int] = {}
    for household_id, resident_id in (
        Resident.objects.filter(household_id__in=household_ids, relation=Relation.HEAD)
        .order_by("-pk")
        .values_list("household_id", "pk")
    ):
        heads[household_id] = resident_id  # the earliest head wins (ordered newest first)
    changed = []
    for household in Household.objects.filter(pk__in=household_ids):
        days = shortest.get(household.pk)
        start = household.last_visited_at or household.created_at
        household.visit_interval_days = days
        household.visit_due_on = (
            timezone.localdate(start) + datetime.timedelta(days=days) if days else None
        )
        if household.head_id is None and household.pk in heads:
            household.head_id = heads[household.pk]
        changed.append(household)
    Household.objects.bulk_update(
        changed, ["visit_interval_days", "visit_due_on", "head"], batch_size=500
    )


# --- residents --------------------------------------------------------------------------------


def apply_id_number(resident: Resident, raw: str) -> None:
    """Validate the number, check it agrees with birth date and gender, and store it on the
    (unsaved) instance; forms call it on a scratch copy to report errors early."""
    if not raw:
        resident.set_id_number("")
        return
    try:
        card = parse_id_number(raw)
    except ValidationError as exc:
        raise ValidationError({"id_number": exc.messages}) from exc
    if resident.birth_date is None:
        resident.birth_date = card.birth_date
    elif resident.birth_date != card.birth_date:
        raise ValidationError(
            {"birth_date": _("The birth date does not match the one in the ID number.")}
        )
    if not resident.gender:
        resident.gender = card.gender
    elif resident.gender != card.gender:
        raise ValidationError({"gender": _("The gender does not match the one in the ID number.")})
    taken = Resident.objects.filter(id_number_hash=pii.lookup_hash(card.number)).exclude(
        pk=resident.pk
    )
    if taken.exists():
        raise ValidationError(
            {"id_number": _("A resident with this ID number is already registered.")}
        )
    resident.set_id_number(card.number)


def _check_resident(resident: Resident) -> None:
    if not resident.name or not resident.name.strip():
        raise ValidationError({"name": _("The name is required.")})
    resident.name = resident.name.strip()
    if resident.birth_date is None:
        raise ValidationError({"birth_date": _("Give the birth date or the ID number.")})
    if resident.birth_date > timezone.localdate():
        raise ValidationError({"birth_date": _("The birth date is in the future.")})
    if not resident.gender:
        raise ValidationError({"gender": _("Give the gender or the ID number.")})
    if resident.phone:
        try:
            resident.phone = validate_phone(resident.phone)
        except ValidationError as exc:
            raise ValidationError({"phone": exc.messages}) from exc


def _save_resident(resident: Resident, tags: Iterable[KeyGroupTag] | None) -> Resident:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:  # two imports of one person at the same instant
        raise ValidationError(
            {"id_number": _("A resident with this ID number is already registered.")}
        ) from exc
    if tags is not None:
        resident.tags.set(tags)
    household = resident.household
    if resident.relation == Relation.HEAD and household.head_id != resident.pk:
        Household.objects.filter(pk=household.pk).update(head=resident)
        household.head = resident
    household_refresh_duty(household)
    return resident


@transaction.atomic
def resident_create(*, actor, household: Household, **fields: Any) -> Resident:
    _unknown(fields, RESIDENT_FIELDS)
    _require(
        permissions.can_edit_archive(actor, household.grid),
        _("You may not add residents to this household."),
    )
    tags = fields.pop("tags", None)
    id_number = fields.pop("id_number", "")
    resident = Resident(household=household, **fields)
    apply_id_number(resident, id_number)
    _check_resident(resident)
    return _save_resident(resident, tags)


@transaction.atomic
def resident_update(*, actor, resident: Resident, **changes: Any) -> Resident:
    _unknown(changes, (*RESIDENT_FIELDS, "household"))
    resident = (
        Resident.objects.select_for_update().select_related("household__grid").get(pk=resident.pk)
    )
    _require(
        permissions.can_edit_archive(actor, resident.household.grid),
        _("You may not change this resident."),
    )
    if "household" in changes:
        _require(
            permissions.can_edit_archive(actor, changes["household"].grid),
            _("You may not move residents to that household."),
        )
    tags = changes.pop("tags", None)
    id_number = changes.pop("id_number", None)
    old_household = resident.household
    for field, value in changes.items():
        setattr(resident, field, value)
    if id_number is not None:
        apply_id_number(resident, id_number)
    elif resident.id_number_encrypted and ({"birth_date", "gender"} & set(changes)):
        apply_id_number(resident, resident.reveal_id_number())
    _check_resident(resident)
    _save_resident(resident, tags)
    if old_household.pk != resident.household_id:
        household_refresh_duty(old_household)
    return resident


def resident_reveal(
    *, actor, resident: Resident, ip_address: str | None = None, path: str = ""
) -> dict[str, str]:
    """The resident's personal fields the actor is entitled to, whole; the read is logged.

    Raises ``PermissionDenied`` when the actor's role on this household needs none of them.
    """
    fields = permissions.revealable_fields(actor, resident.household.grid)
    _require(bool(fields), _("Your role does not need this resident's personal data."))
    values = {}
    if "id_number" in fields:
        values["id_number"] = resident.reveal_id_number()
    if "phone" in fields:
        values["phone"] = resident.phone
    PersonalDataAccess.objects.create(
        user=actor,
        resident=resident,
        household=resident.household,
        fields=",".join(sorted(values)),
        ip_address=ip_address,
        path=path[:200],
    )
    return values


# --- visits ----------------------------------------------------------------------------------

# How late a visit may be recorded, through the API as on the pages: a phone out of signal
# sends it days later; a date years back is a typing error (1839 was accepted, and then
# answered with the zone's pre-1901 offset, +08:05:43, that no client parses).
VISIT_BACKDATE_LIMIT = datetime.timedelta(days=30)
# A phone photo is a few MB; the API took any size (a 50 MB upload was stored) while the
# pages refused more than this.
VISIT_PHOTO_MAX_BYTES = 10 * 1024 * 1024


def _store_visit(
    *,
    actor,
    household: Household,
    kind: str,
    findings: str,
    answers: dict,
    photo,
    visited_at: datetime.datetime | None,
    follow_up_ticket=None,
) -> Visit:
    visited_at = visited_at or timezone.now()
    if visited_at > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({"visited_at": _("A visit cannot be in the future.")})
    if visited_at < timezone.now() - VISIT_BACKDATE_LIMIT:
        raise ValidationError(
            {
                "visited_at": _("A visit is recorded within %(days)s days of being made.")
                % {"days": VISIT_BACKDATE_LIMIT.days}
            }
        )
    if photo and photo.size > VISIT_PHOTO_MAX_BYTES:
        raise ValidationError(
            {
                "photo": _("The photo is too large (at most %(mb)s MB).")
                % {"mb": VISIT_PHOTO_MAX_BYTES // (1024 * 1024)}
            }
        )
    if follow_up_ticket is not None and follow_up_ticket.household_id not in (None, household.pk):
        raise ValidationError({"follow_up_ticket": _("This ticket concerns another household.")})
    visit = Visit(
        household=household,
        visitor=actor,
        kind=kind,
        findings=findings or "",
        answers=answers or {},
        visited_at=visited_at,
        follow_up_ticket=follow_up_ticket,
    )
    if photo:
        visit.photo = photo
    visit.save()
    household = Household.objects.select_for_update().get(pk=household.pk)
    if household.last_visited_at is None or visited_at > household.last_visited_at:
        household.last_visited_at = visited_at
    household_refresh_duty(household)
    return visit


@transaction.atomic
def visit_log(
    *,
    actor,
    household: Household,
    kind: str = VisitKind.ROUTINE,
    findings: str = "",
    answers: dict | None = None,
    photo=None,
    visited_at: datetime.datetime | None = None,
    follow_up_ticket=None,
) -> Visit:
    """Record a visit to a household and move its must-visit clock; a follow-up visit may
    name the ticket it follows up."""
    _require(permissions.can_visit(actor, household.grid), _("You may not visit this household."))
    if kind == VisitKind.CAMPAIGN:
        raise ValidationError({"kind": _("Campaign visits are recorded on the campaign task.")})
    if kind not in VisitKind.values:
        raise ValidationError({"kind": _("Unknown kind of visit.")})
    return _store_visit(
        actor=actor,
        household=household,
        kind=kind,
        findings=findings,
        answers=answers or {},
        photo=photo,
        visited_at=visited_at,
        follow_up_ticket=follow_up_ticket,
    )


# --- campaigns -------------------------------------------------------------------------------


def _clean_checklist(checklist: Any) -> list[str]:
    if checklist in (None, ""):
        return []
    if isinstance(checklist, str):
        checklist = checklist.splitlines()
    if not isinstance(checklist, list) or not all(isinstance(q, str) for q in checklist):
        raise ValidationError({"checklist": _("The checklist is a list of questions.")})
    questions = [q.strip() for q in checklist if q.strip()]
    if len(questions) > 20:
        raise ValidationError({"checklist": _("Keep the checklist short: 20 questions at most.")})
    return questions


@transaction.atomic
def campaign_start(
    *, actor, grid: Grid, title: str, deadline: datetime.datetime, checklist: Any = None
) -> Campaign:
    """Start a sweep: every household in the grid's subtree becomes a task, at once."""
    _require(permissions.can_run_campaign(actor, grid), _("You may not start a campaign here."))
    if not title or not title.strip():
        raise ValidationError({"title": _("The title is required.")})
    if deadline <= timezone.now():
        raise ValidationError({"deadline": _("The deadline must be in the future.")})
    campaign = Campaign.objects.create(
        title=title.strip(),
        grid=grid,
        deadline=deadline,
        checklist=_clean_checklist(checklist),
        created_by=actor,
    )
    households = Household.objects.filter(
        grid__tree_id=grid.tree_id,
        grid__lft__gte=grid.lft,
        grid__rght__lte=grid.rght,
        grid__is_active=True,
    ).values_list("pk", "grid_id")
    CampaignTask.objects.bulk_create(
        [CampaignTask(campaign=campaign, household_id=h, grid_id=g) for h, g in households],
        batch_size=1000,
    )
    return campaign


def _campaign_report(campaign: Campaign) -> dict[str, Any]:
    tasks = campaign.tasks.select_related("household", "grid")
    by_grid: dict[int, dict[str, Any]] = {}
    missed = []
    for task in tasks:
        row = by_grid.setdefault(
            task.grid_id, {"grid": task.grid_id, "name": task.grid.name, "total": 0, "done": 0}
        )
        row["total"] += 1
        if task.done_at:
            row["done"] += 1
        else:
            missed.append(
                {
                    "household": task.household_id,
                    "grid": task.grid_id,
                    "address": str(task.household),
                }
            )
    total = sum(r["total"] for r in by_grid.values())
    done = sum(r["done"] for r in by_grid.values())
    return {"total": total, "done": done, "missed": missed, "grids": list(by_grid.values())}


@transaction.atomic
def campaign_close(*, actor=None, campaign: Campaign) -> Campaign:
    """Close a campaign with its report of who was missed. ``actor=None``: the system."""
    campaign = Campaign.objects.select_for_update().select_related("grid").get(pk=campaign.pk)
    if actor is not None:
        _require(
            permissions.can_run_campaign(actor, campaign.grid),
            _("You may not close this campaign."),
        )
    if campaign.status == CampaignStatus.CLOSED:
        raise Conflict(_("This campaign is already closed."), code="closed")
    campaign.status = CampaignStatus.CLOSED
    campaign.closed_at = timezone.now()
    campaign.report = _campaign_report(campaign)
    campaign.save(update_fields=["status", "closed_at", "report"])
    return campaign


def campaigns_close_expired(*, now: datetime.datetime | None = None) -> int:
    """Close every open campaign whose deadline has passed; safe to run twice."""
    now = now or timezone.now()
    closed = 0
    for campaign in Campaign.objects.filter(status=CampaignStatus.OPEN, deadline__lte=now):
        try:
            campaign_close(campaign=campaign)
            closed += 1
        except Conflict:
            continue  # closed meanwhile by someone else
    return closed


@transaction.atomic
def campaign_task_record(
    *, actor, task: CampaignTask, findings: str = "", answers: dict | None = None, photo=None
) -> CampaignTask:
    """Record the door knock of one campaign task. Two workers at one door: the first
    wins, the second gets ``Conflict`` (the row lock makes them take turns)."""
    task = (
        CampaignTask.objects.select_for_update()
        .select_related("campaign", "household__grid")
        .get(pk=task.pk)
    )
    _require(
        permissions.can_visit(actor, task.household.grid),
        _("You may not visit this household."),
    )
    if task.campaign.status != CampaignStatus.OPEN:
        raise Conflict(_("This campaign is closed."), code="closed")
    if task.done_at is not None:
        raise Conflict(_("This household was already visited in this campaign."), code="done")
    answers = answers or {}
    unknown = set(answers) - set(task.campaign.checklist)
    if unknown:
        raise ValidationError({"answers": _("Answer only the campaign's checklist questions.")})
    task.visit = _store_visit(
        actor=actor,
        household=task.household,
        kind=VisitKind.CAMPAIGN,
        findings=findings,
        answers=answers,
        photo=photo,
        visited_at=None,
    )
    task.done_at = task.visit.visited_at
    task.save(update_fields=["visit", "done_at"])
    if not task.campaign.tasks.filter(done_at__isnull=True).exists():
        transaction.on_commit(lambda: _close_if_complete(task.campaign_id))
    return task


def _close_if_complete(campaign_id: int) -> None:
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status == CampaignStatus.OPEN:
        with contextlib.suppress(Conflict):  # closed meanwhile by the sweep or staff
            campaign_close(campaign=campaign)


# --- imports -----------------------------------------------------------------------------------


@transaction.atomic
def import_job_start(*, actor, upload) -> ImportJob:
    """Store the upload and queue its dry run after the commit."""
    from residents.tasks import import_plan_task

    if not scoping.scope_for(actor).change and not actor.is_superuser:
        _require(False, _("Only community staff and grid leaders import archives."))
    job = ImportJob.objects.create(created_by=actor, file=upload, original_name=upload.name[:200])
    enqueue_on_commit(import_plan_task, job.pk)
    return job


@transaction.atomic
def import_job_confirm(*, actor, job: ImportJob) -> ImportJob:
    """Queue the real import of a checked job (only its uploader confirms it)."""
    from residents.tasks import import_apply_task

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _require(job.created_by_id == actor.pk, _("Only the person who uploaded it can confirm it."))
    if job.status != ImportStatus.PLANNED:
        raise Conflict(_("This import is not waiting for confirmation."), code="not_planned")
    enqueue_on_commit(import_apply_task, job.pk)
    return job
