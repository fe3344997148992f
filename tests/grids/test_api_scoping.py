"""Who sees what over the API, as a matrix: every role × (own subtree, sibling subtree,
ancestor) × (list, detail, change), for grids, assignments and party organizations."""

from __future__ import annotations

import pytest

from grids.models import AssignmentRole, GridAssignment, PartyOrganizationKind
from grids.roles import CHANGE_ROLES
from tests.grids.factories import assign, make_party_organization

# role → (the grid the person is assigned to, the grid we probe in their own subtree,
#          a sibling of their grid, an ancestor of their grid)
PLACES = {
    AssignmentRole.UNIT_HEAD: ("A1", "A1a", "A2", "A"),
    AssignmentRole.DEPARTMENT_LIAISON: ("D1", "D1", "D2", "C"),
}
DEFAULT_PLACE = ("A", "A1", "B", "T1")

RESOURCES = {
    "grids": lambda world, grid: grid,
    "assignments": lambda world, grid: GridAssignment.objects.filter(grid=grid).first(),
    "party-organizations": lambda world, grid: grid.party_organizations.first(),
}
CHANGES = {
    "grids": {"name": "改名"},
    "assignments": {"note": "改备注"},
    "party-organizations": {"name": "改名支部"},
}


@pytest.fixture
def furnished(world, make_user):
    """Give every grid of the world one assignment and one party organization to probe."""
    someone = make_user("someone")
    for name in ("A", "A1", "A1a", "A2", "B", "T1", "C", "D1", "D2"):
        grid = getattr(world, name)
        role = (
            AssignmentRole.DEPARTMENT_LIAISON
            if grid.kind == "industry"
            else AssignmentRole.DISTRICT_LEADER
        )
        assign(someone, grid, role)
        make_party_organization(grid, PartyOrganizationKind.BRANCH, name=f"{grid.name}支部")
    return world


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize("role", AssignmentRole.values)
def test_scoping_matrix(furnished, make_user, api_client_for, role, resource):
    world = furnished
    home, own, sibling, ancestor = (getattr(world, n) for n in PLACES.get(role, DEFAULT_PLACE))
    person = make_user(f"p_{role}")
    assign(person, home, role)
    client = api_client_for(person)
    url = f"/api/v1/{resource}/"

    listed = set()
    page = client.get(url, {"page_size": 500})
    assert page.status_code == 200
    listed = {row["id"] for row in page.json()["results"]}

    for where, grid in (("own", own), ("sibling", sibling), ("ancestor", ancestor)):
        obj = RESOURCES[resource](world, grid)
        detail = client.get(f"{url}{obj.pk}/")
        change = client.patch(f"{url}{obj.pk}/", CHANGES[resource], format="json")
        if where == "own":
            assert obj.pk in listed, (role, resource, where)
            assert detail.status_code == 200, (role, resource, where)
            expected = 200 if role in CHANGE_ROLES else 403
            assert change.status_code == expected, (role, resource, where, change.json())
        else:
            assert obj.pk not in listed, (role, resource, where)
            assert detail.status_code == 404, (role, resource, where)
            assert change.status_code == 404, (role, resource, where)


def test_superuser_sees_every_tree(furnished, admin_user, api_client_for):
    response = api_client_for(admin_user).get("/api/v1/grids/", {"page_size": 500})
    assert response.json()["count"] == 13


def test_user_without_assignment_sees_nothing(furnished, make_user, api_client_for):
    response = api_client_for(make_user("nobody")).get("/api/v1/grids/")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_anonymous_is_refused(furnished, client):
    assert client.get("/api/v1/grids/").status_code in (401, 403)


def test_ended_assignment_gives_no_access(furnished, make_user, api_client_for):
    import datetime

    from grids import services
    from tests.grids.factories import superuser

    person = make_user("former")
    assignment = assign(person, furnished.A, AssignmentRole.FULL_TIME_WORKER)
    services.assignment_update(
        actor=superuser(),
        assignment=assignment,
        starts_on=datetime.date(2020, 1, 1),
        ends_on=datetime.date(2021, 1, 1),
    )
    response = api_client_for(person).get(f"/api/v1/grids/{furnished.A.pk}/")
    assert response.status_code == 404
