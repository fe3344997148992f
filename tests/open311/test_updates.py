"""GET servicerequestupdates.{format}: the public timeline a civic app mirrors."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from tests.grids.factories import superuser
from tests.open311.conftest import children, parse_json, parse_xml, post_request
from tests.tickets.factories import open_ticket
from tickets import services
from tickets.models import EventKind, Ticket, TicketEvent

UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
]


def posted(client, api_key) -> Ticket:
    response = post_request(client, api_key)
    assert response.status_code == 200, response.content
    return Ticket.objects.get(number=parse_json(response)[0]["service_request_id"])


def worked_through(ticket: Ticket, worker) -> None:
    services.ticket_dispatch(
        actor=superuser(), ticket=ticket, assignee=worker, note="内部：交给小王"
    )
    services.ticket_accept(actor=worker, ticket=ticket)
    services.ticket_resolve(actor=worker, ticket=ticket, note="已更换灯泡")


def updates(client, fmt="json", **query):
    response = client.get(f"/open311/v2/servicerequestupdates.{fmt}", query)
    assert response.status_code == 200, response.content
    return parse_json(response) if fmt == "json" else parse_xml(response)


def test_updates_in_json(client, world, streetlight, api_key, worker):
    ticket = posted(client, api_key)
    worked_through(ticket, worker)
    events = list(ticket.events.order_by("created_at", "pk"))

    rows = updates(client)

    assert [row["update_id"] for row in rows] == [str(event.pk) for event in events]
    assert all(list(row) == UPDATE_FIELDS for row in rows)
    assert {row["service_request_id"] for row in rows} == {ticket.number}
    assert [row["status"] for row in rows] == ["open", "open", "open", "closed"]
    opened, dispatched, accepted, resolved = rows
    assert opened["description"] == str(EventKind.OPENED.label)
    assert accepted["description"] == str(EventKind.ACCEPTED.label)
    assert resolved["description"] == "已更换灯泡"  # the public note
    assert "交给小王" not in dispatched["description"]  # dispatch notes are internal
    assert dispatched["description"] == str(EventKind.DISPATCHED.label)
    assert resolved["updated_datetime"].endswith("+08:00")
    assert resolved["media_url"] is None


def test_updates_in_xml(client, world, streetlight, api_key, worker):
    ticket = posted(client, api_key)
    worked_through(ticket, worker)

    root = updates(client, "xml")

    assert root.tag == "service_request_updates"
    assert set(children(root)) == {"request_update"}
    assert children(root[0]) == UPDATE_FIELDS
    assert root[-1].findtext("description") == "已更换灯泡"
    assert root[-1].findtext("status") == "closed"
    assert root[0].findtext("service_request_id") == ticket.number


def test_internal_events_are_not_mirrored(client, world, streetlight, api_key):
    ticket = posted(client, api_key)
    TicketEvent.objects.create(
        ticket=ticket, kind=EventKind.ESCALATED, to_status=ticket.status, note="升级到社区"
    )

    kinds = [row["description"] for row in updates(client)]

    assert kinds == [str(EventKind.OPENED.label)]


def test_notes_of_other_channels_stay_private(client, world, pothole):
    ticket = open_ticket(category=pothole, grid=world.A1, channel="hotline")
    services.ticket_reject(actor=superuser(), ticket=ticket, reason="已联系来电人李四")

    rows = updates(client)

    assert [row["description"] for row in rows] == [
        str(EventKind.OPENED.label),
        str(EventKind.REJECTED.label),
    ]


def test_window_and_request_filters(client, world, streetlight, api_key):
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, tzinfo=datetime.UTC)):
        june = posted(client, api_key)
    with time_machine.travel(datetime.datetime(2026, 8, 1, 10, tzinfo=datetime.UTC)):
        august = posted(client, api_key)
        other = posted(client, api_key)

    june_only = updates(client, start_date="2026-05-25T00:00:00Z", end_date="2026-06-10T00:00:00Z")
    assert [row["service_request_id"] for row in june_only] == [june.number]
    one = updates(
        client,
        start_date="2026-07-25T00:00:00Z",
        end_date="2026-08-10T00:00:00Z",
        service_request_id=other.number,
    )
    assert [row["service_request_id"] for row in one] == [other.number]
    assert august.number not in [row["service_request_id"] for row in one]


def test_by_default_the_last_90_days(client, world, streetlight, api_key):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=95)):
        posted(client, api_key)
    recent = posted(client, api_key)

    assert [row["service_request_id"] for row in updates(client)] == [recent.number]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_more_than_90_days_is_400(client, db, fmt):
    response = client.get(
        f"/open311/v2/servicerequestupdates.{fmt}",
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
    )

    assert response.status_code == 400
    if fmt == "json":
        assert parse_json(response)[0]["description"].startswith("end_date: ")
    else:
        assert parse_xml(response)[0].findtext("code") == "400"


def test_updates_take_one_query_whatever_their_number(
    client, world, streetlight, api_key, worker, django_assert_max_num_queries
):
    for _ in range(3):
        worked_through(posted(client, api_key), worker)

    with django_assert_max_num_queries(1):
        rows = updates(client)
    assert len(rows) == 12
