"""Reads of the grid tree shared by the API, pages and admin; all scoped."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from grids import scoping
from grids.models import Grid, GridAssignment, PartyOrganization


def _with_counts(queryset: QuerySet[Grid]) -> QuerySet[Grid]:
    """Annotate each grid with its number of current assignments (one subquery)."""
    today = timezone.localdate()
    current = (
        GridAssignment.objects.filter(grid=OuterRef("pk"), starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .order_by()
        .values("grid")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(assignment_count=Coalesce(Subquery(current), 0))


def grid_list(*, user) -> QuerySet[Grid]:
    """Every grid the user may see, in tree order, with its counts."""
    queryset = scoping.filter_visible(Grid.objects.all(), user)
    return _with_counts(queryset).order_by("tree_id", "lft")


def grid_children(*, user, grid: Grid) -> QuerySet[Grid]:
    return grid_list(user=user).filter(parent=grid)


def grid_subtree(*, user, grid: Grid) -> QuerySet[Grid]:
    """The grid and all its descendants (visible by construction once the grid is)."""
    return grid_list(user=user).filter(tree_id=grid.tree_id, lft__gte=grid.lft, rght__lte=grid.rght)


def grid_ancestors(*, user, grid: Grid) -> QuerySet[Grid]:
    """The grid's ancestors the user may see, root first (the breadcrumb trail)."""
    return grid_list(user=user).filter(tree_id=grid.tree_id, lft__lt=grid.lft, rght__gt=grid.rght)


def assignment_list(*, user) -> QuerySet[GridAssignment]:
    queryset = GridAssignment.objects.select_related("user", "grid")
    return scoping.filter_visible(queryset, user, via="grid")


def party_organization_list(*, user) -> QuerySet[PartyOrganization]:
    queryset = PartyOrganization.objects.select_related("grid", "secretary", "parent")
    return scoping.filter_visible(queryset, user, via="grid").order_by("tree_id", "lft")
