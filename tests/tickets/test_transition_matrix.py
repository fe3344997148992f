"""Every transition, through its real URL, allowed and refused per state and per role.

The tables here are written from the issue's state chart, not read from
``tickets.states`` or ``tickets.permissions``: they are the specification the code must
meet. A refusal must leave the ticket and its timeline untouched; an acceptance must move
the ticket and append exactly the events of that transition.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from governance.errors import Conflict
from grids.services import assignment_delete
from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import TicketStatus as S

ALL_STATES = list(S.values)
OPEN = {
    S.SUBMITTED,
    S.REOPENED,
    S.DISPATCHED,
    S.CLAIMABLE,
    S.WHISTLED,
    S.ACCEPTED,
    S.IN_PROGRESS,
    S.DELIBERATION,
}

# transition → (the states it may start from, the state it ends in)
CHART = {
    "dispatch": (
        {S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE, S.WHISTLED, S.DELIBERATION},
        S.DISPATCHED,
    ),
    "claim": ({S.CLAIMABLE}, S.ACCEPTED),
    "accept": ({S.DISPATCHED}, S.ACCEPTED),
    "start": ({S.ACCEPTED}, S.IN_PROGRESS),
    "whistle": (OPEN, None),  # whistled, or unchanged while someone holds the ticket
    "resolve": ({S.ACCEPTED, S.IN_PROGRESS, S.WHISTLED}, S.RESOLVED),
    "rate": ({S.RESOLVED}, S.CLOSED),
    "reopen": ({S.RESOLVED, S.CLOSED, S.REJECTED, S.RETURNED}, S.REOPENED),
    "reject": (OPEN, S.REJECTED),
    "duplicate": (OPEN, S.DUPLICATE),
    "reroute": (OPEN, S.SUBMITTED),
    "deliberate": ({S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE}, S.DELIBERATION),
    # 退单: a 12345 order nobody has taken on yet goes back to the hotline
    "return": ({S.SUBMITTED, S.REOPENED, S.DISPATCHED, S.CLAIMABLE}, S.RETURNED),
}
# Transitions only some channels' tickets have; the matrices use tickets of that channel.
CHANNEL = {"return": "hotline"}


@pytest.fixture
def call(people, api_client_for, world, carol, make_ticket):
    """POST a transition as a person, with a payload valid for that transition."""
    other_category = make_category(name="环境与市容")

    def payload(action: str, ticket) -> dict:
        return {
            "dispatch": {"assignee": carol.pk},
            "whistle": {"departments": [world.D2.pk]},
            "rate": {"rating": "satisfied"},
            "reject": {"reason": "不属于本社区事务"},
            "duplicate": {"original": make_ticket(S.SUBMITTED).pk},
            "reroute": {"category": other_category.pk},
            "return": {"reason": "属于供水公司，不属于本社区"},
        }.get(action, {"note": "好的"})

    def _call(action: str, who: str, ticket):
        client = api_client_for(people[who])
        return client.post(
            f"/api/v1/tickets/{ticket.pk}/{action}/", payload(action, ticket), format="json"
        )

    return _call


# the event each transition appends to the ticket's timeline
EVENT = {
    "dispatch": "dispatched",
    "claim": "claimed",
    "accept": "accepted",
    "start": "started",
    "whistle": "whistled",
    "resolve": "resolved",
    "rate": "rated",
    "reopen": "reopened",
    "reject": "rejected",
    "duplicate": "marked_duplicate",
    "reroute": "rerouted",
    "deliberate": "sent_to_deliberation",
    "return": "returned",
}

# who performs each transition in the state matrix (someone the rules always allow)
PERFORMER = {"claim": "bob", "accept": "bob", "start": "bob", "rate": "frank"}


@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", list(CHART))
def test_state_matrix(make_ticket, call, action, state):
    # given
    ticket = make_ticket(state, channel=CHANNEL.get(action, "api"))
    events_before = ticket.events.count()

    # when (staff act for a 12345 caller, who has no account: a returned order is one)
    who = PERFORMER.get(action, "admin") if ticket.reporter_id else "admin"
    response = call(action, who, ticket)

    # then
    allowed_from, ends_in = CHART[action]
    ticket.refresh_from_db()
    if state in allowed_from:
        assert response.status_code == 200, response.json()
        if ends_in is not None:
            assert ticket.status == ends_in
            assert response.json()["status"] == ends_in
        new_events = list(ticket.events.order_by("pk")[events_before:])
        assert [e.kind for e in new_events] == [EVENT[action]]
        assert new_events[0].from_status == state
        assert new_events[0].to_status == ticket.status
    else:
        assert response.status_code == 409, (response.status_code, response.json())
        assert response.json()["detail"]
        assert ticket.status == state
        assert ticket.events.count() == events_before


def test_whistle_keeps_the_holder_in_charge(make_ticket, call):
    """From accepted or in progress, departments are called in to help; the assignee keeps
    the ticket. From anywhere else the departments take the lead."""
    held = make_ticket(S.IN_PROGRESS)
    assert call("whistle", "admin", held).json()["status"] == S.IN_PROGRESS
    untaken = make_ticket(S.DISPATCHED)
    body = call("whistle", "admin", untaken).json()
    assert body["status"] == S.WHISTLED
    assert body["assignee"] is None


# --- per role ----------------------------------------------------------------------------------

STAFF_ONLY = {
    "admin": 200,
    "alice": 200,
    "grace": 200,
    "bob": 403,
    "carol": 403,
    "dan": 403,
    "charlie": 404,
    "frank": 403,
    "erin": 404,
}
ASSIGNEE_ONLY = {**STAFF_ONLY, "admin": 403, "alice": 403, "grace": 403, "bob": 200}
ANY_WORKER = {**STAFF_ONLY, "bob": 200, "carol": 200, "dan": 200}
STAFF_OR_ASSIGNEE = {**STAFF_ONLY, "bob": 200}
REPORTER_ONLY = {**STAFF_ONLY, "admin": 403, "alice": 403, "grace": 403, "frank": 200}
# a 12345 order has no reporter with an account: frank does not even see it
STAFF_ONLY_HOTLINE = {**STAFF_ONLY, "frank": 404}

# transition → (the state the ticket is in, the expected answer per person)
ROLES = {
    "dispatch": (S.SUBMITTED, STAFF_ONLY),
    "claim": (S.CLAIMABLE, ANY_WORKER),
    "accept": (S.DISPATCHED, ASSIGNEE_ONLY),
    "start": (S.ACCEPTED, ASSIGNEE_ONLY),
    "whistle": (S.SUBMITTED, STAFF_ONLY),
    "resolve": (S.IN_PROGRESS, STAFF_OR_ASSIGNEE),
    "rate": (S.RESOLVED, REPORTER_ONLY),
    "reopen": (S.CLOSED, STAFF_ONLY),
    "reject": (S.SUBMITTED, STAFF_ONLY),
    "duplicate": (S.SUBMITTED, STAFF_ONLY),
    "reroute": (S.SUBMITTED, STAFF_ONLY),
    "deliberate": (S.SUBMITTED, STAFF_ONLY),
    "return": (S.SUBMITTED, STAFF_ONLY_HOTLINE),
}


@pytest.mark.parametrize(
    ("action", "who"), [(action, who) for action in ROLES for who in ROLES[action][1]]
)
def test_role_matrix(make_ticket, call, action, who):
    # given
    state, expected = ROLES[action]
    ticket = make_ticket(state, channel=CHANNEL.get(action, "api"))
    events_before = ticket.events.count()

    # when
    response = call(action, who, ticket)

    # then
    assert response.status_code == expected[who], (action, who, response.json())
    ticket.refresh_from_db()
    if expected[who] == 200:
        new_events = list(ticket.events.order_by("pk")[events_before:])
        assert [e.kind for e in new_events] == [EVENT[action]]
        assert new_events[0].actor.username == (who if who != "admin" else "root")
    else:
        assert ticket.status == state
        assert ticket.events.count() == events_before


@pytest.mark.parametrize("state", sorted(CHART["return"][0]))
def test_only_a_hotline_order_goes_back_to_the_hotline(make_ticket, call, state):
    """退单 is a 12345 order's: any other ticket is a conflict in every state, even for the
    superuser, and nothing is written."""
    ticket = make_ticket(state)  # reported through the API by frank
    events_before = ticket.events.count()

    response = call("return", "admin", ticket)

    assert response.status_code == 409, response.json()
    assert "12345" in response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.status == state
    assert ticket.events.count() == events_before


def test_a_return_needs_its_reason(make_ticket, people, api_client_for):
    ticket = make_ticket(S.SUBMITTED, channel="hotline")

    for payload in ({}, {"reason": "  "}):
        response = api_client_for(people["alice"]).post(
            f"/api/v1/tickets/{ticket.pk}/return/", payload, format="json"
        )
        assert response.status_code == 400
        assert "reason" in response.json()
    with pytest.raises(ValidationError) as refused:
        services.ticket_return(actor=people["alice"], ticket=ticket, reason="   ")
    assert "reason" in refused.value.message_dict
    ticket.refresh_from_db()
    assert ticket.status == S.SUBMITTED
    assert not ticket.events.filter(kind="returned").exists()


def test_return_is_offered_on_hotline_orders_only(make_ticket, people, api_client_for):
    client = api_client_for(people["alice"])
    order = make_ticket(S.DISPATCHED, channel="hotline")
    report = make_ticket(S.DISPATCHED)

    offered = client.get(f"/api/v1/tickets/{order.pk}/").json()["allowed_actions"]
    not_offered = client.get(f"/api/v1/tickets/{report.pk}/").json()["allowed_actions"]

    assert "return" in offered
    assert "return" not in not_offered
    assert (
        "return"
        not in api_client_for(people["bob"])
        .get(f"/api/v1/tickets/{order.pk}/")
        .json()["allowed_actions"]
    )


def test_a_returned_order_records_its_reason_and_stops(make_ticket, people):
    ticket = make_ticket(S.CLAIMABLE, channel="hotline")

    services.ticket_return(actor=people["alice"], ticket=ticket, reason=" 属于燃气公司 ")

    ticket.refresh_from_db()
    assert ticket.status == S.RETURNED
    assert ticket.closed_at is not None
    event = ticket.events.get(kind="returned")
    assert (event.note, event.data, event.from_status) == (
        "属于燃气公司",
        {"reason": "属于燃气公司"},
        S.CLAIMABLE,
    )
    assert event.actor == people["alice"]


def test_the_assignee_loses_the_ticket_with_their_grid(make_ticket, people, api_client_for):
    """An assignee whose assignment is gone no longer sees the ticket, let alone works it."""
    ticket = make_ticket(S.DISPATCHED)
    bob = people["bob"]
    for assignment in bob.grid_assignments.all():
        assignment_delete(actor=superuser(), assignment=assignment)

    response = api_client_for(bob).post(f"/api/v1/tickets/{ticket.pk}/accept/", {})

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == S.DISPATCHED


def test_staff_rate_for_a_reporter_without_an_account(world, hazard, people, api_client_for):
    """A 12345 caller has no account: staff call back and enter the rating; the reporter
    rule does not let anyone else rate."""
    ticket = open_ticket(
        category=hazard,
        grid=world.A1a,
        actor=people["alice"],
        channel="hotline",
        reporter_phone="0971-8123456",
    )
    services.ticket_dispatch(actor=superuser(), ticket=ticket, assignee=people["bob"])
    services.ticket_accept(actor=people["bob"], ticket=ticket)
    services.ticket_resolve(actor=people["bob"], ticket=ticket)

    refused = api_client_for(people["bob"]).post(
        f"/api/v1/tickets/{ticket.pk}/rate/", {"rating": "satisfied"}
    )
    assert refused.status_code == 403
    rated = api_client_for(people["alice"]).post(
        f"/api/v1/tickets/{ticket.pk}/rate/",
        {"rating": "basically_satisfied", "comment": "电话回访"},
    )
    assert rated.status_code == 200
    assert rated.json()["status"] == S.CLOSED
    event = ticket.events.get(kind="rated")
    assert event.data == {"rating": "basically_satisfied", "on_behalf": True}


# --- whistles: report-in and reply per whistle state and per person -----------------------------

WHISTLE_ACTIONS = {
    # action → (whistle states it may start from, the state it ends in)
    "report-in": ({"pending"}, "reported"),
    "reply": ({"reported", "replied"}, "replied"),
}


@pytest.fixture
def whistle_in(make_ticket, erin):
    def _make(state: str):
        ticket = make_ticket(S.WHISTLED)
        whistle = ticket.whistles.get()
        if state in ("reported", "replied"):
            services.whistle_report_in(actor=erin, whistle=whistle)
        if state == "replied":
            services.whistle_reply(actor=erin, whistle=whistle, reply="已出警")
        if state == "cancelled":
            services.ticket_reject(actor=superuser(), ticket=ticket, reason="重复报警")
        whistle.refresh_from_db()
        assert whistle.status == state
        return whistle

    return _make


@pytest.mark.parametrize("state", ["pending", "reported", "replied", "cancelled"])
@pytest.mark.parametrize("action", list(WHISTLE_ACTIONS))
def test_whistle_state_matrix(whistle_in, people, api_client_for, action, state):
    whistle = whistle_in(state)
    events_before = whistle.ticket.events.count()

    response = api_client_for(people["erin"]).post(
        f"/api/v1/whistles/{whistle.pk}/{action}/", {"reply": "已处理"}
    )

    allowed_from, ends_in = WHISTLE_ACTIONS[action]
    whistle.refresh_from_db()
    if state in allowed_from:
        assert response.status_code == 200, response.json()
        assert whistle.status == ends_in
        assert whistle.ticket.events.count() == events_before + 1
    else:
        assert response.status_code == 409
        assert whistle.status == state
        assert whistle.ticket.events.count() == events_before


# Whistles are the department's to answer: its liaison, or someone whose scope covers the
# department (admin; dan, district leader of the county above it). The grid's own people
# see the whistle on their ticket but may not answer for the department.
FOR_THE_DEPARTMENT = {
    "admin": 200,
    "erin": 200,
    "dan": 200,
    "alice": 403,
    "grace": 403,
    "bob": 403,
    "carol": 403,
    "charlie": 404,
    "frank": 404,
}


@pytest.mark.parametrize("who", list(FOR_THE_DEPARTMENT))
@pytest.mark.parametrize("action", list(WHISTLE_ACTIONS))
def test_whistle_role_matrix(whistle_in, people, api_client_for, action, who):
    state = "pending" if action == "report-in" else "reported"
    whistle = whistle_in(state)
    events_before = whistle.ticket.events.count()

    response = api_client_for(people[who]).post(
        f"/api/v1/whistles/{whistle.pk}/{action}/", {"reply": "已处理"}
    )

    assert response.status_code == FOR_THE_DEPARTMENT[who], (action, who)
    whistle.refresh_from_db()
    changed = whistle.status != state
    assert changed is (FOR_THE_DEPARTMENT[who] == 200)
    assert whistle.ticket.events.count() == events_before + int(changed)


# --- closing unrated tickets (the system, or staff from the admin) ------------------------------


@pytest.mark.parametrize("state", ALL_STATES)
def test_close_unrated_state_matrix(make_ticket, state):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=8)):
        ticket = make_ticket(state)
    if state == S.RESOLVED:
        services.ticket_close_unrated(ticket=ticket)
        ticket.refresh_from_db()
        assert ticket.status == S.CLOSED
    else:
        with pytest.raises(Conflict):
            services.ticket_close_unrated(ticket=ticket)
        ticket.refresh_from_db()
        assert ticket.status == state


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("admin", True), ("alice", True), ("grace", True), ("bob", False), ("dan", False)],
)
def test_close_unrated_role_matrix(make_ticket, people, who, allowed):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=8)):
        ticket = make_ticket(S.RESOLVED)
    if allowed:
        services.ticket_close_unrated(ticket=ticket, actor=people[who])
        assert ticket.events.get(kind="closed").actor == people[who]
    else:
        with pytest.raises(PermissionDenied):
            services.ticket_close_unrated(ticket=ticket, actor=people[who])
        assert not ticket.events.filter(kind="closed").exists()
