"""Demo households and residents for the five seed places (``manage.py seed_demo``).

Sizes follow the seeds at ``scale=1`` (Xingfuwan: 7017 households and 22291 people; Wenyuan:
7335 household archives and 319 unit heads; Baijiantan: 59 grids of 300–500 households)
and are scaled down by default so ``make run`` starts in seconds. Where a seed gives no
figure (Delê, Jigong) the size is a plausible one and says so below. Everything is
deterministic (a random generator seeded by the community's code) and written in bulk
with history; a community that already has households is left alone, so a second run
changes nothing.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from grids.models import Grid, GridLevel, PartyOrganization, PartyOrganizationKind
from residents.models import (
    Household,
    KeyGroupTag,
    PartyMember,
    PartyMemberStatus,
    Relation,
    Resident,
    UnitHeadship,
)
from residents.personal_data import check_char
from residents.services import households_refresh_duties

Log = Callable[[str], None]


@dataclass(frozen=True)
class Community:
    code: str
    households: int  # at scale 1
    people_per_household: float
    ethnicities: tuple[tuple[str, int], ...]
    unit_heads: int = 0
    rural: bool = False


COMMUNITIES = (
    # Delê: a pastoral town community on the plateau; the seed gives no household count.
    Community("632726100001", 1200, 3.6, (("藏族", 92), ("汉族", 8)), rural=True),
    # Jigong: 170 linked-household units of about ten households each.
    Community("540425100001", 1700, 3.4, (("藏族", 80), ("汉族", 15), ("门巴族", 5))),
    Community("141029100001", 7017, 22291 / 7017, (("汉族", 100),), unit_heads=120),
    Community("650204001001", 6000, 2.8, (("汉族", 85), ("维吾尔族", 8), ("哈萨克族", 7))),
    Community("650204001002", 6000, 2.8, (("汉族", 85), ("维吾尔族", 8), ("哈萨克族", 7))),
    Community("650204002001", 6000, 2.8, (("汉族", 85), ("维吾尔族", 8), ("哈萨克族", 7))),
    Community("650204003001", 5600, 2.8, (("汉族", 85), ("维吾尔族", 8), ("哈萨克族", 7))),
    Community("150621001001", 7335, 2.9, (("汉族", 88), ("蒙古族", 12)), unit_heads=319),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
TIBETAN_NAMES = ("扎西", "卓玛", "次仁", "央金", "多吉", "拉姆", "格桑", "德吉", "尼玛", "措姆")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文斌宇浩凯秀梅建国志红"
# share of residents carrying each built-in key group, by code
TAG_RATES = {
    "disabled": 0.03,
    "dibao": 0.025,
    "wubao": 0.004,
    "hardship": 0.02,
    "special_group": 0.01,
    "veteran": 0.03,
}
PARTY_RATE = 0.05
LEAD_EVERY = 12  # one party-member lead household looks after the next eleven or so


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def _name(rng: random.Random, ethnicity: str) -> str:
    if ethnicity == "藏族":
        return rng.choice(TIBETAN_NAMES) + rng.choice(TIBETAN_NAMES)[:1]
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


class _Numbers:
    """Valid, unique ID numbers for the demo (region code + birth date + sequence)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.used: set[str] = set()

    def make(self, birth: datetime.date, gender: str, rng: random.Random) -> str:
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "male" else 0)
            first17 = f"{self.region}{birth:%Y%m%d}{seq:03d}"
            number = first17 + check_char(first17)
            if number not in self.used:
                self.used.add(number)
                return number


def _birth(rng: random.Random, today: datetime.date, low: int, high: int) -> datetime.date:
    age_days = rng.randint(low * 365, high * 365)
    return today - datetime.timedelta(days=age_days)


def _family(rng: random.Random, size: int, today: datetime.date) -> list[tuple]:
    """(relation, gender, birth) for a household of ``size``, head first."""
    head_gender = rng.choice(("male", "female"))
    alone_elderly = size == 1 and rng.random() < 0.4
    head_birth = _birth(rng, today, 62 if alone_elderly else 28, 88 if alone_elderly else 75)
    people = [(Relation.HEAD, head_gender, head_birth)]
    if size >= 2:
        spouse_gender = "female" if head_gender == "male" else "male"
        people.append(
            (
                Relation.SPOUSE,
                spouse_gender,
                head_birth + datetime.timedelta(days=rng.randint(-1500, 1500)),
            )
        )
    head_age = (today - head_birth).days // 365
    for _ in range(size - len(people)):
        if head_age > 55 and rng.random() < 0.5:
            people.append(
                (Relation.GRANDCHILD, rng.choice(("male", "female")), _birth(rng, today, 1, 16))
            )
        elif head_age < 55 and rng.random() < 0.2:
            people.append(
                (
                    Relation.PARENT,
                    rng.choice(("male", "female")),
                    _birth(rng, today, head_age + 20, min(head_age + 35, 95)),
                )
            )
        else:
            people.append(
                (
                    Relation.CHILD,
                    rng.choice(("male", "female")),
                    _birth(rng, today, 0, max(head_age - 20, 1)),
                )
            )
    return [(r, g, min(b, today - datetime.timedelta(days=30))) for r, g, b in people]


def _leaf_grids(community: Grid) -> list[Grid]:
    grids = list(
        community.get_descendants().filter(
            level__in=(GridLevel.ESTATE, GridLevel.MICRO), is_active=True
        )
    )
    leaves = [g for g in grids if g.is_leaf_node()]
    return leaves or [community]


def _branch_for(grid: Grid, organizations: list[PartyOrganization]) -> PartyOrganization | None:
    """The party organization on the grid or its nearest ancestor (branches preferred)."""
    best = None
    for org in organizations:
        g = org.grid
        if (
            g.tree_id == grid.tree_id
            and g.lft <= grid.lft
            and grid.rght <= g.rght
            and (
                best is None
                or g.depth > best.grid.depth
                or (g.depth == best.grid.depth and org.kind == PartyOrganizationKind.BRANCH)
            )
        ):
            best = org
    return best


@transaction.atomic
def _seed_community(spec: Community, community: Grid, scale: float, log: Log) -> tuple[int, int]:
    rng = random.Random(spec.code)
    today = timezone.localdate()
    admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    numbers = _Numbers(community.code[:6])
    tags = {t.code: t for t in KeyGroupTag.objects.all()}
    leaves = _leaf_grids(community)
    count = max(len(leaves), round(spec.households * scale))
    households = []
    for i in range(count):
        grid = leaves[i % len(leaves)]
        n = i // len(leaves)
        if spec.rural:
            households.append(Household(grid=grid, address=f"{grid.name}{n + 1}号"))
        else:
            building, rest = divmod(n, 24)
            unit, room = divmod(rest, 8)
            households.append(
                Household(
                    grid=grid,
                    building=str(building + 1),
                    unit=str(unit + 1),
                    room=f"{room // 2 + 1}0{room % 2 + 1}",
                )
            )
    households = bulk_create_with_history(households, Household, batch_size=500, default_user=admin)
    residents, people_tags = [], []
    for household in households:
        size = max(1, min(7, round(rng.gauss(spec.people_per_household, 1.1))))
        for relation, gender, birth in _family(rng, size, today):
            ethnicity = _pick(rng, spec.ethnicities)
            resident = Resident(
                household=household,
                name=_name(rng, ethnicity),
                gender=gender,
                birth_date=birth,
                ethnicity=ethnicity,
                relation=relation,
                phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
                if relation == Relation.HEAD
                else "",
            )
            resident.set_id_number(numbers.make(birth, gender, rng))
            residents.append(resident)
            people_tags.append(_tags_for(rng, resident, size, today, tags))
    residents = bulk_create_with_history(residents, Resident, batch_size=500, default_user=admin)
    through = Resident.tags.through
    through.objects.bulk_create(
        [
            through(resident_id=r.pk, keygrouptag_id=t.pk)
            for r, ts in zip(residents, people_tags, strict=True)
            for t in ts
        ],
        batch_size=1000,
    )
    _party_members(rng, community, residents, today)
    _lead_households(households, residents)
    _unit_heads(spec, scale, households, residents)
    households_refresh_duties({h.pk for h in households})
    return len(households), len(residents)


def _tags_for(rng, resident: Resident, size: int, today, tags) -> list[KeyGroupTag]:
    age = (today - resident.birth_date).days // 365
    chosen = []
    if size == 1 and age >= 60:
        chosen.append(tags["elderly_alone"])
    elif size == 2 and age >= 60 and resident.relation in (Relation.HEAD, Relation.SPOUSE):
        chosen.append(tags["empty_nest"])
    if resident.relation == Relation.GRANDCHILD and age < 16 and rng.random() < 0.3:
        chosen.append(tags["left_behind_child"])
    chosen += [tags[code] for code, rate in TAG_RATES.items() if rng.random() < rate]
    return chosen


def _party_members(rng, community: Grid, residents: list[Resident], today) -> None:
    organizations = list(
        PartyOrganization.objects.filter(
            grid__tree_id=community.tree_id,
            grid__rght__gte=community.lft,
        ).select_related("grid")
    )
    grids = {g.pk: g for g in Grid.objects.filter(pk__in={r.household.grid_id for r in residents})}
    members = []
    for resident in residents:
        age = (today - resident.birth_date).days // 365
        if age < 22 or rng.random() >= PARTY_RATE:
            continue
        organization = _branch_for(grids[resident.household.grid_id], organizations)
        if organization is None:
            continue
        retired = age >= 60
        members.append(
            PartyMember(
                resident=resident,
                organization=organization,
                status=PartyMemberStatus.RETIRED if retired else PartyMemberStatus.IN_SERVICE,
                employer=""
                if retired
                else rng.choice(("县医院", "镇政府", "县供电公司", "中学", "个体经营", "县税务局")),
            )
        )
    PartyMember.objects.bulk_create(members, batch_size=1000)


def _lead_households(households: list[Household], residents: list[Resident]) -> None:
    """Party-member lead households (党员中心户), each looking after the next few."""
    with_member = set(
        PartyMember.objects.filter(resident__household__in=households).values_list(
            "resident__household_id", flat=True
        )
    )
    lead = None
    changed = []
    ordered = sorted(households, key=lambda h: (h.grid_id, h.pk))  # neighbours share a grid
    for index, household in enumerate(ordered):
        if index % LEAD_EVERY == 0:
            lead = household if household.pk in with_member else None
            if lead is not None:
                lead.is_party_lead = True
                changed.append(lead)
            continue
        if lead is not None and household.grid_id == lead.grid_id:
            household.lead_household = lead
            changed.append(household)
    Household.objects.bulk_update(changed, ["is_party_lead", "lead_household"], batch_size=500)


def _unit_heads(spec: Community, scale: float, households, residents) -> None:
    wanted = round(spec.unit_heads * scale)
    if not wanted:
        return
    heads_by_household = {r.household_id: r for r in residents if r.relation == Relation.HEAD}
    seen, headships = set(), []
    for household in households:
        key = (household.grid_id, household.building, household.unit)
        if not household.building or key in seen or household.pk not in heads_by_household:
            continue
        seen.add(key)
        headships.append(
            UnitHeadship(
                resident=heads_by_household[household.pk],
                grid_id=household.grid_id,
                building=household.building,
                unit=household.unit,
            )
        )
        if len(headships) == wanted:
            break
    UnitHeadship.objects.bulk_create(headships)


def seed_residents(*, scale: float, log: Log) -> tuple[int, int]:
    """Households and residents for every demo community that has none yet."""
    total_households = total_people = 0
    for spec in COMMUNITIES:
        community = Grid.objects.filter(code=spec.code).first()
        if community is None:
            continue
        subtree = community.get_descendants(include_self=True)
        if Household.objects.filter(grid__in=subtree).exists():
            log(f"  {community.name}: households already there, left as they are")
            continue
        households, people = _seed_community(spec, community, scale, log)
        log(f"  {community.name}: {households} households, {people} residents")
        total_households += households
        total_people += people
    return total_households, total_people
