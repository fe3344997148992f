"""The duty rota (八小时以外 / 24小时待命): office hours, who gets a new ticket out of them,
the rota's rules through the API and the admin, and two overlapping shifts planned at
once on PostgreSQL.

Fire (消防火情) dispatches itself to "the grid's worker": bob, full-time on A1, in office
hours; out of them whoever is on duty for the grid or the nearest grid above it.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

import tickets.admin_rota  # noqa: F401 - registers the rota's admin (tickets.admin imports it)
from grids.models import AssignmentRole, GridAssignment
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import assign, superuser
from tests.tickets.factories import open_ticket
from tickets import routing
from tickets.models import DutyShift

SH = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=SH)
FRIDAY_18 = datetime.datetime(2026, 3, 6, 18, 0, tzinfo=SH)
SATURDAY_22 = datetime.datetime(2026, 3, 7, 22, 0, tzinfo=SH)
NEXT_MONDAY_0830 = datetime.datetime(2026, 3, 9, 8, 30, tzinfo=SH)
HOUR = datetime.timedelta(hours=1)


def shift(grid, user, starts_at=FRIDAY_18, ends_at=NEXT_MONDAY_0830) -> DutyShift:
    return routing.duty_shift_create(
        actor=superuser(), grid=grid, user=user, starts_at=starts_at, ends_at=ends_at
    )


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime.datetime(2026, 3, 2, 8, 29, tzinfo=SH), False),  # Monday, before 8:30
        (datetime.datetime(2026, 3, 2, 8, 30, tzinfo=SH), True),
        (datetime.datetime(2026, 3, 2, 17, 29, tzinfo=SH), True),
        (datetime.datetime(2026, 3, 2, 17, 30, tzinfo=SH), False),  # the evening is on call
        (datetime.datetime(2026, 3, 6, 12, 0, tzinfo=SH), True),  # Friday noon
        (datetime.datetime(2026, 3, 7, 12, 0, tzinfo=SH), False),  # Saturday noon
        (datetime.datetime(2026, 3, 8, 10, 0, tzinfo=SH), False),  # Sunday
    ],
)
def test_office_hours_are_weekdays_half_past_eight_to_half_past_five(local, expected):
    assert routing.is_office_hours(local) is expected


def test_office_hours_are_counted_in_shanghai_time_whatever_the_clock_says():
    # 01:00 UTC on a Monday is 09:00 in Shanghai: office hours
    assert routing.is_office_hours(datetime.datetime(2026, 3, 2, 1, 0, tzinfo=datetime.UTC))


def test_office_hours_follow_the_setting(settings):
    settings.OFFICE_HOURS = ((9, 0), (18, 0))
    assert routing.is_office_hours(datetime.datetime(2026, 3, 2, 8, 45, tzinfo=SH)) is False
    assert routing.is_office_hours(datetime.datetime(2026, 3, 2, 17, 45, tzinfo=SH)) is True


# --- routing -------------------------------------------------------------------------------------


def _auto_assignee(world, fire, frank, at, grid=None):
    with time_machine.travel(at, tick=False):
        ticket = open_ticket(category=fire, grid=grid or world.A1a, reporter=frank)
    ticket.refresh_from_db()
    return ticket


def test_out_of_office_hours_the_person_on_duty_gets_the_ticket(world, fire, frank, worker, carol):
    shift(world.A1a, carol)

    night = _auto_assignee(world, fire, frank, SATURDAY_22)
    office = _auto_assignee(world, fire, frank, MONDAY_10)

    assert (night.status, night.assignee) == ("dispatched", carol)
    assert night.events.get(kind="opened").data["auto_dispatch"] == {
        "route": "worker",
        "person": carol.pk,
        "on_duty": True,
    }
    assert office.assignee == worker  # in office hours the full-time worker, as before


def test_the_nearest_grid_with_a_shift_answers(world, fire, frank, worker, grace, staff):
    shift(world.A, staff)  # alice for the whole community
    shift(world.A1, grace)  # grace for estate A1 and below

    assert _auto_assignee(world, fire, frank, SATURDAY_22).assignee == grace
    assert _auto_assignee(world, fire, frank, SATURDAY_22, grid=world.A2).assignee == staff


def test_with_nobody_on_duty_the_full_time_worker_gets_it(world, fire, frank, worker, carol):
    shift(world.A1a, carol, starts_at=FRIDAY_18, ends_at=SATURDAY_22)  # ended at 22:00

    ticket = _auto_assignee(world, fire, frank, SATURDAY_22)

    assert ticket.assignee == worker
    assert ticket.events.get(kind="opened").data["auto_dispatch"] == {
        "route": "worker",
        "person": worker.pk,
    }


def test_someone_who_no_longer_works_on_the_grid_is_not_on_duty(world, fire, frank, worker, carol):
    shift(world.A1a, carol)
    GridAssignment.objects.filter(user=carol).update(ends_on=datetime.date(2026, 3, 6))

    assert _auto_assignee(world, fire, frank, SATURDAY_22).assignee == worker


# --- the API -------------------------------------------------------------------------------------


def payload(grid, user, starts=FRIDAY_18, ends=NEXT_MONDAY_0830, **extra) -> dict:
    return {
        "grid": grid.pk,
        "user": user.pk,
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        **extra,
    }


def test_staff_plan_a_shift(world, staff, worker, api_client_for):
    response = api_client_for(staff).post(
        "/api/v1/duty-shifts/", payload(world.A1, worker, note="周末值班"), format="json"
    )

    assert response.status_code == 201, response.content
    saved = DutyShift.objects.get(pk=response.json()["id"])
    assert (saved.grid, saved.user, saved.created_by, saved.note) == (
        world.A1,
        worker,
        staff,
        "周末值班",
    )
    assert (saved.starts_at, saved.ends_at) == (FRIDAY_18, NEXT_MONDAY_0830)


def test_the_rota_rules_are_400s_by_field(world, staff, worker, outsider, api_client_for):
    client = api_client_for(staff)
    shift(world.A1, worker)

    def errors(body: dict) -> dict:
        response = client.post("/api/v1/duty-shifts/", body, format="json")
        assert response.status_code == 400, response.content
        return response.json()

    assert "starts_at" in errors(payload(world.A1, worker, starts=SATURDAY_22))  # overlaps
    assert "user" in errors(payload(world.A1, outsider))  # charlie works on B, not A1
    assert "ends_at" in errors(payload(world.A1, staff, starts=SATURDAY_22, ends=FRIDAY_18))
    assert "grid" in errors(payload(world.B1, staff))  # not a grid alice sees
    assert DutyShift.objects.count() == 1


def test_back_to_back_shifts_do_not_overlap(world, staff, worker, api_client_for):
    shift(world.A1, worker)
    following = payload(world.A1, worker, starts=NEXT_MONDAY_0830, ends=NEXT_MONDAY_0830 + HOUR)

    response = api_client_for(staff).post("/api/v1/duty-shifts/", following, format="json")

    assert response.status_code == 201, response.content


def test_a_person_may_be_on_duty_below_their_grid_but_not_above_it(
    world, staff, grace, carol, api_client_for
):
    client = api_client_for(staff)

    below = client.post("/api/v1/duty-shifts/", payload(world.A1a, grace), format="json")
    above = client.post("/api/v1/duty-shifts/", payload(world.A1, carol), format="json")

    assert (below.status_code, above.status_code) == (201, 400)


def test_only_staff_plan_and_everyone_reads_their_part(
    world, staff, worker, outsider, leader, api_client_for
):
    planned = shift(world.A1, worker)
    body = payload(
        world.A1, worker, starts=SATURDAY_22 + 4 * 24 * HOUR, ends=SATURDAY_22 + 120 * HOUR
    )

    assert (
        api_client_for(worker).post("/api/v1/duty-shifts/", body, format="json").status_code == 403
    )
    dan = api_client_for(leader)
    assert dan.post("/api/v1/duty-shifts/", body, format="json").status_code == 403
    assert dan.delete(f"/api/v1/duty-shifts/{planned.pk}/").status_code == 403
    assert [r["id"] for r in dan.get("/api/v1/duty-shifts/").json()["results"]] == [planned.pk]
    assert api_client_for(outsider).get("/api/v1/duty-shifts/").json()["count"] == 0
    assert api_client_for(outsider).get(f"/api/v1/duty-shifts/{planned.pk}/").status_code == 404


def test_change_filter_and_delete(world, staff, worker, grace, api_client_for):
    client = api_client_for(staff)
    planned = shift(world.A1, worker)
    other = shift(
        world.A1, grace, starts_at=MONDAY_10 + 7 * 24 * HOUR, ends_at=MONDAY_10 + 176 * HOUR
    )

    moved = client.patch(
        f"/api/v1/duty-shifts/{planned.pk}/",
        {"ends_at": SATURDAY_22.isoformat()},
        format="json",
    )
    clash = client.patch(
        f"/api/v1/duty-shifts/{other.pk}/",
        {"user": worker.pk, "starts_at": FRIDAY_18.isoformat()},
        format="json",
    )
    covering = client.get("/api/v1/duty-shifts/", {"covering": SATURDAY_22.isoformat()})
    earlier = client.get("/api/v1/duty-shifts/", {"covering": (SATURDAY_22 - HOUR).isoformat()})

    assert moved.status_code == 200
    assert moved.json()["ends_at"] == SATURDAY_22.isoformat()
    assert clash.status_code == 400
    assert covering.json()["count"] == 0
    assert [r["id"] for r in earlier.json()["results"]] == [planned.pk]
    assert client.delete(f"/api/v1/duty-shifts/{planned.pk}/").status_code == 204
    assert not DutyShift.objects.filter(pk=planned.pk).exists()


# --- the admin -----------------------------------------------------------------------------------


def admin_form(grid, user, starts=FRIDAY_18, ends=NEXT_MONDAY_0830) -> dict:
    return {
        "grid": grid.pk,
        "user": user.pk,
        "starts_at_0": f"{starts:%Y-%m-%d}",
        "starts_at_1": f"{starts:%H:%M:%S}",
        "ends_at_0": f"{ends:%Y-%m-%d}",
        "ends_at_1": f"{ends:%H:%M:%S}",
        "note": "",
    }


def test_staff_plan_shifts_in_the_admin(world, staff, worker, client):
    client.force_login(staff)
    url = "/admin/tickets/dutyshift/add/"

    assert client.get(url).status_code == 200
    created = client.post(url, admin_form(world.A1, worker))
    overlapping = client.post(url, admin_form(world.A1, worker, starts=SATURDAY_22))

    assert created.status_code == 302
    saved = DutyShift.objects.get()
    assert (saved.user, saved.created_by, saved.starts_at) == (worker, staff, FRIDAY_18)
    assert overlapping.status_code == 200
    assert overlapping.context["adminform"].form.errors.keys() == {"starts_at"}
    assert DutyShift.objects.count() == 1


def test_the_admin_is_scoped_by_grid(world, staff, worker, outsider, client):
    planned = shift(world.A1, worker)
    client.force_login(outsider)

    listing = client.get("/admin/tickets/dutyshift/")
    change = client.get(f"/admin/tickets/dutyshift/{planned.pk}/change/")

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 0
    assert change.status_code == 302  # not in charlie's scope: "does not exist"
    assert client.post(
        f"/admin/tickets/dutyshift/{planned.pk}/delete/", {"post": "yes"}
    ).status_code in (302, 403)
    assert DutyShift.objects.filter(pk=planned.pk).exists()


def test_the_admin_deletes_through_the_service(world, staff, worker, client):
    planned = shift(world.A1, worker)
    client.force_login(staff)

    response = client.post(f"/admin/tickets/dutyshift/{planned.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not DutyShift.objects.exists()


# --- PostgreSQL, real threads --------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_shifts_planned_at_once_one_is_refused(world, staff, worker, grace):
    windows = [(FRIDAY_18, NEXT_MONDAY_0830), (SATURDAY_22, SATURDAY_22 + HOUR)]
    planners = [staff, grace]

    errors = run_in_threads(
        2,
        lambda i: routing.duty_shift_create(
            actor=planners[i],
            grid=world.A1,
            user=worker,
            starts_at=windows[i][0],
            ends_at=windows[i][1],
        ),
    )

    assert len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert "starts_at" in errors[0].message_dict
    assert DutyShift.objects.filter(user=worker).count() == 1


def test_planning_needs_the_right_on_the_grid(world, worker, carol):
    with pytest.raises(PermissionDenied):
        routing.duty_shift_create(
            actor=worker, grid=world.A1a, user=carol, starts_at=FRIDAY_18, ends_at=SATURDAY_22
        )
    assign(carol, world.A1, AssignmentRole.GRID_LEADER)
    assert routing.duty_shift_create(
        actor=carol, grid=world.A1a, user=carol, starts_at=FRIDAY_18, ends_at=SATURDAY_22
    ).pk


def test_the_rota_list_queries_do_not_grow_with_rows(world, staff, worker, grace, api_client_for):
    client = api_client_for(staff)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/duty-shifts/").status_code == 200
        return len(queries)

    week = 7 * 24 * HOUR
    shift(world.A1, worker)
    few = count()
    for i in range(1, 6):
        shift(world.A1, worker, starts_at=FRIDAY_18 + i * week, ends_at=SATURDAY_22 + i * week)
        shift(world.A1a, grace, starts_at=FRIDAY_18 + i * week, ends_at=SATURDAY_22 + i * week)
    assert count() == few
