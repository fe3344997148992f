"""Where a category's route sends a ticket (一网通管: the grid is known, the route picks
the handler). Planning reads only; ``tickets.services`` carries the plan out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from grids.models import AssignmentRole, Grid, GridAssignment, GridKind
from tickets import states
from tickets.models import Category, Route, Ticket


@dataclass(frozen=True)
class RoutePlan:
    route: str
    person: object | None = None
    departments: tuple[Grid, ...] = field(default_factory=tuple)
    reason: str = ""  # why nothing can be done automatically (kept in the event data)

    @property
    def routable(self) -> bool:
        return not self.reason

    def describe(self) -> dict:
        described: dict = {"route": self.route}
        if self.person is not None:
            described["person"] = self.person.pk
        if self.departments:
            described["departments"] = [d.pk for d in self.departments]
        if self.reason:
            described["not_routed"] = self.reason
        return described


def grid_worker(grid: Grid):
    """The full-time grid worker responsible for ``grid``: one assigned to the grid itself,
    else to its nearest ancestor that has one. Among several on the same grid, the one with
    the fewest open tickets (then the longest-serving) gets it. One query."""
    open_load = (
        Ticket.objects.filter(assignee=OuterRef("user_id"), status__in=states.OPEN)
        .order_by()
        .values("assignee")
        .annotate(n=Count("pk"))
        .values("n")
    )
    assignment = (
        GridAssignment.objects.current()
        .filter(
            role=AssignmentRole.FULL_TIME_WORKER,
            user__is_active=True,
            grid__tree_id=grid.tree_id,
            grid__lft__lte=grid.lft,
            grid__rght__gte=grid.rght,
        )
        .exclude(grid__kind=GridKind.INDUSTRY)
        .annotate(load=Coalesce(Subquery(open_load), 0))
        .select_related("user")
        .order_by("-grid__depth", "load", "starts_on", "pk")
        .first()
    )
    return assignment.user if assignment else None


def department_serves(department: Grid | None, grid: Grid) -> bool:
    """A department is an industry grid of the same county tree, and active: a category's
    department belongs to one county and cannot be whistled from another."""
    return (
        department is not None
        and department.kind == GridKind.INDUSTRY
        and department.is_active
        and department.tree_id == grid.tree_id
    )


def plan_route(*, category: Category, grid: Grid) -> RoutePlan:
    route = category.default_route
    if route == Route.WORKER:
        person = grid_worker(grid)
        if person is None:
            return RoutePlan(route, reason="no_worker")
        return RoutePlan(route, person=person)
    if route == Route.DEPARTMENT:
        if not department_serves(category.department, grid):
            return RoutePlan(route, reason="no_department")
        return RoutePlan(route, departments=(category.department,))
    return RoutePlan(route)
