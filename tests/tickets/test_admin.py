"""The admin: scoped ticket lists with their filters, the read-only timeline, the
actions (through the services) and the category tree (administrators edit)."""

from __future__ import annotations

import datetime

import time_machine
from django.utils import timezone

from tests.tickets.factories import open_ticket
from tickets.models import Category, Ticket, TicketStatus

CHANGELIST = "/admin/tickets/ticket/"


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
