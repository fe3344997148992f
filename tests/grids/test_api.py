"""The grid API through its real URLs: reads, writes, bad input and query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grids.models import AssignmentRole, Grid, GridAssignment, GridLevel
from tests.grids.factories import assign, make_grid, tree_snapshot


@pytest.fixture
def alice_api(staff, api_client_for):
    return api_client_for(staff)


def ids(response) -> list[int]:
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def test_list_filters_and_search(world, alice_api):
    assert set(ids(alice_api.get("/api/v1/grids/"))) == {
        world.A.pk,
        world.A1.pk,
        world.A1a.pk,
        world.A2.pk,
    }
    assert ids(alice_api.get("/api/v1/grids/", {"level": "micro"})) == [world.A1a.pk]
    assert set(ids(alice_api.get("/api/v1/grids/", {"parent": world.A.pk}))) == {
        world.A1.pk,
        world.A2.pk,
    }
    assert ids(alice_api.get("/api/v1/grids/", {"search": "A1a"})) == [world.A1a.pk]


def test_children_subtree_and_ancestors(world, alice_api):
    children = alice_api.get(f"/api/v1/grids/{world.A.pk}/children/")
    assert set(ids(children)) == {world.A1.pk, world.A2.pk}
    subtree = alice_api.get(f"/api/v1/grids/{world.A1.pk}/subtree/")
    assert ids(subtree) == [world.A1.pk, world.A1a.pk]
    # the trail stops at the top of what alice may see: no township, no county
    ancestors = alice_api.get(f"/api/v1/grids/{world.A1a.pk}/ancestors/")
    assert ids(ancestors) == [world.A.pk, world.A1.pk]


def test_detail_carries_counts_and_names(world, alice_api, staff):
    body = alice_api.get(f"/api/v1/grids/{world.A.pk}/").json()
    assert body["descendant_count"] == 3
    assert body["assignment_count"] == 1
    assert body["level"] == "community"
    assert body["level_display"] == "社区/村"


def test_create_update_move_delete(world, alice_api):
    created = alice_api.post(
        "/api/v1/grids/",
        {"parent": world.A.pk, "name": "小区A3", "code": "A3", "level": "estate"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    new_id = created.json()["id"]
    assert Grid.objects.get(pk=new_id).parent_id == world.A.pk

    renamed = alice_api.patch(f"/api/v1/grids/{new_id}/", {"name": "三号小区"}, format="json")
    assert renamed.status_code == 200
    assert Grid.objects.get(pk=new_id).name == "三号小区"

    moved = alice_api.post(f"/api/v1/grids/{new_id}/move/", {"parent": world.A1.pk})
    assert moved.status_code == 200, moved.json()
    assert Grid.objects.get(pk=new_id).parent_id == world.A1.pk

    assert alice_api.delete(f"/api/v1/grids/{new_id}/").status_code == 204
    assert not Grid.objects.filter(pk=new_id).exists()


def test_deactivate_and_activate(world, alice_api):
    response = alice_api.post(f"/api/v1/grids/{world.A1.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not Grid.objects.get(pk=world.A1a.pk).is_active
    response = alice_api.post(f"/api/v1/grids/{world.A1.pk}/activate/")
    assert response.json()["is_active"] is True


def test_locate(world, alice_api, api_client_for, admin_user):
    found = alice_api.get("/api/v1/grids/locate/", {"lat": 30.05, "lng": 100.05})
    assert found.status_code == 200
    assert found.json()["id"] == world.A1a.pk
    outside = alice_api.get("/api/v1/grids/locate/", {"lat": 30.75, "lng": 100.25})
    assert outside.status_code == 404  # in community B: not alice's
    admin_found = api_client_for(admin_user).get(
        "/api/v1/grids/locate/", {"lat": 30.75, "lng": 100.25}
    )
    assert admin_found.json()["id"] == world.B1.pk
    bad = alice_api.get("/api/v1/grids/locate/", {"lat": "north", "lng": 200})
    assert bad.status_code == 400
    assert set(bad.json()) == {"lat", "lng"}


# --- bad input: a 400 naming the field, and nothing written --------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"parent": "A", "name": "x", "code": "N1", "level": "township"}, "level"),
        ({"parent": 999999, "name": "x", "code": "N1", "level": "estate"}, "parent"),
        ({"parent": "A", "name": "x", "code": "DUP", "level": "estate"}, "code"),
        (
            {
                "parent": "A",
                "name": "x",
                "code": "N1",
                "level": "estate",
                "boundary": {"type": "Polygon", "coordinates": [[[1, 2], [3, 4]]]},
            },
            "boundary",
        ),
        (
            {
                "parent": "A",
                "name": "x",
                "code": "N1",
                "level": "estate",
                "boundary": {"type": "Point", "coordinates": [1, 2]},
            },
            "boundary",
        ),
        (
            {"parent": "A", "name": "x", "code": "N1", "level": "estate", "boundary": "not json"},
            "boundary",
        ),
        (
            {
                "parent": "A",
                "name": "x",
                "code": "N1",
                "level": "estate",
                "boundary": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 2]]]},
            },
            "boundary",
        ),
        ({"parent": "A", "name": "x", "code": "N1", "level": "planet"}, "level"),
        ({"parent": "A", "name": "", "code": "N1", "level": "estate"}, "name"),
        ({"parent": "B", "name": "x", "code": "N1", "level": "estate"}, "parent"),
    ],
)
def test_bad_create_is_400_and_writes_nothing(world, alice_api, payload, field):
    payload = dict(payload)
    if isinstance(payload["parent"], str):
        payload["parent"] = getattr(world, payload["parent"]).pk
    if payload["code"] == "DUP":
        payload["code"] = world.A1.code
    before = tree_snapshot()
    response = alice_api.post("/api/v1/grids/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert tree_snapshot() == before


def test_move_under_descendant_is_400(world, alice_api):
    before = tree_snapshot()
    response = alice_api.post(f"/api/v1/grids/{world.A1.pk}/move/", {"parent": world.A1a.pk})
    assert response.status_code == 400
    assert "parent" in response.json()
    assert tree_snapshot() == before


def test_move_to_wrong_level_is_400(world, alice_api):
    before = tree_snapshot()
    response = alice_api.post(f"/api/v1/grids/{world.A1a.pk}/move/", {"parent": world.A.pk})
    assert response.status_code == 200  # micro under a community skips a level: allowed
    response = alice_api.post(f"/api/v1/grids/{world.A2.pk}/move/", {"parent": world.A1a.pk})
    assert response.status_code == 400
    assert "level" in response.json()
    assert tree_snapshot()[-1] == before[-1]


def test_delete_with_people_is_400(world, alice_api, make_user):
    assign(make_user("wang"), world.A2, AssignmentRole.FULL_TIME_WORKER)
    response = alice_api.delete(f"/api/v1/grids/{world.A2.pk}/")
    assert response.status_code == 400
    assert Grid.objects.filter(pk=world.A2.pk).exists()


def test_errors_are_chinese_by_default_and_english_on_request(world, alice_api):
    payload = {"parent": world.A.pk, "name": "x", "code": world.A1.code, "level": "estate"}
    chinese = alice_api.post("/api/v1/grids/", payload, format="json")
    assert chinese.json()["code"] == ["已有其他网格使用此编码。"]
    english = alice_api.post("/api/v1/grids/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["code"] == ["Another grid already has this code."]


# --- assignments ---------------------------------------------------------------------------


def test_assignment_create_end_and_bad_input(world, alice_api, make_user):
    bob = make_user("bob")
    created = alice_api.post(
        "/api/v1/assignments/",
        {"user": bob.pk, "grid": world.A1.pk, "role": "full_time_worker"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assignment_id = created.json()["id"]
    assert created.json()["is_current"] is True

    duplicate = alice_api.post(
        "/api/v1/assignments/",
        {"user": bob.pk, "grid": world.A1.pk, "role": "full_time_worker"},
        format="json",
    )
    assert duplicate.status_code == 400
    assert "role" in duplicate.json()

    elsewhere = alice_api.post(
        "/api/v1/assignments/",
        {"user": bob.pk, "grid": world.B1.pk, "role": "full_time_worker"},
        format="json",
    )
    assert elsewhere.status_code == 400
    assert "grid" in elsewhere.json()

    ended = alice_api.post(f"/api/v1/assignments/{assignment_id}/end/", {"ends_on": "2099-01-01"})
    assert ended.status_code == 200
    assert GridAssignment.objects.get(pk=assignment_id).ends_on.isoformat() == "2099-01-01"

    current = alice_api.get("/api/v1/assignments/", {"current": "true", "user": bob.pk})
    assert ids(current) == [assignment_id]


# --- query counts ----------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/grids/",
        "/api/v1/grids/{A}/subtree/",
        "/api/v1/grids/{A}/children/",
        "/api/v1/grids/{A1}/ancestors/",
        "/api/v1/assignments/",
        "/api/v1/party-organizations/",
    ],
)
def test_query_counts_do_not_grow_with_rows(world, alice_api, make_user, url):
    url = url.format(A=world.A.pk, A1=world.A1.pk)
    small = count_queries(alice_api, url)
    for n in range(12):
        estate = make_grid(world.A, GridLevel.ESTATE)
        make_grid(estate, GridLevel.MICRO)
        assign(make_user(f"w{n}"), estate, AssignmentRole.PART_TIME_WORKER)
    large = count_queries(alice_api, url)
    assert small == large
    assert large <= 5  # token, scope, count, page (+ prefetch); nothing per row
