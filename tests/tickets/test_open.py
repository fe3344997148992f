"""Reporting a problem: ``POST /api/v1/tickets/`` and ``services.ticket_open``.

The grid from coordinates (随手拍), the channel's rules, anonymous reports per category,
phone numbers, the deadline policy, ticket numbers and the automatic routes.
"""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from grids import services as grid_services
from grids.models import AssignmentRole, GridLevel
from residents.personal_data import validate_phone
from tests.grids.factories import assign, make_grid, superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Channel, Route, Ticket, Whistle

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
IN_A1A = {"lat": 30.05, "lng": 100.05}  # inside micro grid A1a (and A1, A, T1, C)


@pytest.fixture
def frank_api(frank, api_client_for):
    return api_client_for(frank)


def report(client, **fields):
    return client.post("/api/v1/tickets/", {"title": "楼道堆放杂物", **fields}, format="json")


# --- the grid --------------------------------------------------------------------------------


def test_report_with_a_grid(world, hazard, frank, frank_api):
    # when
    with time_machine.travel(T0, tick=False):
        response = report(frank_api, category=hazard.pk, grid=world.A2.pk, address="2号楼")

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "submitted"
    assert body["channel"] == Channel.API
    assert body["grid"] == world.A2.pk
    assert body["reporter"] == {"id": frank.pk, "name": str(frank)}
    assert re.fullmatch(r"20260302-\d{4}", body["number"])
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.created_by == frank
    assert ticket.respond_by == T0 + hazard.respond_within
    assert ticket.resolve_by == T0 + hazard.resolve_within
    [opened] = ticket.events.all()
    assert (opened.kind, opened.actor, opened.from_status, opened.to_status) == (
        "opened",
        frank,
        "",
        "submitted",
    )
    assert opened.data == {"channel": "api", "located": False, "auto_dispatch": None}


def test_coordinates_locate_the_deepest_grid(world, hazard, frank_api):
    response = report(frank_api, category=hazard.pk, **IN_A1A)

    assert response.status_code == 201, response.json()
    assert response.json()["grid"] == world.A1a.pk
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.events.get().data["located"] is True
    assert (ticket.lat, ticket.lng) == (30.05, 100.05)


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({}, "grid"),  # neither a grid nor coordinates
        ({"lat": 45.0, "lng": 120.0}, "grid"),  # no grid covers the place
        ({"lat": 30.05}, "lat"),  # half a coordinate
        ({"lat": 95.0, "lng": 100.0}, "lat"),  # off the map
    ],
)
def test_where_is_required(world, hazard, frank_api, fields, error_field):
    response = report(frank_api, category=hazard.pk, **fields)

    assert response.status_code == 400
    assert error_field in response.json()
    assert not Ticket.objects.exists()


def test_departments_and_inactive_grids_take_no_reports(world, hazard, frank_api):
    assert report(frank_api, category=hazard.pk, grid=world.D1.pk).status_code == 400
    grid_services.grid_deactivate(actor=superuser(), grid=world.A2)
    assert report(frank_api, category=hazard.pk, grid=world.A2.pk).status_code == 400
    with pytest.raises(ValidationError) as refused:
        open_ticket(category=hazard, grid=world.D1, reporter=None)
    assert "grid" in refused.value.message_dict
    assert not Ticket.objects.exists()


def test_inactive_category_and_blank_title_are_refused(world, hazard, frank_api):
    blank = report(frank_api, category=hazard.pk, grid=world.A1.pk, title="  ")
    assert blank.status_code == 400
    services.category_update(actor=superuser(), category=hazard, is_active=False)
    inactive = report(frank_api, category=hazard.pk, grid=world.A1.pk)
    assert inactive.status_code == 400
    assert "category" in inactive.json()
    assert not Ticket.objects.exists()


# --- anonymous reports and phones ---------------------------------------------------------------


def test_anonymous_report_where_the_category_allows(world, fire, frank_api):
    response = report(
        frank_api,
        category=fire.pk,
        anonymous=True,
        reporter_name="王阿姨",
        reporter_phone="+86 138 0013 8000",
        **IN_A1A,
    )

    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.reporter is None
    assert ticket.reporter_phone == "13800138000"
    assert ticket.reporter_name == "王阿姨"


def test_anonymous_report_refused_where_the_category_does_not_allow(world, hazard, frank_api):
    response = report(
        frank_api, category=hazard.pk, anonymous=True, reporter_phone="13800138000", **IN_A1A
    )

    assert response.status_code == 400
    assert "reporter" in response.json()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("phone", ["", "12345", "1380013800"])
def test_anonymous_report_needs_a_valid_phone(world, fire, frank_api, phone):
    response = report(frank_api, category=fire.pk, anonymous=True, reporter_phone=phone, **IN_A1A)

    assert response.status_code == 400
    assert "reporter_phone" in response.json()
    assert not Ticket.objects.exists()


def test_the_anonymous_web_page_has_no_actor(world, fire):
    """The resident web page (a later slice) reports without an account, through the
    same service; only that channel may."""
    anonymous = {"category": fire, "title": "厨房冒烟", "reporter_phone": "010-62345678", **IN_A1A}
    ticket = services.ticket_open(actor=None, channel="resident_web", **anonymous)
    assert ticket.created_by is None
    assert ticket.events.first().actor is None
    with pytest.raises(PermissionDenied):
        services.ticket_open(actor=None, channel="api", **anonymous)
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13800138000", "13800138000"),
        ("+86 13800138000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("010-62345678", "010-62345678"),
        ("0971 8123456", "09718123456"),
        ("(0971)8123456", "09718123456"),
        ("0971-8123456-801", "0971-8123456-801"),
    ],
)
def test_phone_numbers_accepted(raw, normal):
    assert validate_phone(raw) == normal


@pytest.mark.parametrize(
    "raw", ["", "12345", "12800138000", "1380013800", "138001380001", "010-1234", "phone", "+1 555"]
)
def test_phone_numbers_refused(raw):
    with pytest.raises(ValidationError):
        validate_phone(raw)


# --- channels ---------------------------------------------------------------------------------


def test_hotline_orders_are_entered_by_the_grids_staff(
    world, hazard, staff, worker, api_client_for
):
    order = {"category": hazard.pk, "grid": world.A1a.pk, "channel": "hotline"}
    entered = report(api_client_for(staff), reporter_phone="0971-8123456", **order)
    assert entered.status_code == 201, entered.json()
    ticket = Ticket.objects.get(pk=entered.json()["id"])
    # the caller is the reporter, known by phone, although the category wants an account
    assert (ticket.reporter, ticket.created_by, ticket.channel) == (None, staff, "hotline")

    by_a_worker = report(api_client_for(worker), reporter_phone="0971-8123456", **order)
    assert by_a_worker.status_code == 403
    assert Ticket.objects.count() == 1


def test_patrol_reports_come_from_the_grid(world, hazard, worker, frank_api, api_client_for):
    patrol = {"category": hazard.pk, "grid": world.A1a.pk, "channel": "patrol"}
    assert report(api_client_for(worker), **patrol).status_code == 201
    assert report(frank_api, **patrol).status_code == 403
    assert report(frank_api, **{**patrol, "channel": "informant"}).status_code == 201
    assert Ticket.objects.count() == 2


# --- numbers ----------------------------------------------------------------------------------


def test_numbers_count_per_local_day(world, hazard, frank):
    late_evening = datetime.datetime(2026, 3, 2, 23, 59, tzinfo=SHANGHAI)
    with time_machine.travel(late_evening, tick=False):
        first = open_ticket(category=hazard, grid=world.A1, reporter=frank)
        second = open_ticket(category=hazard, grid=world.A1, reporter=frank)
    with time_machine.travel(late_evening + datetime.timedelta(minutes=2), tick=False):
        next_day = open_ticket(category=hazard, grid=world.A1, reporter=frank)

    assert [first.number, second.number, next_day.number] == [
        "20260302-0001",
        "20260302-0002",
        "20260303-0001",
    ]


# --- automatic routes (一网通管) -----------------------------------------------------------------


def test_auto_dispatch_to_the_worker_of_the_nearest_grid(world, fire, worker, frank_api):
    """No full-time worker on A1a itself: bob, on its parent A1, gets the fire."""
    with time_machine.travel(T0, tick=False):
        response = report(frank_api, category=fire.pk, **IN_A1A)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "dispatched"
    assert body["assignee"]["id"] == worker.pk
    assert body["respond_by"] == "2026-03-02T09:10:00+08:00"  # seed 003: ten minutes
    ticket = Ticket.objects.get(pk=body["id"])
    opened, dispatched = ticket.events.all()
    assert opened.data["auto_dispatch"] == {"route": "worker", "person": worker.pk}
    assert (dispatched.kind, dispatched.actor, dispatched.data) == (
        "dispatched",
        None,
        {"assignee": worker.pk, "auto": True},
    )


def test_auto_dispatch_prefers_the_grid_itself_then_the_least_loaded(
    world, fire, worker, make_user
):
    # given two full-time workers on A1a itself
    senior, junior = make_user("senior"), make_user("junior")
    assign(senior, world.A1a, AssignmentRole.FULL_TIME_WORKER)
    assign(junior, world.A1a, AssignmentRole.FULL_TIME_WORKER)
    first = open_ticket(category=fire, grid=world.A1a, reporter=junior)
    assert first.assignee == senior  # equal loads: the earlier assignment; bob (on A1) is above

    # when
    second = open_ticket(category=fire, grid=world.A1a, reporter=junior)

    # then
    assert second.assignee == junior  # the senior is busier now


def test_auto_dispatch_without_a_worker_waits_for_a_dispatcher(world, fire, frank):
    ticket = open_ticket(category=fire, grid=world.T2, reporter=frank)

    assert ticket.status == "submitted"
    assert ticket.assignee is None
    assert ticket.events.get().data["auto_dispatch"] == {
        "route": "worker",
        "not_routed": "no_worker",
    }


def test_auto_publish_on_the_claim_board(world, errands, frank, worker, outsider, api_client_for):
    ticket = open_ticket(category=errands, grid=world.A1a, reporter=frank)

    assert ticket.status == "claimable"
    assert [e.kind for e in ticket.events.all()] == ["opened", "published"]
    board = api_client_for(worker).get("/api/v1/claim-board/").json()
    assert [row["id"] for row in board["results"]] == [ticket.pk]
    assert "claim" in board["results"][0]["allowed_actions"]
    elsewhere = api_client_for(outsider).get("/api/v1/claim-board/").json()
    assert elsewhere["results"] == []


def test_auto_whistle_to_the_categorys_department(world, police_matter, frank, erin):
    with time_machine.travel(T0, tick=False):
        ticket = open_ticket(category=police_matter, grid=world.A1a, reporter=frank)

    assert ticket.status == "whistled"
    [whistle] = ticket.whistles.all()
    assert (whistle.department, whistle.status, whistle.whistled_by) == (world.D1, "pending", None)
    assert whistle.report_by == T0 + police_matter.report_within


def test_a_department_of_another_county_is_not_whistled(world, police_matter, frank):
    ticket = open_ticket(category=police_matter, grid=world.T9, reporter=frank)

    assert ticket.status == "submitted"
    assert not Whistle.objects.exists()
    assert ticket.events.get().data["auto_dispatch"]["not_routed"] == "no_department"


def test_auto_send_proposals_to_deliberation(world, frank):
    proposal = make_category(name="议事提案", route=Route.DELIBERATION, auto_dispatch=True)
    ticket = open_ticket(category=proposal, grid=world.A1, reporter=frank, title="小区增设休息座椅")
    assert ticket.status == "deliberation"


def test_a_new_estate_without_people_falls_back_to_the_worker_above(world, fire, worker, frank):
    estate = make_grid(world.A, GridLevel.ESTATE, name="小区A3", box=(100.3, 30.3, 100.4, 30.4))
    assign(worker, world.A, AssignmentRole.FULL_TIME_WORKER)  # bob also covers all of A

    ticket = open_ticket(category=fire, grid=estate, reporter=frank)

    assert ticket.assignee == worker
