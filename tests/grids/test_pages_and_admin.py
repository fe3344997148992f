"""Pages and the admin, through their real URLs, per role."""

from __future__ import annotations

from grids.models import AssignmentRole, Grid
from tests.grids.factories import assign


def test_home_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_home_lists_the_top_of_my_subtree_in_chinese(client, world, worker):
    client.force_login(worker)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "我的网格" in body
    assert "小区A1" in body
    assert "社区A" not in body
    assert "小区A2" not in body


def test_home_empty_state(client, world, make_user):
    client.force_login(make_user("newcomer"))
    body = client.get("/").content.decode()
    assert "您还没有网格任职" in body


def test_english_on_request(client, world, worker):
    client.force_login(worker)
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "My grids" in body


def test_grid_page_shows_breadcrumbs_children_and_people(client, world, worker, staff):
    client.force_login(staff)
    response = client.get(f"/grids/{world.A1.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "社区A" in body  # breadcrumb to the top of alice's scope
    assert "镇T1" not in body  # but not above it
    assert "微网格A1a" in body
    assert "专职网格员" in body  # bob's role on A1


def test_grid_page_of_another_subtree_is_404(client, world, worker):
    client.force_login(worker)
    assert client.get(f"/grids/{world.A2.pk}/").status_code == 404
    assert client.get(f"/grids/{world.A.pk}/").status_code == 404


def test_healthz(client, db):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- admin -----------------------------------------------------------------------------


def test_admin_tree_shows_only_my_subtree(client, world, staff):
    client.force_login(staff)
    response = client.get("/admin/grids/grid/")
    assert response.status_code == 200
    shown = {g.pk for g in response.context["cl"].result_list}
    assert shown == {world.A.pk, world.A1.pk, world.A1a.pk, world.A2.pk}


def test_admin_search_by_code(client, world, staff):
    client.force_login(staff)
    response = client.get("/admin/grids/grid/", {"q": world.A2.code})
    assert [g.pk for g in response.context["cl"].result_list] == [world.A2.pk]


def test_admin_counts_per_node(client, world, staff, worker):
    client.force_login(staff)
    response = client.get("/admin/grids/grid/")
    rows = {g.pk: g for g in response.context["cl"].result_list}
    assert rows[world.A1.pk].assignment_count == 1  # bob


def test_admin_worker_can_view_but_not_change(client, world, worker):
    client.force_login(worker)
    assert client.get(f"/admin/grids/grid/{world.A1.pk}/change/").status_code == 200
    response = client.post(
        f"/admin/grids/grid/{world.A1.pk}/change/",
        {"name": "改名", "code": world.A1.code, "kind": "administrative", "level": "estate"},
    )
    assert response.status_code == 403
    assert Grid.objects.get(pk=world.A1.pk).name == "小区A1"


def test_admin_other_subtree_is_not_reachable(client, world, worker):
    client.force_login(worker)
    response = client.get(f"/admin/grids/grid/{world.B.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect
    assert Grid.objects.get(pk=world.B.pk).name == "社区B"


def test_admin_add_grid_goes_through_the_rules(client, world, staff):
    client.force_login(staff)
    base = {
        "parent": world.A.pk,
        "name": "小区A3",
        "code": "A3",
        "kind": "administrative",
        "assignments-TOTAL_FORMS": "0",
        "assignments-INITIAL_FORMS": "0",
    }
    refused = client.post("/admin/grids/grid/add/", {**base, "level": "township"})
    assert refused.status_code == 200  # the form again, with the error
    assert "不能挂在" in refused.content.decode()
    assert not Grid.objects.filter(code="A3").exists()
    created = client.post("/admin/grids/grid/add/", {**base, "level": "estate"})
    assert created.status_code == 302
    assert Grid.objects.get(code="A3").parent_id == world.A.pk


def test_admin_drag_and_drop_moves_through_the_service(client, world, staff):
    client.force_login(staff)
    moved = client.post(
        "/admin/grids/grid/",
        {
            "cmd": "move_node",
            "cut_item": world.A1a.pk,
            "pasted_on": world.A2.pk,
            "position": "last-child",
        },
    )
    assert moved.content == b"OK, moved."
    assert Grid.objects.get(pk=world.A1a.pk).parent_id == world.A2.pk
    refused = client.post(
        "/admin/grids/grid/",
        {
            "cmd": "move_node",
            "cut_item": world.A1.pk,
            "pasted_on": world.A1a.pk,
            "position": "last-child",
        },
    )
    assert refused.content.startswith(b"FAIL")
    assert Grid.objects.get(pk=world.A1.pk).parent_id == world.A.pk


def test_admin_assignment_inline_uses_the_rules(client, world, staff, make_user):
    client.force_login(staff)
    carol = make_user("carol")
    data = {
        "parent": world.A.pk,
        "name": "社区A",
        "code": world.A.code,
        "kind": "administrative",
        "level": "community",
        "assignments-TOTAL_FORMS": "1",
        "assignments-INITIAL_FORMS": "0",
        "assignments-0-user": carol.pk,
        "assignments-0-role": "unit_head",
        "assignments-0-starts_on": "2026-01-01",
    }
    # the change form re-submits the grid's own parent; staff may not pick above their scope,
    # so edit A1 (whose parent A is inside alice's scope) instead of A itself
    data.update({"parent": world.A.pk, "name": "小区A1", "code": world.A1.code, "level": "estate"})
    response = client.post(f"/admin/grids/grid/{world.A1.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert world.A1.assignments.filter(user=carol, role="unit_head").exists()


def test_admin_index_for_district_leader_is_read_only(client, world, make_user):
    leader = make_user("leader")
    assign(leader, world.C, AssignmentRole.DISTRICT_LEADER)
    client.force_login(leader)
    response = client.get("/admin/grids/grid/")
    assert response.status_code == 200
    shown = {g.pk for g in response.context["cl"].result_list}
    assert len(shown) == 11  # the whole county C tree, departments included
    assert world.C2.pk not in shown
    assert client.get("/admin/grids/grid/add/").status_code == 403


# --- API docs ---------------------------------------------------------------------------


def test_openapi_schema_and_docs_without_cdn(client, world, staff):
    client.force_login(staff)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/grids/",
        "/api/v1/grids/{id}/move/",
        "/api/v1/grids/locate/",
        "/api/v1/assignments/",
        "/api/v1/party-organizations/",
    ):
        assert path in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html or "/static/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html
