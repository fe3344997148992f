"""Where a category's route sends a ticket (一网通管: the grid is known, the route picks
the handler). Planning reads only; ``tickets.services`` carries the plan out.

It also keeps the duty rota (八小时以外 / 24小时待命, seed 000's 24-hour on-call), because
the rota exists for one decision made here: out of office hours a ticket routed to "the
grid's worker" goes to whoever is on duty. The rota's writes (``duty_shift_create``,
``duty_shift_update``, ``duty_shift_delete``) follow the services' rules: keyword-only,
atomic, ``ValidationError`` keyed by field, ``PermissionDenied`` without the right.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from grids import scoping
from grids.models import AssignmentRole, Grid, GridAssignment, GridKind
from tickets import states
from tickets.models import Category, DutyShift, Route, Ticket


@dataclass(frozen=True)
class RoutePlan:
    route: str
    person: object | None = None
    departments: tuple[Grid, ...] = field(default_factory=tuple)
    reason: str = ""  # why nothing can be done automatically (kept in the event data)
    on_duty: bool = False  # the person is on the duty rota (out of office hours)

    @property
    def routable(self) -> bool:
        return not self.reason

    def describe(self) -> dict:
        described: dict = {"route": self.route}
        if self.person is not None:
            described["person"] = self.person.pk
        if self.on_duty:
            described["on_duty"] = True
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


def plan_route(*, category: Category, grid: Grid, at: datetime.datetime | None = None) -> RoutePlan:
    """The route of ``category`` for a ticket on ``grid`` at the moment ``at`` (now).

    "The grid's worker" means, in office hours, the grid's full-time worker; out of office
    hours, whoever is on duty for the grid or the nearest grid above it, and the full-time
    worker when nobody is (the ticket then waits in their list rather than with nobody).
    """
    route = category.default_route
    if route == Route.WORKER:
        at = at or timezone.now()
        if not is_office_hours(at):
            on_duty = person_on_duty(grid, at)
            if on_duty is not None:
                return RoutePlan(route, person=on_duty, on_duty=True)
        person = grid_worker(grid)
        if person is None:
            return RoutePlan(route, reason="no_worker")
        return RoutePlan(route, person=person)
    if route == Route.DEPARTMENT:
        if not department_serves(category.department, grid):
            return RoutePlan(route, reason="no_department")
        return RoutePlan(route, departments=(category.department,))
    return RoutePlan(route)


# --- office hours and the duty rota (八小时以外) ---------------------------------------------

DEFAULT_OFFICE_HOURS = ((8, 30), (17, 30))


def office_hours() -> tuple[datetime.time, datetime.time]:
    """``settings.OFFICE_HOURS`` as (start, end) times of day, local time."""
    (start_h, start_m), (end_h, end_m) = getattr(settings, "OFFICE_HOURS", DEFAULT_OFFICE_HOURS)
    return datetime.time(start_h, start_m), datetime.time(end_h, end_m)


def is_office_hours(at: datetime.datetime) -> bool:
    """Monday to Friday between the office hours, in the project's time zone (Asia/Shanghai,
    whatever the server's). Public holidays and the make-up working weekends of the Chinese
    calendar are not known here: on those days the rota has to be planned by hand."""
    local = timezone.localtime(at, timezone.get_default_timezone())
    start, end = office_hours()
    return local.weekday() < 5 and start <= local.time() < end


def _covering(grid: Grid, *, prefix: str = "grid") -> Q:
    """Rows whose grid (through ``prefix``) is ``grid`` or one of its ancestors."""
    return Q(
        **{
            f"{prefix}__tree_id": grid.tree_id,
            f"{prefix}__lft__lte": grid.lft,
            f"{prefix}__rght__gte": grid.rght,
        }
    )


def person_on_duty(grid: Grid, at: datetime.datetime):
    """Who is on duty for ``grid`` at ``at``: a shift on the grid itself, else on its
    nearest ancestor with a shift covering that moment. Among several on one grid, the one
    whose shift began first. The person must still be active and still hold a role on the
    shift's grid or above it (an assignment may have ended since the rota was made). One
    query."""
    still_assigned = (
        GridAssignment.objects.current(timezone.localdate(at))
        .filter(
            user=OuterRef("user_id"),
            grid__tree_id=OuterRef("grid__tree_id"),
            grid__lft__lte=OuterRef("grid__lft"),
            grid__rght__gte=OuterRef("grid__rght"),
        )
        .exclude(grid__kind=GridKind.INDUSTRY)
    )
    shift = (
        DutyShift.objects.filter(
            _covering(grid), starts_at__lte=at, ends_at__gt=at, user__is_active=True
        )
        .exclude(grid__kind=GridKind.INDUSTRY)
        .filter(Exists(still_assigned))
        .select_related("user")
        .order_by("-grid__depth", "starts_at", "pk")
        .first()
    )
    return shift.user if shift else None


def duty_shift_list(*, user) -> QuerySet[DutyShift]:
    """The shifts of the grids the user sees, earliest first."""
    return scoping.filter_visible(
        DutyShift.objects.select_related("grid", "user", "created_by"), user, via="grid"
    ).order_by("starts_at", "pk")


def duty_shift_errors(
    *,
    grid: Grid | None,
    user,
    starts_at: datetime.datetime | None,
    ends_at: datetime.datetime | None,
    exclude_pk: int | None = None,
) -> dict[str, str]:
    """What is wrong with a shift, by field (empty when nothing is): the admin's form shows
    these, and the services raise them."""
    errors: dict[str, str] = {}
    if grid is not None and (grid.kind == GridKind.INDUSTRY or not grid.is_active):
        errors["grid"] = _("Duty shifts are for active territorial grids, not departments.")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        errors["ends_at"] = _("A shift ends after it starts.")
    if user is not None and not user.is_active:
        errors["user"] = _("This person's account is inactive.")
    elif user is not None and grid is not None and "grid" not in errors:
        works_here = (
            GridAssignment.objects.current()
            .filter(_covering(grid), user=user)
            .exclude(grid__kind=GridKind.INDUSTRY)
            .exists()
        )
        if not works_here:
            errors["user"] = _("This person holds no role on this grid or a grid above it.")
    if user is not None and starts_at is not None and ends_at is not None and not errors:
        clash = (
            DutyShift.objects.filter(user=user, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .exclude(pk=exclude_pk)
            .select_related("grid")
            .order_by("starts_at")
            .first()
        )
        if clash is not None:
            errors["starts_at"] = _(
                "This person is already on duty for %(grid)s from %(start)s to %(end)s."
            ) % {
                "grid": clash.grid.name,
                "start": _local(clash.starts_at),
                "end": _local(clash.ends_at),
            }
    return errors


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")


def _lock_person(user) -> None:
    """Serialise the rota writes of one person: with their user row locked, two staff
    planning overlapping shifts for them at the same moment cannot both pass the overlap
    check (PostgreSQL has no portable "no overlap" constraint without btree_gist)."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _check_planner(actor, grid: Grid) -> None:
    if not scoping.can_change(actor, grid):
        raise PermissionDenied(_("You may not plan duty shifts on this grid."))


@transaction.atomic
def duty_shift_create(
    *,
    actor,
    grid: Grid,
    user,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    note: str = "",
) -> DutyShift:
    """Put ``user`` on duty for ``grid`` (and the grids below it) from ``starts_at`` to
    ``ends_at``: community staff and grid leaders plan the rota of their grids."""
    _check_planner(actor, grid)
    _lock_person(user)
    errors = duty_shift_errors(grid=grid, user=user, starts_at=starts_at, ends_at=ends_at)
    if errors:
        raise ValidationError(errors)
    return DutyShift.objects.create(
        grid=grid,
        user=user,
        starts_at=starts_at,
        ends_at=ends_at,
        note=(note or "").strip(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


@transaction.atomic
def duty_shift_update(*, actor, shift: DutyShift, **changes) -> DutyShift:
    """Change a shift's grid, person, times or note; the same rules as creating one, and
    the planner needs the right on the shift's grid before and after."""
    allowed = {"grid", "user", "starts_at", "ends_at", "note"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in unknown})
    shift = DutyShift.objects.select_for_update().get(pk=shift.pk)
    _check_planner(actor, shift.grid)
    for name, value in changes.items():
        setattr(shift, name, value)
    _check_planner(actor, shift.grid)
    _lock_person(shift.user)
    errors = duty_shift_errors(
        grid=shift.grid,
        user=shift.user,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        exclude_pk=shift.pk,
    )
    if errors:
        raise ValidationError(errors)
    shift.note = (shift.note or "").strip()
    shift.save()
    return shift


@transaction.atomic
def duty_shift_delete(*, actor, shift: DutyShift) -> None:
    shift = DutyShift.objects.select_for_update().get(pk=shift.pk)
    _check_planner(actor, shift.grid)
    shift.delete()
