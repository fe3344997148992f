"""The worker's own grid data for offline reading: one JSON document, cached on the phone.

A grid worker on the plateau opens the field pages once while online; the service worker
then keeps this document so that, without a signal, the phone still lists their
households (with the people in them, masked), the visits due, their open tickets and
those they may claim, and the campaign doors still to knock on, and offers the forms to
record what they do there (queued until the connection returns).

Everything goes through the same scoped selectors as the pages (``grids.scoping``), so
the bundle never holds more than the pages would show, and personal data is masked as
on the lists: no ID number at all, phones masked. The number of queries is fixed,
whatever the size of the user's grids; the lists are capped, urgent rows first, and the
document says when a list was cut.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Case, F, Prefetch, Q, When
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from residents import permissions as resident_permissions
from residents import selectors as resident_selectors
from residents.forms import FIELD_VISIT_KINDS
from residents.models import CampaignStatus, Household, LivingStatus, Relation, Resident
from tickets import selectors as ticket_selectors
from tickets import states
from tickets.deadlines import is_overdue
from tickets.models import Ticket, TicketStatus

# Enough for a community's staff on a 2-core phone; a grid worker has a few hundred.
MAX_HOUSEHOLDS = 1000
MAX_CAMPAIGN_TASKS = 1000
MAX_TICKETS = 200
MAX_CLAIMABLE = 100
BUNDLE_FORMAT = 1


def _day(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return value.isoformat()


def _moment(value: datetime.datetime | None) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i") if value else ""


def _person(resident: Resident, today: datetime.date) -> dict[str, Any]:
    return {
        "name": resident.name,
        "age": resident.age(today),
        "gender": resident.get_gender_display(),
        "relation": resident.get_relation_display(),
        "tags": [tag.name for tag in resident.tags.all()],
        "phone": resident.masked_phone,
    }


def _households(user, today: datetime.date) -> tuple[list[dict[str, Any]], bool]:
    """Due and overdue first (the oldest due date first), then the rest by place."""
    head_first = Case(When(relation=Relation.HEAD, then=0), default=1)
    living = Resident.objects.filter(living_status=LivingStatus.RESIDENT).order_by(
        head_first, "birth_date", "pk"
    )
    rows = list(
        resident_selectors.household_list(user=user)
        .prefetch_related(Prefetch("residents", queryset=living.prefetch_related("tags")))
        .order_by(
            F("visit_due_on").asc(nulls_last=True),
            "grid__tree_id",
            "grid__lft",
            "building",
            "unit",
            "room",
            "pk",
        )[: MAX_HOUSEHOLDS + 1]
    )
    return [_household(h, user, today) for h in rows[:MAX_HOUSEHOLDS]], len(rows) > MAX_HOUSEHOLDS


def _household(household: Household, user, today: datetime.date) -> dict[str, Any]:
    head = household.head
    return {
        "id": household.pk,
        "address": household.display_address,
        "grid": household.grid.name,
        "head": head.name if head is not None else "",
        "phone": household.masked_phone,
        "people": household.resident_count,
        "duty": resident_selectors.duty_status(household, today) or "",
        "due_on": _day(household.visit_due_on),
        "last_visited": _day(household.last_visited_at),
        "may_visit": resident_permissions.can_visit(user, household.grid),
        "residents": [_person(r, today) for r in household.residents.all()],
        "url": reverse("residents:household_archive", args=[household.pk]),
        "visit_url": reverse("residents:visit_log", args=[household.pk]),
    }


def _campaigns(user) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    campaigns = list(
        resident_selectors.campaign_list(user=user)
        .filter(status=CampaignStatus.OPEN)
        .order_by("deadline", "pk")
    )
    tasks = list(
        resident_selectors.campaign_task_list(user=user)
        .filter(campaign__in=[c.pk for c in campaigns], done_at__isnull=True)
        .select_related("household__head")
        .order_by("campaign__deadline", "campaign_id", "grid__tree_id", "grid__lft", "household")[
            : MAX_CAMPAIGN_TASKS + 1
        ]
    )
    campaign_rows = [
        {
            "id": c.pk,
            "title": c.title,
            "deadline": _moment(c.deadline),
            "questions": list(c.checklist or []),
            "done": c.done_count,
            "total": c.task_count,
        }
        for c in campaigns
    ]
    task_rows = [
        {
            "id": t.pk,
            "campaign": t.campaign_id,
            "household": t.household_id,
            "address": t.household.display_address,
            "head": t.household.head.name if t.household.head is not None else "",
            "grid": t.grid.name,
            "url": reverse("residents:campaign_task_record", args=[t.pk]),
        }
        for t in tasks[:MAX_CAMPAIGN_TASKS]
    ]
    return campaign_rows, task_rows, len(tasks) > MAX_CAMPAIGN_TASKS


def _ticket(ticket: Ticket, user, now: datetime.datetime, *, claimable: bool) -> dict[str, Any]:
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "status_label": ticket.get_status_display(),
        "category": ticket.category.name,
        "grid": ticket.grid.name,
        "address": ticket.address,
        "resolve_by": _moment(ticket.resolve_by),
        "overdue": is_overdue(ticket, now),
        "assigned": ticket.assignee_id == user.pk,
        "reported": ticket.reporter_id == user.pk,
        "claimable": claimable,
        "url": reverse("tickets:ticket_detail", args=[ticket.pk]),
        "claim_url": reverse("tickets:ticket_act", args=[ticket.pk, "claim"]) if claimable else "",
    }


def _tickets(user, now: datetime.datetime) -> tuple[list[dict[str, Any]], bool]:
    """Open tickets assigned to me, my reports still open or waiting for my rating, and
    what I may claim (once each)."""
    mine = list(
        ticket_selectors.ticket_visible(user=user)
        .filter(
            Q(assignee=user, status__in=states.OPEN)
            | Q(reporter=user, status__in=[*states.OPEN, TicketStatus.RESOLVED])
        )
        .select_related("category", "grid")
        .order_by("resolve_by", "pk")[: MAX_TICKETS + 1]
    )
    board = list(
        ticket_selectors.claim_board(user=user).prefetch_related(None)[: MAX_CLAIMABLE + 1]
    )
    rows = [_ticket(t, user, now, claimable=False) for t in mine[:MAX_TICKETS]]
    listed = {t.pk for t in mine}
    rows += [
        _ticket(t, user, now, claimable=True) for t in board[:MAX_CLAIMABLE] if t.pk not in listed
    ]
    return rows, len(mine) > MAX_TICKETS or len(board) > MAX_CLAIMABLE


def offline_bundle(*, user, now: datetime.datetime | None = None) -> dict[str, Any]:
    """What the phone keeps for ``user``: masked, scoped, capped; a fixed number of queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    households, households_cut = _households(user, today)
    campaigns, tasks, tasks_cut = _campaigns(user)
    tickets, tickets_cut = _tickets(user, now)
    return {
        "format": BUNDLE_FORMAT,
        "user": {"id": str(user.pk), "name": str(user)},
        "generated_at": timezone.localtime(now).isoformat(),
        "generated_label": _moment(now),
        "households": households,
        "campaigns": campaigns,
        "campaign_tasks": tasks,
        "tickets": tickets,
        "truncated": {
            "households": households_cut,
            "campaign_tasks": tasks_cut,
            "tickets": tickets_cut,
        },
        "visit_kinds": [
            {"value": value, "label": str(label)} for value, label in FIELD_VISIT_KINDS
        ],
        "pages": {
            "start": reverse("pwa:start"),
            "households": reverse("residents:household_list"),
            "due": reverse("residents:duty_list"),
            "campaigns": reverse("residents:campaign_task_list"),
            "mine": reverse("tickets:my_tickets"),
            "board": reverse("tickets:claim_board"),
            "report": reverse("tickets:report"),
        },
    }
