"""Idempotency keys (``governance.idempotency``): a client that is not sure its request
arrived sends it again with the same key and gets the first answer, never a second ticket."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from governance.idempotency.models import IdempotencyRecord
from governance.idempotency.tasks import idempotency_purge_task
from tests.conftest import requires_postgres, run_in_threads
from tests.tickets.factories import open_ticket
from tickets.models import Ticket, TicketEvent

KEY = "0b8f3c1e-5d2a-4c35-9a4e-7f6f2f0d9a11"


def report(client, grid, category, title="井盖缺失", key=KEY):
    return client.post(
        "/api/v1/tickets/",
        {"category": category.pk, "grid": grid.pk, "title": title},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_the_same_key_twice_makes_one_ticket_and_answers_the_same(
    world, hazard, frank, api_client_for
):
    client = api_client_for(frank)

    first = report(client, world.A1a, hazard)
    again = report(client, world.A1a, hazard)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.count() == 1  # opened, once


def test_the_same_key_with_another_body_is_a_conflict(world, hazard, frank, api_client_for):
    client = api_client_for(frank)
    report(client, world.A1a, hazard, title="井盖缺失")

    other = report(client, world.A1a, hazard, title="路灯不亮")

    assert other.status_code == 409
    assert other.json()["detail"] == "此幂等键已用于另一个不同的请求。"  # zh-hans by default
    assert list(Ticket.objects.values_list("title", flat=True)) == ["井盖缺失"]


def test_json_key_order_does_not_matter(world, hazard, frank, api_client_for):
    client = api_client_for(frank)
    report(client, world.A1a, hazard)
    reordered = client.post(
        "/api/v1/tickets/",
        f'{{"title": "井盖缺失", "grid": {world.A1a.pk}, "category": {hazard.pk}}}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=KEY,
    )
    assert reordered.status_code == 201
    assert Ticket.objects.count() == 1


def test_keys_belong_to_their_sender(world, hazard, frank, worker, api_client_for):
    report(api_client_for(frank), world.A1a, hazard)
    theirs = report(api_client_for(worker), world.A1a, hazard)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert set(Ticket.objects.values_list("reporter__username", flat=True)) == {"frank", "bob"}


def test_a_failed_request_is_not_kept_so_a_corrected_one_goes_through(
    world, hazard, frank, api_client_for
):
    client = api_client_for(frank)
    bad = report(client, world.A1a, hazard, title="  ")
    assert bad.status_code == 400
    assert IdempotencyRecord.objects.count() == 0

    good = report(client, world.A1a, hazard, title="井盖缺失")

    assert good.status_code == 201
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("key", ["x" * 256, "键", "a\tb"])
def test_a_malformed_key_is_refused_and_nothing_is_written(
    world, hazard, frank, api_client_for, key
):
    response = report(api_client_for(frank), world.A1a, hazard, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert Ticket.objects.count() == 0


def test_without_a_key_nothing_is_remembered(world, hazard, frank, api_client_for):
    client = api_client_for(frank)
    for _ in range(2):
        client.post(
            "/api/v1/tickets/",
            {"category": hazard.pk, "grid": world.A1a.pk, "title": "井盖缺失"},
            format="json",
        )
    assert Ticket.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_an_action_replayed_answers_as_the_first_time(
    world, hazard, staff, worker, frank, api_client_for
):
    """The phone's queue may resend a dispatch it sent just before losing signal."""
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    alice = api_client_for(staff)
    url = f"/api/v1/tickets/{ticket.pk}/dispatch/"
    first = alice.post(url, {"assignee": worker.pk}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    again = alice.post(url, {"assignee": worker.pk}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    unkeyed = alice.post(url, {"assignee": worker.pk}, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert unkeyed.status_code == 400  # without the key it is a second dispatch, refused
    assert ticket.events.filter(kind="dispatched").count() == 1


def test_a_resident_form_sent_twice_makes_one_ticket(client, world, fire):
    """The report page's hidden field carries the key (the offline queue resends forms)."""
    form = {
        "category": fire.pk,
        "title": "楼道冒烟",
        "grid": world.A.pk,
        "reporter_phone": "138 0013 8000",
        "idempotency_key": KEY,
    }
    first = client.post("/tickets/report/", form)
    again = client.post("/tickets/report/", form)

    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    assert Ticket.objects.count() == 1


def test_old_keys_are_forgotten(world, hazard, frank, api_client_for, settings):
    settings.IDEMPOTENCY_KEY_TTL = datetime.timedelta(days=30)
    with time_machine.travel(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)):
        report(api_client_for(frank), world.A1a, hazard)
    with time_machine.travel(datetime.datetime(2026, 1, 20, tzinfo=datetime.UTC)):
        report(api_client_for(frank), world.A1a, hazard, key="fresh")
    with time_machine.travel(datetime.datetime(2026, 2, 5, tzinfo=datetime.UTC)):
        assert idempotency_purge_task() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_make_one_ticket(world, hazard, frank, api_client_for):
    """Twelve replays at the same instant: the first holds the key's index entry, the
    others wait for its commit and answer from it (PostgreSQL decides)."""
    clients = [api_client_for(frank) for _ in range(12)]
    answers: list[int] = []

    def send(index: int) -> None:
        answers.append(report(clients[index], world.A1a, hazard).status_code)

    errors = run_in_threads(12, send)

    assert errors == []
    assert answers == [201] * 12
    assert Ticket.objects.count() == 1
    assert TicketEvent.objects.filter(kind="opened").count() == 1
    assert connection.vendor == "postgresql"
    call_command("check")  # the shared services are still fine
