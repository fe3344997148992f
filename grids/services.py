"""Every write to the grid tree, its assignments and party organizations.

Each function is one state change: it takes the tree lock where the structure moves,
re-reads what it works on, checks the actor's right and the domain rules, and writes.
Rule violations raise ``ValidationError`` keyed by field (the API turns them into 400s,
the admin into form errors); a missing right raises ``PermissionDenied``.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from grids import geometry, scoping
from grids.locking import acquire_tree_lock
from grids.models import (
    LEVEL_RANK,
    PARTY_KIND_RANK,
    AssignmentRole,
    Grid,
    GridAssignment,
    GridKind,
    GridLevel,
    PartyOrganization,
    PartyOrganizationKind,
)

GRID_FIELDS = ("name", "code", "kind", "level", "boundary", "is_active")


# --- rules ------------------------------------------------------------------------------


def grid_placement_errors(*, kind: str, level: str, parent: Grid | None) -> dict[str, str]:
    """Why a grid of ``kind``/``level`` cannot hang under ``parent`` (empty when it can).

    The administrative level only goes down the tree; the one exception is an estate
    inside an estate, which is how a community nests its own first/second/third-level
    grids (seed 000: 4/18/36). Industry grids (departments, seed 002) hang under a
    county, dedicated grids (a school, a market) under a township.
    """
    if kind not in GridKind.values:
        return {"kind": _("Unknown grid kind.")}
    if level not in GridLevel.values:
        return {"level": _("Unknown grid level.")}
    if parent is None:
        if kind != GridKind.ADMINISTRATIVE or level != GridLevel.COUNTY:
            return {"parent": _("Only an administrative county grid can be a root.")}
        return {}
    if kind == GridKind.ADMINISTRATIVE and parent.kind != GridKind.ADMINISTRATIVE:
        return {"parent": _("An administrative grid must hang under an administrative grid.")}
    if kind == GridKind.INDUSTRY and not (
        parent.kind == GridKind.INDUSTRY
        or (parent.kind == GridKind.ADMINISTRATIVE and parent.level == GridLevel.COUNTY)
    ):
        return {"parent": _("An industry grid must hang under a county or an industry grid.")}
    if kind == GridKind.DEDICATED and not (
        parent.kind == GridKind.DEDICATED
        or (parent.kind == GridKind.ADMINISTRATIVE and parent.level == GridLevel.TOWNSHIP)
    ):
        return {"parent": _("A dedicated grid must hang under a township or a dedicated grid.")}
    nested_estate = (
        kind == parent.kind == GridKind.ADMINISTRATIVE and level == parent.level == GridLevel.ESTATE
    )
    if LEVEL_RANK[level] <= LEVEL_RANK[parent.level] and not nested_estate:
        return {
            "level": _("A %(child)s grid cannot hang under a %(parent)s grid.")
            % {
                "child": GridLevel(level).label,
                "parent": GridLevel(parent.level).label,
            }
        }
    return {}


def _check_placement(*, kind: str, level: str, parent: Grid | None) -> None:
    errors = grid_placement_errors(kind=kind, level=level, parent=parent)
    if errors:
        raise ValidationError(errors)


def _check_children_fit(grid: Grid) -> None:
    for child in grid.get_children():
        errors = grid_placement_errors(kind=child.kind, level=child.level, parent=grid)
        if errors:
            raise ValidationError(
                {
                    "level": _("Child grid %(child)s would no longer fit under this grid.")
                    % {"child": child.name}
                }
            )


def _check_code_free(code: str, *, exclude_pk: int | None = None) -> None:
    if not code or not code.strip():
        raise ValidationError({"code": _("The administrative code is required.")})
    taken = Grid.objects.filter(code=code).exclude(pk=exclude_pk).exists()
    if taken:
        raise ValidationError({"code": _("Another grid already has this code.")})


def _apply_boundary(grid: Grid, boundary: Any) -> None:
    if boundary in (None, {}, ""):
        grid.boundary = None
        grid.min_lat = grid.max_lat = grid.min_lng = grid.max_lng = None
        return
    try:
        polygons = geometry.parse_boundary(boundary)
    except ValidationError as exc:
        raise ValidationError({"boundary": exc.messages}) from exc
    box = geometry.bounding_box(polygons)
    grid.boundary = boundary
    grid.min_lat, grid.max_lat = box.min_lat, box.max_lat
    grid.min_lng, grid.max_lng = box.min_lng, box.max_lng


def _reread(model, pk: int, *, field: str):
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist as exc:
        raise ValidationError({field: _("This object no longer exists.")}) from exc


def _require_change(actor, grid: Grid | None) -> None:
    """The actor may change ``grid`` (a new root: superusers only)."""
    if grid is None:
        if not (actor and actor.is_superuser):
            raise PermissionDenied(_("Only an administrator can create a root grid."))
        return
    if not scoping.scope_for(actor, fresh=True).can_change(grid):
        raise PermissionDenied(_("You may not change grid %(grid)s.") % {"grid": grid.name})


def _save_unique(obj, *, field: str, message: str) -> None:
    """Save, turning a unique-constraint race into the same error the check gives."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ValidationError({field: message}) from exc


# --- grids ------------------------------------------------------------------------------


@transaction.atomic
def grid_create(
    *,
    actor,
    parent: Grid | None,
    name: str,
    code: str,
    level: str,
    kind: str = GridKind.ADMINISTRATIVE,
    boundary: Any = None,
    is_active: bool = True,
) -> Grid:
    acquire_tree_lock(Grid)
    if parent is not None:
        parent = _reread(Grid, parent.pk, field="parent")
    _require_change(actor, parent)
    if not name or not name.strip():
        raise ValidationError({"name": _("The name is required.")})
    _check_placement(kind=kind, level=level, parent=parent)
    _check_code_free(code)
    if is_active and parent is not None and not parent.is_active:
        raise ValidationError({"parent": _("An active grid cannot hang under an inactive one.")})
    grid = Grid(
        parent=parent,
        name=name.strip(),
        code=code.strip(),
        level=level,
        kind=kind,
        is_active=is_active,
    )
    _apply_boundary(grid, boundary)
    _save_unique(grid, field="code", message=_("Another grid already has this code."))
    return grid


@transaction.atomic
def grid_update(*, actor, grid: Grid, **changes: Any) -> Grid:
    """Change a grid's own fields. Moving it is ``grid_move``; activity has its own."""
    unknown = set(changes) - {"name", "code", "kind", "level", "boundary"}
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unknown})
    acquire_tree_lock(Grid)  # a new code re-sorts siblings, which moves the node
    grid = _reread(Grid, grid.pk, field="id")
    _require_change(actor, grid)
    if "name" in changes:
        if not changes["name"] or not str(changes["name"]).strip():
            raise ValidationError({"name": _("The name is required.")})
        grid.name = str(changes["name"]).strip()
    if "code" in changes:
        _check_code_free(changes["code"], exclude_pk=grid.pk)
        grid.code = changes["code"].strip()
    if "kind" in changes or "level" in changes:
        grid.kind = changes.get("kind", grid.kind)
        grid.level = changes.get("level", grid.level)
        _check_placement(kind=grid.kind, level=grid.level, parent=grid.parent)
        _check_children_fit(grid)
    if "boundary" in changes:
        _apply_boundary(grid, changes["boundary"])
    _save_unique(grid, field="code", message=_("Another grid already has this code."))
    return grid


@transaction.atomic
def grid_move(*, actor, grid: Grid, parent: Grid) -> Grid:
    """Hang ``grid`` (with its subtree) under ``parent``; siblings stay sorted by code."""
    acquire_tree_lock(Grid)
    grid = _reread(Grid, grid.pk, field="id")
    parent = _reread(Grid, parent.pk, field="parent")
    _require_change(actor, grid)
    _require_change(actor, parent)
    if parent.tree_id == grid.tree_id and grid.lft <= parent.lft and parent.rght <= grid.rght:
        raise ValidationError(
            {"parent": _("A grid cannot be moved under itself or one of its descendants.")}
        )
    _check_placement(kind=grid.kind, level=grid.level, parent=parent)
    if grid.is_active and not parent.is_active:
        raise ValidationError({"parent": _("An active grid cannot hang under an inactive one.")})
    if grid.parent_id == parent.pk:
        return grid
    grid.parent = parent
    grid.save()
    return grid


@transaction.atomic
def grid_deactivate(*, actor, grid: Grid) -> int:
    """Deactivate the grid and its whole subtree; returns how many grids changed.

    Deactivation is how a grid with people or work is retired: nothing is lost, and
    ``locate`` stops choosing it.
    """
    grid = _reread(Grid, grid.pk, field="id")
    _require_change(actor, grid)
    return (
        grid.get_descendants(include_self=True)
        .filter(is_active=True)
        .update(is_active=False, updated_at=timezone.now())
    )


@transaction.atomic
def grid_activate(*, actor, grid: Grid) -> Grid:
    grid = _reread(Grid, grid.pk, field="id")
    _require_change(actor, grid)
    if grid.parent is not None and not grid.parent.is_active:
        raise ValidationError({"is_active": _("Activate the parent grid first.")})
    grid.is_active = True
    grid.save(update_fields=["is_active", "updated_at"])
    return grid


@transaction.atomic
def grid_delete(*, actor, grid: Grid) -> None:
    """Delete an empty leaf grid. Anything hanging off it (children, people, records of
    other apps, which all point here with PROTECT) makes this refuse: deactivate instead.
    """
    acquire_tree_lock(Grid)
    grid = _reread(Grid, grid.pk, field="id")
    _require_change(actor, grid)
    if grid.parent is None and not actor.is_superuser:
        raise PermissionDenied(_("Only an administrator can delete a root grid."))
    if not grid.is_leaf_node():
        raise ValidationError(
            {"id": _("This grid has child grids; move or delete them first, or deactivate it.")}
        )
    try:
        with transaction.atomic():
            grid.delete()
    except (ProtectedError, RestrictedError) as exc:
        raise ValidationError(
            {
                "id": _("This grid still has %(things)s; deactivate it instead.")
                % {"things": _blocking_kinds(exc)}
            }
        ) from exc


def _blocking_kinds(exc: ProtectedError | RestrictedError) -> str:
    """The kinds of records (their verbose names) that a PROTECT or RESTRICT foreign key
    kept from being deleted, for the message that says what is in the way."""
    blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
    return "、".join(sorted({str(obj._meta.verbose_name) for obj in blocking}))


# --- assignments ------------------------------------------------------------------------


def check_assignment_rules(
    *, grid: Grid, role: str, starts_on: datetime.date, ends_on: datetime.date | None
) -> None:
    if role not in AssignmentRole.values:
        raise ValidationError({"role": _("Unknown role.")})
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end date cannot be before the start date.")})
    if role == AssignmentRole.DEPARTMENT_LIAISON and grid.kind != GridKind.INDUSTRY:
        raise ValidationError({"role": _("A department liaison works on an industry grid.")})
    if role == AssignmentRole.UNIT_HEAD and grid.level not in (
        GridLevel.ESTATE,
        GridLevel.MICRO,
    ):
        raise ValidationError({"role": _("A unit head works on an estate or micro grid.")})


def _check_no_open_duplicate(assignment: GridAssignment) -> None:
    if assignment.ends_on is not None:
        return
    duplicate = GridAssignment.objects.filter(
        user_id=assignment.user_id,
        grid_id=assignment.grid_id,
        role=assignment.role,
        ends_on__isnull=True,
    ).exclude(pk=assignment.pk)
    if duplicate.exists():
        raise ValidationError({"role": _("This person already holds this role on this grid.")})


@transaction.atomic
def assignment_create(
    *,
    actor,
    user,
    grid: Grid,
    role: str,
    starts_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    note: str = "",
) -> GridAssignment:
    grid = _reread(Grid, grid.pk, field="grid")
    _require_change(actor, grid)
    starts_on = starts_on or timezone.localdate()
    check_assignment_rules(grid=grid, role=role, starts_on=starts_on, ends_on=ends_on)
    assignment = GridAssignment(
        user=user, grid=grid, role=role, starts_on=starts_on, ends_on=ends_on, note=note
    )
    _check_no_open_duplicate(assignment)
    _save_unique(
        assignment, field="role", message=_("This person already holds this role on this grid.")
    )
    return assignment


@transaction.atomic
def assignment_update(*, actor, assignment: GridAssignment, **changes: Any) -> GridAssignment:
    unknown = set(changes) - {"grid", "role", "starts_on", "ends_on", "note", "user"}
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unknown})
    assignment = (
        GridAssignment.objects.select_for_update().select_related("grid").get(pk=assignment.pk)
    )
    _require_change(actor, assignment.grid)
    for field, value in changes.items():
        setattr(assignment, field, value)
    if "grid" in changes:
        _require_change(actor, assignment.grid)
    check_assignment_rules(
        grid=assignment.grid,
        role=assignment.role,
        starts_on=assignment.starts_on,
        ends_on=assignment.ends_on,
    )
    _check_no_open_duplicate(assignment)
    _save_unique(
        assignment, field="role", message=_("This person already holds this role on this grid.")
    )
    return assignment


@transaction.atomic
def assignment_end(
    *, actor, assignment: GridAssignment, ends_on: datetime.date | None = None
) -> GridAssignment:
    """End an assignment (kept as history); the person loses the grid from that day on."""
    return assignment_update(
        actor=actor, assignment=assignment, ends_on=ends_on or timezone.localdate()
    )


@transaction.atomic
def assignment_delete(*, actor, assignment: GridAssignment) -> None:
    """Remove an assignment entered by mistake; ending one is ``assignment_end``."""
    assignment = GridAssignment.objects.select_related("grid").get(pk=assignment.pk)
    _require_change(actor, assignment.grid)
    assignment.delete()


# --- party organizations -----------------------------------------------------------------


def _check_party_placement(*, kind: str, parent: PartyOrganization | None) -> None:
    """Committee → general branch → branch → group; committees may nest (county → town)."""
    if kind not in PartyOrganizationKind.values:
        raise ValidationError({"kind": _("Unknown organization kind.")})
    if parent is None:
        return
    both_committees = kind == parent.kind == PartyOrganizationKind.COMMITTEE
    if PARTY_KIND_RANK[kind] <= PARTY_KIND_RANK[parent.kind] and not both_committees:
        raise ValidationError(
            {
                "kind": _("A %(child)s cannot belong to a %(parent)s.")
                % {
                    "child": PartyOrganizationKind(kind).label,
                    "parent": PartyOrganizationKind(parent.kind).label,
                }
            }
        )


@transaction.atomic
def party_organization_create(
    *,
    actor,
    name: str,
    kind: str,
    grid: Grid,
    parent: PartyOrganization | None = None,
    secretary=None,
) -> PartyOrganization:
    acquire_tree_lock(PartyOrganization)
    grid = _reread(Grid, grid.pk, field="grid")
    _require_change(actor, grid)
    if parent is not None:
        parent = _reread(PartyOrganization, parent.pk, field="parent")
    if not name or not name.strip():
        raise ValidationError({"name": _("The name is required.")})
    _check_party_placement(kind=kind, parent=parent)
    organization = PartyOrganization(
        name=name.strip(), kind=kind, grid=grid, parent=parent, secretary=secretary
    )
    organization.save()
    return organization


@transaction.atomic
def party_organization_update(
    *, actor, organization: PartyOrganization, **changes: Any
) -> PartyOrganization:
    unknown = set(changes) - {"name", "kind", "grid", "parent", "secretary"}
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in unknown})
    acquire_tree_lock(PartyOrganization)
    organization = _reread(PartyOrganization, organization.pk, field="id")
    _require_change(actor, organization.grid)
    if "grid" in changes:
        grid = _reread(Grid, changes["grid"].pk, field="grid")
        _require_change(actor, grid)
        organization.grid = grid
    if "parent" in changes:
        parent = changes["parent"]
        if parent is not None:
            parent = _reread(PartyOrganization, parent.pk, field="parent")
            if parent.is_descendant_of(organization, include_self=True):
                raise ValidationError(
                    {"parent": _("An organization cannot belong to itself or its descendants.")}
                )
        organization.parent = parent
    if "name" in changes:
        if not changes["name"] or not str(changes["name"]).strip():
            raise ValidationError({"name": _("The name is required.")})
        organization.name = str(changes["name"]).strip()
    if "kind" in changes:
        organization.kind = changes["kind"]
    if "secretary" in changes:
        organization.secretary = changes["secretary"]
    _check_party_placement(kind=organization.kind, parent=organization.parent)
    organization.save()
    return organization


@transaction.atomic
def party_organization_delete(*, actor, organization: PartyOrganization) -> None:
    acquire_tree_lock(PartyOrganization)
    organization = _reread(PartyOrganization, organization.pk, field="id")
    _require_change(actor, organization.grid)
    if not organization.is_leaf_node():
        raise ValidationError({"id": _("This organization has sub-organizations.")})
    try:
        with transaction.atomic():
            organization.delete()
    except (ProtectedError, RestrictedError) as exc:  # its members, pairings, registrations
        raise ValidationError(
            {
                "id": _("This organization still has %(things)s; it cannot be deleted.")
                % {"things": _blocking_kinds(exc)}
            }
        ) from exc
