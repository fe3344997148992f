"""Volunteers' registration, team kinds, teams and their members."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from grids import scoping
from grids.models import Grid
from residents.models import Resident
from volunteers import permissions, selectors
from volunteers.models import TeamKind, TeamMembership, Volunteer, VolunteerTeam
from volunteers.services.common import (
    optional_phone,
    refuse_unknown,
    require,
    required_text,
    territorial_grid,
)

VOLUNTEER_FIELDS = ("grid", "name", "phone", "skills", "is_active")
TEAM_FIELDS = ("name", "description", "kind", "leader", "is_active")


# --- volunteers ---------------------------------------------------------------------------


@transaction.atomic
def volunteer_register(
    *,
    actor,
    grid: Grid,
    name: str = "",
    user=None,
    resident: Resident | None = None,
    phone: str = "",
    skills: str = "",
) -> Volunteer:
    """Staff register a person as a volunteer of their community: a resident of a
    household they look after, an account (so the person can sign up on a phone), or both."""
    grid = territorial_grid(grid)
    require(permissions.can_manage(actor, grid), _("You may not register volunteers on this grid."))
    if user is None and resident is None:
        raise ValidationError({"user": _("Link an account, a resident, or both.")})
    if resident is not None:
        resident = Resident.objects.select_related("household__grid").get(pk=resident.pk)
        if not scoping.can_view(actor, resident.household.grid):
            raise ValidationError({"resident": _("Choose a resident of your grids.")})
        if Volunteer.objects.filter(resident=resident).exists():
            raise ValidationError({"resident": _("This resident is already a volunteer.")})
    if user is not None:
        if not user.is_active:
            raise ValidationError({"user": _("This account is disabled.")})
        if Volunteer.objects.filter(user=user).exists():
            raise ValidationError({"user": _("This account is already a volunteer.")})
    default_name = (resident.name if resident else "") or (
        (user.full_name or user.username) if user else ""
    )
    volunteer = Volunteer(
        grid=grid,
        name=required_text(name or default_name, field="name", max_length=40),
        user=user,
        resident=resident,
        phone=optional_phone(phone) or (resident.phone if resident else ""),
        skills=(skills or "").strip()[:200],
    )
    try:
        with transaction.atomic():
            volunteer.save()
    except IntegrityError as exc:  # the same person registered a moment ago
        raise ValidationError({"user": _("This person is already a volunteer.")}) from exc
    return volunteer


@transaction.atomic
def volunteer_update(*, actor, volunteer: Volunteer, **changes: Any) -> Volunteer:
    refuse_unknown(changes, VOLUNTEER_FIELDS)
    volunteer = (
        Volunteer.objects.select_for_update(of=("self",))
        .select_related("grid")
        .get(pk=volunteer.pk)
    )
    require(permissions.can_manage(actor, volunteer.grid), _("You may not change this volunteer."))
    if "grid" in changes:
        grid = territorial_grid(changes.pop("grid"))
        require(permissions.can_manage(actor, grid), _("You may not move volunteers to that grid."))
        volunteer.grid = grid
    if "name" in changes:
        volunteer.name = required_text(changes.pop("name"), field="name", max_length=40)
    if "phone" in changes:
        volunteer.phone = optional_phone(changes.pop("phone"))
    if "skills" in changes:
        volunteer.skills = (changes.pop("skills") or "").strip()[:200]
    if "is_active" in changes:
        volunteer.is_active = bool(changes.pop("is_active"))
    volunteer.save()
    return volunteer


# --- team kinds and teams -----------------------------------------------------------------


@transaction.atomic
def team_kind_create(*, actor, code: str, name: str) -> TeamKind:
    """Kinds beyond seed 001's four, added by anyone who runs grids."""
    scope = scoping.scope_for(actor)
    require(scope.is_global or bool(scope.change), _("You may not add team kinds."))
    code = required_text(code, field="code", max_length=40)
    if TeamKind.objects.filter(code=code).exists():
        raise ValidationError({"code": _("This code is taken.")})
    return TeamKind.objects.create(code=code, name=required_text(name, field="name", max_length=40))


def _check_team_name(team: VolunteerTeam) -> None:
    taken = VolunteerTeam.objects.filter(grid=team.grid, name=team.name).exclude(pk=team.pk)
    if taken.exists():
        raise ValidationError({"name": _("This grid already has a team of this name.")})


def _join(team: VolunteerTeam, volunteer: Volunteer) -> TeamMembership:
    membership, _created = TeamMembership.objects.get_or_create(team=team, volunteer=volunteer)
    return membership


def _check_leader(actor, leader: Volunteer | None) -> None:
    if leader is None:
        return
    if not leader.is_active:
        raise ValidationError({"leader": _("This volunteer is no longer active.")})
    if not selectors.volunteer_list(user=actor).filter(pk=leader.pk).exists():
        raise ValidationError({"leader": _("Choose a volunteer of your grids.")})


@transaction.atomic
def team_create(
    *,
    actor,
    grid: Grid,
    kind: TeamKind,
    name: str,
    description: str = "",
    leader: Volunteer | None = None,
) -> VolunteerTeam:
    grid = territorial_grid(grid)
    require(permissions.can_manage(actor, grid), _("You may not add teams on this grid."))
    team = VolunteerTeam(
        grid=grid,
        kind=kind,
        name=required_text(name, field="name", max_length=100),
        description=(description or "").strip(),
        leader=leader,
    )
    _check_team_name(team)
    _check_leader(actor, leader)
    team.save()
    if leader is not None:
        _join(team, leader)
    return team


@transaction.atomic
def team_update(*, actor, team: VolunteerTeam, **changes: Any) -> VolunteerTeam:
    refuse_unknown(changes, TEAM_FIELDS)
    team = (
        VolunteerTeam.objects.select_for_update(of=("self",)).select_related("grid").get(pk=team.pk)
    )
    require(permissions.can_manage(actor, team.grid), _("You may not change this team."))
    if "name" in changes:
        team.name = required_text(changes["name"], field="name", max_length=100)
        _check_team_name(team)
    if "description" in changes:
        team.description = (changes["description"] or "").strip()
    if "kind" in changes:
        team.kind = changes["kind"]
    if "is_active" in changes:
        team.is_active = bool(changes["is_active"])
    if "leader" in changes:
        _check_leader(actor, changes["leader"])
        team.leader = changes["leader"]
    team.save()
    if team.leader is not None:
        _join(team, team.leader)
    return team


@transaction.atomic
def team_add_member(*, actor, team: VolunteerTeam, volunteer: Volunteer) -> TeamMembership:
    team = (
        VolunteerTeam.objects.select_for_update(of=("self",))
        .select_related("grid", "leader")
        .get(pk=team.pk)
    )
    require(
        permissions.can_manage(actor, team.grid) or permissions.is_team_leader(actor, team),
        _("You may not change this team's members."),
    )
    if not volunteer.is_active:
        raise ValidationError({"volunteer": _("This volunteer is no longer active.")})
    if not selectors.volunteer_list(user=actor).filter(pk=volunteer.pk).exists():
        raise ValidationError({"volunteer": _("Choose a volunteer of your grids.")})
    if TeamMembership.objects.filter(team=team, volunteer=volunteer).exists():
        raise ValidationError({"volunteer": _("This volunteer is already a member.")})
    return _join(team, volunteer)


@transaction.atomic
def team_remove_member(*, actor, team: VolunteerTeam, volunteer: Volunteer) -> None:
    team = (
        VolunteerTeam.objects.select_for_update(of=("self",))
        .select_related("grid", "leader")
        .get(pk=team.pk)
    )
    require(
        permissions.can_manage(actor, team.grid) or permissions.is_team_leader(actor, team),
        _("You may not change this team's members."),
    )
    if team.leader_id == volunteer.pk:
        raise ValidationError({"volunteer": _("Choose another leader before the leader leaves.")})
    deleted, _rows = TeamMembership.objects.filter(team=team, volunteer=volunteer).delete()
    if not deleted:
        raise ValidationError({"volunteer": _("This volunteer is not a member.")})
