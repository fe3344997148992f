"""``manage.py seed_demo``: the five seed places at their seed sizes, valid trees, boxes
that ``locate`` can use, accounts that sign in, and a second run that writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.test import override_settings

from grids import demo
from grids.locate import locate
from grids.models import (
    AssignmentRole,
    Grid,
    GridAssignment,
    GridKind,
    GridLevel,
    PartyOrganization,
    PartyOrganizationKind,
)
from grids.tree_check import check_tree

pytestmark = pytest.mark.django_db

ROOT_CODES = {"632726", "540425", "141029", "650204", "150621"}
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
PLACE_KEYS = ("dele", "jigong", "xiangning", "baijiantan", "wenyuan")
STANDARD_ROLES = {
    AssignmentRole.COMMUNITY_STAFF,
    AssignmentRole.GRID_LEADER,
    AssignmentRole.FULL_TIME_WORKER,
    AssignmentRole.PART_TIME_WORKER,
    AssignmentRole.UNIT_HEAD,
    AssignmentRole.PARTY_SECRETARY,
    AssignmentRole.DISTRICT_LEADER,
}


def run_seed(*args: str) -> str:
    """The grid part of the demo only; households are tested in tests/residents."""
    out = StringIO()
    call_command("seed_demo", "--households-scale", "0", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def output(django_db_setup, django_db_blocker) -> Iterator[str]:
    """Seed once for the module, inside a transaction rolled back at its end.

    A seed takes seconds, so the tests share one: each test's own transaction is a
    savepoint inside this one, so what a test changes is undone before the next. MD5
    hashes keep the ~40 sign-ins fast (PBKDF2 costs ~0.4 s each).
    """
    with (
        override_settings(PASSWORD_HASHERS=[FAST_HASHER]),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        yield run_seed()
        transaction.set_rollback(True)


def grid(code: str) -> Grid:
    return Grid.objects.get(code=code)


def subtree(code: str) -> QuerySet[Grid]:
    return grid(code).get_descendants()


def depth_counts(code: str) -> dict[tuple[int, str, str], int]:
    """(depth below ``code``, kind, level) → how many grids, for the whole subtree."""
    top = grid(code)
    rows = (
        top.get_descendants()
        .order_by()  # the tree ordering would split the groups
        .values("depth", "kind", "level")
        .annotate(n=Count("pk"))
    )
    return {(r["depth"] - top.depth, r["kind"], r["level"]): r["n"] for r in rows}


def account_rows(output: str) -> list[tuple[str, str, str]]:
    """(username, password, role) of every row of the printed accounts table."""
    lines = output.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("username"))) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("Accounts that"):
            break
        username, password, role = line.split()[:3]
        rows.append((username, password, role))
    return rows


def test_five_roots_side_by_side(output):
    roots = Grid.objects.filter(parent__isnull=True)
    assert set(roots.values_list("code", flat=True)) == ROOT_CODES
    assert set(roots.values_list("level", flat=True)) == {GridLevel.COUNTY}
    assert roots.get(code="650204").name == "克拉玛依市白碱滩区"


def test_dele_has_4_18_36_grids_inside_its_community(output):
    counts = depth_counts("632726100001")
    assert counts == {
        (1, GridKind.ADMINISTRATIVE, GridLevel.ESTATE): 4,
        (2, GridKind.ADMINISTRATIVE, GridLevel.ESTATE): 18,
        (3, GridKind.ADMINISTRATIVE, GridLevel.MICRO): 36,
    }
    assert grid("632726100001").get_ancestors().count() == 2  # 曲麻莱县 › 约改镇


def test_jigong_has_8_basic_grids_11_estates_and_7_dedicated_grids(output):
    counts = depth_counts("540425100001")
    assert counts[(1, GridKind.ADMINISTRATIVE, GridLevel.ESTATE)] == 8  # basic grids
    assert counts[(2, GridKind.ADMINISTRATIVE, GridLevel.ESTATE)] == 11  # estates
    assert counts[(3, GridKind.ADMINISTRATIVE, GridLevel.MICRO)] == 170  # linked units
    basics = grid("540425100001").get_children()
    assert all(name.endswith("基础网格") for name in basics.values_list("name", flat=True))
    assert grid("540425100001-1-1").name == "同庆小区"
    dedicated = grid("540425100").get_children().filter(kind=GridKind.DEDICATED)
    assert dedicated.count() == 7


def test_xiangning_has_42_industry_grids_by_category(output):
    industry = grid("141029").get_children().filter(kind=GridKind.INDUSTRY)
    assert industry.count() == 42
    by_category = {
        letter: industry.filter(code__startswith=f"141029-HY-{letter}").count() for letter in "PGIM"
    }
    assert by_category == {"P": 10, "G": 28, "I": 1, "M": 3}
    assert industry.filter(boundary__isnull=False).count() == 0
    assert grid("141029100").get_children().filter(kind=GridKind.DEDICATED).exists()


def test_xingfuwan_has_29_estates_5_villages_and_micro_grids_below_some(output):
    parts = grid("141029100001").get_children()
    assert set(parts.values_list("level", flat=True)) == {GridLevel.ESTATE}
    villages = [p for p in parts if p.name.endswith("村")]
    assert len(villages) == 5
    assert parts.count() - len(villages) == 29
    with_micro = [p for p in parts if p.get_children().filter(level=GridLevel.MICRO).exists()]
    assert 0 < len(with_micro) < parts.count()


def test_baijiantan_has_59_grids(output):
    counts = depth_counts("650204")
    assert counts[(3, GridKind.ADMINISTRATIVE, GridLevel.ESTATE)] == 59
    communities = set(
        subtree("650204").filter(level=GridLevel.COMMUNITY).values_list("name", flat=True)
    )
    assert communities == {"跃进社区", "钻井社区", "振兴社区", "油龙社区"}


def test_wenyuan_has_14_grids_each_with_a_branch_and_30_groups(output):
    grids = grid("150621001001").get_children()
    assert grids.count() == 14
    branches = PartyOrganization.objects.filter(grid__in=grids, kind=PartyOrganizationKind.BRANCH)
    assert branches.count() == 14
    assert set(branches.values_list("grid_id", flat=True)) == set(
        grids.values_list("pk", flat=True)
    )
    groups = PartyOrganization.objects.filter(parent__in=branches, kind=PartyOrganizationKind.GROUP)
    assert groups.count() == 30
    assert all(branch.get_children().exists() for branch in branches)


def test_baijiantan_party_has_the_seeds_four_levels(output):
    kinds = list(
        PartyOrganization.objects.filter(grid__tree_id=grid("650204").tree_id)
        .values_list("kind", flat=True)
        .distinct()
    )
    assert set(kinds) == set(PartyOrganizationKind.values)


def test_trees_are_valid(output):
    assert check_tree(Grid) == []
    assert check_tree(PartyOrganization) == []


def test_every_territorial_grid_has_a_boundary_inside_its_parents(output):
    territorial = Grid.objects.exclude(kind=GridKind.INDUSTRY).select_related("parent")
    assert not territorial.filter(boundary__isnull=True).exists()
    for child in territorial.filter(parent__isnull=False):
        parent = child.parent
        assert parent.min_lat <= child.min_lat <= child.max_lat <= parent.max_lat, child.code
        assert parent.min_lng <= child.min_lng <= child.max_lng <= parent.max_lng, child.code


def test_siblings_do_not_overlap(output):
    boxed = Grid.objects.exclude(kind=GridKind.INDUSTRY).filter(parent__isnull=False)
    by_parent: dict[int, list[Grid]] = {}
    for g in boxed:
        by_parent.setdefault(g.parent_id, []).append(g)
    for siblings in by_parent.values():
        for i, a in enumerate(siblings):
            for b in siblings[i + 1 :]:
                apart = (
                    a.max_lat <= b.min_lat
                    or b.max_lat <= a.min_lat
                    or a.max_lng <= b.min_lng
                    or b.max_lng <= a.min_lng
                )
                assert apart, (a.code, b.code)


def test_locate_finds_a_dele_micro_grid_and_nothing_far_away(output):
    micro = subtree("632726100001").filter(level=GridLevel.MICRO).order_by("code")[7]
    lat = (micro.min_lat + micro.max_lat) / 2
    lng = (micro.min_lng + micro.max_lng) / 2
    assert locate(lat, lng) == micro
    assert locate(0.0, 0.0) is None


def test_locate_finds_a_dedicated_grid(output):
    school = grid("540425100-ZS1")
    lat = (school.min_lat + school.max_lat) / 2
    lng = (school.min_lng + school.max_lng) / 2
    assert locate(lat, lng) == school


def test_every_printed_account_signs_in(output):
    rows = account_rows(output)
    assert len(rows) == 1 + 7 * len(PLACE_KEYS) + 1  # admin, 7 per place, the liaison
    for username, password, _role in rows:
        assert password == demo.DEMO_PASSWORD
        assert authenticate(username=username, password=password) is not None, username


def test_accounts_hold_their_roles(output):
    users = get_user_model().objects.exclude(username="admin")
    assert all(u.is_staff and not u.is_superuser and u.full_name for u in users)
    assert get_user_model().objects.get(username="admin").is_superuser
    for key in PLACE_KEYS:
        roles = set(
            GridAssignment.objects.filter(user__username__startswith=f"{key}_").values_list(
                "role", flat=True
            )
        )
        assert roles >= STANDARD_ROLES, key
    liaison = GridAssignment.objects.get(user__username="xiangning_liaison")
    assert liaison.role == AssignmentRole.DEPARTMENT_LIAISON
    assert liaison.grid.kind == GridKind.INDUSTRY


def snapshot() -> dict:
    """What a second run must leave exactly as it was."""
    users = get_user_model().objects.order_by("username")
    return {
        "grids": Grid.objects.count(),
        "grids_updated": Grid.objects.aggregate(latest=Max("updated_at"))["latest"],
        "grid_rows": list(Grid.objects.order_by("pk").values_list()),
        "party": list(PartyOrganization.objects.order_by("pk").values_list()),
        "assignments": list(GridAssignment.objects.order_by("pk").values_list()),
        "users": list(users.values_list("username", "password", "is_staff", "is_superuser")),
    }


def test_second_run_writes_nothing(output):
    before = snapshot()
    again = run_seed()
    assert snapshot() == before
    assert "Nothing created" in again
    assert "(0 created)" in again
    assert "(1 created)" not in again


def test_second_run_keeps_a_changed_password(output):
    user = get_user_model().objects.get(username="dele_staff")
    user.set_password("changed-by-its-owner")
    user.save()
    run_seed()
    assert authenticate(username="dele_staff", password="changed-by-its-owner") is not None


def test_quiet_prints_nothing(output):
    assert run_seed("--quiet") == ""
    assert run_seed("--verbosity", "0") == ""


def test_refuses_an_admin_that_is_not_a_superuser(output):
    get_user_model().objects.filter(username="admin").update(is_superuser=False)
    before = snapshot()
    with pytest.raises(CommandError, match="not an active superuser"):
        run_seed()
    assert snapshot() == before
