"""The offline bundle: the signed-in user's grid data kept on the phone for reading without
a signal. Scoped like the pages, masked like the lists, a fixed number of queries."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.pwa import bundle as bundle_module
from residents.models import Household
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import open_ticket
from tickets.models import TicketStatus

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def fetch(client, user):
    client.force_login(user)
    response = client.get("/pwa/offline-bundle/", **EN)
    assert response.status_code == 200, response.content
    return response


def test_nobody_signed_in_gets_no_data(client, db):
    response = client.get("/pwa/offline-bundle/")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_the_bundle_is_private_and_kept_by_no_http_cache(client, worker, homes):
    response = fetch(client, worker)
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert response.json()["user"]["id"] == str(worker.pk)


def test_a_worker_gets_their_grids_households_and_no_others(client, worker, homes):
    data = fetch(client, worker).json()

    ids = {h["id"] for h in data["households"]}
    assert ids == {homes["h1"].pk, homes["h2"].pk}  # A1 and its micro grid; not A2's h3
    h1 = next(h for h in data["households"] if h["id"] == homes["h1"].pk)
    assert h1["head"] == "王大爷"
    assert h1["url"] == f"/residents/households/{homes['h1'].pk}/"
    assert h1["visit_url"] == f"/residents/households/{homes['h1'].pk}/visits/"
    assert h1["may_visit"] is True
    assert [r["name"] for r in h1["residents"]] == ["王大爷"]
    assert h1["residents"][0]["tags"]
    assert {k["value"] for k in data["visit_kinds"]} == {"routine", "must_visit", "follow_up"}


def test_personal_data_is_masked_and_id_numbers_are_left_out(client, worker, homes):
    body = fetch(client, worker).content.decode()
    data = json.loads(body)

    assert "13812345678" not in body
    assert "13987654321" not in body
    h1 = next(h for h in data["households"] if h["id"] == homes["h1"].pk)
    assert h1["phone"] == "138****5678"
    assert h1["residents"][0]["phone"] == "139****4321"
    assert homes["wang"].id_number_masked not in body
    assert "id_number" not in body


def test_a_leader_who_only_reads_gets_no_visit_form(client, leader, homes):
    data = fetch(client, leader).json()
    assert {h["id"] for h in data["households"]} == {homes[k].pk for k in ("h1", "h2", "h3")}
    assert not any(h["may_visit"] for h in data["households"])


def test_due_households_come_first(client, worker, homes):
    today = timezone.localdate()
    Household.objects.filter(pk=homes["h2"].pk).update(
        visit_due_on=today - datetime.timedelta(days=2)
    )
    Household.objects.filter(pk=homes["h1"].pk).update(visit_due_on=None)

    data = fetch(client, worker).json()

    first = data["households"][0]
    assert (first["id"], first["duty"]) == (homes["h2"].pk, "overdue")
    assert data["households"][-1]["due_on"] == ""


def test_open_tickets_mine_and_claimable_each_once(client, worker, frank, world, hazard, errands):
    mine = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    from tests.grids.factories import superuser
    from tickets import services

    services.ticket_dispatch(actor=superuser(), ticket=mine, assignee=worker)
    board = open_ticket(category=errands, grid=world.A1a, reporter=frank, title="帮老人买药")
    assert board.status == TicketStatus.CLAIMABLE

    data = fetch(client, worker).json()

    by_id = {t["id"]: t for t in data["tickets"]}
    assert set(by_id) == {mine.pk, board.pk}
    assert by_id[mine.pk]["assigned"]
    assert not by_id[mine.pk]["claimable"]
    assert by_id[board.pk]["claimable"]
    assert by_id[board.pk]["claim_url"] == f"/tickets/{board.pk}/do/claim/"
    assert by_id[mine.pk]["status_label"] == "Dispatched"


def test_a_resident_gets_their_own_reports(client, frank, world, hazard):
    reported = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    data = fetch(client, frank).json()
    assert data["households"] == []
    assert [(t["id"], t["reported"]) for t in data["tickets"]] == [(reported.pk, True)]


def test_campaign_tasks_with_their_questions(client, worker, campaign, homes):
    data = fetch(client, worker).json()

    assert [c["title"] for c in data["campaigns"]] == ["冬季安全敲门行动"]
    assert data["campaigns"][0]["questions"] == ["燃气是否安全？"]
    households = {t["household"] for t in data["campaign_tasks"]}
    assert households == {homes["h1"].pk, homes["h2"].pk}  # not h3: outside bob's grids
    assert all(t["url"].startswith("/residents/campaign-tasks/") for t in data["campaign_tasks"])


def test_long_lists_are_cut_and_say_so(client, worker, homes, monkeypatch):
    monkeypatch.setattr(bundle_module, "MAX_HOUSEHOLDS", 1)
    data = fetch(client, worker).json()
    assert len(data["households"]) == 1
    assert data["truncated"]["households"] is True


def _queries(client, user) -> int:
    client.force_login(user)
    client.get("/residents/")  # the session and the user are loaded once, not counted
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/pwa/offline-bundle/").status_code == 200
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_grid(
    client, worker, world, homes, campaign, tags, django_assert_max_num_queries
):
    few = _queries(client, worker)
    for i in range(12):
        household = make_household(world.A1a, building="9", room=str(100 + i))
        make_resident(household, name=f"居民{i}", tags=[tags["dibao"]])
        make_resident(household, name=f"家属{i}")
    many = _queries(client, worker)

    assert many == few
    with django_assert_max_num_queries(20):
        client.get("/pwa/offline-bundle/")


@pytest.mark.parametrize("username", ["alice", "dan"])
def test_staff_and_leaders_get_a_bundle_too(client, username, staff, leader, homes, campaign):
    user = {"alice": staff, "dan": leader}[username]
    data = fetch(client, user).json()
    assert len(data["households"]) == 3
