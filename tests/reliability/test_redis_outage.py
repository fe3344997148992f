"""Redis stopped while people report: every report is saved and answered, and once Redis
is back the periodic catch-up and escalation sweep deliver everything, once.

This widens ``tests/tickets/test_escalation.py``'s broker-down test (one report, one
escalation) to what production loses when its Redis goes away: the broker *and* the cache
(production's ``CELERY_BROKER_URL`` and ``REDIS_URL`` point at the same server), many
reports and a dispatch in the gap, and the tasks that were already queued when Redis went
down and were lost with its memory (a Redis without persistence comes back empty).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import Counter

import pytest
from celery.contrib.testing.worker import start_worker
from django.db.models import F
from django.utils import timezone

from governance.celery import app as celery_app
from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.reliability.conftest import broker_at, on_real_services
from tests.reliability.servers import wait_until
from tests.tickets.factories import make_category
from tickets import notifications
from tickets.models import Notification, Route, Ticket, TicketEvent
from tickets.tasks import (
    notifications_catch_up_task,
    notify_event_task,
    ticket_escalation_sweep_task,
)

pytestmark = [*on_real_services, pytest.mark.django_db(transaction=True)]

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def people(world, make_user):
    """Dispatchers of micro grid A1a (grace, grid leader of A1; alice, staff of A), its
    full-time worker (bob, who gets what routes itself) and three residents who report."""
    grace = make_user("grace", email="grace@example.org")
    assign(grace, world.A1, AssignmentRole.GRID_LEADER)
    alice = make_user("alice", email="alice@example.org")
    assign(alice, world.A, AssignmentRole.COMMUNITY_STAFF)
    bob = make_user("bob", email="bob@example.org")
    assign(bob, world.A1a, AssignmentRole.FULL_TIME_WORKER)
    residents = [
        make_user(f"resident{i}", is_staff=False, email=f"r{i}@example.org") for i in range(3)
    ]
    return {"grace": grace, "alice": alice, "bob": bob, "residents": residents}


@pytest.fixture
def categories(db):
    return {
        # dispatched by hand: the dispatchers are told
        "hazard": make_category(name="安全隐患", respond=datetime.timedelta(hours=1)),
        # routes itself to the grid's worker: the worker is told
        "fire": make_category(
            name="消防火情",
            respond=datetime.timedelta(minutes=10),
            route=Route.WORKER,
            auto_dispatch=True,
        ),
    }


@pytest.fixture
def cache_on(settings):
    """Point the cache at a Redis server, as production's ``REDIS_URL`` does."""

    def _point(url: str) -> None:
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
        }

    return _point


def report(client, category, grid, title: str):
    started = time.monotonic()
    response = client.post(
        "/api/v1/tickets/",
        {"category": category.pk, "grid": grid.pk, "title": title},
        format="json",
    )
    return response, time.monotonic() - started


def expected_recipients(event: TicketEvent) -> list[int]:
    return sorted(r.user_id for r in notifications.recipients_for(event))


def test_reports_while_redis_is_down_are_saved_and_caught_up_once(
    world, people, categories, api_client_for, throwaway_redis, cache_on, caplog, mailoutbox
):
    cache_on(throwaway_redis.url(1))
    residents = [api_client_for(user) for user in people["residents"]]
    answers = []

    with broker_at(throwaway_redis.url(0)):
        # given two reports made while Redis was up, their tasks queued, no worker running
        for i in range(2):
            answers.append(report(residents[i], categories["hazard"], world.A1a, f"上报{i}"))

        # when Redis goes down (and forgets those tasks), and people go on reporting
        throwaway_redis.stop()
        with caplog.at_level(logging.ERROR, logger="governance.queueing"):
            for i in range(2, 8):
                category = categories["fire" if i % 3 == 0 else "hazard"]
                answers.append(report(residents[i % 3], category, world.A1a, f"上报{i}"))
            waiting = Ticket.objects.filter(status="submitted").order_by("pk").first()
            dispatched = api_client_for(people["alice"]).post(
                f"/api/v1/tickets/{waiting.pk}/dispatch/",
                {"assignee": people["bob"].pk},
                format="json",
            )

        # then every report was saved and answered, quickly, and the lost enqueues logged
        assert [response.status_code for response, _s in answers] == [201] * 8, [
            response.content for response, _s in answers
        ]
        assert dispatched.status_code == 200, dispatched.content
        assert max(seconds for _r, seconds in answers) < 5
        numbers = {response.json()["number"] for response, _s in answers}
        assert set(Ticket.objects.values_list("number", flat=True)) == numbers
        assert any("could not queue" in r.getMessage() for r in caplog.records)
        assert not Notification.objects.exists()  # nothing was delivered while it was down

        # given one ticket missed its response deadline meanwhile, and the catch-up's grace
        # period has passed for every event
        now = timezone.now()
        overdue = Ticket.objects.filter(status="submitted").order_by("pk").first()
        Ticket.objects.filter(pk=overdue.pk).update(respond_by=now - MINUTE)
        TicketEvent.objects.update(created_at=F("created_at") - 3 * MINUTE)

        # when Redis is back (empty) and beat's next catch-up and sweep reach a worker
        throwaway_redis.start()
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            notifications_catch_up_task.delay()
            ticket_escalation_sweep_task.delay()
            delivered = wait_until(
                lambda: (
                    TicketEvent.objects.filter(kind="escalated").exists()
                    and not TicketEvent.objects.filter(notified_at__isnull=True).exists()
                ),
                seconds=30,
            )
    assert delivered

    # then every event's people were told once, and each by email once
    events = list(TicketEvent.objects.select_related("ticket", "ticket__grid").order_by("pk"))
    assert {event.kind for event in events} >= {"opened", "dispatched", "escalated"}
    told = Counter(Notification.objects.values_list("event_id", "recipient_id"))
    assert max(told.values()) == 1
    for event in events:
        assert sorted(r for e, r in told if e == event.pk) == expected_recipients(event)
    assert len(mailoutbox) == Notification.objects.count() > 8
    assert len({(tuple(m.to), m.subject) for m in mailoutbox}) == len(mailoutbox)
    (climb,) = TicketEvent.objects.filter(kind="escalated")
    assert climb.ticket_id == overdue.pk

    # and running the catch-up, the sweep and every event's own task again adds nothing
    notifications_catch_up_task.apply()
    assert ticket_escalation_sweep_task.apply().get() == 0
    for event in events:
        notify_event_task.apply(args=[event.pk])
    assert Counter(Notification.objects.values_list("event_id", "recipient_id")) == told
    assert len(mailoutbox) == sum(told.values())
