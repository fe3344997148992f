"""退单: a 12345 order goes back to the hotline, from the ticket (API and service) or from
the order list; the order follows its ticket; a returned ticket's deadlines stop."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from governance.dashboard.periods import Period
from governance.dashboard.selectors import ticket_figures
from governance.errors import Conflict
from hotline import services
from hotline.columns import read_values
from hotline.models import HotlineOrder, OrderStatus
from tests.grids.factories import superuser
from tests.tickets.factories import open_ticket
from tickets import services as ticket_services
from tickets.deadlines import is_overdue, overdue_q
from tickets.escalation import escalation_sweep
from tickets.models import Ticket, TicketStatus

REASON = "属于自来水公司管辖，不属于本社区"


def receive(staff, area, number: str = "R-1", **fields) -> HotlineOrder:
    row = {
        "number": number,
        "content": "自来水管爆裂",
        "phone": "13812345678",
        "category": "lighting",
        "address": "社区A小区A1微网格A1a",
        **fields,
    }
    return services.order_receive(actor=staff, values=read_values(row), area=area).order


@pytest.fixture
def placed(world, staff, categories):
    return receive(staff, world.A)


def test_return_over_the_ticket_api(world, staff, placed, api_client_for):
    ticket = placed.ticket

    response = api_client_for(staff).post(
        f"/api/v1/tickets/{ticket.pk}/return/", {"reason": REASON}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == TicketStatus.RETURNED
    assert response.json()["allowed_actions"] == ["reopen"]
    event = ticket.events.get(kind="returned")
    assert (event.note, event.actor, event.from_status) == (REASON, staff, "submitted")
    placed.refresh_from_db()
    assert (placed.status, placed.return_reason) == (OrderStatus.RETURNED, REASON)
    assert placed.returned_at == event.created_at


def test_return_from_a_wrong_state_is_409_and_a_stranger_403(
    world, staff, worker, outsider, placed, api_client_for
):
    ticket = placed.ticket
    root = superuser()
    url = f"/api/v1/tickets/{ticket.pk}/return/"
    # bob works on A1: he sees the ticket, but returning is the dispatchers' act
    assert api_client_for(worker).post(url, {"reason": REASON}, format="json").status_code == 403
    assert api_client_for(outsider).post(url, {"reason": REASON}, format="json").status_code == 404
    ticket_services.ticket_dispatch(actor=root, ticket=ticket, assignee=worker)
    ticket_services.ticket_accept(actor=worker, ticket=ticket)

    taken = api_client_for(staff).post(url, {"reason": REASON}, format="json")

    assert taken.status_code == 409
    assert taken.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.ACCEPTED
    assert not ticket.events.filter(kind="returned").exists()
    placed.refresh_from_db()
    assert placed.status == OrderStatus.PLACED


def test_return_through_the_service(world, staff, worker, placed):
    with pytest.raises(PermissionDenied):
        ticket_services.ticket_return(actor=worker, ticket=placed.ticket, reason=REASON)

    ticket = ticket_services.ticket_return(actor=staff, ticket=placed.ticket, reason=REASON)

    assert ticket.status == TicketStatus.RETURNED
    with pytest.raises(Conflict):
        ticket_services.ticket_return(actor=staff, ticket=ticket, reason=REASON)


def test_return_from_the_order_list(world, staff, categories, api_client_for, leader):
    listed = receive(staff, world.A, "R-2", category="没有这个分类")
    placed = receive(staff, world.A, "R-3")
    client = api_client_for(staff)

    assert (
        api_client_for(leader)
        .post(f"/api/v1/hotline/orders/{listed.pk}/return/", {"reason": REASON})
        .status_code
        == 403
    )
    blank = client.post(f"/api/v1/hotline/orders/{listed.pk}/return/", {"reason": " "})
    assert blank.status_code == 400
    direct = client.post(f"/api/v1/hotline/orders/{listed.pk}/return/", {"reason": REASON})
    through_ticket = client.post(f"/api/v1/hotline/orders/{placed.pk}/return/", {"reason": REASON})

    assert direct.status_code == 200
    assert (direct.json()["status"], direct.json()["return_reason"]) == ("returned", REASON)
    assert direct.json()["ticket"] is None
    assert through_ticket.status_code == 200
    assert through_ticket.json()["ticket_status"] == TicketStatus.RETURNED
    assert Ticket.objects.get(pk=placed.ticket_id).events.filter(kind="returned").count() == 1
    again = client.post(f"/api/v1/hotline/orders/{listed.pk}/return/", {"reason": REASON})
    assert again.status_code == 409


def test_staff_reopen_a_returned_order(world, staff, placed, api_client_for):
    ticket_services.ticket_return(actor=staff, ticket=placed.ticket, reason=REASON)

    response = api_client_for(staff).post(f"/api/v1/tickets/{placed.ticket_id}/reopen/", {})

    assert response.status_code == 200
    assert response.json()["status"] == TicketStatus.REOPENED
    placed.refresh_from_db()
    assert (placed.status, placed.return_reason, placed.returned_at) == (
        OrderStatus.PLACED,
        "",
        None,
    )


def test_a_returned_ticket_is_finished_not_overdue(world, staff, categories):
    order = receive(
        staff,
        world.A,
        deadline=(timezone.localtime() + datetime.timedelta(minutes=5)).strftime(
            "%Y-%m-%d %H:%M:%S"
        ),
    )
    open_one = receive(staff, world.A, "R-9")
    ticket = ticket_services.ticket_return(actor=staff, ticket=order.ticket, reason=REASON)
    later = timezone.now() + datetime.timedelta(days=30)

    assert not is_overdue(ticket, later)
    assert not Ticket.objects.filter(overdue_q(later), pk=ticket.pk).exists()
    assert escalation_sweep(now=later) > 0  # the other order climbs
    assert not ticket.events.filter(kind="escalated").exists()
    assert open_one.ticket.events.filter(kind="escalated").exists()
    today = timezone.localdate()
    figures = ticket_figures(world.A, Period(today, today), later)
    assert (figures["open_now"], figures["overdue_now"]) == (1, 1)


def test_return_from_the_ticket_page(client, world, staff, placed):
    ticket = placed.ticket
    client.force_login(staff)
    page = client.get(f"/tickets/{ticket.pk}/")
    assert f"/tickets/{ticket.pk}/do/return/" in page.content.decode()

    empty = client.post(f"/tickets/{ticket.pk}/do/return/", {"reason": " "})
    assert empty.status_code == 400
    assert not ticket.events.filter(kind="returned").exists()

    response = client.post(f"/tickets/{ticket.pk}/do/return/", {"reason": REASON})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RETURNED
    assert ticket.events.get(kind="returned").note == REASON
    placed.refresh_from_db()
    assert placed.status == OrderStatus.RETURNED


def test_the_ticket_page_offers_no_return_for_other_channels(client, world, staff, categories):
    ticket = open_ticket(category=categories["lighting"], grid=world.A1, reporter=staff)
    client.force_login(staff)
    assert "/do/return/" not in client.get(f"/tickets/{ticket.pk}/").content.decode()
    refused = client.post(f"/tickets/{ticket.pk}/do/return/", {"reason": REASON})
    assert refused.status_code in (403, 409)
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.RETURNED
