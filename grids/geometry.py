"""GeoJSON boundaries: validation, bounding boxes and the point-in-polygon test.

Pure functions with no database, so the rules can be property-tested. Coordinates
follow GeoJSON: ``[longitude, latitude]``. Grids are small (a few km at most), so a
planar ray-casting test on WGS-84 degrees is exact enough; no GIS stack is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

Ring = list[tuple[float, float]]
Polygon = list[Ring]  # outer ring first, then holes


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lng: float
    max_lng: float

    def contains(self, lat: float, lng: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lng <= lng <= self.max_lng


def _position(value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise ValidationError(_("Each position must be [longitude, latitude]."))
    lng, lat = value[0], value[1]
    if isinstance(lng, bool) or isinstance(lat, bool):
        raise ValidationError(_("Coordinates must be numbers."))
    if not isinstance(lng, int | float) or not isinstance(lat, int | float):
        raise ValidationError(_("Coordinates must be numbers."))
    if not (math.isfinite(lng) and math.isfinite(lat)):
        raise ValidationError(_("Coordinates must be finite numbers."))
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise ValidationError(_("Longitude must be within ±180 and latitude within ±90."))
    return float(lng), float(lat)


def _ring(value: Any) -> Ring:
    if not isinstance(value, list) or len(value) < 4:
        raise ValidationError(_("A polygon ring needs at least four positions."))
    ring = [_position(p) for p in value]
    if ring[0] != ring[-1]:
        raise ValidationError(_("A polygon ring must end where it starts."))
    if len(set(ring)) < 3:
        raise ValidationError(_("A polygon ring needs at least three distinct positions."))
    return ring


def _polygon(value: Any) -> Polygon:
    if not isinstance(value, list) or not value:
        raise ValidationError(_("A polygon needs at least one ring."))
    return [_ring(r) for r in value]


def parse_boundary(geojson: Any) -> list[Polygon]:
    """Validate a GeoJSON Polygon or MultiPolygon and return its polygons.

    Raises ``ValidationError`` with a message naming what is wrong.
    """
    if not isinstance(geojson, dict):
        raise ValidationError(_("The boundary must be a GeoJSON object."))
    kind = geojson.get("type")
    coordinates = geojson.get("coordinates")
    if kind == "Polygon":
        return [_polygon(coordinates)]
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise ValidationError(_("A MultiPolygon needs at least one polygon."))
        return [_polygon(p) for p in coordinates]
    raise ValidationError(_("The boundary must be a GeoJSON Polygon or MultiPolygon."))


def polygons_of(geojson: Any) -> list[Polygon]:
    """The polygons of a boundary that was validated when it was stored (``locate`` reads
    thousands a second): no checks, except that a malformed one is still refused with
    ``parse_boundary``'s message rather than a crash."""
    try:
        coordinates = geojson["coordinates"]
        if geojson["type"] == "Polygon":
            coordinates = [coordinates]
        elif geojson["type"] != "MultiPolygon":
            raise ValueError(geojson["type"])
        return [
            [[(float(p[0]), float(p[1])) for p in ring] for ring in polygon]
            for polygon in coordinates
        ]
    except (KeyError, TypeError, ValueError, IndexError):
        return parse_boundary(geojson)


def bounding_box(polygons: list[Polygon]) -> BoundingBox:
    lngs = [lng for polygon in polygons for lng, _lat in polygon[0]]
    lats = [lat for polygon in polygons for _lng, lat in polygon[0]]
    return BoundingBox(min(lats), max(lats), min(lngs), max(lngs))


def _in_ring(lat: float, lng: float, ring: Ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat):
            # The edge taken south to north whichever ring it belongs to: two grids that
            # share a slanted edge compute the same crossing, bit for bit, so a point on
            # it lies in exactly one of them (never in both, never in neither).
            (xa, ya), (xb, yb) = ((xi, yi), (xj, yj)) if yi < yj else ((xj, yj), (xi, yi))
            x_cross = (xb - xa) * (lat - ya) / (yb - ya) + xa
            if lng < x_cross:
                inside = not inside
        j = i
    return inside


def contains(polygons: list[Polygon], lat: float, lng: float) -> bool:
    """True when the point lies inside an outer ring and outside that polygon's holes."""
    for polygon in polygons:
        outer, holes = polygon[0], polygon[1:]
        if _in_ring(lat, lng, outer) and not any(_in_ring(lat, lng, h) for h in holes):
            return True
    return False


def rectangle(min_lng: float, min_lat: float, max_lng: float, max_lat: float) -> dict:
    """A GeoJSON Polygon for an axis-aligned rectangle (demo data, tests)."""
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [min_lng, min_lat],
                [max_lng, min_lat],
                [max_lng, max_lat],
                [min_lng, max_lat],
                [min_lng, min_lat],
            ]
        ],
    }
