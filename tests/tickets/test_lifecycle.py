"""Stories through the real URLs: the main loop, deadlines under a frozen clock across a
reopen, re-routing, duplicates, whistles and report-in, rejection, the unrated
auto-close."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import selectors, services
from tickets.models import Ticket, TicketStatus, Whistle
from tickets.tasks import ticket_auto_close_task

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
MINUTE, HOUR, DAY = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(hours=1),
    datetime.timedelta(days=1),
)


def post(client, ticket, action, **data):
    return client.post(f"/api/v1/tickets/{ticket.pk}/{action}/", data, format="json")


def test_the_whole_loop(world, hazard, staff, worker, frank, api_client_for):
    """群众点单 → 社区派单 → 接单 → 办理 → 闭环评事, each step an event on the timeline."""
    alice, bob, resident = (api_client_for(u) for u in (staff, worker, frank))
    with time_machine.travel(T0, tick=False) as clock:
        created = resident.post(
            "/api/v1/tickets/",
            {"category": hazard.pk, "grid": world.A1a.pk, "title": "井盖缺失"},
            format="json",
        )
        ticket = Ticket.objects.get(pk=created.json()["id"])
        assert post(alice, ticket, "dispatch", assignee=worker.pk).status_code == 200
        clock.shift(5 * MINUTE)
        assert post(bob, ticket, "accept").status_code == 200
        assert post(bob, ticket, "start", note="已到现场").status_code == 200
        clock.shift(HOUR)
        assert post(bob, ticket, "resolve", note="已补装井盖").status_code == 200
        rated = post(resident, ticket, "rate", rating="satisfied", comment="很及时")

    assert rated.status_code == 200
    body = rated.json()
    assert (body["status"], body["rating"], body["rating_comment"]) == (
        "closed",
        "satisfied",
        "很及时",
    )
    ticket.refresh_from_db()
    assert ticket.responded_at == T0 + 5 * MINUTE
    assert ticket.resolved_at == ticket.closed_at == T0 + 65 * MINUTE
    timeline = resident.get(f"/api/v1/tickets/{ticket.pk}/timeline/").json()
    assert [(e["kind"], e["from_status"], e["to_status"], e["actor"]["id"]) for e in timeline] == [
        ("opened", "", "submitted", frank.pk),
        ("dispatched", "submitted", "dispatched", staff.pk),
        ("accepted", "dispatched", "accepted", worker.pk),
        ("started", "accepted", "in_progress", worker.pk),
        ("resolved", "in_progress", "resolved", worker.pk),
        ("rated", "resolved", "closed", frank.pk),
    ]
    assert timeline[3]["note"] == "已到现场"


def test_deadlines_follow_the_policy_across_a_reopen(world, fire, worker, frank, api_client_for):
    """Seed 003: a fire is answered within 10 minutes. An unsatisfied rating reopens the
    ticket with fresh deadlines from that moment, and the category routes it again."""
    bob, resident = api_client_for(worker), api_client_for(frank)
    with time_machine.travel(T0, tick=False) as clock:
        ticket = open_ticket(category=fire, grid=world.A1a, reporter=frank)
        assert (ticket.respond_by, ticket.resolve_by) == (T0 + 10 * MINUTE, T0 + 2 * HOUR)
        clock.shift(3 * MINUTE)
        post(bob, ticket, "accept")
        post(bob, ticket, "resolve")
        clock.shift(3 * HOUR)
        reopened_at = T0 + 3 * MINUTE + 3 * HOUR
        response = post(resident, ticket, "rate", rating="unsatisfied", comment="还有烟味")

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.respond_by == reopened_at + 10 * MINUTE
    assert ticket.resolve_by == reopened_at + 2 * HOUR
    assert (ticket.responded_at, ticket.resolved_at, ticket.rating) == (None, None, "")
    assert ticket.status == "dispatched"  # fire dispatches automatically: back to bob
    assert ticket.assignee == worker
    rated, dispatched = ticket.events.order_by("pk")[4:]
    assert (rated.kind, rated.to_status, rated.data["rating"]) == (
        "rated",
        "reopened",
        "unsatisfied",
    )
    assert (dispatched.kind, dispatched.from_status, dispatched.actor) == (
        "dispatched",
        "reopened",
        None,
    )


def test_staff_reopen_resets_the_deadlines(make_ticket, hazard, staff, api_client_for):
    ticket = make_ticket(TicketStatus.CLOSED)
    later = T0 + 10 * DAY
    with time_machine.travel(later, tick=False):
        response = post(api_client_for(staff), ticket, "reopen", note="居民再次来电")

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "reopened"  # no auto-dispatch for hazards: a dispatcher decides
    assert (ticket.respond_by, ticket.resolve_by) == (
        later + hazard.respond_within,
        later + hazard.resolve_within,
    )
    assert (ticket.closed_at, ticket.rating, ticket.assignee) == (None, "", None)


# --- re-route ---------------------------------------------------------------------------------


def test_reroute_applies_the_new_policy_and_route(world, hazard, fire, worker, staff, frank):
    with time_machine.travel(T0, tick=False) as clock:
        ticket = open_ticket(category=hazard, grid=world.A2, reporter=frank)
        clock.shift(30 * MINUTE)
        services.ticket_reroute(
            actor=staff, ticket=ticket, category=fire, grid=world.A1a, note="实为火情"
        )

    ticket.refresh_from_db()
    assert (ticket.category, ticket.grid) == (fire, world.A1a)
    assert ticket.respond_by == T0 + 30 * MINUTE + 10 * MINUTE
    assert ticket.resolve_by == T0 + 30 * MINUTE + 2 * HOUR
    assert (ticket.status, ticket.assignee) == ("dispatched", worker)
    rerouted, dispatched = ticket.events.order_by("pk")[1:]
    assert rerouted.data == {
        "category": [hazard.pk, fire.pk],
        "grid": [world.A2.pk, world.A1a.pk],
    }
    assert (rerouted.from_status, rerouted.to_status, rerouted.note) == (
        "submitted",
        "submitted",
        "实为火情",
    )
    assert dispatched.data == {"assignee": worker.pk, "auto": True}


def test_reroute_starts_over_and_cancels_pending_whistles(make_ticket, hazard, world, staff):
    ticket = make_ticket(TicketStatus.WHISTLED)
    other = make_category(name="环境与市容")

    services.ticket_reroute(actor=staff, ticket=ticket, category=other)

    ticket.refresh_from_db()
    assert (ticket.status, ticket.category, ticket.responded_at) == ("submitted", other, None)
    assert list(ticket.whistles.values_list("status", flat=True)) == ["cancelled"]
    assert ticket.events.last().data["cancelled_whistles"] == [ticket.whistles.get().pk]


def test_reroute_needs_a_change_and_a_grid_of_ones_own(make_ticket, world, grace, api_client_for):
    ticket = make_ticket()
    client = api_client_for(grace)  # grid leader of A1: A2 is outside her scope

    assert post(client, ticket, "reroute").status_code == 400
    assert post(client, ticket, "reroute", grid=ticket.grid_id).status_code == 400
    assert post(client, ticket, "reroute", grid=world.A2.pk).status_code == 400
    assert post(client, ticket, "reroute", grid=world.A1.pk).status_code == 200
    ticket.refresh_from_db()
    assert ticket.grid == world.A1
    assert ticket.events.filter(kind="rerouted").count() == 1


# --- duplicates -------------------------------------------------------------------------------


def test_duplicate_links_to_the_original_and_its_reporter_follows(
    world, hazard, staff, frank, make_user, api_client_for
):
    # given the same broken lamp reported by frank and, later, by his neighbour
    neighbour = make_user("neighbour", is_staff=False)
    original = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    copy = open_ticket(category=hazard, grid=world.A1a, reporter=neighbour)

    # when
    response = post(api_client_for(staff), copy, "duplicate", original=original.pk, note="同一盏灯")

    # then
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["duplicate_of"]) == (
        "duplicate",
        original.pk,
    )
    copy.refresh_from_db()
    assert copy.closed_at is not None
    follower = {"reporter": neighbour.pk, "duplicate": copy.pk}
    marked = copy.events.get(kind="marked_duplicate")
    assert marked.data == {
        "original": original.pk,
        "original_number": original.number,
        "follower": follower,
    }
    linked = original.events.get(kind="duplicate_linked")
    assert linked.data == {
        "duplicate": copy.pk,
        "duplicate_number": copy.number,
        "follower": follower,
    }
    assert (linked.from_status, linked.to_status) == ("submitted", "submitted")
    assert set(selectors.ticket_followers(ticket=original)) == {frank, neighbour}
    # the neighbour now follows the original: they can read it
    seen = api_client_for(neighbour).get(f"/api/v1/tickets/{original.pk}/")
    assert seen.status_code == 200


def test_duplicate_refusals(make_ticket, world, hazard, staff, frank, api_client_for):
    client = api_client_for(staff)
    ticket = make_ticket()
    rejected = make_ticket(TicketStatus.REJECTED)
    elsewhere = open_ticket(category=hazard, grid=world.B1, reporter=frank)  # outside alice's A

    assert post(client, ticket, "duplicate", original=ticket.pk).status_code == 400
    assert post(client, ticket, "duplicate", original=rejected.pk).status_code == 400
    assert post(client, ticket, "duplicate", original=elsewhere.pk).status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == "submitted"
    assert not ticket.events.filter(kind="marked_duplicate").exists()


# --- whistles (网格吹哨、部门报到) ----------------------------------------------------------------


def test_whistle_report_in_and_reply(world, make_ticket, staff, erin, worker, api_client_for):
    # given alice whistles a ticket to the police (D1) and market supervision (D2)
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket()
        whistled = post(
            api_client_for(staff), ticket, "whistle", departments=[world.D1.pk, world.D2.pk]
        )
    assert whistled.status_code == 200
    police, market = Whistle.objects.filter(ticket=ticket).order_by("department__pk")
    assert police.department == world.D1
    assert police.report_by == T0 + ticket.category.report_within
    police_api = api_client_for(erin)

    # the police see the ticket and their whistle, not the market's business
    assert police_api.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 200
    listed = police_api.get("/api/v1/whistles/").json()["results"]
    assert [w["id"] for w in listed] == [police.pk]

    # a reply before reporting in is refused; bob (grid worker) cannot report in for them
    assert (
        police_api.post(f"/api/v1/whistles/{police.pk}/reply/", {"reply": "x"}).status_code == 409
    )
    assert (
        api_client_for(worker).post(f"/api/v1/whistles/{police.pk}/report-in/").status_code == 403
    )

    # when the police report in, late, then reply
    with time_machine.travel(T0 + 3 * HOUR, tick=False):
        reported = police_api.post(
            f"/api/v1/whistles/{police.pk}/report-in/", {"note": "民警已出发"}
        )
        again = police_api.post(f"/api/v1/whistles/{police.pk}/report-in/")
        replied = police_api.post(
            f"/api/v1/whistles/{police.pk}/reply/", {"reply": "已调解，双方达成一致"}
        )

    # then
    assert reported.status_code == 200
    assert reported.json()["status"] == "reported"
    assert again.status_code == 409
    assert replied.status_code == 200
    assert replied.json()["reply"] == "已调解，双方达成一致"
    ticket.refresh_from_db()
    assert ticket.responded_at == T0 + 3 * HOUR  # the first response to the ticket
    kinds = list(ticket.events.values_list("kind", "note", "data"))
    assert kinds[-2:] == [
        (
            "reported_in",
            "民警已出发",
            {"whistle": police.pk, "department": world.D1.pk, "late": True},
        ),
        ("replied", "已调解，双方达成一致", {"whistle": police.pk, "department": world.D1.pk}),
    ]

    # and a department that reported in may resolve the whistled ticket; the market's
    # whistle, never answered, is withdrawn
    assert post(police_api, ticket, "resolve", note="处理完毕").status_code == 200
    market.refresh_from_db()
    assert market.status == "cancelled"
    assert police_api.post(f"/api/v1/whistles/{market.pk}/report-in/").status_code == 404


def test_whistle_refusals(make_ticket, world, staff, api_client_for, outsider, erin):
    client = api_client_for(staff)
    ticket = make_ticket(TicketStatus.WHISTLED)  # already whistled to D1
    foreign = _foreign_department(world)

    assert post(client, ticket, "whistle", departments=[]).status_code == 400
    assert post(client, ticket, "whistle", departments=[world.D1.pk]).status_code == 400
    assert post(client, ticket, "whistle", departments=[foreign.pk]).status_code == 400
    assert post(client, ticket, "whistle", departments=[world.A1.pk]).status_code == 400
    assert ticket.whistles.count() == 1
    whistle = ticket.whistles.get()
    assert (
        api_client_for(outsider).post(f"/api/v1/whistles/{whistle.pk}/report-in/").status_code
        == 404
    )
    # a department that did not report in may not resolve
    assert post(api_client_for(erin), ticket, "resolve").status_code == 403


def _foreign_department(world):
    from grids.models import GridKind, GridLevel
    from tests.grids.factories import make_grid

    return make_grid(world.C2, GridLevel.TOWNSHIP, name="外县公安局", kind=GridKind.INDUSTRY)


def test_a_cancelled_whistle_is_withdrawn(make_ticket, staff, erin, api_client_for):
    ticket = make_ticket(TicketStatus.WHISTLED)
    services.ticket_reject(actor=staff, ticket=ticket, reason="已由派出所直接受理")
    whistle = ticket.whistles.get()

    assert whistle.status == "cancelled"
    # the department no longer sees the ticket, and its whistle cannot be reported in
    client = api_client_for(erin)
    assert client.get(f"/api/v1/tickets/{ticket.pk}/").status_code == 404
    assert client.post(f"/api/v1/whistles/{whistle.pk}/report-in/").status_code == 409


# --- dispatch, reject, deliberate ---------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"claim_board": True, "departments": [1]},
        {"assignee": "charlie"},  # a worker of community B
        {"assignee": "frank"},  # no grid at all
    ],
)
def test_dispatch_needs_one_valid_target(make_ticket, staff, people, api_client_for, payload):
    ticket = make_ticket()
    if "assignee" in payload:
        payload = {"assignee": people[payload["assignee"]].pk}
    if "departments" in payload:
        payload["departments"] = [people["erin"].grid_assignments.get().grid_id]

    response = post(api_client_for(staff), ticket, "dispatch", **payload)

    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == "submitted"
    assert ticket.events.count() == 1


def test_dispatch_to_the_claim_board_twice_is_a_conflict(make_ticket, staff, api_client_for):
    ticket = make_ticket(TicketStatus.CLAIMABLE)
    response = post(api_client_for(staff), ticket, "dispatch", claim_board=True)
    assert response.status_code == 409
    assert "接单大厅" in response.json()["detail"]


def test_reject_needs_a_reason_and_a_reopen_clears_it(make_ticket, staff, api_client_for):
    client = api_client_for(staff)
    ticket = make_ticket()

    assert post(client, ticket, "reject", reason=" ").status_code == 400
    rejected = post(client, ticket, "reject", reason="属于物业维修范围")
    assert rejected.status_code == 200
    assert rejected.json()["reject_reason"] == "属于物业维修范围"
    reopened = post(client, ticket, "reopen", note="物业拒修，社区介入")
    assert reopened.status_code == 200
    assert reopened.json()["reject_reason"] == ""
    assert ticket.events.get(kind="rejected").note == "属于物业维修范围"


def test_deliberation_then_dispatch(make_ticket, staff, worker, api_client_for):
    """网格议事: the meeting decided the grid handles it; the dispatcher carries that out."""
    client = api_client_for(staff)
    ticket = make_ticket()
    assert (
        post(client, ticket, "deliberate", note="提交小区议事会").json()["status"] == "deliberation"
    )
    assert post(client, ticket, "dispatch", assignee=worker.pk).json()["status"] == "dispatched"


def test_the_claim_race_answers_409_with_a_reason(make_ticket, worker, carol, api_client_for):
    ticket = make_ticket(TicketStatus.CLAIMABLE)
    assert post(api_client_for(carol), ticket, "claim").status_code == 200
    lost = post(api_client_for(worker), ticket, "claim")
    assert lost.status_code == 409
    assert lost.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.assignee == carol
    assert ticket.events.filter(kind="claimed").count() == 1


# --- unrated tickets close themselves ---------------------------------------------------------


def test_unrated_tickets_close_after_the_window(make_ticket, settings):
    with time_machine.travel(T0, tick=False):
        waiting = make_ticket(TicketStatus.RESOLVED)
    with time_machine.travel(T0 + 6 * DAY, tick=False):
        rated_meanwhile = make_ticket(TicketStatus.RESOLVED)
        assert ticket_auto_close_task() == 0

    with time_machine.travel(T0 + 7 * DAY + MINUTE, tick=False):
        first_run = ticket_auto_close_task.delay().get()
        second_run = ticket_auto_close_task()

    assert (first_run, second_run) == (1, 0)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.closed_at, waiting.rating) == (
        "closed",
        T0 + 7 * DAY + MINUTE,
        "",
    )
    closed = waiting.events.get(kind="closed")
    assert (closed.actor, closed.data) == (None, {"unrated": True, "auto": True})
    rated_meanwhile.refresh_from_db()
    assert rated_meanwhile.status == "resolved"

    # a shorter window from the settings
    settings.TICKET_AUTO_CLOSE_AFTER = datetime.timedelta(days=1)
    with time_machine.travel(T0 + 7 * DAY + 2 * MINUTE, tick=False):
        assert ticket_auto_close_task() == 1
    rated_meanwhile.refresh_from_db()
    assert rated_meanwhile.status == "closed"


def test_close_unrated_refuses_too_early_and_moved_on(make_ticket):
    from governance.errors import Conflict

    ticket = make_ticket(TicketStatus.RESOLVED)
    with pytest.raises(Conflict) as early:
        services.ticket_close_unrated(ticket=ticket)
    assert early.value.code == "too_early"
    closed = make_ticket(TicketStatus.CLOSED)
    with pytest.raises(Conflict):
        services.ticket_close_unrated(ticket=closed, actor=superuser())
