"""The admin: scoped ticket lists with their filters, the read-only timeline, the
actions (through the services, with an intermediate page where they need a choice), the
12345 hotline form, the category tree (administrators edit), and deliberation meetings
with their flows (schedule, agenda, record, decide, withdraw, cancel)."""

from __future__ import annotations

import datetime

import time_machine
from django.utils import timezone

from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import AgendaItem, Category, Meeting, Ticket, TicketStatus

CHANGELIST = "/admin/tickets/ticket/"
HOTLINE = "/admin/tickets/ticket/hotline/"
MEETINGS = "/admin/tickets/meeting/"


def shown(response) -> set[int]:
    return {ticket.pk for ticket in response.context["cl"].result_list}


def test_the_list_is_scoped(client, world, hazard, frank, staff, outsider, leader):
    in_a = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    in_b = open_ticket(category=hazard, grid=world.B1, reporter=frank)

    client.force_login(staff)
    assert shown(client.get(CHANGELIST)) == {in_a.pk}
    client.force_login(outsider)
    assert shown(client.get(CHANGELIST)) == {in_b.pk}
    assert client.get(f"{CHANGELIST}{in_a.pk}/change/").status_code == 302  # "does not exist"
    client.force_login(leader)
    assert shown(client.get(CHANGELIST)) == {in_a.pk, in_b.pk}


def test_filters(client, world, hazard, fire, frank, admin_user):
    with time_machine.travel(timezone.now() - datetime.timedelta(hours=3)):
        late = open_ticket(category=fire, grid=world.T2, reporter=frank)  # no worker on T2
    fresh = open_ticket(category=hazard, grid=world.B1, reporter=frank)
    client.force_login(admin_user)

    assert shown(client.get(CHANGELIST, {"overdue": "yes"})) == {late.pk}
    assert shown(client.get(CHANGELIST, {"overdue": "no"})) == {fresh.pk}
    assert shown(client.get(CHANGELIST, {"subtree": world.T1.pk})) == {fresh.pk}
    assert shown(client.get(CHANGELIST, {"category__id__exact": fire.pk})) == {late.pk}
    assert shown(client.get(CHANGELIST, {"status__exact": "submitted"})) == {late.pk, fresh.pk}
    assert shown(client.get(CHANGELIST, {"channel__exact": "hotline"})) == set()


def test_the_ticket_page_shows_the_timeline_read_only(client, make_ticket, staff):
    ticket = make_ticket(TicketStatus.IN_PROGRESS)
    client.force_login(staff)

    page = client.get(f"{CHANGELIST}{ticket.pk}/change/")

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False  # a view, not a form
    _whistles, timeline = page.context["inline_admin_formsets"]
    assert timeline.has_add_permission is False
    assert timeline.has_change_permission is False
    assert [form.original.kind for form in timeline] == [
        "opened",
        "dispatched",
        "accepted",
        "started",
    ]
    # tickets change only through transitions: a POST to the page is refused
    refused = client.post(f"{CHANGELIST}{ticket.pk}/change/", {"title": "改了"})
    assert refused.status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).title == ticket.title


def test_publish_action_goes_through_the_service(client, make_ticket, staff):
    waiting = make_ticket(TicketStatus.SUBMITTED)
    finished = make_ticket(TicketStatus.CLOSED)
    client.force_login(staff)

    response = client.post(
        CHANGELIST,
        {"action": "publish_to_claim_board", "_selected_action": [waiting.pk, finished.pk]},
        follow=True,
    )

    assert response.status_code == 200
    waiting.refresh_from_db()
    finished.refresh_from_db()
    assert (waiting.status, finished.status) == ("claimable", "closed")
    published = waiting.events.get(kind="published")
    assert published.actor == staff
    messages = [str(m) for m in response.context["messages"]]
    assert any(finished.number in m for m in messages)


def test_close_unrated_action_respects_the_window(client, make_ticket, staff):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=8)):
        old = make_ticket(TicketStatus.RESOLVED)
    recent = make_ticket(TicketStatus.RESOLVED)
    client.force_login(staff)

    client.post(CHANGELIST, {"action": "close_unrated", "_selected_action": [old.pk, recent.pk]})

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == ("closed", "resolved")
    assert old.events.get(kind="closed").actor == staff


def test_workers_cannot_publish(client, make_ticket, worker):
    ticket = make_ticket(TicketStatus.SUBMITTED)
    client.force_login(worker)
    client.post(CHANGELIST, {"action": "publish_to_claim_board", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.status == "submitted"


def test_categories_in_the_admin(client, world, hazard, staff, admin_user):
    client.force_login(staff)
    assert client.get("/admin/tickets/category/").status_code == 200
    assert client.get("/admin/tickets/category/add/").status_code == 403

    client.force_login(admin_user)
    form = {
        "name": "占道经营",
        "code": "street-vending",
        "parent": hazard.pk,
        "respond_within": "00:30:00",
        "resolve_within": "1 00:00:00",
        "report_within": "02:00:00",
        "default_route": "department",
        "is_active": "on",
    }
    refused = client.post("/admin/tickets/category/add/", form)
    assert refused.status_code == 200  # the form again: a department route needs one
    assert not Category.objects.filter(code="street-vending").exists()
    created = client.post("/admin/tickets/category/add/", {**form, "department": world.D2.pk})
    assert created.status_code == 302
    category = Category.objects.get(code="street-vending")
    assert (category.parent, category.department) == (hazard, world.D2)


def test_openapi_schema_documents_the_ticket_api(client, world, staff):
    client.force_login(staff)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    for path in (
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/timeline/",
        "/api/v1/claim-board/",
        "/api/v1/whistles/{id}/report-in/",
        "/api/v1/ticket-categories/",
        *(f"/api/v1/tickets/{{id}}/{action}/" for action in ("dispatch", "claim", "rate")),
    ):
        assert path in schema["paths"], path
    # one name per choice set: no collision was papered over with a hashed enum name
    components = schema["components"]["schemas"]
    for enum in ("TicketStatusEnum", "WhistleStatusEnum", "TicketEventKindEnum"):
        assert enum in components
    claim = schema["paths"]["/api/v1/tickets/{id}/claim/"]["post"]["responses"]
    assert {"200", "403", "404", "409"} <= set(claim)


# --- actions with a choice, and the 12345 hotline -----------------------------------------------


def test_whistle_action_asks_for_the_departments(client, world, make_ticket, staff):
    waiting = make_ticket(TicketStatus.SUBMITTED)
    finished = make_ticket(TicketStatus.CLOSED)
    selection = {"action": "whistle_to_departments", "_selected_action": [waiting.pk, finished.pk]}
    client.force_login(staff)

    asked = client.post(CHANGELIST, selection)
    nothing_chosen = client.post(CHANGELIST, {**selection, "apply": "1"})
    done = client.post(
        CHANGELIST,
        {**selection, "apply": "1", "departments": [world.D1.pk], "note": "请派出所协助"},
        follow=True,
    )

    assert asked.status_code == nothing_chosen.status_code == 200
    assert set(asked.context["form"].fields["departments"].queryset) == {world.D1, world.D2}
    assert "departments" in nothing_chosen.context["form"].errors
    waiting.refresh_from_db()
    assert waiting.status == "whistled"
    assert list(waiting.whistles.values_list("department", flat=True)) == [world.D1.pk]
    event = waiting.events.get(kind="whistled")
    assert (event.actor, event.note) == (staff, "请派出所协助")
    assert any(finished.number in str(m) for m in done.context["messages"])
    assert Ticket.objects.get(pk=finished.pk).status == "closed"


def test_dispatch_action_gives_tickets_to_a_person(client, make_ticket, staff, carol, outsider):
    ticket = make_ticket(TicketStatus.SUBMITTED)
    selection = {"action": "dispatch_to_person", "_selected_action": [ticket.pk]}
    client.force_login(staff)

    asked = client.post(CHANGELIST, selection)
    wrong = client.post(CHANGELIST, {**selection, "apply": "1", "assignee": outsider.pk})
    done = client.post(CHANGELIST, {**selection, "apply": "1", "assignee": carol.pk})

    people = set(asked.context["form"].fields["assignee"].queryset)
    assert carol in people
    assert outsider not in people  # charlie works on community B
    assert wrong.status_code == 200
    assert "assignee" in wrong.context["form"].errors
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == ("dispatched", carol)
    assert ticket.events.get(kind="dispatched").actor == staff


def test_send_to_deliberation_action(client, make_ticket, staff):
    ticket = make_ticket(TicketStatus.SUBMITTED)
    client.force_login(staff)
    client.post(CHANGELIST, {"action": "send_to_deliberation", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.status == "deliberation"
    assert ticket.events.get(kind="sent_to_deliberation").actor == staff


def test_a_12345_order_is_entered_in_the_admin(client, world, hazard, staff):
    client.force_login(staff)
    order = {
        "category": hazard.pk,
        "grid": world.A1a.pk,
        "title": "楼道堆放杂物",
        "address": "2号楼1单元",
        "reporter_name": "王先生",
        "reporter_phone": "12345",
    }

    listed = client.get(CHANGELIST)
    blank = client.get(HOTLINE)
    bad_phone = client.post(HOTLINE, order)
    not_ours = client.post(HOTLINE, {**order, "grid": world.B1.pk, "reporter_phone": "13912345678"})
    entered = client.post(HOTLINE, {**order, "reporter_phone": "139 1234 5678"})

    assert HOTLINE in listed.content.decode()
    assert blank.status_code == 200
    assert "reporter_phone" in bad_phone.context["form"].errors
    assert "grid" in not_ours.context["form"].errors
    ticket = Ticket.objects.get()
    assert entered.status_code == 302
    assert entered["Location"] == f"{CHANGELIST}{ticket.pk}/change/"
    assert (ticket.channel, ticket.reporter, ticket.reporter_phone, ticket.reporter_name) == (
        "hotline",
        None,
        "13912345678",
        "王先生",
    )
    assert (ticket.created_by, ticket.grid) == (staff, world.A1a)
    assert ticket.events.get().kind == "opened"


def test_workers_enter_no_hotline_orders(client, world, worker):
    client.force_login(worker)
    assert client.get(HOTLINE).status_code == 403
    assert HOTLINE not in client.get(CHANGELIST).content.decode()


# --- deliberation meetings ----------------------------------------------------------------------


def _follow_up_rows(**first) -> dict:
    """The follow-up formset as the decide page posts it: three rows, the first filled."""
    rows = {
        "follow_ups-TOTAL_FORMS": "3",
        "follow_ups-INITIAL_FORMS": "0",
        "follow_ups-MIN_NUM_FORMS": "0",
        "follow_ups-MAX_NUM_FORMS": "20",
    }
    rows.update({f"follow_ups-0-{key}": value for key, value in first.items()})
    return rows


def test_a_meeting_from_schedule_to_decision(client, world, staff, worker, grace, make_ticket):
    """Seed 003's 现场议事会 entered by community staff in the admin."""
    repairs = make_category(name="设施维修")
    deliberating = make_ticket(TicketStatus.DELIBERATION)
    client.force_login(staff)

    # schedule
    assert client.get(f"{MEETINGS}add/").status_code == 200
    scheduled = client.post(
        f"{MEETINGS}add/",
        {
            "grid": world.A1.pk,
            "title": "小区议事站月会",
            "venue": "小区议事站",
            "scheduled_at_0": "2026-12-01",
            "scheduled_at_1": "19:00",
            "chaired_by": grace.pk,
        },
    )
    meeting = Meeting.objects.get()
    assert scheduled.status_code == 302
    assert scheduled["Location"] == f"{MEETINGS}{meeting.pk}/change/"
    assert (meeting.tier, meeting.chaired_by, meeting.created_by) == ("station", grace, staff)
    page = client.get(f"{MEETINGS}{meeting.pk}/change/")
    assert page.status_code == 200
    links = [url for url, _label in page.context["meeting_links"]]
    assert links == [
        f"{MEETINGS}{meeting.pk}/record/",
        f"{MEETINGS}{meeting.pk}/cancel/",
        f"{MEETINGS}{meeting.pk}/add-item/",
    ]

    # the agenda: the ticket in deliberation is offered
    offered = client.get(f"{MEETINGS}{meeting.pk}/add-item/")
    assert list(offered.context["form"].fields["ticket"].queryset) == [deliberating]
    added = client.post(f"{MEETINGS}{meeting.pk}/add-item/", {"ticket": deliberating.pk})
    assert added.status_code == 302
    item = AgendaItem.objects.get()
    decide_url = f"{MEETINGS}{meeting.pk}/items/{item.pk}/decide/"

    for url in (decide_url, f"{MEETINGS}{meeting.pk}/record/", f"{MEETINGS}{meeting.pk}/cancel/"):
        assert client.get(url).status_code == 200
    assert client.get(MEETINGS).context["cl"].result_count == 1

    # a decision before the meeting is held is refused on the form
    early = client.post(decide_url, {"decision": "deferred", **_follow_up_rows()})
    assert early.status_code == 200
    assert early.context["form"].non_field_errors()

    # record
    recorded = client.post(
        f"{MEETINGS}{meeting.pk}/record/",
        {"minutes": "议定增设防火隔离带", "resident_attendees": "9", "attendees": [worker.pk]},
    )
    assert recorded.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.status, meeting.resident_attendees) == ("held", 9)
    assert decide_url in client.get(f"{MEETINGS}{meeting.pk}/change/").content.decode()

    # decide: a refusal is a form error, then the decision with its follow-up
    no_reason = client.post(decide_url, {"decision": "rejected", **_follow_up_rows()})
    assert no_reason.status_code == 200
    assert "note" in no_reason.context["form"].errors
    decided = client.post(
        decide_url,
        {
            "decision": "adopted",
            "note": "增设防火隔离带",
            "handling": "close_ticket",
            **_follow_up_rows(category=repairs.pk, grid=world.A1a.pk, title="增设防火隔离带"),
        },
    )
    assert decided.status_code == 302
    item.refresh_from_db()
    deliberating.refresh_from_db()
    assert (item.decision, item.decided_by) == ("adopted", staff)
    assert deliberating.status == "closed"
    follow_up = item.follow_ups.get()
    assert (follow_up.title, follow_up.grid, follow_up.reporter) == (
        "增设防火隔离带",
        world.A1a,
        deliberating.reporter,
    )
    assert decide_url not in client.get(f"{MEETINGS}{meeting.pk}/change/").content.decode()


def test_a_refused_decision_is_shown_on_the_form(client, world, staff):
    repairs = make_category(name="设施维修")
    meeting = services.meeting_record(
        actor=superuser(),
        meeting=services.meeting_schedule(
            actor=superuser(), grid=world.A1, title="议事会", scheduled_at=timezone.now()
        ),
        minutes="纪要",
        resident_attendees=5,
    )
    item = services.meeting_add_item(
        actor=superuser(), meeting=meeting, proposal="加装休息椅", proposer_name="黄烈华"
    )
    url = f"{MEETINGS}{meeting.pk}/items/{item.pk}/decide/"
    client.force_login(staff)

    # the service refuses: an adopted proposal opens at least one follow-up
    bare = client.post(url, {"decision": "adopted", **_follow_up_rows()})
    # the form refuses: A2 is not under estate A1
    outside = client.post(
        url,
        {
            "decision": "adopted",
            **_follow_up_rows(category=repairs.pk, grid=world.A2.pk, title="x"),
        },
    )

    assert bare.status_code == outside.status_code == 200  # refused, never a 500
    assert bare.context["form"].non_field_errors()
    assert "grid" in outside.context["formset"].errors[0]
    item.refresh_from_db()
    assert item.is_open
    assert not Ticket.objects.filter(title="x").exists()
    assert Ticket.objects.count() == 0


def test_who_does_what_with_meetings_in_the_admin(
    client, world, staff, worker, leader, outsider, make_ticket
):
    meeting = services.meeting_schedule(
        actor=staff, grid=world.A1, title="议事会", scheduled_at=timezone.now()
    )
    item = services.meeting_add_item(
        actor=staff, meeting=meeting, ticket=make_ticket("deliberation")
    )

    client.force_login(worker)  # reads, and brings residents' proposals (群众提事)
    assert client.get(f"{MEETINGS}{meeting.pk}/change/").status_code == 200
    assert client.get(f"{MEETINGS}{meeting.pk}/record/").status_code == 403
    assert client.get(f"{MEETINGS}add/").status_code == 403
    form = client.get(f"{MEETINGS}{meeting.pk}/add-item/").context["form"]
    assert "ticket" not in form.fields  # tickets are put on by staff
    proposed = client.post(
        f"{MEETINGS}{meeting.pk}/add-item/", {"proposal": "楼道加装扶手", "proposer_name": "李阿姨"}
    )
    assert proposed.status_code == 302
    assert meeting.items.filter(proposer_name="李阿姨").exists()
    client.post(f"{MEETINGS}{meeting.pk}/items/{item.pk}/withdraw/")
    item.refresh_from_db()
    assert item.is_open  # refused with a message

    client.force_login(leader)
    assert client.get(MEETINGS).context["cl"].result_count == 1
    assert client.get(f"{MEETINGS}add/").status_code == 403

    client.force_login(outsider)
    assert client.get(MEETINGS).context["cl"].result_count == 0
    assert client.get(f"{MEETINGS}{meeting.pk}/record/").status_code == 404

    client.force_login(staff)
    withdrawn = client.post(f"{MEETINGS}{meeting.pk}/items/{item.pk}/withdraw/")
    assert withdrawn.status_code == 302
    item.refresh_from_db()
    assert item.withdrawn_at is not None
    cancelled = client.post(f"{MEETINGS}{meeting.pk}/cancel/", {"reason": "暴雨"})
    assert cancelled.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.status, meeting.cancel_reason) == ("cancelled", "暴雨")
    assert client.get(f"{MEETINGS}{meeting.pk}/change/").context["meeting_links"] == []


def test_the_reporters_phone_is_masked_for_those_who_do_not_call_back(
    client, world, fire, staff, leader
):
    """Staff of the grid call the reporter back and see the number; a district leader
    reading the same ticket sees it masked, as in the API and on the pages."""
    ticket = open_ticket(category=fire, grid=world.A1a, reporter_phone="13800138000")
    url = f"{CHANGELIST}{ticket.pk}/change/"

    client.force_login(staff)
    full = client.get(url).content.decode()
    client.force_login(leader)
    masked = client.get(url).content.decode()

    assert "13800138000" in full
    assert "13800138000" not in masked
    assert "138****8000" in masked
