"""Which grid a point on the map belongs to (随手拍: a photo's coordinates → its grid).

Every report with coordinates goes through ``locate``, so it is written to run thousands
of times a second over a county's 10,000 grids:

- the database narrows the candidates to the few grids whose bounding box holds the
  point. On PostgreSQL a GiST index over the box (asked whether it holds the point as a
  box of no size, the containment the index answers) (``grids`` migration
  ``0003_bench_indexes``) answers that in a handful of page reads; the B-tree over the
  four bounds, kept for SQLite, can only use its first column and reads about half the
  grids;
- the exact point-in-polygon test runs on those few, deepest first. The boundaries were
  validated when stored, so each is read without re-validation, and the polygons of a
  boundary text already seen are reused (``_polygons``, keyed by the text itself, so an
  edited boundary is simply another key);
- without a queryset to search in (the common case: ``ticket_open``), PostgreSQL is asked
  in plain SQL and only the grid found is turned into a model instance.
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.db import connection
from django.db.models import BooleanField, F, QuerySet
from django.db.models.expressions import RawSQL

from grids import geometry
from grids.models import Grid, GridKind

TABLE = Grid._meta.db_table
BOX = (
    f'box(point("{TABLE}"."min_lng", "{TABLE}"."min_lat"), '
    f'point("{TABLE}"."max_lng", "{TABLE}"."max_lat"))'
)
_FIELDS = list(Grid._meta.concrete_fields)
_COLUMNS = ", ".join(f'"{TABLE}"."{f.column}"' for f in _FIELDS)
_BOUNDARY = next(i for i, f in enumerate(_FIELDS) if f.attname == "boundary")
LOCATE_SQL = f"""
    SELECT {_COLUMNS} FROM "{TABLE}"
    WHERE "{TABLE}"."is_active" AND NOT ("{TABLE}"."kind" = %s)
      AND {BOX} @> box(point(%s, %s), point(%s, %s))
    ORDER BY "{TABLE}"."depth" DESC,
             ("{TABLE}"."max_lat" - "{TABLE}"."min_lat")
             * ("{TABLE}"."max_lng" - "{TABLE}"."min_lng"),
             "{TABLE}"."id"
"""


@lru_cache(maxsize=16_384)
def _polygons(boundary_text: str) -> list[geometry.Polygon]:
    return geometry.polygons_of(json.loads(boundary_text))


def _contains(boundary, lat: float, lng: float) -> bool:
    if boundary is None:
        return False
    if isinstance(boundary, str):
        return geometry.contains(_polygons(boundary), lat, lng)
    return geometry.contains(geometry.polygons_of(boundary), lat, lng)


def locate(lat: float, lng: float, *, queryset: QuerySet[Grid] | None = None) -> Grid | None:
    """The deepest active grid whose boundary contains the point, or ``None``.

    The indexed bounding box narrows the candidates in the database; the exact
    point-in-polygon test runs on the few that remain, deepest first (smaller area
    breaks a tie between overlapping siblings). Industry grids are departments, not
    territory: they are reached by a whistle, never by location.
    """
    if queryset is None and connection.vendor == "postgresql":
        return _locate_sql(lat, lng)
    base = queryset if queryset is not None else Grid.objects.all()
    candidates = base.filter(
        is_active=True,
        min_lat__lte=lat,
        max_lat__gte=lat,
        min_lng__lte=lng,
        max_lng__gte=lng,
    ).exclude(kind=GridKind.INDUSTRY)
    if connection.vendor == "postgresql":
        inside = RawSQL(
            f"{BOX} @> box(point(%s, %s), point(%s, %s))",
            (lng, lat, lng, lat),
            output_field=BooleanField(),
        )
        candidates = candidates.filter(inside)
    candidates = candidates.annotate(
        box_area=(F("max_lat") - F("min_lat")) * (F("max_lng") - F("min_lng"))
    ).order_by("-depth", "box_area", "pk")
    for grid in candidates:
        if _contains(grid.boundary, lat, lng):
            return grid
    return None


def _locate_sql(lat: float, lng: float) -> Grid | None:
    """One query over the GiST index; the boundary texts are tested as they come."""
    with connection.cursor() as cursor:
        cursor.execute(LOCATE_SQL, [GridKind.INDUSTRY, lng, lat, lng, lat])
        rows = cursor.fetchall()
    for row in rows:
        text = row[_BOUNDARY]
        if text is not None and geometry.contains(_polygons(text), lat, lng):
            values = list(row)
            values[_BOUNDARY] = json.loads(text)
            return Grid.from_db(connection.alias, [f.attname for f in _FIELDS], values)
    return None
