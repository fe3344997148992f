"""Builders for grids and people. Grids go through the services: the tree's bounds are
only right when every structural write takes the same path as in production."""

from __future__ import annotations

import datetime
import itertools

import factory
from django.contrib.auth import get_user_model

from grids import services
from grids.geometry import rectangle
from grids.models import Grid, GridAssignment, GridKind, GridLevel, PartyOrganization

_codes = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    is_staff = True
    password = factory.django.Password("pw")


def superuser():
    user, _created = get_user_model().objects.get_or_create(
        username="root", defaults={"is_superuser": True, "is_staff": True}
    )
    return user


def make_grid(
    parent: Grid | None,
    level: str,
    *,
    name: str | None = None,
    kind: str = GridKind.ADMINISTRATIVE,
    box: tuple[float, float, float, float] | None = None,
    code: str | None = None,
) -> Grid:
    """A grid under ``parent``; ``box`` is (min_lng, min_lat, max_lng, max_lat)."""
    number = next(_codes)
    return services.grid_create(
        actor=superuser(),
        parent=parent,
        name=name or f"{GridLevel(level).label}{number}",
        code=code or f"T{number:05d}",
        level=level,
        kind=kind,
        boundary=rectangle(*box) if box else None,
    )


def assign(user, grid: Grid, role: str) -> GridAssignment:
    """An open assignment that began long ago, so tests with a frozen clock still see it."""
    return services.assignment_create(
        actor=superuser(), user=user, grid=grid, role=role, starts_on=datetime.date(2000, 1, 1)
    )


def make_party_organization(grid: Grid, kind: str, parent=None, name: str | None = None):
    return services.party_organization_create(
        actor=superuser(),
        name=name or f"{grid.name}{kind}",
        kind=kind,
        grid=grid,
        parent=parent,
    )


def tree_snapshot() -> list[tuple]:
    return list(
        Grid.objects.order_by("pk").values_list(
            "pk", "parent_id", "tree_id", "lft", "rght", "depth", "name", "code", "is_active"
        )
    )


__all__ = ["PartyOrganization", "UserFactory", "assign", "make_grid", "tree_snapshot"]
