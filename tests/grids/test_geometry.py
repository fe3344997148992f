from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from grids import geometry
from grids.locate import locate
from grids.models import GridKind, GridLevel
from tests.grids.factories import make_grid, superuser

SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
        [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ],
}


@pytest.mark.parametrize(
    ("lat", "lng", "inside"),
    [(1, 1, True), (5, 5, False), (9.9, 9.9, True), (11, 5, False), (5, -0.1, False)],
)
def test_point_in_polygon_with_hole(lat, lng, inside):
    polygons = geometry.parse_boundary(SQUARE_WITH_HOLE)
    assert geometry.contains(polygons, lat, lng) is inside


def test_concave_polygon():
    l_shape = {
        "type": "Polygon",
        "coordinates": [[[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 0]]],
    }
    polygons = geometry.parse_boundary(l_shape)
    assert geometry.contains(polygons, 0.5, 0.5)
    assert not geometry.contains(polygons, 1.5, 1.5)  # the notch


def test_multipolygon_and_bounding_box():
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
            [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]],
        ],
    }
    polygons = geometry.parse_boundary(multi)
    assert geometry.contains(polygons, 5.5, 5.5)
    assert not geometry.contains(polygons, 3, 3)
    assert geometry.bounding_box(polygons) == geometry.BoundingBox(0, 6, 0, 6)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"type": "Polygon"},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], ["a", 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [True, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [181, 0], [1, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [float("nan"), 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [0, 0], [0, 0], [0, 0]]]},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
    ],
)
def test_malformed_geojson_is_refused(bad):
    with pytest.raises(ValidationError):
        geometry.parse_boundary(bad)


def test_locate_prefers_the_deepest_active_grid(world):
    assert locate(30.05, 100.05) == world.A1a
    assert locate(30.2, 100.2) == world.A1  # inside A1, outside micro A1a
    assert locate(30.75, 100.75) == world.T2
    assert locate(50, 50) is None
    # an inactive grid is skipped in favour of its (active) parent's parent chain
    from grids import services

    services.grid_deactivate(actor=superuser(), grid=world.A1a)
    assert locate(30.05, 100.05) == world.A1


def test_locate_ignores_industry_grids(world):
    make_grid(world.C, GridLevel.TOWNSHIP, kind=GridKind.INDUSTRY, box=(100.0, 30.0, 100.1, 30.1))
    assert locate(30.05, 100.05) == world.A1a
