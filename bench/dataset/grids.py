"""The county's grid tree, built in memory and written in one bulk load.

Five administrative levels (county › townships › communities › estates › micro grids),
industry grids (departments) under the county and dedicated grids under each township,
every territorial grid with a GeoJSON boundary cut from its parent's box (the same tiling
as the demo: children nest exactly and never overlap). Each boundary is a rectangle whose
edges carry extra vertices, so the point-in-polygon test works on polygons of realistic
size (17 positions) rather than on four corners.

The nested-set bounds are computed here in one depth-first pass, with siblings in code
order as django-mptt's ``order_insertion_by`` keeps them; ``grids.tree_check.check_tree``
verifies the result after the load.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from bench.loader import Ids, Loader
from bench.scales import Scale
from grids.demo import PRECISION, Rect
from grids.models import Grid, GridKind, GridLevel

COUNTY_CODE = "990001"
COUNTY_SEAT = (109.0, 35.0)  # (lng, lat)
COUNTY_HALF_SIZE = 0.5
EDGE_POINTS = 4  # segments per edge of a boundary: 16 corners and intermediate points
DEDICATED_SHARE = 0.15
DEDICATED_KINDS = ("学校", "市场", "医院", "工业园", "车站")
DEPARTMENTS = ("公安局", "市场监管局", "住建局", "城管局", "生态环境局", "水务局", "卫健委")


@dataclass
class Node:
    id: int
    code: str
    name: str
    kind: str
    level: str
    parent: Node | None
    rect: Rect | None
    children: list[Node] = field(default_factory=list)
    depth: int = 0
    lft: int = 0
    rght: int = 0
    tree_id: int = 0

    def contains(self, other: Node) -> bool:
        return self.lft <= other.lft and other.rght <= self.rght


@dataclass
class Tree:
    county: Node
    townships: list[Node]
    communities: list[Node]
    estates: list[Node]
    micro: list[Node]
    industry: list[Node]
    dedicated: list[Node]

    @property
    def territorial(self) -> list[Node]:
        return [n for n in self.all() if n.kind != GridKind.INDUSTRY]

    def all(self) -> list[Node]:
        found, stack = [], [self.county]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(node.children)
        return found

    def community_of(self, node: Node) -> Node | None:
        while node is not None and node.level != GridLevel.COMMUNITY:
            node = node.parent
        return node


def boundary(rect: Rect) -> dict:
    """A GeoJSON Polygon of ``rect`` with ``EDGE_POINTS`` segments on each edge."""

    def edge(a: tuple[float, float], b: tuple[float, float]) -> list[list[float]]:
        return [
            [
                round(a[0] + (b[0] - a[0]) * i / EDGE_POINTS, PRECISION),
                round(a[1] + (b[1] - a[1]) * i / EDGE_POINTS, PRECISION),
            ]
            for i in range(EDGE_POINTS)
        ]

    sw = (rect.min_lng, rect.min_lat)
    se = (rect.max_lng, rect.min_lat)
    ne = (rect.max_lng, rect.max_lat)
    nw = (rect.min_lng, rect.max_lat)
    ring = edge(sw, se) + edge(se, ne) + edge(ne, nw) + edge(nw, sw)
    ring.append(list(ring[0]))
    return {"type": "Polygon", "coordinates": [ring]}


def _micro_counts(scale: Scale, estates: int, rng: random.Random) -> list[int]:
    low = int(scale.micro_per_estate)
    extra = round(estates * (scale.micro_per_estate - low))
    counts = [low + (1 if i < extra else 0) for i in range(estates)]
    rng.shuffle(counts)
    return counts


def plan(scale: Scale, ids: Ids, rng: random.Random) -> Tree:
    """The tree in memory, ids reserved, bounds computed."""

    def node(code, name, kind, level, parent, rect) -> Node:
        made = Node(ids.take(Grid), code, name, kind, level, parent, rect)
        if parent is not None:
            parent.children.append(made)
        return made

    county_rect = Rect.around(*COUNTY_SEAT, COUNTY_HALF_SIZE)
    county = node(
        COUNTY_CODE, "基准县", GridKind.ADMINISTRATIVE, GridLevel.COUNTY, None, county_rect
    )
    tree = Tree(county, [], [], [], [], [], [])
    for number in range(1, scale.industry + 1):
        name = f"县{DEPARTMENTS[(number - 1) % len(DEPARTMENTS)]}{number}"
        tree.industry.append(
            node(
                f"{COUNTY_CODE}-HY-{number:02d}",
                name,
                GridKind.INDUSTRY,
                GridLevel.TOWNSHIP,
                county,
                None,
            )
        )
    micro_counts = iter(_micro_counts(scale, scale.estates, rng))
    for t, t_rect in enumerate(county_rect.tiles(scale.townships), start=1):
        t_code = f"{COUNTY_CODE}-T{t:02d}"
        township = node(
            t_code, f"第{t}镇", GridKind.ADMINISTRATIVE, GridLevel.TOWNSHIP, county, t_rect
        )
        tree.townships.append(township)
        west, east = t_rect.split_east(DEDICATED_SHARE)
        for d, d_rect in enumerate(east.rows(scale.dedicated_per_township), start=1):
            kind = DEDICATED_KINDS[(d - 1) % len(DEDICATED_KINDS)]
            tree.dedicated.append(
                node(
                    f"{t_code}-Z{d:02d}",
                    f"第{t}镇{kind}{d}",
                    GridKind.DEDICATED,
                    GridLevel.COMMUNITY,
                    township,
                    d_rect.middle(),
                )
            )
        for c, c_rect in enumerate(west.tiles(scale.communities_per_township), start=1):
            c_code = f"{t_code}-C{c:02d}"
            community = node(
                c_code,
                f"第{t}镇第{c}社区",
                GridKind.ADMINISTRATIVE,
                GridLevel.COMMUNITY,
                township,
                c_rect,
            )
            tree.communities.append(community)
            for e, e_rect in enumerate(c_rect.tiles(scale.estates_per_community), start=1):
                e_code = f"{c_code}-E{e:02d}"
                estate = node(
                    e_code,
                    f"{community.name}第{e}小区",
                    GridKind.ADMINISTRATIVE,
                    GridLevel.ESTATE,
                    community,
                    e_rect,
                )
                tree.estates.append(estate)
                for m, m_rect in enumerate(e_rect.tiles(next(micro_counts)), start=1):
                    tree.micro.append(
                        node(
                            f"{e_code}-M{m:02d}",
                            f"{estate.name}第{m}微网格",
                            GridKind.ADMINISTRATIVE,
                            GridLevel.MICRO,
                            estate,
                            m_rect,
                        )
                    )
    _number(county, tree_id=_next_tree_id())
    return tree


def _next_tree_id() -> int:
    top = Grid.objects.order_by("-tree_id").values_list("tree_id", flat=True).first()
    return (top or 0) + 1


def _number(root: Node, *, tree_id: int) -> None:
    """Nested-set bounds and depth in one iterative depth-first pass, siblings by code."""
    counter = 1
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    while stack:
        current, depth, closing = stack.pop()
        if closing:
            current.rght = counter
            counter += 1
            continue
        current.lft, current.depth, current.tree_id = counter, depth, tree_id
        counter += 1
        stack.append((current, depth, True))
        for child in sorted(current.children, key=lambda n: n.code, reverse=True):
            stack.append((child, depth + 1, False))


def load(tree: Tree, loader: Loader, now: datetime.datetime) -> None:
    names = [
        "id",
        "name",
        "code",
        "kind",
        "level",
        "parent_id",
        "boundary",
        "min_lat",
        "max_lat",
        "min_lng",
        "max_lng",
        "is_active",
        "created_at",
        "updated_at",
        "tree_id",
        "lft",
        "rght",
        "depth",
    ]

    def rows():
        for n in sorted(tree.all(), key=lambda n: n.id):
            r = n.rect
            yield (
                n.id,
                n.name,
                n.code,
                n.kind,
                n.level,
                n.parent.id if n.parent else None,
                boundary(r) if r else None,
                r.min_lat if r else None,
                r.max_lat if r else None,
                r.min_lng if r else None,
                r.max_lng if r else None,
                True,
                now,
                now,
                n.tree_id,
                n.lft,
                n.rght,
                n.depth,
            )

    loader.load(Grid, names, rows())
