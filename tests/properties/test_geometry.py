"""Properties of point-in-polygon (``grids/geometry.py``) and of ``locate``
(``grids/locate.py``).

The rule on edges, as the ray-casting test implements it (a ray towards the east, a
crossing counted when one end of the edge lies strictly north of the point): a point on a
boundary belongs to the region immediately north-east of it. For a rectangle that is
``[min_lng, max_lng) × [min_lat, max_lat)``: the south and west edges are inside, the
north and east edges outside. So grids that tile a territory (the demo cuts them that
way) never both claim a point of their shared edge, and never both miss it.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from grids import geometry, services
from grids.locate import locate
from grids.models import GridKind, GridLevel
from tests.grids.factories import make_grid, superuser
from tests.properties.common import PROPERTIES

lngs = st.floats(min_value=-179.0, max_value=179.0, allow_nan=False)
lats = st.floats(min_value=-89.0, max_value=89.0, allow_nan=False)
sizes = st.floats(min_value=1e-4, max_value=1.0, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False, exclude_max=True)


@st.composite
def boxes(draw) -> tuple[float, float, float, float]:
    """(min_lng, min_lat, max_lng, max_lat) of a grid-sized rectangle."""
    min_lng, min_lat = draw(lngs), draw(lats)
    return min_lng, min_lat, min_lng + draw(sizes), min_lat + draw(sizes)


def polygons(box) -> list:
    return geometry.parse_boundary(geometry.rectangle(*box))


def between(low: float, high: float, fraction: float) -> float:
    """A value in ``[low, high)``."""
    value = low + (high - low) * fraction
    return value if value < high else low


@PROPERTIES
@given(boxes(), fractions, fractions)
def test_a_point_of_the_half_open_rectangle_is_inside(box, fx, fy):
    min_lng, min_lat, max_lng, max_lat = box
    lng, lat = between(min_lng, max_lng, fx), between(min_lat, max_lat, fy)
    assert geometry.contains(polygons(box), lat, lng)


@PROPERTIES
@given(boxes(), lngs, lats)
def test_a_point_outside_the_rectangle_is_outside(box, lng, lat):
    min_lng, min_lat, max_lng, max_lat = box
    assume(not (min_lng <= lng < max_lng and min_lat <= lat < max_lat))
    assert not geometry.contains(polygons(box), lat, lng)


@PROPERTIES
@given(boxes(), fractions)
def test_south_and_west_edges_are_inside_north_and_east_edges_outside(box, f):
    min_lng, min_lat, max_lng, max_lat = box
    lng, lat = between(min_lng, max_lng, f), between(min_lat, max_lat, f)
    shape = polygons(box)
    assert geometry.contains(shape, min_lat, lng)  # south edge
    assert geometry.contains(shape, lat, min_lng)  # west edge
    assert not geometry.contains(shape, max_lat, lng)  # north edge
    assert not geometry.contains(shape, lat, max_lng)  # east edge
    assert geometry.contains(shape, min_lat, min_lng)  # south-west corner only
    assert not geometry.contains(shape, max_lat, max_lng)


@st.composite
def tilings(draw):
    """A rectangle cut into columns and rows at arbitrary positions, and the cells."""
    min_lng, min_lat, max_lng, max_lat = draw(boxes())
    cuts_lng = sorted(
        draw(st.sets(fractions.map(lambda f: between(min_lng, max_lng, f)), max_size=3))
    )
    cuts_lat = sorted(
        draw(st.sets(fractions.map(lambda f: between(min_lat, max_lat, f)), max_size=3))
    )
    xs = sorted({min_lng, *cuts_lng, max_lng})
    ys = sorted({min_lat, *cuts_lat, max_lat})
    cells = [
        (x0, y0, x1, y1) for x0, x1 in itertools.pairwise(xs) for y0, y1 in itertools.pairwise(ys)
    ]
    return (min_lng, min_lat, max_lng, max_lat), xs, ys, cells


@PROPERTIES
@given(tilings(), st.data())
def test_every_point_of_a_tiled_territory_lies_in_exactly_one_tile(tiling, data):
    """Points on the cuts included: shared edges belong to exactly one neighbour."""
    (min_lng, min_lat, max_lng, max_lat), xs, ys, cells = tiling
    on_a_cut = st.sampled_from(xs[:-1]), st.sampled_from(ys[:-1])
    anywhere = (
        fractions.map(lambda f: between(min_lng, max_lng, f)),
        fractions.map(lambda f: between(min_lat, max_lat, f)),
    )
    lng = data.draw(st.one_of(on_a_cut[0], anywhere[0]), label="lng")
    lat = data.draw(st.one_of(on_a_cut[1], anywhere[1]), label="lat")
    holders = [cell for cell in cells if geometry.contains(polygons(cell), lat, lng)]
    assert len(holders) == 1, (lat, lng, holders)


@PROPERTIES
@given(boxes(), fractions, fractions)
def test_a_point_in_a_hole_is_outside(box, fx, fy):
    min_lng, min_lat, max_lng, max_lat = box
    width, height = max_lng - min_lng, max_lat - min_lat
    hole = (
        min_lng + width / 4,
        min_lat + height / 4,
        min_lng + 3 * width / 4,
        min_lat + 3 * height / 4,
    )
    outer = geometry.rectangle(*box)["coordinates"][0]
    inner = geometry.rectangle(*hole)["coordinates"][0]
    shape = geometry.parse_boundary({"type": "Polygon", "coordinates": [outer, inner]})
    lng, lat = between(hole[0], hole[2], fx), between(hole[1], hole[3], fy)
    assume(hole[0] < lng and hole[1] < lat)  # the hole's own south-west edges are its
    assert not geometry.contains(shape, lat, lng)
    assert geometry.contains(shape, min_lat, min_lng)


@PROPERTIES
@given(boxes(), fractions, fractions)
def test_a_point_lies_in_exactly_one_of_two_triangles_sharing_a_diagonal(box, fx, fy):
    """Two grids cut along a slanted line: the crossing of the shared edge is computed
    from both sides, so floating point must not let a point fall into neither or both."""
    min_lng, min_lat, max_lng, max_lat = box
    lower = [[min_lng, min_lat], [max_lng, min_lat], [max_lng, max_lat], [min_lng, min_lat]]
    upper = [[min_lng, min_lat], [max_lng, max_lat], [min_lng, max_lat], [min_lng, min_lat]]
    lng, lat = between(min_lng, max_lng, fx), between(min_lat, max_lat, fy)
    holders = [
        ring
        for ring in (lower, upper)
        if geometry.contains(
            geometry.parse_boundary({"type": "Polygon", "coordinates": [ring]}), lat, lng
        )
    ]
    assert len(holders) == 1


# --- locate ------------------------------------------------------------------------------------

COMMUNITY = (100.0, 30.0, 100.6, 30.4)
COLUMNS = (100.0, 100.2, 100.4, 100.6)
ROWS = (30.0, 30.2, 30.4)


@pytest.fixture
def territory(db):
    """A community tiled by six estates (one of them inactive), a micro grid in one, and
    a department whose boundary covers everything (departments are never located)."""
    county = make_grid(None, GridLevel.COUNTY, box=(99.0, 29.0, 101.0, 31.0))
    township = make_grid(county, GridLevel.TOWNSHIP, box=(99.0, 29.0, 101.0, 31.0))
    community = make_grid(township, GridLevel.COMMUNITY, box=COMMUNITY)
    cells = {}
    for x0, x1 in itertools.pairwise(COLUMNS):
        for y0, y1 in itertools.pairwise(ROWS):
            cells[x0, y0, x1, y1] = make_grid(community, GridLevel.ESTATE, box=(x0, y0, x1, y1))
    micro = make_grid(
        cells[100.0, 30.0, 100.2, 30.2], GridLevel.MICRO, box=(100.0, 30.0, 100.1, 30.1)
    )
    inactive = cells[100.4, 30.2, 100.6, 30.4]
    services.grid_deactivate(actor=superuser(), grid=inactive)
    make_grid(county, GridLevel.TOWNSHIP, kind=GridKind.INDUSTRY, box=(99.0, 29.0, 101.0, 31.0))
    return {
        "county": county,
        "community": community,
        "cells": cells,
        "micro": micro,
        "inactive": inactive,
    }


edges = st.sampled_from(COLUMNS), st.sampled_from(ROWS)


@PROPERTIES
@given(
    st.one_of(st.floats(99.9, 100.7), st.sampled_from(COLUMNS)),
    st.one_of(st.floats(29.9, 30.5), st.sampled_from(ROWS)),
)
def test_locate_finds_the_deepest_active_grid_holding_the_point(territory, lng, lat):
    def holds(box) -> bool:
        return geometry.contains(polygons(box), lat, lng)

    if holds((100.0, 30.0, 100.1, 30.1)):
        expected = territory["micro"]
    else:
        active = [
            grid
            for box, grid in territory["cells"].items()
            if grid.pk != territory["inactive"].pk and holds(box)
        ]
        assert len(active) <= 1
        expected = active[0] if active else (territory["community"] if holds(COMMUNITY) else None)
    found = locate(lat, lng)
    if expected is None:  # outside the community: the township or county takes it
        assert found is None or found.level in (GridLevel.TOWNSHIP, GridLevel.COUNTY)
        assert found is None or found.kind != GridKind.INDUSTRY
    else:
        assert found is not None
        assert found.pk == expected.pk
