"""The leaders' dashboard: every figure of a small known world with a frozen clock, the
empty subtree, scoping, fixed query counts, the page, exports and the API."""

from __future__ import annotations

import csv
import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from governance.dashboard.periods import Period
from governance.dashboard.selectors import dashboard_for
from grids.models import AssignmentRole
from tests.grids.factories import assign, superuser
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tickets import services

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
MARCH = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
NOW = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=SH)


def at(day: int, hour: int, month: int = 3):
    return time_machine.travel(datetime.datetime(2026, month, day, hour, 0, tzinfo=SH), tick=False)


@pytest.fixture
def known(world, worker, make_user, tags):
    """Four tickets (respond within 1 h, resolve within 48 h) and three households.

    t1 on A1: opened 2 Mar 09:00, accepted 09:30, resolved 3 Mar 09:00, rated satisfied.
    t2 on A2: opened 5 Mar 09:00, accepted 12:00 (late), resolved 9 Mar 09:00 (late),
              rated unsatisfied 10:00 → reopened with fresh deadlines.
    t3 on B1: opened 10 Mar 09:00 and left alone.
    t4 on A1: opened 20 Feb 09:00 and left alone.
    """
    root = superuser()
    category = make_category(
        name="设施报修", respond=datetime.timedelta(hours=1), resolve=datetime.timedelta(hours=48)
    )
    reporter = make_user("reporter", is_staff=False)
    fixer = make_user("fixer")
    assign(fixer, world.T1, AssignmentRole.FULL_TIME_WORKER)
    with at(2, 9):
        t1 = open_ticket(category=category, grid=world.A1, reporter=reporter)
        services.ticket_dispatch(actor=root, ticket=t1, assignee=fixer)
    with at(2, 9):
        pass
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 30, tzinfo=SH), tick=False):
        services.ticket_accept(actor=fixer, ticket=t1)
    with at(3, 9):
        services.ticket_resolve(actor=fixer, ticket=t1)
    with at(3, 10):
        services.ticket_rate(actor=reporter, ticket=t1, rating="satisfied")
    with at(5, 9):
        t2 = open_ticket(category=category, grid=world.A2, reporter=reporter)
    with at(5, 12):
        services.ticket_dispatch(actor=root, ticket=t2, assignee=fixer)
        services.ticket_accept(actor=fixer, ticket=t2)
    with at(9, 9):
        services.ticket_resolve(actor=fixer, ticket=t2)
    with at(9, 10):
        services.ticket_rate(actor=reporter, ticket=t2, rating="unsatisfied")
    with at(10, 9):
        t3 = open_ticket(category=category, grid=world.B1, reporter=reporter)
    with at(20, 9, month=2):
        t4 = open_ticket(category=category, grid=world.A1, reporter=reporter)
    h1 = make_household(world.A1, room="1")
    make_resident(h1, birth=datetime.date(1940, 1, 1), tags=[tags["elderly_alone"]])
    h2 = make_household(world.A2, room="2")
    make_resident(h2, birth=datetime.date(1980, 1, 1))
    make_resident(h2, birth=datetime.date(1982, 1, 1))
    make_household(world.B1, room="3")
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4}


def test_every_ticket_figure_of_the_township(known, world):
    board = dashboard_for(grid=world.T1, period=MARCH, now=NOW)
    t = board.tickets
    assert (t["opened"], t["closed"], t["open_now"], t["overdue_now"]) == (3, 1, 3, 3)
    # resolution deadlines in March: t1 (4 Mar), t2 (11 Mar after reopening), t3 (12 Mar)
    assert (t["due"], t["completed"], t["completion_rate"]) == (3, 1, 33.3)
    assert t["on_time_resolution_rate"] == 33.3
    # response deadlines in March: t1 (met), t2 (9 Mar 11:00 after reopening: missed), t3
    assert t["on_time_response_rate"] == 33.3
    assert t["response_hours"] == {"median": 0.5, "p90": 0.5}  # t2's round was reset
    assert t["resolution_hours"] == {"median": 24.0, "p90": 24.0}
    assert t["ratings"] == 2
    assert t["satisfaction_rate"] == 50.0
    assert t["reopened"] == 1
    assert {r["key"]: r["count"] for r in board.by_status} == {
        "closed": 1,
        "reopened": 1,
        "submitted": 1,
    }
    assert board.by_category == [{"key": "设施报修", "label": "设施报修", "count": 3}]


def test_participation_figures_are_there_and_zero_without_activity(known, world):
    board = dashboard_for(grid=world.T1, period=MARCH, now=NOW)
    p = board.participation
    assert (p["volunteer_hours"], p["activities_held"], p["points_earned"]) == (0.0, 0, 0)
    assert (p["deliberation_sessions"], p["items_adopted"]) == (0, 0)
    assert len(p["rows"]) == 10


def test_people_figures(known, world):
    with time_machine.travel(NOW, tick=False):
        board = dashboard_for(grid=world.A, period=MARCH, now=NOW)
    assert board.people["households"] == 2
    assert board.people["residents"] == 3
    assert board.people["must_visit_households"] == 1
    assert board.key_groups == [{"key": "elderly_alone", "label": "独居老人", "count": 1}]


def test_child_ranking_and_trend(known, world):
    board = dashboard_for(grid=world.T1, period=MARCH, now=NOW)
    ranking = {r["name"]: r for r in board.ranking}
    assert set(ranking) == {"社区A", "社区B"}
    assert (ranking["社区A"]["opened"], ranking["社区A"]["closed"]) == (2, 1)
    assert ranking["社区A"]["completion_rate"] == 50.0
    assert ranking["社区A"]["satisfaction_rate"] == 50.0
    assert (ranking["社区B"]["opened"], ranking["社区B"]["overdue_now"]) == (1, 1)
    assert ranking["社区B"]["satisfaction_rate"] is None
    assert [r["name"] for r in board.ranking] == ["社区A", "社区B"]  # best completion first
    with time_machine.travel(NOW, tick=False):
        trend = dashboard_for(grid=world.T1, period=MARCH, now=NOW).trend
    assert len(trend) == 12
    assert (trend[-1]["label"], trend[-1]["opened"], trend[-1]["closed"]) == ("2026-03", 3, 1)
    assert (trend[-2]["label"], trend[-2]["opened"]) == ("2026-02", 1)


def test_empty_subtree_and_empty_period_have_no_division_by_zero(known, world):
    board = dashboard_for(grid=world.T9, period=MARCH, now=NOW)
    assert board.tickets["opened"] == 0
    assert board.tickets["completion_rate"] is None
    assert board.tickets["satisfaction_rate"] is None
    assert board.people["must_visit_coverage"] is None
    assert board.is_empty
    quiet = Period(datetime.date(2025, 1, 1), datetime.date(2025, 1, 31))
    assert dashboard_for(grid=world.T1, period=quiet, now=NOW).tickets["completion_rate"] is None


def test_query_count_is_fixed(known, world, make_user):
    def queries(grid) -> int:
        with CaptureQueriesContext(connection) as ctx:
            dashboard_for(grid=grid, period=MARCH, now=NOW)
        return len(ctx.captured_queries)

    small = queries(world.A)  # two child grids, a handful of rows
    big = queries(world.C)  # the whole county
    assert small == big
    assert big <= 26  # tickets 18, volunteering 4, deliberation 3
    assert queries(world.A2) < big  # a leaf has no child ranking to compute


# --- through the URLs ---------------------------------------------------------------------------


@pytest.fixture
def township_leader(world, make_user):
    leader = make_user("tl")
    assign(leader, world.T1, AssignmentRole.DISTRICT_LEADER)
    return leader


def test_page_shows_the_numbers_and_drills_down(client, known, world, township_leader):
    client.force_login(township_leader)
    with time_machine.travel(NOW, tick=True):
        response = client.get(
            "/dashboard/",
            {"date_from": "2026-03-01", "date_to": "2026-03-31"},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    body = response.content.decode()
    assert "33.3%" in body  # completion
    assert "50.0%" in body  # satisfaction
    assert f"?grid={world.A.pk}&amp;" in body  # drill-down link to a child grid
    assert "<script>" not in body  # charts are drawn by a static file from a data island
    assert 'id="dashboard-data"' in body
    child = client.get(
        "/dashboard/", {"grid": world.A.pk, "date_from": "2026-03-01", "date_to": "2026-03-31"}
    )
    assert child.status_code == 200
    assert "镇T1" in child.content.decode()  # breadcrumb back up


def test_wall_mode_refreshes_itself(client, known, township_leader):
    client.force_login(township_leader)
    body = client.get("/dashboard/", {"wall": "1"}).content.decode()
    assert 'http-equiv="refresh"' in body


def test_other_township_is_403_and_worker_sees_own_subtree(
    client, known, world, worker, township_leader, api_client_for
):
    client.force_login(township_leader)
    assert client.get("/dashboard/", {"grid": world.T2.pk}).status_code == 403
    assert (
        api_client_for(township_leader).get("/api/v1/dashboard/", {"grid": world.T9.pk}).status_code
        == 403
    )
    client.force_login(worker)
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/dashboard/", {"grid": world.A.pk}).status_code == 403


def test_bad_period_is_400(client, api_client_for, known, township_leader):
    client.force_login(township_leader)
    assert (
        client.get("/dashboard/", {"date_from": "2026-03-10", "date_to": "2026-03-01"}).status_code
        == 400
    )
    response = api_client_for(township_leader).get("/api/v1/dashboard/", {"date_from": "yesterday"})
    assert response.status_code == 400
    assert "date_from" in response.json()


def test_api_gives_the_same_figures(api_client_for, known, world, township_leader):
    with time_machine.travel(NOW, tick=True):
        response = api_client_for(township_leader).get(
            "/api/v1/dashboard/",
            {"grid": world.T1.pk, "date_from": "2026-03-01", "date_to": "2026-03-31"},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["grid"]["id"] == world.T1.pk
    assert body["tickets"]["opened"] == 3
    assert body["tickets"]["completion_rate"] == 33.3
    assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31"}


def test_exports(client, known, township_leader):
    client.force_login(township_leader)
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    xlsx = client.get("/dashboard/export.xlsx", params)
    assert xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert len(workbook.sheetnames) == 9
    headline = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True)}
    assert 3 in headline.values()
    ranking = client.get("/dashboard/export.csv", {**params, "table": "ranking"})
    rows = list(csv.reader(io.StringIO(ranking.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["社区A", "社区B"]
    assert client.get("/dashboard/export.csv", {**params, "table": "nope"}).status_code == 404


def test_department_view(client, known, world, make_user):
    liaison = make_user("liaison")
    assign(liaison, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    services.ticket_dispatch(actor=superuser(), ticket=known["t3"], departments=[world.D1])
    client.force_login(liaison)
    response = client.get(f"/dashboard/departments/{world.D1.pk}/")
    assert response.status_code == 200
    assert known["t3"].number in response.content.decode()
    assert client.get(f"/dashboard/departments/{world.D2.pk}/").status_code == 403
