"""Scoped reads of the household archives, shared by the API, pages, admin and exports."""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, Prefetch, Q, QuerySet, When
from django.utils import timezone

from grids import scoping
from residents.models import (
    Campaign,
    CampaignTask,
    Household,
    LivingStatus,
    Relation,
    Resident,
    Visit,
)

DUE_SOON_DAYS = 3  # "due" means within the next three days; earlier than today is "overdue"


def household_list(*, user) -> QuerySet[Household]:
    living = Count("residents", filter=Q(residents__living_status=LivingStatus.RESIDENT))
    queryset = Household.objects.select_related("grid", "head").annotate(resident_count=living)
    return scoping.filter_visible(queryset, user, via="grid")


def resident_list(*, user) -> QuerySet[Resident]:
    queryset = Resident.objects.select_related("household__grid").prefetch_related("tags")
    return scoping.filter_visible(queryset, user, via="household__grid")


def household_archive(*, user) -> QuerySet[Household]:
    """Households with what their archive page shows: the people, head first, with tags."""
    people = Resident.objects.prefetch_related("tags").order_by(
        Case(When(relation=Relation.HEAD, then=0), default=1), "birth_date", "pk"
    )
    return (
        household_list(user=user)
        .select_related("lead_household")
        .prefetch_related(Prefetch("residents", queryset=people))
    )


def household_latest_visits(*, user, household: Household, limit: int = 10) -> list[Visit]:
    visits = visit_list(user=user).filter(household=household)
    return list(visits.order_by("-visited_at", "-pk")[:limit])


def duty_list(
    *, user, status: str | None = None, today: datetime.date | None = None
) -> QuerySet[Household]:
    """Households owed a must-visit, oldest due first; ``status`` is "overdue" or "due"."""
    today = today or timezone.localdate()
    queryset = household_list(user=user).filter(visit_due_on__isnull=False)
    soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
    if status == "overdue":
        queryset = queryset.filter(visit_due_on__lt=today)
    elif status == "due":
        queryset = queryset.filter(visit_due_on__gte=today, visit_due_on__lte=soon)
    else:
        queryset = queryset.filter(visit_due_on__lte=soon)
    return queryset.order_by("visit_due_on", "pk")


def duty_status(household: Household, today: datetime.date | None = None) -> str | None:
    today = today or timezone.localdate()
    if household.visit_due_on is None:
        return None
    if household.visit_due_on < today:
        return "overdue"
    if household.visit_due_on <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return "due"
    return "later"


def visit_list(*, user) -> QuerySet[Visit]:
    queryset = Visit.objects.select_related("household__grid", "visitor")
    return scoping.filter_visible(queryset, user, via="household__grid")


def campaign_list(*, user) -> QuerySet[Campaign]:
    """Campaigns over a subtree the user can see, or covering a grid the user works on."""
    scope = scoping.scope_for(user)
    queryset = Campaign.objects.select_related("grid", "created_by").annotate(
        task_count=Count("tasks"), done_count=Count("tasks", filter=Q(tasks__done_at__isnull=False))
    )
    if scope.is_global:
        return queryset
    covering = Q()
    for tree_id, lft, rght in scope.view:
        covering |= Q(grid__tree_id=tree_id, grid__lft__lte=lft, grid__rght__gte=rght)
    return queryset.filter(scope.q(via="grid") | covering) if scope.view else queryset.none()


def campaign_task_list(*, user) -> QuerySet[CampaignTask]:
    queryset = CampaignTask.objects.select_related("household", "grid", "campaign")
    return scoping.filter_visible(queryset, user, via="grid")


def campaign_progress(*, user, campaign: Campaign) -> list[dict]:
    """Per grid of the campaign, as far as the user can see: tasks and how many are done."""
    rows = (
        campaign_task_list(user=user)
        .filter(campaign=campaign)
        .values("grid_id", "grid__name")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(done_at__isnull=False)))
        .order_by("grid__tree_id", "grid__lft")
    )
    return [
        {"grid": r["grid_id"], "name": r["grid__name"], "total": r["total"], "done": r["done"]}
        for r in rows
    ]
