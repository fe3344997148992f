"""Who sees which tickets, the list filters, and the cost of a list.

Scoping matrix: each role × (a ticket on its own subtree, on a sibling's, on an
ancestor) × (list, detail, transition). Outside the scope everything is a 404; inside it
a transition the role may not make is a 403.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grids.models import AssignmentRole
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Ticket, TicketStatus
from tickets.selectors import ticket_list

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

# role → (the grid they work on, a grid of their own subtree, a sibling, an ancestor)
PLACES = {
    AssignmentRole.COMMUNITY_STAFF: ("A", "A1a", "B", "T1"),
    AssignmentRole.GRID_LEADER: ("A1", "A1a", "A2", "A"),
    AssignmentRole.FULL_TIME_WORKER: ("A1", "A1a", "A2", "A"),
    AssignmentRole.PART_TIME_WORKER: ("A1", "A1", "A2", "A"),
    AssignmentRole.UNIT_HEAD: ("A1", "A1a", "A2", "A"),
    AssignmentRole.PARTY_SECRETARY: ("A", "A2", "B", "T1"),
    AssignmentRole.DISTRICT_LEADER: ("T1", "B1", "T2", "C"),
}
STAFF_ROLES = {AssignmentRole.COMMUNITY_STAFF, AssignmentRole.GRID_LEADER}


def ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", list(PLACES))
def test_scoping_matrix(world, hazard, frank, make_user, api_client_for, role):
    # given a person in the role, and a ticket on each of three places around them
    home, own, sibling, ancestor = (getattr(world, name) for name in PLACES[role])
    person = make_user(f"p_{role}")
    assign(person, home, role)
    client = api_client_for(person)
    tickets = {
        where: open_ticket(category=hazard, grid=grid, reporter=frank)
        for where, grid in (("own", own), ("sibling", sibling), ("ancestor", ancestor))
    }

    # when / then
    listed = ids(client.get("/api/v1/tickets/"))
    for where, ticket in tickets.items():
        detail = client.get(f"/api/v1/tickets/{ticket.pk}/")
        rejected = client.post(f"/api/v1/tickets/{ticket.pk}/reject/", {"reason": "重复"})
        ticket.refresh_from_db()
        if where == "own":
            assert ticket.pk in listed
            assert detail.status_code == 200
            expected = 200 if role in STAFF_ROLES else 403
            assert rejected.status_code == expected, (role, rejected.json())
            assert ticket.status == ("rejected" if expected == 200 else "submitted")
        else:
            assert ticket.pk not in listed, (role, where)
            assert detail.status_code == 404, (role, where)
            assert rejected.status_code == 404, (role, where)
            assert ticket.status == "submitted"


def test_reporters_see_their_own_tickets_only(world, hazard, frank, make_user, api_client_for):
    other = make_user("other", is_staff=False)
    mine = open_ticket(category=hazard, grid=world.A1, reporter=frank)
    theirs = open_ticket(category=hazard, grid=world.A1, reporter=other)

    client = api_client_for(frank)
    assert ids(client.get("/api/v1/tickets/")) == {mine.pk}
    assert client.get(f"/api/v1/tickets/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/tickets/{mine.pk}/timeline/").status_code == 200
    assert client.get(f"/api/v1/tickets/{theirs.pk}/timeline/").status_code == 404


def test_an_integrator_follows_the_anonymous_reports_it_entered(
    world, fire, make_user, api_client_for
):
    civic_app = make_user("civic-app", is_staff=False)
    client = api_client_for(civic_app)
    created = client.post(
        "/api/v1/tickets/",
        {
            "category": fire.pk,
            "grid": world.A2.pk,
            "title": "楼道冒烟",
            "anonymous": True,
            "reporter_phone": "13912345678",
        },
        format="json",
    )
    assert created.status_code == 201
    assert created.json()["reporter_phone"] == "13912345678"  # they entered it
    assert ids(client.get("/api/v1/tickets/")) == {created.json()["id"]}


def test_departments_see_what_was_whistled_to_them(world, make_ticket, erin, api_client_for):
    whistled = make_ticket(TicketStatus.WHISTLED)  # to D1, erin's department
    make_ticket(TicketStatus.SUBMITTED)
    to_market = make_ticket(TicketStatus.WHISTLED, department=world.D2)

    client = api_client_for(erin)
    assert ids(client.get("/api/v1/tickets/")) == {whistled.pk}
    assert client.get(f"/api/v1/tickets/{to_market.pk}/").status_code == 404
    assert client.get(f"/api/v1/tickets/{whistled.pk}/").json()["allowed_actions"] == []


def test_phone_numbers_are_masked_for_those_who_do_not_call_back(
    world, fire, staff, worker, carol, api_client_for
):
    ticket = services.ticket_open(
        actor=staff,
        category=fire,
        grid=world.A1a,
        title="独居老人家中燃气味",
        channel="hotline",
        reporter_phone="13912345678",
    )
    assert ticket.assignee == worker  # fire is auto-dispatched to bob, who calls back
    as_staff = api_client_for(staff).get(f"/api/v1/tickets/{ticket.pk}/").json()
    as_assignee = api_client_for(worker).get(f"/api/v1/tickets/{ticket.pk}/").json()
    as_worker = api_client_for(carol).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert as_staff["reporter_phone"] == as_assignee["reporter_phone"] == "13912345678"
    assert as_worker["reporter_phone"] == "139****5678"


def test_detail_carries_whistles_and_allowed_actions(world, make_ticket, staff, api_client_for):
    ticket = make_ticket(TicketStatus.WHISTLED)
    body = api_client_for(staff).get(f"/api/v1/tickets/{ticket.pk}/").json()

    assert [(w["department"], w["status"]) for w in body["whistles"]] == [(world.D1.pk, "pending")]
    assert body["allowed_actions"] == [
        "dispatch",
        "whistle",
        "resolve",
        "reject",
        "duplicate",
        "reroute",
    ]
    departments = api_client_for(staff).get(f"/api/v1/tickets/{ticket.pk}/departments/").json()
    assert [d["id"] for d in departments] == [world.D1.pk, world.D2.pk]


# --- filters ----------------------------------------------------------------------------------


@pytest.fixture
def assorted(world, hazard, frank, worker):
    """Tickets of several kinds across county C, opened on 2 and 3 March."""
    fire = make_category(name="消防火情", parent=hazard, respond=datetime.timedelta(minutes=10))
    other = make_category(name="环境与市容")
    with time_machine.travel(T0, tick=False):
        a = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
        b = open_ticket(category=fire, grid=world.A2, reporter=frank, channel="informant")
    with time_machine.travel(T0 + datetime.timedelta(days=1), tick=False):
        c = open_ticket(category=other, grid=world.B1, reporter=frank)
        services.ticket_dispatch(actor=superuser(), ticket=c, claim_board=True)
    return {"a": a, "b": b, "c": c, "fire": fire, "other": other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, {"a", "b", "c"}),
        ({"status": "claimable"}, {"c"}),
        ({"status": ["claimable", "submitted"]}, {"a", "b", "c"}),
        ({"channel": "informant"}, {"b"}),
        ({"category": "hazard"}, {"a", "b"}),  # with its subcategory fire
        ({"category": "fire"}, {"b"}),
        ({"grid": "A"}, {"a", "b"}),  # A's subtree
        ({"grid": "A1"}, {"a"}),
        ({"grid": "T1"}, {"a", "b", "c"}),
        ({"grid": "T2"}, set()),
        ({"created_after": "2026-03-03"}, {"c"}),
        ({"created_before": "2026-03-02"}, {"a", "b"}),
        ({"search": "0002"}, {"b"}),
    ],
)
def test_list_filters(world, hazard, assorted, admin_user, api_client_for, query, expected):
    names = {"hazard": hazard.pk, "fire": assorted["fire"].pk}
    if "category" in query:
        query = {**query, "category": names[query["category"]]}
    if "grid" in query:
        query = {**query, "grid": getattr(world, query["grid"]).pk}
    if "search" in query:
        query = {"search": assorted["b"].number[-4:]}

    response = api_client_for(admin_user).get("/api/v1/tickets/", query)

    assert response.status_code == 200
    assert ids(response) == {assorted[k].pk for k in expected}


def test_overdue_filter(world, assorted, admin_user, staff, api_client_for):
    client = api_client_for(admin_user)
    # fire (b) must be answered in 10 minutes; hazards (a) in an hour; c in an hour too
    with time_machine.travel(T0 + datetime.timedelta(minutes=30), tick=False):
        overdue = ids(client.get("/api/v1/tickets/", {"overdue": "true"}))
        on_time = ids(client.get("/api/v1/tickets/", {"overdue": "false"}))
        row = client.get(f"/api/v1/tickets/{assorted['b'].pk}/").json()
    assert overdue == {assorted["b"].pk}
    assert on_time == {assorted["a"].pk, assorted["c"].pk}
    assert row["is_overdue"] is True

    # a response stops the response clock; only the resolve deadline still runs
    services.ticket_dispatch(actor=superuser(), ticket=assorted["b"], assignee=staff)
    services.ticket_accept(actor=staff, ticket=assorted["b"])
    with time_machine.travel(T0 + datetime.timedelta(minutes=30), tick=False):
        assert ids(client.get("/api/v1/tickets/", {"overdue": "true"})) == set()


def test_bad_filters_are_400(world, assorted, admin_user, api_client_for):
    client = api_client_for(admin_user)
    assert client.get("/api/v1/tickets/", {"status": "lost"}).status_code == 400
    assert client.get("/api/v1/tickets/", {"created_after": "yesterday"}).status_code == 400


def test_the_selector_takes_the_same_filters(world, assorted, admin_user):
    found = ticket_list(user=admin_user, filters={"grid": world.A.pk, "channel": "informant"})
    assert list(found) == [assorted["b"]]
    with pytest.raises(ValidationError):
        ticket_list(user=admin_user, filters={"status": "lost"})


# --- query counts -----------------------------------------------------------------------------


def _tickets(count: int, *, world, category, reporter, staff) -> None:
    for index in range(count):
        ticket = open_ticket(category=category, grid=world.A1a, reporter=reporter)
        if index % 2:
            services.ticket_dispatch(actor=staff, ticket=ticket, departments=[world.D1, world.D2])


@pytest.mark.parametrize("url", ["/api/v1/tickets/", "/api/v1/whistles/", "/api/v1/claim-board/"])
def test_list_queries_do_not_grow_with_rows(
    world, hazard, frank, staff, worker, api_client_for, url
):
    def count_queries() -> int:
        client = api_client_for(worker)  # a fresh client: no scope cached between runs
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": 100})
        assert response.status_code == 200
        return len(queries)

    _tickets(3, world=world, category=hazard, reporter=frank, staff=staff)
    Ticket.objects.filter(status="submitted").update(status="claimable")
    few = count_queries()
    _tickets(27, world=world, category=hazard, reporter=frank, staff=staff)
    Ticket.objects.filter(status="submitted").update(status="claimable")
    many = count_queries()

    assert Ticket.objects.count() == 30
    assert many == few


def test_timeline_queries_do_not_grow_with_events(make_ticket, staff, api_client_for):
    short = make_ticket(TicketStatus.SUBMITTED)
    long = make_ticket(TicketStatus.CLOSED)
    client = api_client_for(staff)

    def count(ticket) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/tickets/{ticket.pk}/timeline/").status_code == 200
        return len(queries)

    assert count(short) == count(long)
