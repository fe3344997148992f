"""The delivery task through the real broker (Redis) to a real worker: queued after the
commit, acknowledged late, sent once. Runs in the second pass, with a broker."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker

from governance.celery import app as celery_app
from tests.conftest import requires_redis
from tests.tickets.factories import open_ticket
from webhooks.models import Delivery, DeliveryStatus

pytestmark = [requires_redis, pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def _wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_delivery_goes_through_the_broker_to_a_worker(
    world, ivy, hazard, frank, subscribe, receiver
):
    subscribe(ivy, world.A)
    celery_app.control.purge()  # nothing left over from an earlier, interrupted run

    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        open_ticket(category=hazard, grid=world.A1, reporter=frank)  # commits: task queued
        delivered = _wait_for(
            lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).exists()
        )

    assert delivered
    assert len(receiver.hits) == 1
