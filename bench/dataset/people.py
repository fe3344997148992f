"""The people who work the county's grids, and residents who report with an account.

Every grid gets the roles the escalation ladder and the routing look for: a full-time
worker on each territorial grid below the township (so automatic dispatch always finds
someone), a grid leader on each estate and dedicated grid, community staff on each
community, district leaders and staff on each township and on the county, a liaison on
each department. All accounts share one password hash (hashing 10,000 passwords would
only measure PBKDF2).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from bench.dataset.grids import Node, Tree
from bench.loader import Ids, Loader
from grids.models import AssignmentRole, GridAssignment, GridKind, GridLevel

BENCH_PASSWORD = "bench-2026"
ADMIN = "bench_admin"
COUNTY_LEADER = "bench_county_leader"
SINCE = datetime.date(2020, 1, 1)


@dataclass
class People:
    admin: int = 0
    county_leader: int = 0
    staff_of: dict[int, int] = field(default_factory=dict)  # community/township id → staff
    worker_of: dict[int, int] = field(default_factory=dict)  # grid id → nearest worker
    leader_of: dict[int, int] = field(default_factory=dict)  # grid id → grid leader
    liaison_of: dict[int, int] = field(default_factory=dict)  # department id → liaison
    township_leader: dict[int, int] = field(default_factory=dict)
    reporters: list[int] = field(default_factory=list)
    users: list[tuple] = field(default_factory=list)
    assignments: list[tuple] = field(default_factory=list)


def plan(tree: Tree, reporters: int, ids: Ids, now: datetime.datetime) -> People:
    people = People()
    user_model = get_user_model()

    def user(username: str, full_name: str, *, superuser: bool = False, staff: bool = True):
        pk = ids.take(user_model)
        people.users.append((pk, username, full_name, superuser, staff))
        return pk

    def assign(user_id: int, grid: Node, role: str) -> None:
        people.assignments.append((ids.take(GridAssignment), user_id, grid.id, role))

    people.admin = user(ADMIN, "基准管理员", superuser=True)
    county = tree.county
    people.county_leader = user(COUNTY_LEADER, "县领导")
    assign(people.county_leader, county, AssignmentRole.DISTRICT_LEADER)
    county_staff = user("bench_county_staff", "县指挥中心")
    assign(county_staff, county, AssignmentRole.COMMUNITY_STAFF)
    people.staff_of[county.id] = county_staff
    for department in tree.industry:
        liaison = user(f"bench_liaison_{department.code}", f"{department.name}联络员")
        assign(liaison, department, AssignmentRole.DEPARTMENT_LIAISON)
        people.liaison_of[department.id] = liaison
    for township in tree.townships:
        leader = user(f"bench_district_{township.code}", f"{township.name}领导")
        assign(leader, township, AssignmentRole.DISTRICT_LEADER)
        people.township_leader[township.id] = leader
        staff = user(f"bench_staff_{township.code}", f"{township.name}干部")
        assign(staff, township, AssignmentRole.COMMUNITY_STAFF)
        people.staff_of[township.id] = staff
    for grid in tree.territorial:
        if grid.level == GridLevel.COMMUNITY and grid.kind == GridKind.ADMINISTRATIVE:
            staff = user(f"bench_staff_{grid.code}", f"{grid.name}社工")
            assign(staff, grid, AssignmentRole.COMMUNITY_STAFF)
            people.staff_of[grid.id] = staff
        if grid.level in (GridLevel.ESTATE, GridLevel.COMMUNITY) or grid.kind == GridKind.DEDICATED:
            leader = user(f"bench_leader_{grid.code}", f"{grid.name}网格长")
            assign(leader, grid, AssignmentRole.GRID_LEADER)
            people.leader_of[grid.id] = leader
        if grid.level in (GridLevel.COMMUNITY, GridLevel.ESTATE, GridLevel.MICRO):
            worker = user(f"bench_worker_{grid.code}", f"{grid.name}网格员")
            assign(worker, grid, AssignmentRole.FULL_TIME_WORKER)
            people.worker_of[grid.id] = worker
    for grid in tree.territorial:  # townships and the county: nearest worker below is none
        if grid.id not in people.worker_of:
            people.worker_of[grid.id] = people.staff_of.get(grid.id, county_staff)
    for number in range(1, reporters + 1):
        people.reporters.append(user(f"bench_resident_{number:05d}", f"居民{number}", staff=False))
    return people


def load(people: People, loader: Loader, now: datetime.datetime) -> None:
    password = make_password(BENCH_PASSWORD)
    loader.load(
        get_user_model(),
        [
            "id",
            "username",
            "full_name",
            "is_superuser",
            "is_staff",
            "password",
            "is_active",
            "date_joined",
        ],
        ((*row, password, True, now) for row in people.users),
    )
    loader.load(
        GridAssignment,
        ["id", "user_id", "grid_id", "role", "starts_on", "created_at"],
        ((*row, SINCE, now) for row in people.assignments),
    )
