"""Demo data for ``manage.py seed_demo``: the five seed places of DOMAIN.md as grid trees.

Why it exists: whoever tries the software (a developer, a reviewer, a community looking
at it) needs the five communities it is built for, at their real sizes, to click
through; screens and dashboards need the same shapes to be judged. Every grid,
assignment and party organization is written through ``grids.services``, so the demo
takes the production path (placement rules, tree lock, nested-set bounds) and a rule the
real communities cannot live with shows up here first.

The places. Sizes come from the seed articles; names the seeds do not give (most estates,
the dedicated grids, all people) are invented but plausible. Codes are the real 6-digit
county division codes plus invented suffixes (three digits for the township, three for
the community, as statistical codes have, then ``-N`` per inner level), so every code is
unique and at most 32 characters.

* Delê (seed 000): 曲麻莱县 › 约改镇 › 德勒社区 › 4 first-level › 18 second-level › 36
  third-level grids. First and second level are nested estate grids, third level micro
  grids; the 18 are spread 5+5+4+4 over the first level, two third-level grids each.
* Jigong (seed 001): 察隅县 › 竹瓦根镇 › 吉公社区. Decision: the 8 basic grids (基础网格)
  are the community's first-level estate grids and the 11 estates (小区) nest inside them
  as estate grids (2+2+2+1+1+1+1+1): a basic grid is one worker's patch and covers one
  or more whole estates, while an estate is where residents live and meet. The 170
  linked-household units (联户单位) are micro grids under the estates (16 in each of the
  first five, 15 in the other six). The 7 dedicated grids hang under 竹瓦根镇 at community
  level, as the placement rules require.
* Xiangning (seed 002): 乡宁县 with its 42 industry grids (10 party/legal, 28 government,
  1 institution, 3 mass organizations; the category is the letter after ``-HY-`` in the
  code: P, G, I, M; they carry the township level, the first one below the county);
  townships 昌宁镇, 台头镇 and 枣岭乡 (all named in the seed); 昌宁镇 › 幸福湾社区 › 29
  estates and 5 villages (estate level, named …村), with micro grids under the first
  eight estates (7 under the first, as the seed's lead household runs 7 micro-grid
  workers, 4 under each of the next seven) and 3 under each village; 5 dedicated grids
  under 昌宁镇.
* Baijiantan (seed 003): 克拉玛依市白碱滩区 › 中兴路街道 (跃进社区, 钻井社区), 三平路街道
  (振兴社区), 金龙镇街道 (油龙社区) › 59 grids at estate level (15+15+15+14). The seed
  counts 59 grids for the whole district and names only these four communities, so the
  59 are spread over them.
* Wenyuan (seed 004): 达拉特旗 › 西园街道 › 文苑社区 › 14 grids at estate level.

Party organizations follow each seed's chain: Delê 镇党委 › 社区党支部 › one group per
first-level grid; Jigong 镇党委 › 社区党委 › a branch per basic grid › a group per estate
(微网格党小组); Xiangning 镇党委 › 社区党委 › a branch per estate and village ("支部建在网格上");
Baijiantan 区委 › 街道党工委 › 社区党总支 › a branch per grid › a building group per grid
(the seed's four levels; the fourth, 党员中心户, is a household, not an organization);
Wenyuan 街道党工委 › 社区党委 › 14 grid branches › 30 building groups (3 under each of the
first two grids, 2 under the others).

Boundaries: each root is a box of ±0.2° around its real seat; children are cut from
their parent's box so they nest exactly and never overlap: an only child takes the
middle half of its parent (a town is a small part of its county), several children tile
it in rows and columns with nothing left over. A township with dedicated grids keeps its
eastern fifth for them, each one the middle of its own band. Industry grids have none.

Idempotence: every object is looked up first (grids by code, users by username, party
organizations by name, kind, grid and parent, assignments by user, grid and role) and
only what is missing is created; existing rows, passwords included, are never touched.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from grids import services
from grids.geometry import rectangle
from grids.models import (
    AssignmentRole,
    Grid,
    GridAssignment,
    GridKind,
    GridLevel,
    PartyOrganization,
    PartyOrganizationKind,
)

DEMO_PASSWORD = "demo-2026"
ADMIN_USERNAME = "admin"
ROOT_HALF_SIZE = 0.2  # degrees each side of a root's seat
DEDICATED_SHARE = 0.2  # the eastern part of a township kept for its dedicated grids
PRECISION = 6  # decimals of a coordinate (about 0.1 m)

ADMINISTRATIVE = GridKind.ADMINISTRATIVE
INDUSTRY = GridKind.INDUSTRY
DEDICATED = GridKind.DEDICATED
COUNTY = GridLevel.COUNTY
TOWNSHIP = GridLevel.TOWNSHIP
COMMUNITY = GridLevel.COMMUNITY
ESTATE = GridLevel.ESTATE
MICRO = GridLevel.MICRO
COMMITTEE = PartyOrganizationKind.COMMITTEE
GENERAL_BRANCH = PartyOrganizationKind.GENERAL_BRANCH
BRANCH = PartyOrganizationKind.BRANCH
GROUP = PartyOrganizationKind.GROUP

Log = Callable[[str], None]

if TYPE_CHECKING:
    from governance.accounts.models import User


class DemoError(Exception):
    """The database holds something the demo cannot build on (it never overwrites)."""


# --- boxes ------------------------------------------------------------------------------


def _spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts that differ by at most one, larger first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _cuts(start: float, end: float, parts: int) -> list[float]:
    """``parts + 1`` rounded cut positions from ``start`` to ``end``, ends exact.

    Neighbours take the same rounded cut, so they share an edge and never overlap.
    """
    inner = [round(start + (end - start) * i / parts, PRECISION) for i in range(1, parts)]
    return [start, *inner, end]


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in degrees; children are cut from it so they nest exactly."""

    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    @classmethod
    def around(cls, lng: float, lat: float, half: float) -> Rect:
        return cls(
            round(lng - half, PRECISION),
            round(lat - half, PRECISION),
            round(lng + half, PRECISION),
            round(lat + half, PRECISION),
        )

    def geojson(self) -> dict:
        return rectangle(self.min_lng, self.min_lat, self.max_lng, self.max_lat)

    def middle(self) -> Rect:
        """The central half in each direction: where an only child sits in its parent."""
        lngs = _cuts(self.min_lng, self.max_lng, 4)
        lats = _cuts(self.min_lat, self.max_lat, 4)
        return Rect(lngs[1], lats[1], lngs[3], lats[3])

    def split_east(self, share: float) -> tuple[Rect, Rect]:
        """The box cut by a meridian: the west part and the eastern ``share``."""
        cut = round(self.max_lng - (self.max_lng - self.min_lng) * share, PRECISION)
        west = Rect(self.min_lng, self.min_lat, cut, self.max_lat)
        return west, Rect(cut, self.min_lat, self.max_lng, self.max_lat)

    def rows(self, count: int) -> list[Rect]:
        """``count`` bands, north to south (the order a map is read in)."""
        lats = _cuts(self.max_lat, self.min_lat, count)
        return [Rect(self.min_lng, lats[i + 1], self.max_lng, lats[i]) for i in range(count)]

    def columns(self, count: int) -> list[Rect]:
        """``count`` bands, west to east."""
        lngs = _cuts(self.min_lng, self.max_lng, count)
        return [Rect(lngs[i], self.min_lat, lngs[i + 1], self.max_lat) for i in range(count)]

    def tiles(self, count: int) -> list[Rect]:
        """``count`` boxes covering this one: about √count rows, each cut into columns."""
        if count <= 0:
            return []
        sizes = _spread(count, max(1, round(math.sqrt(count))))
        bands = self.rows(len(sizes))
        return [
            cell for band, size in zip(bands, sizes, strict=True) for cell in band.columns(size)
        ]


# --- what the places are made of --------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A grid to build; ``tier`` is what the progress output calls its kind (plural)."""

    code: str
    name: str
    level: str
    tier: str
    kind: str = ADMINISTRATIVE
    children: tuple[Node, ...] = ()


@dataclass(frozen=True)
class PartyNode:
    """A party organization to build, on the grid with ``grid_code``."""

    name: str
    kind: str
    grid_code: str
    secretary: str = ""  # username of its secretary, if the demo names one
    children: tuple[PartyNode, ...] = ()


@dataclass(frozen=True)
class Account:
    username: str
    full_name: str
    role: str
    grid_code: str


@dataclass(frozen=True)
class Place:
    key: str
    title: str
    seat: tuple[float, float]  # (lng, lat) the root's box is centred on
    root: Node
    party: PartyNode
    accounts: tuple[Account, ...]

    @property
    def box(self) -> Rect:
        return Rect.around(*self.seat, ROOT_HALF_SIZE)


ROLE_BY_SUFFIX: dict[str, str] = {
    "staff": AssignmentRole.COMMUNITY_STAFF,
    "leader": AssignmentRole.GRID_LEADER,
    "worker": AssignmentRole.FULL_TIME_WORKER,
    "parttime": AssignmentRole.PART_TIME_WORKER,
    "unithead": AssignmentRole.UNIT_HEAD,
    "secretary": AssignmentRole.PARTY_SECRETARY,
    "district": AssignmentRole.DISTRICT_LEADER,
    "liaison": AssignmentRole.DEPARTMENT_LIAISON,
}


def _accounts(key: str, people: Sequence[tuple[str, str, str]]) -> tuple[Account, ...]:
    """Accounts from (suffix, full name, grid code); the suffix names the role."""
    return tuple(
        Account(f"{key}_{suffix}", full_name, ROLE_BY_SUFFIX[suffix], grid_code)
        for suffix, full_name, grid_code in people
    )


def _cn(number: int) -> str:
    """A Chinese numeral for 1–99, as in 第十四网格."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(number, 10)
    if tens == 0:
        return digits[ones]
    head = "十" if tens == 1 else f"{digits[tens]}十"
    return head + (digits[ones] if ones else "")


# --- Delê (seed 000) --------------------------------------------------------------------

DELE_COMMUNITY = "632726100001"
DELE_FIRST, DELE_SECOND, DELE_THIRD = 4, 18, 36


def _dele_second(first_code: str, i: int, j: int) -> Node:
    code = f"{first_code}-{j}"
    thirds = tuple(
        Node(f"{code}-{k}", f"三级网格{i}-{j}-{k}", MICRO, "third-level grids")
        for k in range(1, DELE_THIRD // DELE_SECOND + 1)
    )
    return Node(code, f"二级网格{i}-{j}", ESTATE, "second-level grids", children=thirds)


def _dele_first(i: int, seconds: int) -> Node:
    code = f"{DELE_COMMUNITY}-{i}"
    children = tuple(_dele_second(code, i, j) for j in range(1, seconds + 1))
    return Node(code, f"一级网格{i}", ESTATE, "first-level grids", children=children)


def _dele() -> Place:
    firsts = tuple(
        _dele_first(i, seconds)
        for i, seconds in enumerate(_spread(DELE_SECOND, DELE_FIRST), start=1)
    )
    community = Node(DELE_COMMUNITY, "德勒社区", COMMUNITY, "communities", children=firsts)
    town = Node("632726100", "约改镇", TOWNSHIP, "townships", children=(community,))
    root = Node("632726", "曲麻莱县", COUNTY, "counties", children=(town,))
    groups = tuple(PartyNode(f"{f.name}党小组", GROUP, f.code) for f in firsts)
    branch = PartyNode(
        "德勒社区党支部", BRANCH, DELE_COMMUNITY, secretary="dele_secretary", children=groups
    )
    party = PartyNode("约改镇党委", COMMITTEE, town.code, children=(branch,))
    first = f"{DELE_COMMUNITY}-1"
    accounts = _accounts(
        "dele",
        [
            ("staff", "才仁卓玛", DELE_COMMUNITY),
            ("leader", "扎西多杰", first),
            ("worker", "索南措毛", f"{first}-1-1"),
            ("parttime", "旦正加", f"{first}-1-2"),
            ("unithead", "尼玛才让", f"{first}-1-1"),
            ("secretary", "更尕江才", DELE_COMMUNITY),
            ("district", "李建华", "632726"),
        ],
    )
    title = "Delê: 曲麻莱县 › 约改镇 › 德勒社区 (seed 000)"
    return Place("dele", title, (95.80, 34.13), root, party, accounts)


# --- Jigong (seed 001) ------------------------------------------------------------------

JIGONG_TOWN = "540425100"
JIGONG_COMMUNITY = "540425100001"
JIGONG_ESTATES = (
    "同庆小区",  # named in the seed
    "吉祥小区",
    "团结小区",
    "康乐小区",
    "幸福小区",
    "阳光小区",
    "和谐小区",
    "兴边小区",
    "雪域小区",
    "安居小区",
    "竹瓦小区",
)
JIGONG_ESTATES_PER_BASIC = (2, 2, 2, 1, 1, 1, 1, 1)  # 8 basic grids, 11 estates
JIGONG_UNITS = 170
JIGONG_DEDICATED = (
    "竹瓦根镇中心小学",
    "察隅县中学",
    "察隅县人民医院",
    "竹瓦根农贸市场",
    "察隅县客运站",
    "察隅县农畜产品加工园区",
    "竹瓦根镇敬老院",
)


def _jigong_estate(basic_code: str, j: int, name: str, units: int) -> Node:
    code = f"{basic_code}-{j}"
    children = tuple(
        Node(f"{code}-{k:02d}", f"{name}联户单位{k}", MICRO, "linked-household units")
        for k in range(1, units + 1)
    )
    return Node(code, name, ESTATE, "estates", children=children)


def _jigong_basic_grids() -> tuple[Node, ...]:
    units = iter(_spread(JIGONG_UNITS, len(JIGONG_ESTATES)))
    names = iter(JIGONG_ESTATES)
    basics = []
    for i, estate_count in enumerate(JIGONG_ESTATES_PER_BASIC, start=1):
        code = f"{JIGONG_COMMUNITY}-{i}"
        estates = tuple(
            _jigong_estate(code, j, next(names), next(units)) for j in range(1, estate_count + 1)
        )
        basics.append(Node(code, f"第{_cn(i)}基础网格", ESTATE, "basic grids", children=estates))
    return tuple(basics)


def _dedicated(town_code: str, names: Sequence[str]) -> tuple[Node, ...]:
    return tuple(
        Node(f"{town_code}-ZS{i}", name, COMMUNITY, "dedicated grids", kind=DEDICATED)
        for i, name in enumerate(names, start=1)
    )


def _jigong_party(basics: Sequence[Node]) -> PartyNode:
    branches = tuple(
        PartyNode(
            f"{basic.name}党支部",
            BRANCH,
            basic.code,
            children=tuple(PartyNode(f"{e.name}党小组", GROUP, e.code) for e in basic.children),
        )
        for basic in basics
    )
    community = PartyNode(
        "吉公社区党委", COMMITTEE, JIGONG_COMMUNITY, secretary="jigong_secretary", children=branches
    )
    return PartyNode("竹瓦根镇党委", COMMITTEE, JIGONG_TOWN, children=(community,))


def _jigong() -> Place:
    basics = _jigong_basic_grids()
    community = Node(JIGONG_COMMUNITY, "吉公社区", COMMUNITY, "communities", children=basics)
    dedicated = _dedicated(JIGONG_TOWN, JIGONG_DEDICATED)
    town = Node(JIGONG_TOWN, "竹瓦根镇", TOWNSHIP, "townships", children=(community, *dedicated))
    root = Node("540425", "察隅县", COUNTY, "counties", children=(town,))
    estate = f"{JIGONG_COMMUNITY}-1-1"  # 同庆小区
    accounts = _accounts(
        "jigong",
        [
            ("staff", "格桑曲珍", JIGONG_COMMUNITY),
            ("leader", "次仁多吉", f"{JIGONG_COMMUNITY}-1"),
            ("worker", "德吉央宗", estate),
            ("parttime", "张小勇", f"{estate}-01"),
            ("unithead", "白玛旺堆", f"{estate}-02"),
            ("secretary", "王志刚", JIGONG_COMMUNITY),
            ("district", "扎西平措", "540425"),
        ],
    )
    title = "Jigong: 察隅县 › 竹瓦根镇 › 吉公社区 (seed 001)"
    return Place("jigong", title, (97.47, 28.66), root, _jigong_party(basics), accounts)


# --- Xiangning (seed 002) ---------------------------------------------------------------

XIANGNING = "141029"
XIANGNING_TOWN = "141029100"
XINGFUWAN = "141029100001"
# 42 industry grids (行业网格), by the seed's four categories; the letter goes in the code.
XIANGNING_INDUSTRY: dict[str, tuple[str, ...]] = {
    "P": (  # 党委和法检部门: 10
        "乡宁县纪委监委",
        "中共乡宁县委办公室",
        "中共乡宁县委组织部",
        "中共乡宁县委宣传部",
        "中共乡宁县委统战部",
        "中共乡宁县委政法委员会",
        "中共乡宁县委网信办",
        "中共乡宁县委社会工作部",
        "乡宁县人民法院",
        "乡宁县人民检察院",
    ),
    "G": (  # 政府部门: 28
        "乡宁县人民政府办公室",
        "乡宁县发展和改革局",
        "乡宁县教育科技局",
        "乡宁县工业和信息化局",
        "乡宁县公安局",
        "乡宁县民政局",
        "乡宁县司法局",
        "乡宁县财政局",
        "乡宁县人力资源和社会保障局",
        "乡宁县自然资源局",
        "临汾市生态环境局乡宁分局",
        "乡宁县住房和城乡建设管理局",
        "乡宁县交通运输局",
        "乡宁县水利局",
        "乡宁县农业农村局",
        "乡宁县商务局",
        "乡宁县文化和旅游局",
        "乡宁县卫生健康和体育局",
        "乡宁县退役军人事务局",
        "乡宁县应急管理局",
        "乡宁县审计局",
        "乡宁县市场监督管理局",
        "乡宁县统计局",
        "乡宁县医疗保障局",
        "乡宁县能源局",
        "乡宁县行政审批服务管理局",
        "乡宁县信访局",
        "乡宁县城市管理局",
    ),
    "I": ("乡宁县智慧城市中心",),  # 事业单位: 1 (the seed's hub of the one network)
    "M": ("乡宁县总工会", "共青团乡宁县委", "乡宁县妇女联合会"),  # 群团组织: 3
}
XIANGNING_CATEGORY_TIER = {
    "P": "industry grids (party/legal)",
    "G": "industry grids (government)",
    "I": "industry grids (institution)",
    "M": "industry grids (mass organization)",
}
XINGFUWAN_ESTATES = (
    "幸福湾小区",
    "鄂河苑",
    "滨河花园",
    "昌宁新苑",
    "锦绣家园",
    "金泰花园",
    "阳光小区",
    "馨苑小区",
    "安居小区",
    "和谐家园",
    "福苑小区",
    "康乐小区",
    "怡馨苑",
    "翠苑小区",
    "新华小区",
    "焦煤家属院",
    "教育小区",
    "医院家属院",
    "供电小区",
    "粮食局家属院",
    "水利小区",
    "龙城名苑",
    "瑞景园",
    "书香苑",
    "盛世华庭",
    "鑫源小区",
    "文化苑",
    "世纪花园",
    "东方明珠小区",
)
XINGFUWAN_VILLAGES = ("东关村", "西坡村", "南坡村", "北关村", "下庄村")
XINGFUWAN_ESTATE_MICROS = (7, 4, 4, 4, 4, 4, 4, 4)  # the first eight estates
XINGFUWAN_VILLAGE_MICROS = 3
XIANGNING_DEDICATED = (
    "乡宁县第一中学",
    "昌宁镇第一小学",
    "乡宁县人民医院",
    "昌宁农贸市场",
    "乡宁县汽车客运站",
)


def _xiangning_industry() -> tuple[Node, ...]:
    return tuple(
        Node(
            f"{XIANGNING}-HY-{letter}{i:02d}",
            name,
            TOWNSHIP,
            XIANGNING_CATEGORY_TIER[letter],
            kind=INDUSTRY,
        )
        for letter, names in XIANGNING_INDUSTRY.items()
        for i, name in enumerate(names, start=1)
    )


def _micros(parent_code: str, parent_name: str, count: int) -> tuple[Node, ...]:
    return tuple(
        Node(f"{parent_code}-{k}", f"{parent_name}微网格{k}", MICRO, "micro grids")
        for k in range(1, count + 1)
    )


def _xingfuwan_parts() -> tuple[Node, ...]:
    micro_counts = list(XINGFUWAN_ESTATE_MICROS)
    micro_counts += [0] * (len(XINGFUWAN_ESTATES) - len(micro_counts))
    estates = tuple(
        Node(
            f"{XINGFUWAN}-E{i:02d}",
            name,
            ESTATE,
            "estates",
            children=_micros(f"{XINGFUWAN}-E{i:02d}", name, micros),
        )
        for i, (name, micros) in enumerate(zip(XINGFUWAN_ESTATES, micro_counts, strict=True), 1)
    )
    villages = tuple(
        Node(
            f"{XINGFUWAN}-V{i}",
            name,
            ESTATE,
            "villages",
            children=_micros(f"{XINGFUWAN}-V{i}", name, XINGFUWAN_VILLAGE_MICROS),
        )
        for i, name in enumerate(XINGFUWAN_VILLAGES, start=1)
    )
    return estates + villages


def _xiangning_party(parts: Sequence[Node]) -> PartyNode:
    branches = tuple(
        PartyNode(
            f"{p.name}党支部" if p.name.endswith("村") else f"{p.name}网格党支部", BRANCH, p.code
        )
        for p in parts
    )
    community = PartyNode(
        "幸福湾社区党委", COMMITTEE, XINGFUWAN, secretary="xiangning_secretary", children=branches
    )
    return PartyNode("昌宁镇党委", COMMITTEE, XIANGNING_TOWN, children=(community,))


def _xiangning() -> Place:
    parts = _xingfuwan_parts()
    community = Node(XINGFUWAN, "幸福湾社区", COMMUNITY, "communities", children=parts)
    dedicated = _dedicated(XIANGNING_TOWN, XIANGNING_DEDICATED)
    towns = (
        Node(XIANGNING_TOWN, "昌宁镇", TOWNSHIP, "townships", children=(community, *dedicated)),
        Node("141029101", "台头镇", TOWNSHIP, "townships"),
        Node("141029200", "枣岭乡", TOWNSHIP, "townships"),
    )
    root = Node(XIANGNING, "乡宁县", COUNTY, "counties", children=(*_xiangning_industry(), *towns))
    estate = f"{XINGFUWAN}-E01"  # 幸福湾小区
    accounts = _accounts(
        "xiangning",
        [
            ("staff", "李静", XINGFUWAN),
            ("leader", "王建军", estate),
            ("worker", "张丽娜", f"{estate}-1"),
            ("parttime", "刘红梅", f"{estate}-2"),
            ("unithead", "赵桂兰", f"{estate}-1"),
            ("secretary", "郭晓燕", XINGFUWAN),
            ("district", "杨志强", XIANGNING),
            ("liaison", "陈磊", f"{XIANGNING}-HY-G05"),  # 乡宁县公安局
        ],
    )
    title = "Xiangning: 乡宁县 › 昌宁镇 › 幸福湾社区 (seed 002)"
    return Place("xiangning", title, (110.84, 35.97), root, _xiangning_party(parts), accounts)


# --- Baijiantan (seed 003) --------------------------------------------------------------

BAIJIANTAN = "650204"
BAIJIANTAN_GRIDS = 59
# (subdistrict code, name, ((community code, name), ...)), as seed 003 places them.
BAIJIANTAN_SUBDISTRICTS = (
    ("650204001", "中兴路街道", (("650204001001", "跃进社区"), ("650204001002", "钻井社区"))),
    ("650204002", "三平路街道", (("650204002001", "振兴社区"),)),
    ("650204003", "金龙镇街道", (("650204003001", "油龙社区"),)),
)


def _baijiantan_community(code: str, name: str, grids: int) -> Node:
    children = tuple(
        Node(f"{code}-{k:02d}", f"{name}第{k}网格", ESTATE, "grids") for k in range(1, grids + 1)
    )
    return Node(code, name, COMMUNITY, "communities", children=children)


def _baijiantan_subdistricts() -> tuple[Node, ...]:
    communities = [c for _code, _name, cs in BAIJIANTAN_SUBDISTRICTS for c in cs]
    sizes = dict(zip(communities, _spread(BAIJIANTAN_GRIDS, len(communities)), strict=True))
    return tuple(
        Node(
            code,
            name,
            TOWNSHIP,
            "subdistricts",
            children=tuple(_baijiantan_community(*c, sizes[c]) for c in cs),
        )
        for code, name, cs in BAIJIANTAN_SUBDISTRICTS
    )


def _baijiantan_branch(grid: Node) -> PartyNode:
    group = PartyNode(f"{grid.name}楼宇党小组", GROUP, grid.code)
    return PartyNode(f"{grid.name}党支部", BRANCH, grid.code, children=(group,))


def _baijiantan_party(subdistricts: Sequence[Node]) -> PartyNode:
    committees = tuple(
        PartyNode(
            f"{sub.name}党工委",
            COMMITTEE,
            sub.code,
            children=tuple(
                PartyNode(
                    f"{c.name}党总支",
                    GENERAL_BRANCH,
                    c.code,
                    secretary="baijiantan_secretary" if c.name == "油龙社区" else "",
                    children=tuple(_baijiantan_branch(g) for g in c.children),
                )
                for c in sub.children
            ),
        )
        for sub in subdistricts
    )
    return PartyNode("中共克拉玛依市白碱滩区委员会", COMMITTEE, BAIJIANTAN, children=committees)


def _baijiantan() -> Place:
    subdistricts = _baijiantan_subdistricts()
    root = Node(BAIJIANTAN, "克拉玛依市白碱滩区", COUNTY, "districts", children=subdistricts)
    youlong = "650204003001"
    accounts = _accounts(
        "baijiantan",
        [
            ("staff", "阿依古丽", youlong),
            ("leader", "马新民", f"{youlong}-01"),
            ("worker", "王丽娟", f"{youlong}-01"),
            ("parttime", "买买提·吐尔逊", f"{youlong}-02"),
            ("unithead", "周玉兰", f"{youlong}-01"),
            ("secretary", "刘海燕", youlong),
            ("district", "韩志军", BAIJIANTAN),
        ],
    )
    title = "Baijiantan: 克拉玛依市白碱滩区 (seed 003)"
    party = _baijiantan_party(subdistricts)
    return Place("baijiantan", title, (85.13, 45.69), root, party, accounts)


# --- Wenyuan (seed 004) -----------------------------------------------------------------

WENYUAN_STREET = "150621001"
WENYUAN = "150621001001"
WENYUAN_GRIDS = 14
WENYUAN_GROUPS = 30


def _wenyuan_party(grids: Sequence[Node]) -> PartyNode:
    buildings = iter(range(1, WENYUAN_GROUPS + 1))
    branches = tuple(
        PartyNode(
            f"{grid.name}党支部",
            BRANCH,
            grid.code,
            children=tuple(
                PartyNode(f"{grid.name}{next(buildings)}号楼党小组", GROUP, grid.code)
                for _ in range(groups)
            ),
        )
        for grid, groups in zip(grids, _spread(WENYUAN_GROUPS, len(grids)), strict=True)
    )
    community = PartyNode(
        "文苑社区党委", COMMITTEE, WENYUAN, secretary="wenyuan_secretary", children=branches
    )
    return PartyNode("西园街道党工委", COMMITTEE, WENYUAN_STREET, children=(community,))


def _wenyuan() -> Place:
    grids = tuple(
        Node(f"{WENYUAN}-{k:02d}", f"第{_cn(k)}网格", ESTATE, "grids")
        for k in range(1, WENYUAN_GRIDS + 1)
    )
    community = Node(WENYUAN, "文苑社区", COMMUNITY, "communities", children=grids)
    street = Node(WENYUAN_STREET, "西园街道", TOWNSHIP, "subdistricts", children=(community,))
    root = Node("150621", "达拉特旗", COUNTY, "banners", children=(street,))
    first = f"{WENYUAN}-01"
    accounts = _accounts(
        "wenyuan",
        [
            ("staff", "高娜", WENYUAN),
            ("leader", "巴特尔", first),
            ("worker", "薛强", first),
            ("parttime", "乌云其其格", f"{WENYUAN}-02"),
            ("unithead", "王桂英", first),
            ("secretary", "任丽", WENYUAN),
            ("district", "刘振华", "150621"),
        ],
    )
    title = "Wenyuan: 达拉特旗 › 西园街道 › 文苑社区 (seed 004)"
    return Place("wenyuan", title, (110.03, 40.40), root, _wenyuan_party(grids), accounts)


def places() -> list[Place]:
    """The five seed places, in seed order."""
    return [_dele(), _jigong(), _xiangning(), _baijiantan(), _wenyuan()]


# --- writing ----------------------------------------------------------------------------


@dataclass
class Tally:
    """How many rows this run created: the proof that a second run wrote nothing."""

    grids: int = 0
    party_organizations: int = 0
    users: int = 0
    assignments: int = 0

    @property
    def total(self) -> int:
        return self.grids + self.party_organizations + self.users + self.assignments


@dataclass(frozen=True)
class AccountRow:
    username: str
    password: str
    role: str
    grid: str


@dataclass
class SeedResult:
    created: Tally
    accounts: list[AccountRow] = field(default_factory=list)


class _PasswordHash:
    """The demo password hashed once per run and shared by the new accounts.

    One PBKDF2 run instead of one per user keeps the command fast; a shared salt costs
    nothing when the password is printed for everyone to read anyway.
    """

    def __init__(self) -> None:
        self._value: str | None = None

    def value(self) -> str:
        if self._value is None:
            self._value = make_password(DEMO_PASSWORD)
        return self._value


def silent(_message: str) -> None:
    """The log of a quiet run."""


def _layer_line(label: str, tiers: Counter[str], created: int) -> str:
    parts = ", ".join(f"{tier} {count}" for tier, count in tiers.items())
    return f"  {label}: {parts} ({created} created)"


def _child_boxes(box: Rect | None, children: Sequence[Node]) -> list[Rect | None]:
    """Each child's box cut from its parent's; industry grids (and their subtree) get none."""
    if box is None:
        return [None] * len(children)
    boxes: dict[str, Rect] = {}
    admin = [c for c in children if c.kind == ADMINISTRATIVE]
    dedicated = [c for c in children if c.kind == DEDICATED]
    area = box
    if dedicated:
        area, strip = box.split_east(DEDICATED_SHARE)
        for child, band in zip(dedicated, strip.rows(len(dedicated)), strict=True):
            boxes[child.code] = band.middle()
    cells = [area.middle()] if len(admin) == 1 else area.tiles(len(admin))
    boxes.update((child.code, cell) for child, cell in zip(admin, cells, strict=True))
    return [boxes.get(child.code) for child in children]


def _ensure_grid(
    actor: User, node: Node, parent: Grid | None, box: Rect | None
) -> tuple[Grid, bool]:
    existing = Grid.objects.filter(code=node.code).first()
    if existing is not None:
        return existing, False
    grid = services.grid_create(
        actor=actor,
        parent=parent,
        name=node.name,
        code=node.code,
        level=node.level,
        kind=node.kind,
        boundary=box.geojson() if box else None,
    )
    return grid, True


def _seed_grids(place: Place, actor: User, tally: Tally, log: Log) -> dict[str, Grid]:
    """Build the place's tree breadth-first, so progress comes one depth at a time."""
    grids: dict[str, Grid] = {}
    layer: list[tuple[Node, Grid | None, Rect | None]] = [(place.root, None, place.box)]
    depth = 0
    while layer:
        tiers: Counter[str] = Counter()
        created = 0
        below: list[tuple[Node, Grid | None, Rect | None]] = []
        for node, parent, box in layer:
            grid, new = _ensure_grid(actor, node, parent, box)
            grids[node.code] = grid
            tiers[node.tier] += 1
            created += new
            boxes = _child_boxes(box, node.children)
            below.extend((child, grid, b) for child, b in zip(node.children, boxes, strict=True))
        log(_layer_line(f"grids, depth {depth}", tiers, created))
        tally.grids += created
        layer, depth = below, depth + 1
    return grids


def _ensure_user(account: Account, password: _PasswordHash) -> tuple[User, bool]:
    user_model = get_user_model()
    existing = user_model.objects.filter(username=account.username).first()
    if existing is not None:
        return existing, False
    user = user_model(username=account.username, full_name=account.full_name, is_staff=True)
    user.password = password.value()
    user.save()
    return user, True


def _ensure_assignment(actor: User, user: User, grid: Grid, role: str) -> bool:
    """Give ``user`` the role on ``grid`` unless they already hold it (open-ended)."""
    held = GridAssignment.objects.filter(user=user, grid=grid, role=role, ends_on__isnull=True)
    if held.exists():
        return False
    services.assignment_create(actor=actor, user=user, grid=grid, role=role)
    return True


def _seed_accounts(
    place: Place,
    grids: dict[str, Grid],
    actor: User,
    tally: Tally,
    password: _PasswordHash,
    log: Log,
) -> tuple[dict[str, User], list[AccountRow]]:
    users: dict[str, User] = {}
    rows: list[AccountRow] = []
    new_users = new_assignments = 0
    for account in place.accounts:
        user, created = _ensure_user(account, password)
        grid = grids[account.grid_code]
        new_users += created
        new_assignments += _ensure_assignment(actor, user, grid, account.role)
        users[account.username] = user
        rows.append(
            AccountRow(account.username, DEMO_PASSWORD, account.role, f"{grid.name} ({grid.code})")
        )
    log(
        f"  accounts: {len(place.accounts)} users ({new_users} created), "
        f"{len(place.accounts)} assignments ({new_assignments} created)"
    )
    tally.users += new_users
    tally.assignments += new_assignments
    return users, rows


def _ensure_party(
    actor: User,
    node: PartyNode,
    parent: PartyOrganization | None,
    grids: dict[str, Grid],
    users: dict[str, User],
) -> tuple[PartyOrganization, bool]:
    grid = grids[node.grid_code]
    existing = PartyOrganization.objects.filter(
        name=node.name, kind=node.kind, grid=grid, parent=parent
    ).first()
    if existing is not None:
        return existing, False
    organization = services.party_organization_create(
        actor=actor,
        name=node.name,
        kind=node.kind,
        grid=grid,
        parent=parent,
        secretary=users.get(node.secretary),
    )
    return organization, True


PARTY_TIER: dict[str, str] = {
    COMMITTEE: "committees",
    GENERAL_BRANCH: "general branches",
    BRANCH: "branches",
    GROUP: "groups",
}


def _seed_party(
    place: Place,
    grids: dict[str, Grid],
    users: dict[str, User],
    actor: User,
    tally: Tally,
    log: Log,
) -> None:
    """Build the place's party tree breadth-first, like its grids."""
    layer: list[tuple[PartyNode, PartyOrganization | None]] = [(place.party, None)]
    depth = 0
    while layer:
        tiers: Counter[str] = Counter()
        created = 0
        below: list[tuple[PartyNode, PartyOrganization | None]] = []
        for node, parent in layer:
            organization, new = _ensure_party(actor, node, parent, grids, users)
            tiers[PARTY_TIER[node.kind]] += 1
            created += new
            below.extend((child, organization) for child in node.children)
        log(_layer_line(f"party, depth {depth}", tiers, created))
        tally.party_organizations += created
        layer, depth = below, depth + 1


def _ensure_admin(tally: Tally, password: _PasswordHash) -> User:
    """The superuser every service call acts as; an ``admin`` without the right stops us."""
    user_model = get_user_model()
    admin = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin is None:
        admin = user_model(
            username=ADMIN_USERNAME, full_name="演示管理员", is_staff=True, is_superuser=True
        )
        admin.password = password.value()
        admin.save()
        tally.users += 1
    elif not (admin.is_superuser and admin.is_active):
        raise DemoError(
            f"User {ADMIN_USERNAME!r} exists but is not an active superuser; the demo acts "
            "as that user and will not change it. Rename or promote it, then run again."
        )
    return admin


def seed(*, log: Log = silent) -> SeedResult:
    """Create whatever of the demo is missing; returns what was created and the accounts.

    Each place is one transaction: a failure leaves the places before it complete and
    nothing half-built of its own.
    """
    tally = Tally()
    password = _PasswordHash()
    with transaction.atomic():
        admin = _ensure_admin(tally, password)
    result = SeedResult(tally, [AccountRow(ADMIN_USERNAME, DEMO_PASSWORD, "superuser", "—")])
    for place in places():
        log(place.title)
        with transaction.atomic():
            grids = _seed_grids(place, admin, tally, log)
            users, rows = _seed_accounts(place, grids, admin, tally, password, log)
            _seed_party(place, grids, users, admin, tally, log)
        result.accounts.extend(rows)
    return result
