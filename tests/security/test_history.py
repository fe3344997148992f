"""Audit: who changed a grid, an assignment or a party organization, when and what; kept
by django-simple-history, readable in the admin by whoever may see the object."""

from __future__ import annotations

import pytest

from grids.models import Grid, GridAssignment, PartyOrganization
from tests.grids.factories import make_party_organization


@pytest.fixture
def branch(world):
    return make_party_organization(world.A1, "branch", name="A1支部")


def test_a_grid_changed_over_the_api_keeps_who_and_what(world, staff, api_client_for):
    before = world.A1.history.count()

    answer = api_client_for(staff).patch(
        f"/api/v1/grids/{world.A1.pk}/", {"name": "幸福小区"}, format="json"
    )

    assert answer.status_code == 200
    assert world.A1.history.count() == before + 1
    latest = world.A1.history.latest()
    assert (latest.history_type, latest.history_user, latest.name) == ("~", staff, "幸福小区")
    assert latest.prev_record.name == "小区A1"
    changed = latest.diff_against(latest.prev_record).changed_fields
    assert changed == ["name"]  # the tree's bookkeeping is not history


def test_an_assignment_changed_and_ended_is_kept(world, staff, worker, api_client_for):
    assignment = GridAssignment.objects.get(user=worker)
    client = api_client_for(staff)

    assert (
        client.patch(
            f"/api/v1/assignments/{assignment.pk}/", {"note": "负责3号楼"}, format="json"
        ).status_code
        == 200
    )
    assert client.post(f"/api/v1/assignments/{assignment.pk}/end/", {}).status_code == 200

    rows = list(assignment.history.order_by("history_date", "history_id"))
    assert [r.history_type for r in rows] == ["+", "~", "~"]
    assert [r.history_user for r in rows[1:]] == [staff, staff]
    assert rows[1].note == "负责3号楼"
    assert rows[0].ends_on is None
    assert rows[2].ends_on is not None


def test_a_party_organization_changed_in_the_admin_is_kept(world, staff, branch, client):
    client.force_login(staff)
    answer = client.post(
        f"/admin/grids/partyorganization/{branch.pk}/change/",
        {
            "name": "A1第一支部",
            "kind": "branch",
            "parent": "",
            "grid": world.A1.pk,
            "secretary": "",
        },
    )
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    latest = PartyOrganization.objects.get(pk=branch.pk).history.latest()
    assert (latest.history_user, latest.name) == (staff, "A1第一支部")


def test_a_new_grid_and_a_deleted_one_are_kept(world, staff, api_client_for):
    client = api_client_for(staff)
    created = client.post(
        "/api/v1/grids/",
        {"parent": world.A1.pk, "name": "微网格X", "code": "X-001", "level": "micro"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert client.delete(f"/api/v1/grids/{pk}/").status_code == 204

    rows = Grid.history.filter(id=pk).order_by("history_date", "history_id")
    assert [(r.history_type, r.history_user) for r in rows] == [("+", staff), ("-", staff)]


def test_history_pages_are_read_in_scope(world, staff, worker, outsider, client):
    assignment = GridAssignment.objects.get(user=worker)
    pages = [
        f"/admin/grids/grid/{world.A1.pk}/history/",
        f"/admin/grids/gridassignment/{assignment.pk}/history/",
    ]
    client.force_login(worker)  # reads A1's subtree
    for page in pages:
        assert client.get(page).status_code == 200, page
    version = world.A1.history.latest().history_id
    assert client.get(f"/admin/grids/grid/{world.A1.pk}/history/{version}/").status_code == 200

    client.force_login(outsider)  # community B: A1 is none of theirs
    for page in [*pages, f"/admin/grids/grid/{world.A1.pk}/history/{version}/"]:
        answer = client.get(page)
        assert answer.status_code == 302, page  # as for a missing object: nothing disclosed
        assert answer["Location"] == "/admin/"


def test_a_past_version_is_shown_but_never_restored(world, staff, api_client_for, client):
    api_client_for(staff).patch(f"/api/v1/grids/{world.A1.pk}/", {"name": "新名"}, format="json")
    first = world.A1.history.earliest()
    client.force_login(staff)
    url = f"/admin/grids/grid/{world.A1.pk}/history/{first.history_id}/"

    page = client.get(url)
    assert page.status_code == 200
    assert "_change_history" not in page.content.decode()  # no revert button

    refused = client.post(
        url, {"name": first.name, "code": first.code, "kind": first.kind, "level": first.level}
    )
    assert refused.status_code == 403
    assert Grid.objects.get(pk=world.A1.pk).name == "新名"


def test_a_read_only_role_reads_history_too(world, leader, client):
    """Dan, district leader of the county, reads (and audits) the whole county."""
    client.force_login(leader)
    assert client.get(f"/admin/grids/grid/{world.A1.pk}/history/").status_code == 200
    assert client.get(f"/admin/grids/grid/{world.C.pk}/history/").status_code == 200


def test_a_deleted_grid_keeps_its_history_for_superusers(
    world, staff, admin_user, api_client_for, client
):
    client_api = api_client_for(staff)
    created = client_api.post(
        "/api/v1/grids/",
        {"parent": world.A1.pk, "name": "临时网格", "code": "X-002", "level": "micro"},
        format="json",
    )
    pk = created.json()["id"]
    assert client_api.delete(f"/api/v1/grids/{pk}/").status_code == 204
    page = f"/admin/grids/grid/{pk}/history/"

    client.force_login(staff)  # the grid is gone: nothing to place it in her scope
    assert client.get(page).status_code == 302
    client.force_login(admin_user)
    answer = client.get(page)
    assert answer.status_code == 200
    assert "临时网格" in answer.content.decode()
