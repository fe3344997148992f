"""Small checks every chapter of the volunteers services shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from grids.models import Grid, GridKind
from residents.personal_data import validate_phone


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def refuse_unknown(changes: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed here.") for f in sorted(unknown)})


def territorial_grid(grid: Grid, *, field: str = "grid") -> Grid:
    """The grid re-read: it must be active and a place (not a department)."""
    fresh = Grid.objects.filter(pk=getattr(grid, "pk", None)).first()
    if fresh is None or not fresh.is_active or fresh.kind == GridKind.INDUSTRY:
        raise ValidationError({field: _("Choose an active grid of a place, not a department.")})
    return fresh


def required_text(value: str | None, *, field: str, max_length: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: _("This field is required.")})
    if len(text) > max_length:
        raise ValidationError(
            {field: _("At most %(n)d characters.") % {"n": max_length}},
        )
    return text


def optional_phone(value: str | None, *, field: str = "phone") -> str:
    if not value:
        return ""
    try:
        return validate_phone(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def inside(grid: Grid, top: Grid) -> bool:
    return grid.tree_id == top.tree_id and top.lft <= grid.lft and grid.rght <= top.rght
