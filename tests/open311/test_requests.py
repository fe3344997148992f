"""GET requests.{format} and requests/{id}.{format}: the public list, its filters, the
open/closed mapping, public notes, and no personal data."""

from __future__ import annotations

import datetime
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.grids.factories import superuser
from tests.open311.conftest import children, parse_json, parse_xml, post_request
from tests.tickets.factories import open_ticket
from tickets import services
from tickets.models import Ticket

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def posted(client, api_key, **fields) -> Ticket:
    response = post_request(client, api_key, **fields)
    assert response.status_code == 200, response.content
    return Ticket.objects.get(number=parse_json(response)[0]["service_request_id"])


def listed(client, fmt="json", **query):
    response = client.get(f"/open311/v2/requests.{fmt}", query)
    assert response.status_code == 200, response.content
    return parse_json(response) if fmt == "json" else parse_xml(response)


def numbers(rows) -> list[str]:
    return [row["service_request_id"] for row in rows]


def test_the_list_in_json(client, world, streetlight, api_key):
    ticket = posted(
        client, api_key, media_url="https://img.example.cn/1.jpg", address_string="幸福路"
    )

    (row,) = listed(client)

    assert list(row) == REQUEST_FIELDS
    assert row["service_request_id"] == ticket.number
    assert row["status"] == "open"
    assert row["status_notes"] is None
    assert (row["service_name"], row["service_code"]) == ("路灯不亮", "streetlight")
    assert row["description"] == "3号楼东侧路灯不亮"
    assert row["agency_responsible"] == world.A1a.name
    assert row["service_notice"]
    requested = datetime.datetime.fromisoformat(row["requested_datetime"])
    assert requested == ticket.created_at.replace(microsecond=0)
    assert row["requested_datetime"].endswith("+08:00")  # W3C with the zone, Asia/Shanghai
    expected = datetime.datetime.fromisoformat(row["expected_datetime"])
    assert expected == ticket.resolve_by.replace(microsecond=0)
    assert row["updated_datetime"].endswith("+08:00")
    assert (row["address"], row["address_id"], row["zipcode"]) == ("幸福路", world.A1a.code, None)
    assert (row["lat"], row["long"]) == (30.05, 100.05)
    assert row["media_url"] == "https://img.example.cn/1.jpg"


def test_the_list_in_xml(client, world, streetlight, api_key):
    ticket = posted(client, api_key)

    root = listed(client, "xml")

    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert children(request) == REQUEST_FIELDS
    assert request.findtext("service_request_id") == ticket.number
    assert request.findtext("status") == "open"
    assert request.findtext("lat") == "30.05"
    assert request.findtext("long") == "100.05"
    assert request.findtext("requested_datetime").endswith("+08:00")
    assert request.findtext("zipcode") in ("", None)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_is_a_one_element_list(client, world, streetlight, api_key, fmt):
    ticket = posted(client, api_key)
    posted(client, api_key)

    response = client.get(f"/open311/v2/requests/{ticket.number}.{fmt}")

    assert response.status_code == 200
    if fmt == "json":
        assert numbers(parse_json(response)) == [ticket.number]
    else:
        root = parse_xml(response)
        assert (root.tag, len(root), root[0].tag) == ("service_requests", 1, "request")
        assert root[0].findtext("service_request_id") == ticket.number


def test_an_unknown_request_is_404(client, db):
    response = client.get("/open311/v2/requests/20260101-9999.xml")

    assert response.status_code == 404
    root = parse_xml(response)
    assert (root.tag, root[0].findtext("code")) == ("errors", "404")


# --- statuses and public notes --------------------------------------------------------------


def test_open_and_closed(client, world, streetlight, api_key, worker):
    root = superuser()
    submitted = posted(client, api_key)
    resolved = posted(client, api_key)
    services.ticket_dispatch(actor=root, ticket=resolved, assignee=worker)
    services.ticket_accept(actor=worker, ticket=resolved)
    services.ticket_resolve(actor=worker, ticket=resolved, note="已更换灯泡")
    rejected = posted(client, api_key)
    services.ticket_reject(actor=root, ticket=rejected, reason="非本社区路段，已转交市政")
    duplicate = posted(client, api_key)
    services.ticket_mark_duplicate(actor=root, ticket=duplicate, original=submitted)

    rows = {row["service_request_id"]: row for row in listed(client)}

    assert rows[submitted.number]["status"] == "open"
    assert rows[resolved.number]["status"] == "closed"  # waiting for the rating
    assert rows[resolved.number]["status_notes"] == "已更换灯泡"
    assert rows[rejected.number]["status"] == "closed"
    assert rows[rejected.number]["status_notes"] == "非本社区路段，已转交市政"
    assert rows[duplicate.number]["status"] == "closed"
    assert submitted.number in rows[duplicate.number]["status_notes"]
    assert rows[submitted.number]["status_notes"] is None

    assert numbers(listed(client, status="open")) == [submitted.number]
    closed = set(numbers(listed(client, status="closed")))
    assert closed == {resolved.number, rejected.number, duplicate.number}
    assert len(listed(client, status="open,closed")) == 4


def test_a_reopened_ticket_loses_its_old_resolution_note(
    client, world, streetlight, api_key, worker
):
    root = superuser()
    ticket = posted(client, api_key)
    services.ticket_reject(actor=root, ticket=ticket, reason="信息不全")
    services.ticket_reopen(actor=root, ticket=ticket, note="内部备注：再核实")

    (row,) = listed(client)

    assert row["status"] == "open"
    assert row["status_notes"] is None  # neither the old reason nor the internal note


def test_a_whistled_ticket_names_its_departments(client, world, streetlight, api_key):
    ticket = posted(client, api_key)
    services.ticket_dispatch(actor=superuser(), ticket=ticket, departments=[world.D1, world.D2])

    (row,) = listed(client)

    assert row["agency_responsible"] == f"{world.D1.name}、{world.D2.name}"


def test_a_bad_status_is_400(client, db):
    response = client.get("/open311/v2/requests.json", {"status": "pending"})

    assert response.status_code == 400
    assert parse_json(response)[0]["description"].startswith("status: ")


# --- filters ----------------------------------------------------------------------------------


def test_service_code_filter_takes_a_comma_list(client, world, streetlight, pothole, api_key):
    light = posted(client, api_key)
    hole = posted(client, api_key, service_code="pothole", **{"attribute[pole]": None})

    assert numbers(listed(client, service_code="pothole")) == [hole.number]
    assert set(numbers(listed(client, service_code="pothole, streetlight"))) == {
        light.number,
        hole.number,
    }
    assert listed(client, service_code="nothing") == []


def test_date_filters(client, world, streetlight, api_key):
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, tzinfo=datetime.UTC)):
        june = posted(client, api_key)
    with time_machine.travel(datetime.datetime(2026, 8, 1, 10, tzinfo=datetime.UTC)):
        august = posted(client, api_key)

    window = {"start_date": "2026-05-20T00:00:00+08:00", "end_date": "2026-07-01T00:00:00Z"}
    assert numbers(listed(client, **window)) == [june.number]
    assert numbers(listed(client, start_date="2026-07-15T00:00:00Z")) == [august.number]
    assert numbers(listed(client, end_date="2026-06-02")) == [june.number]  # a day is W3C too
    both = {"start_date": "2026-05-20T00:00:00Z", "end_date": "2026-08-15T00:00:00Z"}
    assert numbers(listed(client, **both)) == [august.number, june.number]  # newest first


def test_an_unencoded_plus_in_the_offset_is_understood(client, world, streetlight, api_key):
    ticket = posted(client, api_key)
    start = timezone.localtime() - datetime.timedelta(hours=1)

    response = client.get(f"/open311/v2/requests.json?start_date={start:%Y-%m-%dT%H:%M:%S}+08:00")

    assert numbers(parse_json(response)) == [ticket.number]


def test_by_default_the_last_90_days(client, world, streetlight, api_key):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=100)):
        posted(client, api_key)
    recent = posted(client, api_key)

    assert numbers(listed(client)) == [recent.number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-02T00:00:00Z"}, "end_date"),
        ({"start_date": "2026-04-02T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"start_date": "2026-13-01T00:00:00Z"}, "start_date"),
        ({"end_date": "0001-01-01T00:00:00+14:00"}, "end_date"),
        ({"end_date": "2026-01-01T25:00:00Z"}, "end_date"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_or_too_wide_dates_are_400(client, db, query, field, fmt):
    response = client.get(f"/open311/v2/requests.{fmt}", query)

    assert response.status_code == 400
    if fmt == "json":
        assert parse_json(response)[0]["description"].startswith(f"{field}: ")
    else:
        error = parse_xml(response)[0]
        assert error.findtext("code") == "400"
        assert error.findtext("description").startswith(f"{field}: ")


def test_exactly_90_days_is_allowed(client, db):
    query = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"}

    assert client.get("/open311/v2/requests.json", query).status_code == 200


def test_service_request_id_overrides_every_other_filter(client, world, streetlight, api_key):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=200)):
        old = posted(client, api_key)
    services.ticket_reject(actor=superuser(), ticket=old, reason="重复")
    new = posted(client, api_key)
    posted(client, api_key)

    rows = listed(
        client,
        service_request_id=f"{old.number}, {new.number},nothing",
        status="open",
        service_code="pothole",
        start_date="not a date",
        end_date="2020-01-01T00:00:00Z",
    )

    assert set(numbers(rows)) == {old.number, new.number}


# --- personal data and other channels ---------------------------------------------------------


def test_no_personal_data_in_any_output(client, world, streetlight, pothole, api_key):
    posted(
        client,
        api_key,
        phone="13812345678",
        email="wang.wu@example.cn",
        first_name="五",
        last_name="王",
        device_id="device-secret",
        account_id="account-secret",
        **{"attribute[count]": "7"},
    )
    open_ticket(
        category=pothole,
        grid=world.A1,
        channel="hotline",
        reporter_phone="13987654321",
        reporter_name="李四",
        title="李四家门口",
        description="李四反映其家门口井盖缺失，电话13987654321",
        address="幸福路8号李四家",
        lat=30.2,
        lng=100.2,
    )
    bodies = [
        client.get(f"/open311/v2/{path}.{fmt}").content.decode("utf-8")
        for path in ("requests", "servicerequestupdates")
        for fmt in ("json", "xml")
    ]
    bodies += [
        client.get(f"/open311/v2/requests/{ticket.number}.{fmt}").content.decode("utf-8")
        for ticket in Ticket.objects.all()
        for fmt in ("json", "xml")
    ]

    for secret in (
        "13812345678",
        "wang.wu@example.cn",
        "王五",
        "device-secret",
        "account-secret",
        "13987654321",
        "李四",
        "幸福路8号",
    ):
        assert all(secret not in body for body in bodies), secret


def test_tickets_of_other_channels_are_listed_without_text_or_place(
    client, world, pothole, api_key
):
    ticket = open_ticket(
        category=pothole,
        grid=world.A1,
        channel="hotline",
        description="家中漏水",
        address="幸福路8号",
        lat=30.2,
        lng=100.2,
    )
    services.ticket_reject(actor=superuser(), ticket=ticket, reason="已联系本人")

    (row,) = listed(client)

    assert row["service_request_id"] == ticket.number
    assert row["status"] == "closed"
    assert row["agency_responsible"] == world.A1.name
    for field in ("description", "status_notes", "address", "address_id", "lat", "long"):
        assert row[field] is None, field


def test_channels_may_be_made_public_by_setting(client, settings, world, pothole):
    settings.OPEN311_PUBLIC_CHANNELS = ["open311", "hotline"]
    open_ticket(
        category=pothole,
        grid=world.A1,
        channel="hotline",
        description="井盖缺失",
        lat=30.2,
        lng=100.2,
    )

    (row,) = listed(client)

    assert (row["description"], row["lat"]) == ("井盖缺失", 30.2)


# --- cost -------------------------------------------------------------------------------------


def test_the_list_takes_a_fixed_number_of_queries(
    client, world, streetlight, api_key, django_assert_max_num_queries
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            for fmt in ("json", "xml"):
                assert client.get(f"/open311/v2/requests.{fmt}").status_code == 200
        return len(queries) // 2

    def add(many: int) -> None:
        for _ in range(many):
            ticket = posted(client, api_key)
            services.ticket_dispatch(actor=superuser(), ticket=ticket, departments=[world.D1])
            services.ticket_reject(actor=superuser(), ticket=ticket, reason="转交")

    add(2)
    few = count()
    add(6)
    many = count()

    assert few == many
    with django_assert_max_num_queries(2):
        rows = json.loads(client.get("/open311/v2/requests.json").content)
    assert len(rows) == 8
