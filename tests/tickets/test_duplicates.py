"""Possible duplicates: open tickets of the same category within 200 m and 72 h of a report,
offered to its dispatcher (API and the ticket's page), never merged by themselves."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.tickets.factories import make_category, open_ticket
from tickets import duplicates, services
from tickets.models import Ticket, TicketStatus

HERE = (30.05, 100.05)  # micro grid A1a
METRE = 1 / 111_195  # a metre of latitude in degrees, near enough
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def near(metres_north: float, at=HERE) -> dict:
    return {"lat": at[0] + metres_north * METRE, "lng": at[1]}


@pytest.fixture
def report(world, hazard, frank):
    """The new report the dispatcher is looking at."""
    return open_ticket(category=hazard, reporter=frank, title="路灯不亮", lat=HERE[0], lng=HERE[1])


def offered(ticket, user, **kwargs) -> list[tuple[str, float | None]]:
    return [
        (d.ticket.title, None if d.distance_m is None else round(d.distance_m))
        for d in duplicates.possible_duplicates(ticket, user=user, **kwargs)
    ]


# --- the rule ---------------------------------------------------------------------------------


def test_haversine_distances():
    assert duplicates.haversine_m(30.0, 100.0, 30.0, 100.0) == 0
    assert duplicates.haversine_m(30.0, 100.0, 31.0, 100.0) == pytest.approx(111_195, rel=1e-3)
    # Beijing (Tiananmen) to Shanghai (People's Square): about 1067 km
    assert duplicates.haversine_m(39.9087, 116.3975, 31.2304, 121.4737) == pytest.approx(
        1_067_000, rel=5e-3
    )
    # a degree of longitude shrinks with the cosine of the latitude
    assert duplicates.haversine_m(60.0, 10.0, 60.0, 11.0) == pytest.approx(55_597, rel=1e-3)


def test_open_reports_of_the_same_category_nearby_and_recent_are_offered_nearest_first(
    world, hazard, frank, staff, report
):
    # given
    fire = make_category(name="火情")
    open_ticket(category=hazard, reporter=frank, title="150 m", **near(150))
    open_ticket(category=hazard, reporter=frank, title="40 m", **near(-40))
    open_ticket(category=hazard, reporter=frank, title="250 m", **near(250))
    open_ticket(category=fire, reporter=frank, title="other category", **near(10))
    closed = open_ticket(category=hazard, reporter=frank, title="rejected", **near(5))
    services.ticket_reject(actor=staff, ticket=closed, reason="已处理")
    open_ticket(category=hazard, reporter=frank, title="no position", grid=world.A1a)

    # when / then
    assert offered(report, staff) == [("40 m", 40), ("150 m", 150)]
    assert offered(report, staff, radius_m=300) == [("40 m", 40), ("150 m", 150), ("250 m", 250)]


def test_the_time_window_goes_both_ways(world, hazard, frank, staff):
    now = timezone.now()
    with time_machine.travel(now - datetime.timedelta(hours=80)):
        open_ticket(category=hazard, reporter=frank, title="80 h before", **near(20))
    with time_machine.travel(now - datetime.timedelta(hours=70)):
        open_ticket(category=hazard, reporter=frank, title="70 h before", **near(30))
    with time_machine.travel(now - datetime.timedelta(hours=1)):
        report = open_ticket(category=hazard, reporter=frank, title="report", **near(0))
    open_ticket(category=hazard, reporter=frank, title="1 h after", **near(50))

    found = duplicates.possible_duplicates(report, user=staff)

    assert [(d.ticket.title, round(d.hours_apart)) for d in found] == [
        ("70 h before", 69),
        ("1 h after", -1),
    ]
    wider = duplicates.possible_duplicates(report, user=staff, window=datetime.timedelta(hours=96))
    assert "80 h before" in [d.ticket.title for d in wider]


def test_only_tickets_the_dispatcher_may_see_are_offered(world, hazard, frank, staff, admin_user):
    # given two reports 110 m apart across the border of community A (A1) and B (B1)
    on_a = open_ticket(category=hazard, reporter=frank, title="A side", lat=30.4995, lng=100.1)
    open_ticket(category=hazard, reporter=frank, title="B side", lat=30.5005, lng=100.1)

    # then alice (staff of A) is not shown B's ticket; the administrator is
    assert offered(on_a, staff) == []
    assert offered(on_a, admin_user) == [("B side", 111)]


def test_without_coordinates_the_same_grid_is_compared(world, hazard, frank, staff):
    report = open_ticket(category=hazard, reporter=frank, title="report", grid=world.A1a)
    open_ticket(category=hazard, reporter=frank, title="same grid", grid=world.A1a)
    open_ticket(category=hazard, reporter=frank, title="parent grid", grid=world.A1)

    assert offered(report, staff) == [("same grid", None)]


def test_nothing_is_merged_by_itself(report, hazard, frank, staff):
    other = open_ticket(category=hazard, reporter=frank, title="nearby", **near(30))

    duplicates.possible_duplicates(report, user=staff)

    assert set(Ticket.objects.values_list("status", flat=True)) == {TicketStatus.SUBMITTED}
    assert other.duplicate_of is None


# --- the API ------------------------------------------------------------------------------------


def url(ticket) -> str:
    return f"/api/v1/tickets/{ticket.pk}/possible-duplicates/"


def test_api_offers_possible_duplicates_to_the_dispatcher(
    report, hazard, frank, staff, api_client_for
):
    other = open_ticket(category=hazard, reporter=frank, title="nearby", **near(120))

    response = api_client_for(staff).get(url(report))

    assert response.status_code == 200
    [row] = response.json()
    assert row["ticket"]["id"] == other.pk
    assert row["ticket"]["number"] == other.number
    assert row["ticket"]["status"] == "submitted"
    assert row["distance_m"] == pytest.approx(120, abs=1)
    assert row["hours_apart"] <= 0


def test_api_radius_and_hours_parameters(report, hazard, frank, staff, api_client_for):
    open_ticket(category=hazard, reporter=frank, title="far", **near(900))
    client = api_client_for(staff)

    assert client.get(url(report)).json() == []
    assert len(client.get(url(report), {"radius": 1000}).json()) == 1
    assert client.get(url(report), {"radius": 999_999}).status_code == 400
    assert client.get(url(report), {"hours": 0}).status_code == 400


def test_api_possible_duplicates_are_for_dispatchers_only(
    report, worker, outsider, frank, api_client_for
):
    assert api_client_for(worker).get(url(report)).status_code == 403  # sees it, may not dispatch
    assert api_client_for(frank).get(url(report)).status_code == 403  # the reporter
    assert api_client_for(outsider).get(url(report)).status_code == 404


def test_api_query_count_does_not_grow_with_candidates(
    report, hazard, frank, staff, api_client_for
):
    client = api_client_for(staff)
    open_ticket(category=hazard, reporter=frank, title="one", **near(10))

    with CaptureQueriesContext(connection) as one:
        assert len(client.get(url(report)).json()) == 1
    for i in range(5):
        open_ticket(category=hazard, reporter=frank, title=f"more {i}", **near(20 + i))
    with CaptureQueriesContext(connection) as six:
        assert len(client.get(url(report)).json()) == 6

    assert len(six) == len(one)


# --- the ticket's page --------------------------------------------------------------------------


def test_the_page_offers_duplicates_to_staff_and_marks_one_on_request(
    client, report, hazard, frank, staff
):
    original = open_ticket(category=hazard, reporter=frank, title="最早的报告", **near(60))
    client.force_login(staff)

    page = client.get(f"/tickets/{report.pk}/", **EN).content.decode()
    assert "最早的报告" in page
    assert "60 m away" in page
    assert f'name="original" value="{original.number}"' in page

    response = client.post(f"/tickets/{report.pk}/do/duplicate/", {"original": original.number})

    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.duplicate_of) == (TicketStatus.DUPLICATE, original)


def test_the_page_offers_no_duplicates_to_workers(client, report, hazard, frank, worker):
    open_ticket(category=hazard, reporter=frank, title="最早的报告", **near(60))
    client.force_login(worker)

    page = client.get(f"/tickets/{report.pk}/").content.decode()

    assert "最早的报告" not in page
    assert "/do/duplicate/" not in page
