"""Households and residents (一户一档) on the micro grids, with key groups and must-visit
duties, written like the real archive: ID numbers valid per GB 11643, encrypted, hashed
and masked by the same code as the services (``Resident.set_id_number``'s pieces).

Families are planned first (sizes, birth dates, tags), so each household's must-visit
interval and due date can be set from its living members before anything is written;
households then go in, then residents, then their tags. History rows are not written:
the bench measures reads and the services' own writes, not the audit trail of a load.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from django.utils import timezone

from bench.dataset.grids import Tree
from bench.loader import Ids, Loader
from governance import pii
from residents.models import Household, KeyGroupTag, LivingStatus, Relation, Resident
from residents.personal_data import check_char, mask_id_number

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰文斌宇浩凯秀梅建国志红"
FAMILY_SIZES = ((1, 20), (2, 35), (3, 25), (4, 12), (5, 8))
LIVING = ((LivingStatus.RESIDENT, 94), (LivingStatus.MOVED_OUT, 5), (LivingStatus.DECEASED, 1))
TAG_RATES = {
    "disabled": 0.03,
    "dibao": 0.025,
    "wubao": 0.004,
    "hardship": 0.02,
    "special_group": 0.01,
    "veteran": 0.03,
}
REGION = "990001"


@dataclass
class Person:
    gender: str
    birth: datetime.date
    relation: str
    living: str
    tags: list[int]


@dataclass
class Residents:
    households_by_grid: dict[int, list[int]] = field(default_factory=dict)
    living_residents: list[tuple[int, int]] = field(default_factory=list)  # (resident, grid)
    resident_count: int = 0
    household_count: int = 0


class IdNumbers:
    """Valid, unique ID numbers: region + birth date + a per-day sequence (odd = male)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.used: dict[tuple[datetime.date, str], int] = {}

    def make(self, birth: datetime.date, gender: str) -> str:
        key = (birth, gender)
        n = self.used.get(key, 0)
        self.used[key] = n + 1
        seq = n * 2 + (1 if gender == "male" else 0)
        if seq > 999:
            raise ValueError(f"too many people born on {birth}")
        first17 = f"{self.region}{birth:%Y%m%d}{seq:03d}"
        return first17 + check_char(first17)


def _pick(rng: random.Random, weighted) -> object:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"


def _birth(rng: random.Random, today: datetime.date, low: int, high: int) -> datetime.date:
    return today - datetime.timedelta(days=rng.randint(low * 365, high * 365))


def _family(rng: random.Random, today: datetime.date, tags: dict[str, KeyGroupTag]) -> list:
    size = _pick(rng, FAMILY_SIZES)
    people = []
    head_gender = rng.choice(("male", "female"))
    alone_elderly = size == 1 and rng.random() < 0.4
    head_birth = _birth(rng, today, 62 if alone_elderly else 26, 88 if alone_elderly else 78)
    people.append([Relation.HEAD, head_gender, head_birth])
    if size >= 2:
        other = "female" if head_gender == "male" else "male"
        people.append(
            [Relation.SPOUSE, other, head_birth + datetime.timedelta(rng.randint(-1500, 1500))]
        )
    for _ in range(size - len(people)):
        child_birth = head_birth + datetime.timedelta(days=rng.randint(20 * 365, 38 * 365))
        if child_birth >= today:  # a young head's child: born in the last sixteen years
            child_birth = today - datetime.timedelta(days=rng.randint(1, 16 * 365))
        people.append([Relation.CHILD, rng.choice(("male", "female")), child_birth])
    family = []
    for relation, gender, birth in people:
        living = _pick(rng, LIVING) if relation != Relation.HEAD else LivingStatus.RESIDENT
        chosen = [tags[code].pk for code, rate in TAG_RATES.items() if rng.random() < rate]
        age = (today - birth).days // 365
        if alone_elderly:
            chosen.append(tags["elderly_alone"].pk)
        elif size == 2 and age >= 65 and rng.random() < 0.3:
            chosen.append(tags["empty_nest"].pk)
        if age < 16 and rng.random() < 0.05:
            chosen.append(tags["left_behind_child"].pk)
        family.append(Person(gender, birth, relation, living, sorted(set(chosen))))
    return family


def _rescale(
    families: list[list[Person]], target: int, rng: random.Random, today: datetime.date
) -> None:
    """Trim or pad children so the county holds exactly ``target`` residents."""
    total = sum(len(f) for f in families)
    while total > target:
        family = rng.choice(families)
        if len(family) > 1:
            family.pop()
            total -= 1
    while total < target:
        family = rng.choice(families)
        head = family[0]
        birth = head.birth + datetime.timedelta(days=rng.randint(20 * 365, 38 * 365))
        if birth >= today:
            birth = today - datetime.timedelta(days=rng.randint(1, 16 * 365))
        gender = rng.choice(("male", "female"))
        family.append(Person(gender, birth, Relation.CHILD, LivingStatus.RESIDENT, []))
        total += 1


def build(
    tree: Tree,
    *,
    households: int,
    residents: int,
    ids: Ids,
    loader: Loader,
    rng: random.Random,
    now: datetime.datetime,
) -> Residents:
    today = timezone.localdate(now)
    tags = {t.code: t for t in KeyGroupTag.objects.all()}
    interval_of = {t.pk: t.visit_interval_days for t in tags.values()}
    grids = tree.micro
    per_grid = [
        households // len(grids) + (1 if i < households % len(grids) else 0)
        for i in range(len(grids))
    ]
    families = [_family(rng, today, tags) for _ in range(households)]
    _rescale(families, residents, rng, today)
    result = Residents(household_count=households, resident_count=residents)
    first_household = ids.take(Household, households)
    first_resident = ids.take(Resident, residents)
    household_rows, numbering = [], []
    resident_id = first_resident
    index = 0
    for grid, count in zip(grids, per_grid, strict=True):
        result.households_by_grid[grid.id] = []
        for slot in range(count):
            family = families[index]
            household_id = first_household + index
            index += 1
            result.households_by_grid[grid.id].append(household_id)
            living_tags = [t for p in family if p.living == LivingStatus.RESIDENT for t in p.tags]
            interval = min((interval_of[t] for t in living_tags if interval_of[t]), default=None)
            if interval:
                visited = now - datetime.timedelta(days=rng.uniform(0, interval * 1.25))
                due = timezone.localdate(visited) + datetime.timedelta(days=interval)
            else:
                visited, due = None, None
            building, rest = divmod(slot, 24)
            unit, rest = divmod(rest, 12)
            room = f"{rest // 2 + 1}0{rest % 2 + 1}"
            household_rows.append(
                (
                    household_id,
                    grid.id,
                    str(building + 1),
                    str(unit + 1),
                    room,
                    resident_id,
                    phone(rng),
                    interval,
                    visited,
                    due,
                    now,
                    now,
                )
            )
            for person in family:
                numbering.append((resident_id, household_id, grid.id, person))
                resident_id += 1
    loader.load(
        Household,
        [
            "id",
            "grid_id",
            "building",
            "unit",
            "room",
            "head_id",
            "phone",
            "visit_interval_days",
            "last_visited_at",
            "visit_due_on",
            "created_at",
            "updated_at",
        ],
        household_rows,
    )
    numbers = IdNumbers(REGION)

    def resident_rows():
        for pk, household_id, grid_id, person in numbering:
            number = numbers.make(person.birth, person.gender)
            if person.living == LivingStatus.RESIDENT:
                result.living_residents.append((pk, grid_id))
            yield (
                pk,
                household_id,
                person_name(rng),
                person.gender,
                person.birth,
                "汉族",
                pii.encrypt(number),
                pii.lookup_hash(number),
                mask_id_number(number),
                phone(rng) if rng.random() < 0.6 else "",
                person.relation,
                person.living,
                now,
                now,
            )

    loader.load(
        Resident,
        [
            "id",
            "household_id",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "id_number_encrypted",
            "id_number_hash",
            "id_number_masked",
            "phone",
            "relation",
            "living_status",
            "created_at",
            "updated_at",
        ],
        resident_rows(),
    )
    through = Resident.tags.through
    pairs = [(pk, tag) for pk, _h, _g, person in numbering for tag in person.tags]
    first_pair = ids.take(through, len(pairs))
    loader.load(
        through,
        ["id", "resident_id", "keygrouptag_id"],
        ((first_pair + i, pk, tag) for i, (pk, tag) in enumerate(pairs)),
        label="residents.Resident_tags",
    )
    return result
