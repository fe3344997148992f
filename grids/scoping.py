"""Who sees which part of the grid tree, and who may change it.

One mechanism for pages, the API, the admin and dashboards: a user's current
assignments become a set of subtrees, each held as MPTT bounds ``(tree_id, lft, rght)``,
and any queryset whose rows hang off a grid is filtered with one call::

    households = scoping.filter_visible(Household.objects.all(), request.user, via="grid")
    grids = scoping.filter_visible(Grid.objects.all(), request.user)

A superuser sees and changes everything. An anonymous or unassigned user sees nothing.
The scope is computed once per request (one query) and cached on the user object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

from grids.models import AssignmentRole, Grid, GridAssignment
from grids.roles import role_can_change

Bounds = tuple[int, int, int]  # (tree_id, lft, rght)
M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_grid_scope_cache"


def _outermost(bounds: Iterable[Bounds]) -> tuple[Bounds, ...]:
    """Drop subtrees contained in another one, so filters stay short."""
    kept: list[Bounds] = []
    for tree_id, lft, rght in sorted(set(bounds), key=lambda b: (b[0], b[1], -b[2])):
        if kept and kept[-1][0] == tree_id and kept[-1][1] <= lft and rght <= kept[-1][2]:
            continue
        kept.append((tree_id, lft, rght))
    return tuple(kept)


@dataclass(frozen=True)
class Scope:
    is_global: bool
    view: tuple[Bounds, ...]
    change: tuple[Bounds, ...]
    roles: tuple[tuple[str, Bounds], ...] = ()

    def q(self, *, via: str = "", action: str = "view") -> Q:
        """A filter for rows whose grid (reached through ``via``) lies in the scope."""
        if self.is_global:
            return Q()
        prefix = f"{via}__" if via else ""
        bounds = self.change if action == "change" else self.view
        if not bounds:
            return Q(pk__in=[])
        condition = Q()
        for tree_id, lft, rght in bounds:
            condition |= Q(
                **{
                    f"{prefix}tree_id": tree_id,
                    f"{prefix}lft__gte": lft,
                    f"{prefix}rght__lte": rght,
                }
            )
        return condition

    def _contains(self, grid: Grid, bounds: tuple[Bounds, ...]) -> bool:
        if self.is_global:
            return True
        return any(
            grid.tree_id == tree_id and lft <= grid.lft and grid.rght <= rght
            for tree_id, lft, rght in bounds
        )

    def can_view(self, grid: Grid) -> bool:
        return self._contains(grid, self.view)

    def can_change(self, grid: Grid) -> bool:
        return self._contains(grid, self.change)

    def roles_for(self, grid: Grid) -> frozenset[str]:
        """The roles the user holds on ``grid`` or any grid above it (all, for a superuser)."""
        if self.is_global:
            return frozenset(AssignmentRole.values)
        return frozenset(
            role
            for role, (tree_id, lft, rght) in self.roles
            if grid.tree_id == tree_id and lft <= grid.lft and grid.rght <= rght
        )

    @property
    def is_empty(self) -> bool:
        return not self.is_global and not self.view


EMPTY_SCOPE = Scope(is_global=False, view=(), change=())


def scope_for(user, *, fresh: bool = False) -> Scope:
    """The user's scope from their current assignments (cached on the user object).

    Pass ``fresh=True`` inside a service that holds the tree lock: bounds read earlier
    in the request may have moved.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return EMPTY_SCOPE
    if user.is_superuser:
        return Scope(is_global=True, view=(), change=())
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None and not fresh:
        return cached
    rows = (
        GridAssignment.objects.current()
        .filter(user=user)
        .values_list("role", "grid__tree_id", "grid__lft", "grid__rght")
    )
    view: list[Bounds] = []
    change: list[Bounds] = []
    roles: list[tuple[str, Bounds]] = []
    for role, tree_id, lft, rght in rows:
        view.append((tree_id, lft, rght))
        roles.append((role, (tree_id, lft, rght)))
        if role_can_change(role):
            change.append((tree_id, lft, rght))
    scope = Scope(
        is_global=False, view=_outermost(view), change=_outermost(change), roles=tuple(roles)
    )
    setattr(user, _CACHE_ATTR, scope)
    return scope


def filter_visible(queryset: QuerySet[M], user, *, via: str = "") -> QuerySet[M]:
    """Rows of ``queryset`` the user may see; ``via`` is the path to the grid ("" for grids)."""
    return queryset.filter(scope_for(user).q(via=via))


def filter_changeable(queryset: QuerySet[M], user, *, via: str = "") -> QuerySet[M]:
    """Rows of ``queryset`` the user may change; ``via`` as in ``filter_visible``."""
    return queryset.filter(scope_for(user).q(via=via, action="change"))


def can_view(user, grid: Grid) -> bool:
    return scope_for(user).can_view(grid)


def can_change(user, grid: Grid) -> bool:
    return scope_for(user).can_change(grid)


def roles_for(user, grid: Grid) -> frozenset[str]:
    return scope_for(user).roles_for(grid)


def scope_roots(user) -> QuerySet[Grid]:
    """The top grids of the user's scope: where their tree view and dashboards start."""
    scope = scope_for(user)
    if scope.is_global:
        return Grid.objects.filter(parent__isnull=True)
    if not scope.view:
        return Grid.objects.none()
    condition = Q()
    for tree_id, lft, _rght in scope.view:
        condition |= Q(tree_id=tree_id, lft=lft)
    return Grid.objects.filter(condition)
