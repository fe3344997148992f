"""The dashboard's rollups (PostgreSQL): kept by triggers through every kind of change,
they always equal a recount with the Python definitions (``rollups.check``), and the
dashboard read from them equals the dashboard counted live, figure for figure."""

from __future__ import annotations

import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from governance.dashboard import rollups
from governance.dashboard.models import Rollup, RollupDelta
from governance.dashboard.periods import Period
from governance.dashboard.selectors import dashboard_for
from governance.dashboard.serialize import as_json
from grids import services as grid_services
from grids.models import AssignmentRole
from residents import services as resident_services
from residents.importing import apply_import, read_table
from residents.models import LivingStatus, Resident
from tests.conftest import requires_postgres
from tests.grids.factories import assign, superuser
from tests.residents.factories import id_number, make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Ticket

pytestmark = requires_postgres

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
FEBRUARY = Period(datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
MARCH = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
SPRING = Period(datetime.date(2026, 2, 10), datetime.date(2026, 3, 15))
NOW = datetime.datetime(2026, 3, 20, 12, 0, tzinfo=SH)


def at(month: int, day: int, hour: int = 9):
    return time_machine.travel(datetime.datetime(2026, month, day, hour, tzinfo=SH), tick=False)


def live(monkeypatch, **kwargs) -> dict:
    with monkeypatch.context() as patched:
        patched.setattr(rollups, "uses_rollups", lambda grid: False)
        return as_json(dashboard_for(**kwargs))


def assert_rollups_equal_live(monkeypatch, grids, periods=(FEBRUARY, MARCH, SPRING)):
    """Twice: read with the changes still pending, then after folding them into rows."""
    _assert_rollups_equal_live(monkeypatch, grids, periods)
    rollups.compact()
    assert not RollupDelta.objects.exists()
    _assert_rollups_equal_live(monkeypatch, grids, periods)


def _assert_rollups_equal_live(monkeypatch, grids, periods):
    assert rollups.check() == []
    for grid in grids:
        grid.refresh_from_db()
        assert rollups.uses_rollups(grid)
        for period in periods:
            for unit in ("month", "week"):
                args = {"grid": grid, "period": period, "unit": unit, "now": NOW}
                assert as_json(dashboard_for(**args)) == live(monkeypatch, **args), (
                    grid.name,
                    period,
                    unit,
                )


@pytest.fixture
def busy(world, make_user, tags):
    """Tickets through every transition, whistles, households and residents."""
    root = superuser()
    category = make_category(
        respond=datetime.timedelta(hours=1), resolve=datetime.timedelta(hours=48)
    )
    reporter = make_user("reporter", is_staff=False)
    fixer = make_user("fixer")
    assign(fixer, world.C, AssignmentRole.FULL_TIME_WORKER)
    liaison = make_user("liaison")
    assign(liaison, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    made = {}
    with at(2, 2):
        made["t1"] = t1 = open_ticket(category=category, grid=world.A1, reporter=reporter)
        services.ticket_dispatch(actor=root, ticket=t1, assignee=fixer)
    with at(2, 2, 10):
        services.ticket_accept(actor=fixer, ticket=t1)
    with at(2, 3):
        services.ticket_resolve(actor=fixer, ticket=t1)
        services.ticket_rate(actor=reporter, ticket=t1, rating="satisfied")
    with at(2, 27, 23):  # late in the evening: another day in UTC than in Shanghai
        made["t2"] = t2 = open_ticket(category=category, grid=world.A2, reporter=reporter)
    with at(3, 5):
        services.ticket_dispatch(actor=root, ticket=t2, assignee=fixer)
        services.ticket_accept(actor=fixer, ticket=t2)
    with at(3, 9):
        services.ticket_resolve(actor=fixer, ticket=t2)
        services.ticket_rate(actor=reporter, ticket=t2, rating="unsatisfied")
    with at(3, 10):
        made["t3"] = t3 = open_ticket(category=category, grid=world.B1, reporter=reporter)
        services.ticket_dispatch(actor=root, ticket=t3, departments=[world.D1])
    with at(3, 10, 11):
        services.whistle_report_in(actor=liaison, whistle=t3.whistles.get())
    with at(3, 11):
        made["t4"] = t4 = open_ticket(category=category, grid=world.A1a, reporter=reporter)
        services.ticket_reject(actor=root, ticket=t4, reason="不属于受理范围")
        made["t5"] = t5 = open_ticket(category=category, grid=world.A2, reporter=reporter)
        services.ticket_mark_duplicate(actor=root, ticket=t5, original=t2)
        made["t6"] = t6 = open_ticket(category=category, grid=world.B1, reporter=reporter)
    with at(3, 12):
        services.ticket_reroute(actor=root, ticket=t6, grid=world.A1)
    with at(3, 20, 8):  # overdue this morning: the live part of "overdue now"
        made["t7"] = open_ticket(category=category, grid=world.B1, reporter=reporter)
    with at(3, 1):
        h1 = make_household(world.A1, room="101")
        make_resident(h1, birth=datetime.date(1940, 1, 1), tags=[tags["elderly_alone"]])
        h2 = make_household(world.B1, room="102")
        made["r1"] = make_resident(h2, birth=datetime.date(1980, 1, 1), tags=[tags["dibao"]])
        made["r2"] = make_resident(h2, birth=datetime.date(1982, 1, 1))
    made.update(h1=h1, h2=h2, category=category)
    return made


def test_rollups_follow_services(busy, world, monkeypatch):
    assert RollupDelta.objects.exists()  # triggers append; the compaction folds
    assert_rollups_equal_live(monkeypatch, [world.C, world.T1, world.T2, world.A, world.B])
    board = dashboard_for(grid=world.T1, period=MARCH, now=NOW)
    assert board.tickets["opened"] == 5  # t3…t7 (t2 opened on 27 February)
    assert board.tickets["overdue_now"] >= 1  # t7, overdue since 09:00 today
    assert board.whistles[0]["reported"] == 1
    assert board.people["residents"] == 3


def test_rollups_follow_residents_households_and_imports(busy, world, tags, monkeypatch):
    root = superuser()
    resident_services.resident_update(
        actor=root, resident=busy["r1"], living_status=LivingStatus.MOVED_OUT
    )
    resident_services.resident_update(actor=root, resident=busy["r2"], tags=[tags["veteran"]])
    resident_services.household_update(actor=root, household=busy["h2"], grid=world.A2)
    doomed = make_resident(busy["h1"], birth=datetime.date(1990, 1, 1), tags=[tags["dibao"]])
    doomed.tags.clear()
    Resident.objects.filter(pk=doomed.pk).delete()
    number = id_number(datetime.date(1975, 6, 1), "female", region="110101")
    rows = read_table(
        f"网格编码,房号,姓名,身份证号,重点人群\n{world.A1a.code},301,王芳,{number},低保\n".encode(),
        "import.csv",
    )
    assert apply_import(rows, user=root).counts()["create"] == 1
    assert_rollups_equal_live(monkeypatch, [world.C, world.T1, world.A, world.B])


def test_rollups_survive_raw_updates_and_deletes_in_any_order(busy, monkeypatch, world):
    # the demo moves whole histories back in time with update()
    Ticket.objects.filter(pk=busy["t3"].pk).update(
        created_at=datetime.datetime(2026, 2, 14, 9, tzinfo=SH)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # a ticket before its events and whistles, another after them
        for ticket, first in ((busy["t3"], "ticket"), (busy["t5"], "children")):
            children = [
                ("DELETE FROM tickets_ticketevent WHERE ticket_id = %s", [ticket.pk]),
                ("DELETE FROM tickets_whistle WHERE ticket_id = %s", [ticket.pk]),
            ]
            own = ("DELETE FROM tickets_ticket WHERE id = %s", [ticket.pk])
            for sql, params in [own, *children] if first == "ticket" else [*children, own]:
                cursor.execute(sql, params)
    assert_rollups_equal_live(monkeypatch, [world.C, world.T1, world.A, world.B])


def test_rollups_follow_grids_moved_in_the_tree(busy, world, monkeypatch):
    root = superuser()
    grid_services.grid_move(actor=root, grid=world.A1, parent=world.B)  # same depth
    grid_services.grid_move(actor=root, grid=world.A2, parent=world.T2)  # an estate rises
    grid_services.grid_move(actor=root, grid=world.B, parent=world.C)  # B1 gets rollups
    world.refresh()
    assert world.B.depth == 1
    assert world.A2.depth == 2
    assert Rollup.objects.filter(grid=world.A2).exists()
    assert_rollups_equal_live(
        monkeypatch, [world.C, world.T1, world.T2, world.A, world.B, world.A2, world.B1]
    )


def test_rebuild_gives_the_rows_the_triggers_keep(busy, world):
    assert rollups.compact() > 0
    kept = sorted(
        Rollup.objects.filter(n__gt=0).values_list(
            "grid", "child", "metric", "day", "day2", "key", "n", "total"
        )
    )
    assert rollups.rebuild() == Rollup.objects.count()
    assert (
        sorted(
            Rollup.objects.values_list(
                "grid", "child", "metric", "day", "day2", "key", "n", "total"
            )
        )
        == kept
    )
    assert rollups.check() == []


def test_check_reports_a_wrong_row(busy, world):
    rollups.compact()
    Rollup.objects.filter(grid=world.C, metric="opened").update(n=99)
    problems = rollups.check()
    assert problems
    assert "rollup [99" in problems[0]


def test_the_command_rebuilds_and_checks(busy, world):
    rollups.compact()
    Rollup.objects.filter(grid=world.C, metric="opened").update(n=99)
    with pytest.raises(CommandError):
        call_command("rebuild_rollups", "--check", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("rebuild_rollups", stdout=out)
    assert "Rebuilt" in out.getvalue()
    call_command("rebuild_rollups", "--check", stdout=out)
    assert "agree" in out.getvalue()
