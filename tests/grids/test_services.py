"""Rules of the grid tree, enforced by the services, and the tree staying valid."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from grids import services
from grids.models import AssignmentRole, Grid, GridKind, GridLevel
from grids.tree_check import check_tree
from tests.grids.factories import assign, make_grid, superuser, tree_snapshot


def bounds_after_rebuild() -> list[tuple]:
    """The bounds a full rebuild from the parent pointers gives, for comparison."""
    before = tree_snapshot()
    Grid.objects.rebuild()
    after = tree_snapshot()
    return before, after


def assert_tree_valid():
    assert check_tree(Grid) == []
    before, after = bounds_after_rebuild()
    assert before == after


def test_create_keeps_tree_valid_and_sorted_by_code(world):
    # given / when
    make_grid(world.A, GridLevel.ESTATE, code="T00000")  # sorts before its siblings
    # then
    assert_tree_valid()
    codes = list(Grid.objects.get(pk=world.A.pk).get_children().values_list("code", flat=True))
    assert codes == sorted(codes)
    assert codes[0] == "T00000"


def test_move_carries_subtree_and_keeps_tree_valid(world):
    services.grid_move(actor=superuser(), grid=world.A1, parent=world.B)
    world.refresh()
    assert world.A1.parent_id == world.B.pk
    assert world.A1a.is_descendant_of(world.B)
    assert world.A1a.depth == world.A1.depth + 1
    assert_tree_valid()


def test_move_between_trees_keeps_both_valid(world):
    services.grid_move(actor=superuser(), grid=world.A, parent=world.T9)
    world.refresh()
    assert world.A.tree_id == world.C2.tree_id == world.A1a.tree_id
    assert_tree_valid()


def test_delete_leaf_keeps_tree_valid(world):
    services.grid_delete(actor=superuser(), grid=world.A2)
    assert not Grid.objects.filter(pk=world.A2.pk).exists()
    assert_tree_valid()


def test_move_under_own_descendant_is_refused(world):
    before = tree_snapshot()
    with pytest.raises(ValidationError) as exc:
        services.grid_move(actor=superuser(), grid=world.A, parent=world.A1a)
    assert "parent" in exc.value.message_dict
    assert tree_snapshot() == before


@pytest.mark.parametrize(
    ("parent_name", "kind", "level", "field"),
    [
        ("A", GridKind.ADMINISTRATIVE, GridLevel.TOWNSHIP, "level"),
        ("A", GridKind.ADMINISTRATIVE, GridLevel.COMMUNITY, "level"),
        ("A1a", GridKind.ADMINISTRATIVE, GridLevel.MICRO, "level"),
        ("T1", GridKind.INDUSTRY, GridLevel.COMMUNITY, "parent"),
        ("C", GridKind.DEDICATED, GridLevel.TOWNSHIP, "parent"),
        ("D1", GridKind.ADMINISTRATIVE, GridLevel.COMMUNITY, "parent"),
        (None, GridKind.ADMINISTRATIVE, GridLevel.TOWNSHIP, "parent"),
    ],
)
def test_placement_rules(world, parent_name, kind, level, field):
    parent = getattr(world, parent_name) if parent_name else None
    before = tree_snapshot()
    with pytest.raises(ValidationError) as exc:
        services.grid_create(
            actor=superuser(), parent=parent, name="x", code="NEW1", kind=kind, level=level
        )
    assert field in exc.value.message_dict
    assert tree_snapshot() == before


@pytest.mark.parametrize(
    ("parent_name", "kind", "level"),
    [
        ("A1", GridKind.ADMINISTRATIVE, GridLevel.ESTATE),  # a community's inner levels
        ("C", GridKind.INDUSTRY, GridLevel.TOWNSHIP),
        ("D1", GridKind.INDUSTRY, GridLevel.COMMUNITY),
        ("T1", GridKind.DEDICATED, GridLevel.COMMUNITY),
    ],
)
def test_allowed_placements(world, parent_name, kind, level):
    grid = services.grid_create(
        actor=superuser(),
        parent=getattr(world, parent_name),
        name="x",
        code="NEW1",
        kind=kind,
        level=level,
    )
    assert grid.parent_id == getattr(world, parent_name).pk
    assert_tree_valid()


def test_level_change_that_orphans_children_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        services.grid_update(actor=superuser(), grid=world.A1, level=GridLevel.MICRO)
    assert "level" in exc.value.message_dict
    assert Grid.objects.get(pk=world.A1.pk).level == GridLevel.ESTATE


def test_duplicate_code_is_refused(world):
    with pytest.raises(ValidationError) as exc:
        services.grid_update(actor=superuser(), grid=world.A2, code=world.A1.code)
    assert "code" in exc.value.message_dict


def test_grid_with_children_cannot_be_deleted(world):
    with pytest.raises(ValidationError):
        services.grid_delete(actor=superuser(), grid=world.A1)
    assert Grid.objects.filter(pk=world.A1.pk).exists()


def test_grid_with_people_cannot_be_deleted_only_deactivated(world, make_user):
    assign(make_user("wang"), world.A2, AssignmentRole.FULL_TIME_WORKER)
    with pytest.raises(ValidationError) as exc:
        services.grid_delete(actor=superuser(), grid=world.A2)
    assert "deactivate" in str(exc.value).lower() or "停用" in str(exc.value)
    assert Grid.objects.filter(pk=world.A2.pk).exists()
    assert services.grid_deactivate(actor=superuser(), grid=world.A2) == 1


def test_deactivate_takes_the_subtree_and_activate_needs_an_active_parent(world):
    changed = services.grid_deactivate(actor=superuser(), grid=world.A)
    assert changed == 4  # A, A1, A1a, A2
    assert not Grid.objects.filter(pk__in=[world.A.pk, world.A1a.pk], is_active=True).exists()
    assert Grid.objects.get(pk=world.B.pk).is_active
    with pytest.raises(ValidationError):
        services.grid_activate(actor=superuser(), grid=world.A1)
    services.grid_activate(actor=superuser(), grid=world.A)
    assert Grid.objects.get(pk=world.A.pk).is_active


def test_worker_cannot_change_and_staff_cannot_leave_their_subtree(world, make_user):
    worker, staff = make_user("worker"), make_user("staff")
    assign(worker, world.A, AssignmentRole.FULL_TIME_WORKER)
    assign(staff, world.A, AssignmentRole.COMMUNITY_STAFF)
    with pytest.raises(PermissionDenied):
        services.grid_update(actor=worker, grid=world.A1, name="新名字")
    services.grid_update(actor=staff, grid=world.A1, name="新名字")
    with pytest.raises(PermissionDenied):
        services.grid_move(actor=staff, grid=world.A1, parent=world.B)
    with pytest.raises(PermissionDenied):
        services.grid_create(
            actor=staff, parent=None, name="x", code="NEWROOT", level=GridLevel.COUNTY
        )


@pytest.mark.parametrize(
    ("grid_name", "role", "field"),
    [
        ("A", AssignmentRole.DEPARTMENT_LIAISON, "role"),
        ("A", AssignmentRole.UNIT_HEAD, "role"),
    ],
)
def test_assignment_rules(world, make_user, grid_name, role, field):
    with pytest.raises(ValidationError) as exc:
        assign(make_user("li"), getattr(world, grid_name), role)
    assert field in exc.value.message_dict


def test_assignment_period_and_duplicates(world, make_user):
    li = make_user("li")
    assign(li, world.A1, AssignmentRole.UNIT_HEAD)
    with pytest.raises(ValidationError) as exc:
        assign(li, world.A1, AssignmentRole.UNIT_HEAD)
    assert "role" in exc.value.message_dict

    with pytest.raises(ValidationError) as exc:
        services.assignment_create(
            actor=superuser(),
            user=li,
            grid=world.A2,
            role=AssignmentRole.UNIT_HEAD,
            starts_on=datetime.date(2026, 5, 1),
            ends_on=datetime.date(2026, 4, 1),
        )
    assert "ends_on" in exc.value.message_dict


def test_party_organization_kinds_go_down(world):
    from grids.models import PartyOrganizationKind as K
    from tests.grids.factories import make_party_organization

    committee = make_party_organization(world.A, K.COMMITTEE)
    branch = make_party_organization(world.A1, K.BRANCH, parent=committee)
    make_party_organization(world.A1a, K.GROUP, parent=branch)
    with pytest.raises(ValidationError) as exc:
        make_party_organization(world.A1, K.GENERAL_BRANCH, parent=branch)
    assert "kind" in exc.value.message_dict
    from grids.models import PartyOrganization

    assert check_tree(PartyOrganization) == []
