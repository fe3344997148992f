"""The hotline API: one order in (idempotent on its number), the scoped list, placing by
hand, imports over the API."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from hotline.models import HotlineImport, HotlineOrder, OrderStatus
from tests.conftest import requires_postgres, run_in_threads
from tests.hotline.conftest import as_xlsx, order
from tickets.models import Channel, Ticket, TicketEvent

ORDERS = "/api/v1/hotline/orders/"


def payload(number: str = "12345-0100", **changes) -> dict:
    data = {
        "number": number,
        "called_at": "2026-11-20 09:30:00",
        "caller": "李先生",
        "phone": "13812345678",
        "address": "社区A小区A1微网格A1a 5号楼",
        "content": "小区门口井盖缺失，有安全隐患",
        "category": "lighting",
        "deadline": "",
    }
    data.update(changes)
    return data


def test_one_order_in_opens_its_ticket(world, staff, categories, api_client_for):
    response = api_client_for(staff).post(ORDERS, payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["result"], body["status"], body["area"]) == ("open", "placed", world.A.pk)
    ticket = Ticket.objects.get(pk=body["ticket"])
    assert body["ticket_number"] == ticket.number
    assert (ticket.channel, ticket.external_number) == (Channel.HOTLINE, "12345-0100")
    assert (ticket.reporter, ticket.reporter_name, ticket.reporter_phone) == (
        None,
        "李先生",
        "13812345678",
    )
    assert (ticket.grid, ticket.category) == (world.A1a, categories["lighting"])
    assert ticket.title == "小区门口井盖缺失，有安全隐患"
    assert body["called_at"].startswith("2026-11-20T09:30:00")


def test_the_same_order_again_changes_nothing(world, staff, categories, api_client_for):
    client = api_client_for(staff)
    first = client.post(ORDERS, payload(), format="json").json()
    ticket = Ticket.objects.get(pk=first["ticket"])
    state = (ticket.updated_at, TicketEvent.objects.count(), Ticket.objects.count())
    order_updated = HotlineOrder.objects.get().updated_at

    again = client.post(ORDERS, payload(), format="json")

    assert again.status_code == 200
    assert (again.json()["result"], again.json()["ticket"]) == ("unchanged", ticket.pk)
    ticket.refresh_from_db()
    assert (ticket.updated_at, TicketEvent.objects.count(), Ticket.objects.count()) == state
    assert HotlineOrder.objects.get().updated_at == order_updated


def test_a_changed_order_updates_its_ticket(world, staff, categories, api_client_for):
    client = api_client_for(staff)
    first = client.post(ORDERS, payload(), format="json").json()

    changed = client.post(
        ORDERS, payload(content="井盖缺失，已有行人受伤", caller="李建国"), format="json"
    )

    assert changed.status_code == 200
    body = changed.json()
    assert (body["result"], body["ticket"], body["revisions"]) == ("update", first["ticket"], 1)
    ticket = Ticket.objects.get(pk=first["ticket"])
    assert (ticket.title, ticket.reporter_name) == ("井盖缺失，已有行人受伤", "李建国")
    assert Ticket.objects.count() == 1


def test_an_unplaceable_order_is_listed_with_its_reason(world, staff, categories, api_client_for):
    response = api_client_for(staff).post(
        ORDERS, payload(category="不存在的分类", address="别处"), format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["result"], body["status"], body["ticket"]) == ("stage", "unplaceable", None)
    assert "不存在的分类" in body["reason"]
    assert body["result_reason"] == body["reason"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": ""}, "number"),
        ({"content": ""}, "content"),
        ({"called_at": "上周五"}, "called_at"),
        ({"deadline": "2026-13-45"}, "deadline"),
        ({"lat": 95, "lng": 100}, "lat"),
        ({"lat": 30.05}, "lat"),
    ],
)
def test_bad_orders_are_400_with_field_errors(
    world, staff, categories, api_client_for, changes, field
):
    response = api_client_for(staff).post(ORDERS, payload(**changes), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not HotlineOrder.objects.exists()


def test_only_staff_receive_orders(world, worker, leader, staff, categories, api_client_for):
    assert api_client_for(worker).post(ORDERS, payload(), format="json").status_code == 403
    assert api_client_for(leader).post(ORDERS, payload(), format="json").status_code == 403
    # an area that is not yours is no choice at all
    refused = api_client_for(staff).post(ORDERS, payload(area=world.B.pk), format="json")
    assert refused.status_code == 400
    assert "area" in refused.json()
    assert not HotlineOrder.objects.exists()


def test_another_desks_order_is_a_conflict(world, staff, betty, categories, api_client_for):
    api_client_for(staff).post(ORDERS, payload(), format="json")

    response = api_client_for(betty).post(
        ORDERS, payload(content="改过的内容", address="社区B小区B1"), format="json"
    )

    assert response.status_code == 409
    assert HotlineOrder.objects.get().content == "小区门口井盖缺失，有安全隐患"


# --- the list ---------------------------------------------------------------------------------


@pytest.fixture
def received(world, staff, betty, categories, api_client_for):
    """Two orders of area A (one placed, one listed) and one of area B."""
    alice, other = api_client_for(staff), api_client_for(betty)
    placed = alice.post(ORDERS, payload("A-1"), format="json").json()
    listed = alice.post(ORDERS, payload("A-2", category="未知"), format="json").json()
    theirs = other.post(ORDERS, payload("B-1", address="社区B小区B1"), format="json").json()
    return {"placed": placed["id"], "listed": listed["id"], "theirs": theirs["id"]}


def test_the_list_is_scoped_to_the_areas_one_sees(
    world, staff, leader, outsider, worker, received, api_client_for, django_assert_max_num_queries
):
    def numbers(user, query="") -> list[str]:
        body = api_client_for(user).get(ORDERS + query).json()
        return sorted(row["number"] for row in body["results"])

    assert numbers(staff) == ["A-1", "A-2"]
    assert numbers(leader) == ["A-1", "A-2", "B-1"]
    assert numbers(outsider) == ["B-1"]  # charlie works on 社区B
    assert numbers(staff, "?status=unplaceable") == ["A-2"]
    assert numbers(leader, f"?area={world.B.pk}") == ["B-1"]
    assert api_client_for(outsider).get(f"{ORDERS}{received['placed']}/").status_code == 404
    # those who only read see the phone masked
    row = api_client_for(leader).get(f"{ORDERS}{received['placed']}/").json()
    assert row["phone"] == "138****5678"
    assert api_client_for(staff).get(f"{ORDERS}{received['placed']}/").json()["phone"] == (
        "13812345678"
    )
    client = api_client_for(leader)
    with django_assert_max_num_queries(6):
        assert client.get(ORDERS).status_code == 200


def test_the_list_query_count_does_not_grow(
    world, staff, categories, api_client_for, django_assert_num_queries
):
    client = api_client_for(staff)
    client.post(ORDERS, payload("Q-1"), format="json")
    client.get(ORDERS)  # warm the token and the scope
    # the token, the scope, the count, the page (orders with area, ticket and category)
    with django_assert_num_queries(4):
        client.get(ORDERS)
    for number in range(2, 12):
        client.post(ORDERS, payload(f"Q-{number}"), format="json")
    with django_assert_num_queries(4):
        assert len(client.get(ORDERS).json()["results"]) == 11


def test_changed_since_finds_orders_whose_ticket_moved(world, staff, received, api_client_for):
    import time_machine

    ticket = HotlineOrder.objects.get(pk=received["placed"]).ticket
    later = timezone.now() + datetime.timedelta(hours=1)
    with time_machine.travel(later):
        from tests.grids.factories import superuser
        from tickets import services

        services.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)

    since = (later - datetime.timedelta(minutes=1)).isoformat()
    body = api_client_for(staff).get(ORDERS, {"changed_since": since}).json()

    assert [row["number"] for row in body["results"]] == ["A-1"]


# --- placing by hand ----------------------------------------------------------------------------


def test_a_dispatcher_places_a_listed_order(world, staff, received, categories, api_client_for):
    url = f"{ORDERS}{received['listed']}/place/"
    events = TicketEvent.objects.count()

    missing = api_client_for(staff).post(url, {"grid": world.A2.pk}, format="json")
    assert missing.status_code == 400
    assert "category" in missing.json()

    response = api_client_for(staff).post(
        url,
        {"grid": world.A2.pk, "category": categories["sanitation"].pk, "phone": "0971-8123456"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["reason"]) == ("placed", "")
    ticket = Ticket.objects.get(pk=body["ticket"])
    assert (ticket.grid, ticket.category, ticket.external_number) == (
        world.A2,
        categories["sanitation"],
        "A-2",
    )
    assert ticket.reporter_phone == "0971-8123456"
    # the order keeps what the hotline sent
    assert HotlineOrder.objects.get(pk=received["listed"]).phone == "13812345678"
    assert TicketEvent.objects.count() == events + 1
    again = api_client_for(staff).post(url, {"grid": world.A2.pk}, format="json")
    assert again.status_code == 409


def test_placing_is_for_the_areas_staff(
    world, staff, leader, outsider, received, categories, api_client_for
):
    url = f"{ORDERS}{received['listed']}/place/"
    body = {"grid": world.A1.pk, "category": categories["lighting"].pk}

    assert api_client_for(outsider).post(url, body, format="json").status_code == 404
    # dan reads the county: he sees the order but may not place it
    assert api_client_for(leader).post(url, body, format="json").status_code == 403
    assert HotlineOrder.objects.get(pk=received["listed"]).status == OrderStatus.UNPLACEABLE


def test_an_order_without_a_number_is_placed_under_the_number_given(
    world, staff, categories, api_client_for
):
    from hotline.files import read_table
    from hotline.importing import apply_import

    apply_import(
        read_table(as_xlsx([order("", 诉求内容="无编号来电")]), "o.xlsx"), user=staff, area=world.A
    )
    listed = HotlineOrder.objects.get()
    url = f"{ORDERS}{listed.pk}/place/"
    client = api_client_for(staff)

    assert "number" in client.post(url, {"grid": world.A1.pk}, format="json").json()
    response = client.post(url, {"grid": world.A1.pk, "number": "N-77"}, format="json")

    assert response.status_code == 200
    assert Ticket.objects.get().external_number == "N-77"
    # the same number-less row imported again is still that order, now placed
    plan = apply_import(
        read_table(as_xlsx([order("", 诉求内容="无编号来电")]), "o.xlsx"), user=staff, area=world.A
    )
    assert [row.action for row in plan.rows] == ["unchanged"]


# --- imports over the API ------------------------------------------------------------------------


def test_a_file_over_the_api(
    world, staff, categories, api_client_for, django_capture_on_commit_callbacks
):
    client = api_client_for(staff)
    upload = SimpleUploadedFile("orders.xlsx", as_xlsx([order("F-1"), order("F-2", 诉求分类="?")]))

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/hotline/imports/", {"file": upload}, format="multipart")

    assert created.status_code == 201, created.json()
    job = created.json()
    assert job["status"] == "pending"  # the dry run ran after the answer
    checked = client.get(f"/api/v1/hotline/imports/{job['id']}/").json()
    assert checked["status"] == "planned"
    assert (checked["counts"]["open"], checked["counts"]["stage"]) == (1, 1)
    assert not HotlineOrder.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(f"/api/v1/hotline/imports/{job['id']}/confirm/")

    assert confirmed.status_code == 200
    done = client.get(f"/api/v1/hotline/imports/{job['id']}/").json()
    assert done["status"] == "applied"
    assert HotlineOrder.objects.count() == 2
    assert client.post(f"/api/v1/hotline/imports/{job['id']}/confirm/").status_code == 409


def test_imports_are_their_uploaders(world, staff, grace, categories, api_client_for):
    client = api_client_for(staff)
    upload = SimpleUploadedFile("orders.txt", b"hello")

    refused = client.post("/api/v1/hotline/imports/", {"file": upload}, format="multipart")

    assert refused.status_code == 400
    assert "file" in refused.json()
    job = HotlineImport.objects.create(
        created_by=staff, area=world.A, file=SimpleUploadedFile("a.csv", b"x"), original_name="a"
    )
    assert api_client_for(grace).get(f"/api/v1/hotline/imports/{job.pk}/").status_code == 404
    assert (
        api_client_for(grace).post(f"/api/v1/hotline/imports/{job.pk}/confirm/").status_code == 404
    )


# --- concurrency -------------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_order_at_once_gives_one_ticket(world, staff, categories):
    from hotline import services
    from hotline.columns import read_values
    from tests.grids.factories import superuser

    root = superuser()
    values = read_values(
        {
            "number": "P-1",
            "content": "同一工单",
            "phone": "13812345678",
            "category": "lighting",
            "address": "社区A小区A1",
        }
    )

    def receive(_index: int) -> None:
        services.order_receive(actor=root, values=values, area=world.A)

    errors = run_in_threads(8, receive)

    assert errors == []
    assert HotlineOrder.objects.count() == 1
    assert Ticket.objects.filter(external_number="P-1").count() == 1
    assert connection.vendor == "postgresql"


def test_a_listed_order_sent_again_in_another_language_is_unchanged(
    world, staff, categories, api_client_for
):
    """The reasons are kept in the site's language, so who sends the order again (and in
    which language) does not turn an unchanged order into a change."""
    client = api_client_for(staff)
    # the phone rule's message is translated: the reason reads differently per language
    first = client.post(ORDERS, payload(phone="12345"), format="json").json()
    assert first["result"] == "stage"
    stamp = HotlineOrder.objects.get().updated_at

    again = client.post(ORDERS, payload(phone="12345"), format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert again.status_code == 200
    assert again.json()["result"] == "unchanged"
    assert again.json()["reason"] == first["reason"]
    assert HotlineOrder.objects.get().updated_at == stamp
