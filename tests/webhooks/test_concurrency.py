"""Races on PostgreSQL with real threads: however many workers (tasks, duplicate
messages, the sweep) try the same attempt at once, the conditional UPDATE lets exactly one
send it."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from tests.conftest import requires_postgres, run_in_threads
from tests.tickets.factories import open_ticket
from webhooks import outbox
from webhooks.models import Attempt, Delivery, DeliveryStatus

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def test_ten_workers_on_one_due_delivery_send_it_once(
    world, ivy, hazard, frank, subscribe, receiver
):
    subscribe(ivy, world.A)
    receiver.answer(500)  # the first attempt fails: the delivery waits for its retry
    with time_machine.travel(T0, tick=False) as clock:
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
        delivery = Delivery.objects.get()
        assert len(receiver.hits) == 1
        clock.move_to(delivery.next_attempt_at)

        # when ten workers attempt it at the same moment
        errors = run_in_threads(10, lambda i: outbox.delivery_send(delivery_id=delivery.pk))

    # then one request went out and one attempt was recorded
    assert errors == []
    assert len(receiver.hits) == 2
    assert Attempt.objects.filter(delivery=delivery).count() == 2
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_the_sweep_racing_the_task_sends_once(world, ivy, hazard, frank, subscribe, receiver):
    subscribe(ivy, world.A)
    receiver.answer(500)
    with time_machine.travel(T0, tick=False) as clock:
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
        delivery = Delivery.objects.get()
        clock.move_to(delivery.next_attempt_at)

        def work(i: int) -> None:
            if i % 2:
                outbox.deliveries_catch_up()
            else:
                outbox.delivery_send(delivery_id=delivery.pk)

        errors = run_in_threads(6, work)

    assert errors == []
    assert len(receiver.hits) == 2
    assert Attempt.objects.filter(delivery=delivery).count() == 2
