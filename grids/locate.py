"""Which grid a point on the map belongs to (随手拍: a photo's coordinates → its grid)."""

from __future__ import annotations

from django.db.models import F, QuerySet

from grids import geometry
from grids.models import Grid, GridKind


def locate(lat: float, lng: float, *, queryset: QuerySet[Grid] | None = None) -> Grid | None:
    """The deepest active grid whose boundary contains the point, or ``None``.

    The indexed bounding box narrows the candidates in the database; the exact
    point-in-polygon test runs on the few that remain, deepest first (smaller area
    breaks a tie between overlapping siblings). Industry grids are departments, not
    territory: they are reached by a whistle, never by location.
    """
    base = queryset if queryset is not None else Grid.objects.all()
    candidates = (
        base.filter(
            is_active=True,
            min_lat__lte=lat,
            max_lat__gte=lat,
            min_lng__lte=lng,
            max_lng__gte=lng,
        )
        .exclude(kind=GridKind.INDUSTRY)
        .annotate(box_area=(F("max_lat") - F("min_lat")) * (F("max_lng") - F("min_lng")))
        .order_by("-depth", "box_area", "pk")
    )
    for grid in candidates:
        if geometry.contains(geometry.parse_boundary(grid.boundary), lat, lng):
            return grid
    return None
