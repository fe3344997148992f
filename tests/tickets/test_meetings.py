"""Deliberation (网格议事) through the real URLs: meetings at three levels, their agenda,
the record of a held meeting, and decisions that open follow-up tickets and move the
deliberated ticket on (群众提事 → 网格议事 → 分类办事 → 闭环评事, seeds 003 and 004).

People (``tests/conftest.py``, ``tests/tickets/conftest.py``): alice is community staff of
A, grace the grid leader of estate A1, bob a worker on A1, carol a part-time worker on
micro grid A1a, charlie a worker on community B, dan the district leader of county C,
frank a resident with an account.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone
from rest_framework.routers import SimpleRouter

from governance.errors import Conflict
from grids.models import AssignmentRole
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category
from tickets import apis_meetings, services
from tickets.models import AgendaItem, Meeting, Ticket, TicketEvent, TicketStatus
from tickets.selectors_meetings import deliberation_figures

# The routes of ``tickets.apis_meetings`` served beside the project's own, so these tests
# go through real URLs whether or not ``tickets.apis.register`` has wired them yet.
_router = SimpleRouter()
apis_meetings.register(_router)
urlpatterns = [
    path("api/v1/", include(_router.urls)),
    path("", include("governance.urls")),
]
pytestmark = pytest.mark.urls(__name__)

T0 = datetime.datetime(2026, 3, 2, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SOON = timezone.now() + datetime.timedelta(days=3)


def post(client, url: str, **data):
    return client.post(url, data, format="json")


def plan(grid, *, actor=None, title="睦邻议事会", venue="睦邻议事角", when=None) -> Meeting:
    return services.meeting_schedule(
        actor=actor or superuser(),
        grid=grid,
        title=title,
        venue=venue,
        scheduled_at=when or SOON,
    )


def hold(meeting: Meeting, *, attendees=(), residents: int = 12) -> Meeting:
    return services.meeting_record(
        actor=superuser(),
        meeting=meeting,
        minutes="到会居民逐项议定。",
        attendees=attendees,
        resident_attendees=residents,
    )


def on_agenda(meeting: Meeting, ticket: Ticket) -> AgendaItem:
    return services.meeting_add_item(actor=superuser(), meeting=meeting, ticket=ticket)


def decide(client, item: AgendaItem, **data):
    return post(client, f"/api/v1/agenda-items/{item.pk}/decide/", **data)


@pytest.fixture
def deliberating(make_ticket):
    """A ticket on micro grid A1a that staff sent to deliberation (reported by frank)."""
    return make_ticket(TicketStatus.DELIBERATION)


@pytest.fixture
def facilities(db):
    return make_category(name="设施维修")


# --- scheduling ---------------------------------------------------------------------------------


def test_the_tier_follows_the_grid_level(world, staff, api_client_for):
    """Seed 004: 协商点 at a building's micro grid, 协商站 at an estate, 协商厅 at the
    community; townships and counties hold no residents' deliberation here."""
    client = api_client_for(staff)
    tiers = {}
    for name in ("A", "A1", "A1a"):
        response = post(
            client,
            "/api/v1/meetings/",
            grid=getattr(world, name).pk,
            title="议事会",
            scheduled_at=SOON.isoformat(),
            venue="邻里议事厅",
        )
        assert response.status_code == 201, response.json()
        tiers[name] = response.json()["tier"]
        assert response.json()["status"] == "planned"
        assert response.json()["allowed_actions"] == ["record", "cancel", "add_item", "propose"]

    assert tiers == {"A": "hall", "A1": "station", "A1a": "point"}
    assert Meeting.objects.get(grid=world.A).created_by == staff
    refused = post(
        api_client_for(superuser()),
        "/api/v1/meetings/",
        grid=world.T1.pk,
        title="镇里开会",
        scheduled_at=SOON.isoformat(),
    )
    assert refused.status_code == 400
    assert "grid" in refused.json()
    assert Meeting.objects.count() == 3


@pytest.mark.parametrize(
    ("who", "grid", "code"),
    [
        ("alice", "A1", 201),  # community staff of A
        ("grace", "A1", 201),  # grid leader of A1
        ("grace", "A", 400),  # A is above her: not a grid she may even name
        ("bob", "A1", 403),  # a worker reads, does not convene
        ("dan", "A1", 403),  # a district leader reads across the county, changes nothing
        ("charlie", "A1", 400),  # another community's worker: A1 is not visible
    ],
)
def test_who_may_schedule(world, people, api_client_for, who, grid, code):
    response = post(
        api_client_for(people[who]),
        "/api/v1/meetings/",
        grid=getattr(world, grid).pk,
        title="议事会",
        scheduled_at=SOON.isoformat(),
    )
    assert response.status_code == code, response.json()
    assert Meeting.objects.count() == (1 if code == 201 else 0)


def test_a_chair_must_work_on_the_grid(world, staff, outsider, grace, api_client_for):
    client = api_client_for(staff)
    payload = {"grid": world.A1.pk, "title": "议事会", "scheduled_at": SOON.isoformat()}

    refused = post(client, "/api/v1/meetings/", **payload, chaired_by=outsider.pk)
    accepted = post(client, "/api/v1/meetings/", **payload, chaired_by=grace.pk)

    assert refused.status_code == 400
    assert "chaired_by" in refused.json()
    assert accepted.status_code == 201
    assert accepted.json()["chaired_by"]["id"] == grace.pk


# --- reading ------------------------------------------------------------------------------------


def test_meetings_are_seen_where_their_grid_is(world, people, api_client_for):
    at_a = plan(world.A)
    at_a1a = plan(world.A1a)
    at_b1 = plan(world.B1)

    def listed(who: str) -> set[int]:
        body = api_client_for(people[who]).get("/api/v1/meetings/").json()
        return {row["id"] for row in body["results"]}

    assert listed("alice") == {at_a.pk, at_a1a.pk}
    assert listed("bob") == {at_a1a.pk}  # A1's subtree: not the community's hall
    assert listed("carol") == {at_a1a.pk}
    assert listed("charlie") == {at_b1.pk}
    assert listed("dan") == {at_a.pk, at_a1a.pk, at_b1.pk}
    assert listed("frank") == set()  # residents take part; the records are the grid's
    assert listed("erin") == set()  # a department is not a territory
    charlie = api_client_for(people["charlie"])
    assert charlie.get(f"/api/v1/meetings/{at_a.pk}/").status_code == 404
    assert charlie.get(f"/api/v1/meetings/{at_b1.pk}/").status_code == 200


def test_list_filters(world, admin_user, api_client_for):
    with time_machine.travel(T0, tick=False):
        hall = plan(world.A, when=T0 + datetime.timedelta(days=1))
        point = plan(world.A1a, when=T0 + datetime.timedelta(days=10))
        other = plan(world.B1, when=T0 + datetime.timedelta(days=20))
        hold(hall)
        services.meeting_cancel(actor=admin_user, meeting=other, reason="暴雨")
    client = api_client_for(admin_user)

    def ids(**query) -> list[int]:
        return [row["id"] for row in client.get("/api/v1/meetings/", query).json()["results"]]

    assert ids() == [other.pk, point.pk, hall.pk]  # latest first
    assert ids(grid=world.A.pk) == [point.pk, hall.pk]
    assert ids(grid=world.A1.pk) == [point.pk]
    assert ids(tier="station") == [other.pk]
    assert set(ids(tier=["point", "hall"])) == {point.pk, hall.pk}
    assert ids(status="held") == [hall.pk]
    assert ids(status="cancelled") == [other.pk]
    assert ids(scheduled_after="2026-03-05", scheduled_before="2026-03-15") == [point.pk]
    assert ids(held_after="2026-03-01") == [hall.pk]
    assert client.get("/api/v1/meetings/", {"status": "maybe"}).status_code == 400


def test_the_list_costs_the_same_whatever_its_length(world, staff, worker, api_client_for):
    client = api_client_for(staff)

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/meetings/").status_code == 200
        return len(queries)

    hold(plan(world.A1), attendees=[worker])
    few = cost()
    for _ in range(5):
        meeting = plan(world.A1a)
        services.meeting_add_item(actor=staff, meeting=meeting, proposal="加装休息椅")
        hold(meeting, attendees=[worker, staff])
    assert cost() == few


def test_the_detail_costs_the_same_whatever_its_agenda(
    world, staff, worker, make_ticket, facilities, api_client_for
):
    client = api_client_for(staff)
    meeting = hold(plan(world.A1), attendees=[worker])

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/meetings/{meeting.pk}/").status_code == 200
        return len(queries)

    item = on_agenda(meeting, make_ticket(TicketStatus.DELIBERATION))
    services.item_decide(
        actor=staff,
        item=item,
        decision="adopted",
        close_ticket=True,
        follow_ups=[services.FollowUp(category=facilities, grid=world.A1a, title="修路灯")],
    )
    few = cost()
    for index in range(4):
        item = on_agenda(meeting, make_ticket(TicketStatus.DELIBERATION))
        services.item_decide(
            actor=staff,
            item=item,
            decision="adopted",
            close_ticket=True,
            follow_ups=[
                services.FollowUp(category=facilities, grid=world.A1a, title=f"事项{index}-{n}")
                for n in range(2)
            ],
        )
        services.meeting_add_item(actor=worker, meeting=meeting, proposal=f"建议{index}")
    assert cost() == few


# --- the whole loop (seed 003) ------------------------------------------------------------------


def test_raise_deliberate_handle_rate(
    world, staff, worker, grace, frank, hazard, facilities, api_client_for
):
    """群众提事 → 网格议事 → 分类办事 → 闭环评事: a fire on waste ground is deliberated at the
    estate's station; the meeting settles on firebreaks and smoke alarms; a resident's
    proposal for benches is adopted too; the follow-ups are handled and rated."""
    alice, bob, resident = (api_client_for(u) for u in (staff, worker, frank))
    # 群众提事: frank reports, staff send it to deliberation
    reported = post(
        resident, "/api/v1/tickets/", category=hazard.pk, grid=world.A1a.pk, title="荒草地起火"
    )
    fire = Ticket.objects.get(pk=reported.json()["id"])
    assert post(alice, f"/api/v1/tickets/{fire.pk}/deliberate/").status_code == 200

    # 网格议事: a meeting at estate A1, the ticket and a proposal on its agenda
    created = post(
        alice,
        "/api/v1/meetings/",
        grid=world.A1.pk,
        title="现场议事会",
        venue="小区议事站",
        scheduled_at=SOON.isoformat(),
        chaired_by=grace.pk,
    )
    meeting_id = created.json()["id"]
    ticket_item = post(alice, "/api/v1/agenda-items/", meeting=meeting_id, ticket=fire.pk)
    proposal_item = post(
        bob,
        "/api/v1/agenda-items/",
        meeting=meeting_id,
        proposal="加装小区休息椅",
        proposer_name="黄烈华",
    )
    assert (ticket_item.status_code, proposal_item.status_code) == (201, 201)
    assert proposal_item.json()["proposer_name"] == "黄烈华"
    assert [ticket_item.json()["order"], proposal_item.json()["order"]] == [1, 2]
    recorded = post(
        alice,
        f"/api/v1/meetings/{meeting_id}/record/",
        minutes="居民、物业、消防部门到会。议定：增设防火隔离带+智能烟感报警；加装休息椅。",
        attendees=[worker.pk, grace.pk, frank.pk],
        resident_attendees=14,
    )
    assert recorded.status_code == 200, recorded.json()
    body = recorded.json()
    assert (body["status"], body["attendee_count"], body["resident_attendees"]) == (
        "held",
        3,
        14,
    )
    assert {a["id"] for a in body["attendees"]} == {worker.pk, grace.pk, frank.pk}

    # 分类办事: the decisions open follow-ups and settle the ticket
    fire_decided = decide(
        alice,
        AgendaItem.objects.get(pk=ticket_item.json()["id"]),
        decision="adopted",
        note="增设防火隔离带+智能烟感报警",
        close_ticket=True,
        follow_ups=[
            {"category": facilities.pk, "grid": world.A1a.pk, "title": "增设防火隔离带"},
            {
                "category": facilities.pk,
                "grid": world.A1.pk,
                "title": "安装智能烟感报警",
                "description": "楼栋口各一处",
            },
        ],
    )
    bench_decided = decide(
        alice,
        AgendaItem.objects.get(pk=proposal_item.json()["id"]),
        decision="adopted",
        follow_ups=[{"category": facilities.pk, "grid": world.A1.pk, "title": "加装休息椅"}],
    )

    assert fire_decided.status_code == 200, fire_decided.json()
    assert bench_decided.status_code == 200, bench_decided.json()
    fire.refresh_from_db()
    assert fire.status == TicketStatus.CLOSED
    assert fire.resolved_at == fire.closed_at is not None
    closed = fire.events.get(kind="closed")
    assert (closed.actor, closed.from_status) == (staff, "deliberation")
    assert closed.data["meeting"] == meeting_id
    assert "增设防火隔离带" in closed.note
    assert "现场议事会" in closed.note
    follow_ups = fire_decided.json()["follow_ups"]
    assert [f["title"] for f in follow_ups] == ["增设防火隔离带", "安装智能烟感报警"]
    assert sorted(closed.data["follow_ups"]) == sorted(f["id"] for f in follow_ups)
    firebreak = Ticket.objects.get(pk=follow_ups[0]["id"])
    assert (firebreak.reporter, firebreak.grid, firebreak.channel) == (
        frank,
        world.A1a,
        "deliberation",
    )
    assert firebreak.events.get(kind="opened").actor == staff
    benches = Ticket.objects.get(pk=bench_decided.json()["follow_ups"][0]["id"])
    # 黄烈华 has no account: bob, who entered the proposal for her, carries her word back
    assert (benches.reporter, benches.reporter_name) == (worker, "黄烈华")
    assert bench_decided.json()["decision"] == "adopted"

    # 闭环评事: the follow-up is handled and frank rates it
    dispatched = post(alice, f"/api/v1/tickets/{firebreak.pk}/dispatch/", assignee=worker.pk)
    assert dispatched.status_code == 200
    post(bob, f"/api/v1/tickets/{firebreak.pk}/accept/")
    post(bob, f"/api/v1/tickets/{firebreak.pk}/resolve/", note="隔离带已建成")
    rated = post(resident, f"/api/v1/tickets/{firebreak.pk}/rate/", rating="satisfied")
    assert rated.json()["status"] == "closed"
    detail = alice.get(f"/api/v1/meetings/{meeting_id}/").json()
    assert [(i["order"], i["decision"], i["is_open"]) for i in detail["items"]] == [
        (1, "adopted", False),
        (2, "adopted", False),
    ]
    assert detail["allowed_actions"] == ["add_item", "propose"]


def test_adopted_ticket_dispatched_as_decided(world, staff, carol, deliberating, api_client_for):
    meeting = hold(plan(world.A1))
    item = on_agenda(meeting, deliberating)

    response = decide(api_client_for(staff), item, decision="adopted", assignee=carol.pk)

    assert response.status_code == 200, response.json()
    deliberating.refresh_from_db()
    assert (deliberating.status, deliberating.assignee) == ("dispatched", carol)
    event = deliberating.events.get(kind="dispatched")
    assert (event.actor, event.from_status) == (staff, "deliberation")
    assert "睦邻议事会" in event.note
    assert response.json()["follow_ups"] == []


def test_adopted_ticket_whistled_to_a_department(world, staff, deliberating, api_client_for):
    item = on_agenda(hold(plan(world.A1)), deliberating)

    response = decide(api_client_for(staff), item, decision="adopted", departments=[world.D1.pk])

    assert response.status_code == 200, response.json()
    deliberating.refresh_from_db()
    assert deliberating.status == "whistled"
    assert list(deliberating.whistles.values_list("department", flat=True)) == [world.D1.pk]


def test_rejected_ticket_is_rejected_with_the_note(world, staff, deliberating, api_client_for):
    client = api_client_for(staff)
    item = on_agenda(hold(plan(world.A1)), deliberating)

    without_reason = decide(client, item, decision="rejected")
    rejected = decide(client, item, decision="rejected", note="属物业服务合同范围，请联系物业")

    assert without_reason.status_code == 400
    assert "note" in without_reason.json()
    assert rejected.status_code == 200
    deliberating.refresh_from_db()
    assert deliberating.status == "rejected"
    assert "请联系物业" in deliberating.reject_reason
    assert deliberating.events.filter(kind="rejected").count() == 1


def test_deferred_ticket_waits_for_the_next_meeting(world, staff, deliberating, api_client_for):
    client = api_client_for(staff)
    first = hold(plan(world.A1))
    second = plan(world.A, title="社区议事厅月会")
    item = on_agenda(first, deliberating)
    events_before = deliberating.events.count()

    # while the item is open, the ticket is on no other agenda
    busy = post(client, "/api/v1/agenda-items/", meeting=second.pk, ticket=deliberating.pk)
    deferred = decide(client, item, decision="deferred", note="需征求更多住户意见")
    again = post(client, "/api/v1/agenda-items/", meeting=second.pk, ticket=deliberating.pk)

    assert busy.status_code == 409
    assert busy.json()["detail"]
    assert deferred.status_code == 200
    assert again.status_code == 201
    deliberating.refresh_from_db()
    assert deliberating.status == "deliberation"
    assert deliberating.events.count() == events_before  # the ticket itself did not move
    assert AgendaItem.objects.filter(ticket=deliberating).count() == 2


# --- decisions refused --------------------------------------------------------------------------


def test_an_adopted_ticket_goes_on_one_way(world, staff, carol, deliberating, api_client_for):
    client = api_client_for(staff)
    item = on_agenda(hold(plan(world.A1)), deliberating)

    none = decide(client, item, decision="adopted")
    two = decide(client, item, decision="adopted", assignee=carol.pk, close_ticket=True)
    deferred_with_dispatch = decide(client, item, decision="deferred", claim_board=True)

    assert (none.status_code, two.status_code, deferred_with_dispatch.status_code) == (
        400,
        400,
        400,
    )
    item.refresh_from_db()
    assert item.is_open
    deliberating.refresh_from_db()
    assert deliberating.status == "deliberation"


def test_an_adopted_proposal_opens_follow_ups(world, staff, worker, facilities, api_client_for):
    client = api_client_for(staff)
    meeting = hold(plan(world.A1))
    item = services.meeting_add_item(actor=worker, meeting=meeting, proposal="加装休息椅")

    bare = decide(client, item, decision="adopted")
    rejected_with_work = decide(
        client,
        item,
        decision="rejected",
        note="经费不足",
        follow_ups=[{"category": facilities.pk, "grid": world.A1.pk, "title": "加装休息椅"}],
    )

    assert bare.status_code == 400
    assert "follow_ups" in bare.json()
    assert rejected_with_work.status_code == 400
    assert Ticket.objects.count() == 0


def test_a_refused_follow_up_keeps_nothing_of_the_decision(
    world, staff, deliberating, facilities, api_client_for
):
    """One transaction: a follow-up outside the meeting's subtree refuses the whole
    decision, including the ticket's move and the follow-ups before it."""
    item = on_agenda(hold(plan(world.A1)), deliberating)
    tickets_before = Ticket.objects.count()

    response = decide(
        api_client_for(staff),
        item,
        decision="adopted",
        close_ticket=True,
        follow_ups=[
            {"category": facilities.pk, "grid": world.A1a.pk, "title": "增设隔离带"},
            {"category": facilities.pk, "grid": world.B1.pk, "title": "别的社区的事"},
        ],
    )

    assert response.status_code == 400
    assert "follow_ups" in response.json()
    assert Ticket.objects.count() == tickets_before
    item.refresh_from_db()
    deliberating.refresh_from_db()
    assert (item.decision, item.decided_at) == ("", None)
    assert deliberating.status == "deliberation"
    assert not deliberating.events.filter(kind="closed").exists()


def test_decisions_wait_for_a_held_meeting_and_are_made_once(
    world, staff, deliberating, api_client_for
):
    client = api_client_for(staff)
    meeting = plan(world.A1)
    item = on_agenda(meeting, deliberating)

    too_early = decide(client, item, decision="deferred")
    hold(meeting)
    first = decide(client, item, decision="deferred")
    second = decide(client, item, decision="deferred")

    assert (too_early.status_code, first.status_code, second.status_code) == (409, 200, 409)


@pytest.mark.parametrize(
    ("who", "code"),
    [("alice", 200), ("grace", 200), ("bob", 403), ("dan", 403), ("carol", 404), ("charlie", 404)],
)
def test_who_may_decide(world, people, deliberating, api_client_for, who, code):
    item = on_agenda(hold(plan(world.A1)), deliberating)

    response = decide(api_client_for(people[who]), item, decision="deferred")

    assert response.status_code == code
    item.refresh_from_db()
    assert item.is_open is (code != 200)


def test_a_ticket_that_left_deliberation_is_withdrawn_not_decided(
    world, staff, worker, deliberating, api_client_for
):
    client = api_client_for(staff)
    item = on_agenda(hold(plan(world.A1)), deliberating)
    post(client, f"/api/v1/tickets/{deliberating.pk}/dispatch/", assignee=worker.pk)

    decided = decide(client, item, decision="adopted", close_ticket=True)
    by_worker = post(api_client_for(worker), f"/api/v1/agenda-items/{item.pk}/withdraw/")
    withdrawn = post(client, f"/api/v1/agenda-items/{item.pk}/withdraw/")
    twice = post(client, f"/api/v1/agenda-items/{item.pk}/withdraw/")

    assert decided.status_code == 409
    assert by_worker.status_code == 403
    assert withdrawn.status_code == 200
    assert withdrawn.json()["is_open"] is False
    assert twice.status_code == 409
    deliberating.refresh_from_db()
    assert deliberating.status == "dispatched"


# --- the agenda ---------------------------------------------------------------------------------


def test_what_goes_on_an_agenda(world, staff, worker, make_ticket, api_client_for):
    alice, bob = api_client_for(staff), api_client_for(worker)
    meeting = plan(world.A1)
    submitted = make_ticket(TicketStatus.SUBMITTED)
    deliberating = make_ticket(TicketStatus.DELIBERATION)
    elsewhere = make_ticket(TicketStatus.DELIBERATION, grid=world.A2)
    url = "/api/v1/agenda-items/"

    assert post(alice, url, meeting=meeting.pk, ticket=submitted.pk).status_code == 409
    assert post(alice, url, meeting=meeting.pk, ticket=elsewhere.pk).status_code == 400
    assert post(alice, url, meeting=meeting.pk).status_code == 400
    both = post(alice, url, meeting=meeting.pk, ticket=deliberating.pk, proposal="顺便")
    assert both.status_code == 400
    assert post(bob, url, meeting=meeting.pk, ticket=deliberating.pk).status_code == 403
    proposed = post(bob, url, meeting=meeting.pk, proposal="楼道加装扶手")
    assert proposed.status_code == 201
    assert proposed.json()["proposer"]["id"] == worker.pk  # entered by bob, for himself
    assert post(alice, url, meeting=meeting.pk, ticket=deliberating.pk).status_code == 201
    assert list(meeting.items.values_list("order", flat=True)) == [1, 2]


def test_nothing_is_added_to_a_cancelled_meeting(
    world, staff, outsider, deliberating, api_client_for
):
    client = api_client_for(staff)
    meeting = plan(world.A1)
    item = on_agenda(meeting, deliberating)

    cancelled = post(client, f"/api/v1/meetings/{meeting.pk}/cancel/", reason="暴雨")
    late = post(client, "/api/v1/agenda-items/", meeting=meeting.pk, proposal="补议")
    outside = post(api_client_for(outsider), "/api/v1/agenda-items/", meeting=meeting.pk)

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["allowed_actions"] == []
    assert late.status_code == 409
    assert outside.status_code == 400  # the meeting is not one charlie can name
    item.refresh_from_db()
    assert item.withdrawn_at is not None  # its ticket waits for the next meeting
    next_meeting = plan(world.A1)
    assert on_agenda(next_meeting, deliberating).is_open


# --- record and cancel --------------------------------------------------------------------------


def test_recording_a_meeting(world, staff, worker, api_client_for):
    client = api_client_for(staff)
    meeting = plan(world.A1)
    url = f"/api/v1/meetings/{meeting.pk}/record/"
    future = (timezone.now() + datetime.timedelta(hours=2)).isoformat()

    nobody = post(client, url, minutes="无人到会")
    no_minutes = post(client, url, minutes="", resident_attendees=8)
    ahead = post(client, url, minutes="纪要", resident_attendees=8, held_at=future)
    by_worker = post(api_client_for(worker), url, minutes="纪要", resident_attendees=8)
    recorded = post(client, url, minutes="纪要", resident_attendees=8, attendees=[worker.pk])
    twice = post(client, url, minutes="纪要", resident_attendees=8)
    cancel_held = post(client, f"/api/v1/meetings/{meeting.pk}/cancel/", reason="晚了")

    assert [r.status_code for r in (nobody, no_minutes, ahead)] == [400, 400, 400]
    assert "attendees" in nobody.json()
    assert "held_at" in ahead.json()
    assert by_worker.status_code == 403
    assert recorded.status_code == 200
    assert twice.status_code == 409
    assert cancel_held.status_code == 409
    meeting.refresh_from_db()
    assert (meeting.status, meeting.minutes, meeting.resident_attendees) == ("held", "纪要", 8)
    assert meeting.held_at is not None
    assert list(meeting.attendees.all()) == [worker]


def test_cancelling_needs_a_reason(world, staff, api_client_for):
    meeting = plan(world.A1)
    response = post(api_client_for(staff), f"/api/v1/meetings/{meeting.pk}/cancel/", reason=" ")
    assert response.status_code == 400
    meeting.refresh_from_db()
    assert meeting.status == "planned"


# --- the database keeps the invariants ----------------------------------------------------------


def test_the_database_refuses_bad_agenda_items(world, deliberating):
    meeting = plan(world.A1)
    on_agenda(meeting, deliberating)
    other = plan(world.A)

    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.create(meeting=other, order=1, ticket=deliberating)  # two open
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.create(meeting=other, order=1, ticket=deliberating, proposal="两个都有")
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.create(meeting=other, order=1)  # neither
    with pytest.raises(IntegrityError), transaction.atomic():
        AgendaItem.objects.create(meeting=other, order=1, proposal="无人提出")  # no proposer
    with pytest.raises(IntegrityError), transaction.atomic():
        Meeting.objects.filter(pk=other.pk).update(status="held")  # held without a time


# --- figures for the dashboard (seed 004: 56 sessions, 53 issues solved) -----------------------


def test_figures_for_a_subtree_and_period(world, staff, worker, make_ticket, facilities):
    def held_with(grid, decisions: list[str], *, venue: str) -> None:
        meeting = hold(plan(grid, venue=venue))
        for decision in decisions:
            item = services.meeting_add_item(actor=superuser(), meeting=meeting, proposal="建议")
            follow_ups = (
                [services.FollowUp(category=facilities, grid=grid, title="办理")]
                if decision == "adopted"
                else []
            )
            services.item_decide(
                actor=superuser(),
                item=item,
                decision=decision,
                note="议定",
                follow_ups=follow_ups,
            )

    with time_machine.travel(T0 - datetime.timedelta(days=40), tick=False):
        held_with(world.A1, ["adopted"], venue="小区议事站")  # before the period
    with time_machine.travel(T0, tick=False) as clock:
        held_with(world.A1, ["adopted", "rejected"], venue="小区议事站")
        clock.shift(datetime.timedelta(days=3))
        held_with(world.A1a, ["adopted", "adopted", "deferred"], venue="楼栋议事点")
        held_with(world.A, [], venue="邻里议事厅")
        held_with(world.A2, ["adopted"], venue="小区议事站")  # another estate's station
        held_with(world.B1, ["adopted"], venue="小区议事站")  # another community
        plan(world.A1)  # planned, not held
        services.meeting_cancel(actor=staff, meeting=plan(world.A1), reason="暴雨")

    with CaptureQueriesContext(connection) as queries:
        figures = deliberation_figures(
            grid=world.A,
            start=T0 - datetime.timedelta(days=1),
            end=T0 + datetime.timedelta(days=30),
        )

    assert len(queries) <= 3
    assert (figures.sessions_held, figures.venues) == (4, 4)
    assert (figures.items_decided, figures.items_adopted) == (6, 4)
    assert figures.sessions_by_tier == {"point": 1, "station": 2, "hall": 1}
    estate = deliberation_figures(
        grid=world.A1, start=T0 - datetime.timedelta(days=1), end=T0 + datetime.timedelta(days=30)
    )
    assert (estate.sessions_held, estate.items_decided, estate.items_adopted) == (2, 5, 3)


# --- the schema ---------------------------------------------------------------------------------


def test_openapi_documents_deliberation(client, world, staff):
    client.force_login(staff)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    for url in (
        "/api/v1/meetings/",
        "/api/v1/meetings/{id}/",
        "/api/v1/meetings/{id}/record/",
        "/api/v1/meetings/{id}/cancel/",
        "/api/v1/agenda-items/",
        "/api/v1/agenda-items/{id}/decide/",
    ):
        assert url in schema["paths"], url
    decide_responses = schema["paths"]["/api/v1/agenda-items/{id}/decide/"]["post"]["responses"]
    assert {"200", "400", "403", "404", "409"} <= set(decide_responses)
    parameters = {p["name"] for p in schema["paths"]["/api/v1/meetings/"]["get"]["parameters"]}
    assert {"grid", "tier", "status", "scheduled_after", "scheduled_before"} <= parameters


# --- races on PostgreSQL ------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("subject", ["ticket", "proposal"])
def test_ten_decisions_at_once_one_is_kept(world, make_ticket, facilities, make_user, subject):
    """Ten staff press "adopt" on the same item at once: one decision, one follow-up, one
    closing of the ticket; the others are told it was decided. (A proposal has no ticket
    row to queue on: only the meeting and item locks keep it to one.)"""
    deciders = [make_user(f"staff{i}") for i in range(10)]
    for person in deciders:
        assign(person, world.A, AssignmentRole.COMMUNITY_STAFF)
    meeting = hold(plan(world.A1))
    ticket = make_ticket(TicketStatus.DELIBERATION) if subject == "ticket" else None
    if ticket is not None:
        item = on_agenda(meeting, ticket)
    else:
        item = services.meeting_add_item(actor=superuser(), meeting=meeting, proposal="加装休息椅")

    errors = run_in_threads(
        10,
        lambda i: services.item_decide(
            actor=deciders[i],
            item=item,
            decision="adopted",
            close_ticket=ticket is not None,
            follow_ups=[services.FollowUp(category=facilities, grid=world.A1a, title="隔离带")],
        ),
    )

    assert len(errors) == 9
    assert all(isinstance(error, Conflict) for error in errors), errors
    item.refresh_from_db()
    assert item.decision == "adopted"
    assert item.follow_ups.count() == 1
    assert Ticket.objects.filter(title="隔离带").count() == 1
    if ticket is not None:
        assert TicketEvent.objects.filter(ticket=ticket, kind="closed").count() == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_one_ticket_onto_ten_agendas_at_once(world, make_ticket):
    ticket = make_ticket(TicketStatus.DELIBERATION)
    meetings = [plan(world.A1) for _ in range(10)]

    errors = run_in_threads(
        10,
        lambda i: services.meeting_add_item(actor=superuser(), meeting=meetings[i], ticket=ticket),
    )

    assert len(errors) == 9
    assert {getattr(error, "code", None) for error in errors} == {"already_on_agenda"}
    assert AgendaItem.objects.filter(ticket=ticket).count() == 1
