"""Household archives over the API: validation, masking, reveal and its log, scoping."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

from grids.models import AssignmentRole
from residents.models import Household, PersonalDataAccess, Resident
from tests.grids.factories import assign
from tests.residents.factories import id_number


@pytest.fixture
def bob_api(worker, api_client_for):
    return api_client_for(worker)


@pytest.fixture
def alice_api(staff, api_client_for):
    return api_client_for(staff)


def rows(response):
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def test_worker_lists_only_own_households_masked(bob_api, homes):
    response = bob_api.get("/api/v1/households/")
    assert response.status_code == 200
    listed = {r["id"]: r for r in rows(response)}
    assert set(listed) == {homes["h1"].pk, homes["h2"].pk}
    assert listed[homes["h1"].pk]["phone"] == "138****5678"
    residents = rows(bob_api.get("/api/v1/residents/"))
    wang = next(r for r in residents if r["name"] == "王大爷")
    assert wang["phone"] == "139****4321"
    assert "*" in wang["id_number"]
    assert len(wang["id_number"]) == 18
    assert wang["is_elderly"] is True
    assert wang["tag_names"] == ["独居老人"]


def test_other_grid_is_404(bob_api, homes):
    assert bob_api.get(f"/api/v1/households/{homes['h3'].pk}/").status_code == 404
    assert bob_api.get(f"/api/v1/residents/{homes['zhao'].pk}/").status_code == 404
    assert bob_api.post(f"/api/v1/residents/{homes['zhao'].pk}/reveal/").status_code == 404
    assert PersonalDataAccess.objects.count() == 0


def test_reveal_per_role_and_the_access_log(
    bob_api, alice_api, homes, make_user, api_client_for, world
):
    wang = homes["wang"]
    # bob, a full-time worker, may have the phone whole but not the ID number
    response = bob_api.post(f"/api/v1/residents/{wang.pk}/reveal/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response.json() == {"phone": "13987654321"}
    assert response["Cache-Control"] == "no-store"
    # alice, community staff, needs both
    response = alice_api.post(f"/api/v1/residents/{wang.pk}/reveal/")
    assert response.json()["id_number"] == wang.reveal_id_number()
    # a part-time worker needs neither
    part_timer = make_user("pt")
    assign(part_timer, world.A1, AssignmentRole.PART_TIME_WORKER)
    assert (
        api_client_for(part_timer).post(f"/api/v1/residents/{wang.pk}/reveal/").status_code == 403
    )
    log = list(PersonalDataAccess.objects.order_by("accessed_at", "pk"))
    assert [(e.user.username, e.fields, e.resident_id) for e in log] == [
        ("bob", "phone", wang.pk),
        ("alice", "id_number,phone", wang.pk),
    ]
    assert log[0].ip_address == "10.1.2.3"
    assert log[0].path == f"/api/v1/residents/{wang.pk}/reveal/"


def test_the_access_log_names_the_client_behind_a_trusted_proxy(homes, bob_api, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    wang = homes["wang"]
    response = bob_api.post(
        f"/api/v1/residents/{wang.pk}/reveal/",
        REMOTE_ADDR="10.0.0.1",  # the proxy
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    assert response.status_code == 200
    assert PersonalDataAccess.objects.get().ip_address == "203.0.113.7"


def test_id_numbers_are_not_in_the_database_in_clear(homes):
    number = homes["wang"].reveal_id_number()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM residents_resident")
        dump = repr(cursor.fetchall())
        cursor.execute("SELECT * FROM residents_historicalresident")
        dump += repr(cursor.fetchall())
    assert number not in dump
    assert number[6:14] not in dump.replace("-", "")  # not even the birth-date digits


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_number": "11010519491231002"}, "id_number"),
        ({"id_number": "110105194912310021"}, "id_number"),
        ({"birth_date": "1980-01-01"}, "birth_date"),
        ({"gender": "female"}, "gender"),
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"birth_date": "2999-01-01", "id_number": ""}, "birth_date"),
    ],
)
def test_bad_resident_is_400_and_writes_nothing(alice_api, homes, change, field):
    payload = {
        "household": homes["h1"].pk,
        "name": "新居民",
        "gender": "male",
        "birth_date": "1975-06-15",
        "id_number": id_number(datetime.date(1975, 6, 15), "male"),
        **change,
    }
    before = Resident.objects.count()
    response = alice_api.post("/api/v1/residents/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert Resident.objects.count() == before


def test_duplicate_id_number_is_400(alice_api, homes):
    payload = {
        "household": homes["h1"].pk,
        "name": "重复",
        "id_number": homes["wang"].reveal_id_number(),
    }
    response = alice_api.post("/api/v1/residents/", payload, format="json")
    assert response.status_code == 400
    assert "id_number" in response.json()


def test_create_resident_from_id_number_alone(bob_api, homes):
    number = id_number(datetime.date(2015, 9, 1), "female")
    response = bob_api.post(
        "/api/v1/residents/",
        {
            "household": homes["h1"].pk,
            "name": "小红",
            "id_number": number,
            "relation": "grandchild",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["birth_date"] == "2015-09-01"
    assert body["gender"] == "female"
    assert body["id_number"] == number[:4] + "*" * 10 + number[-4:]


def test_household_create_and_bad_input(bob_api, homes, world):
    ok = bob_api.post(
        "/api/v1/households/",
        {"grid": world.A1a.pk, "building": "3", "unit": "1", "room": "102"},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    for payload, field in [
        ({"grid": world.A1a.pk, "building": "3", "unit": "1", "room": "101"}, "room"),
        ({"grid": world.A1a.pk}, "address"),
        ({"grid": world.A2.pk, "room": "9"}, "grid"),
        ({"grid": world.A1a.pk, "room": "9", "phone": "123"}, "phone"),
    ]:
        before = Household.objects.count()
        response = bob_api.post("/api/v1/households/", payload, format="json")
        assert response.status_code == 400, (payload, response.json())
        assert field in response.json()
        assert Household.objects.count() == before


def test_readers_cannot_write(homes, make_user, world, api_client_for):
    leader = make_user("leader2")
    assign(leader, world.C, AssignmentRole.DISTRICT_LEADER)
    client = api_client_for(leader)
    assert client.get(f"/api/v1/households/{homes['h3'].pk}/").status_code == 200
    response = client.patch(f"/api/v1/households/{homes['h3'].pk}/", {"notes": "x"}, format="json")
    assert response.status_code == 403


def test_history_keeps_who_changed_what(alice_api, homes, staff):
    response = alice_api.patch(
        f"/api/v1/residents/{homes['wang'].pk}/", {"living_status": "moved_out"}, format="json"
    )
    assert response.status_code == 200
    history = homes["wang"].history.order_by("history_date")
    last = history.last()
    assert last.history_user == staff
    assert last.living_status == "moved_out"
    delta = last.diff_against(last.prev_record)
    assert [c.field for c in delta.changes] == ["living_status"]


def test_list_query_count_does_not_grow(alice_api, homes, world, django_assert_max_num_queries):
    from tests.residents.factories import make_household, make_resident

    def count() -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert alice_api.get("/api/v1/residents/").status_code == 200
            assert alice_api.get("/api/v1/households/").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for _ in range(10):
        make_resident(make_household(world.A2))
    assert count() == small
