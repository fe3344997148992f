"""A Celery worker killed in the middle of a task: the task runs again and its effect
happens once.

Two ways a worker dies, two mechanisms (``CELERY_TASK_ACKS_LATE``, ``..._REJECT_ON_WORKER_LOST``
and the tasks' own options):

- the whole worker is gone (the machine, the container): its message was never
  acknowledged, so the broker hands it to the next worker once the visibility timeout
  has passed (an hour in production, seconds here);
- the pool process running the task is killed (out of memory): the worker sees it lost
  and puts the message back at once.

Real processes throughout: ``celery worker`` subprocesses, a throwaway redis-server as the
broker, the test's PostgreSQL database. A second database session holds a lock so the
task is caught at a chosen point, mid-work, when the kill comes.
"""

from __future__ import annotations

import datetime
import os
import signal

import pytest
from django.utils import timezone

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.reliability.conftest import broker_at, on_real_services
from tests.reliability.servers import (
    CeleryWorker,
    SmtpSink,
    WebhookReceiver,
    alive,
    child_pids,
    started,
    wait_until,
)
from tests.tickets.factories import make_category, open_ticket
from tickets.models import Escalation, Notification, Ticket, TicketEvent
from tickets.tasks import ticket_escalation_sweep_task
from webhooks import services as webhooks
from webhooks.models import Attempt, Delivery
from webhooks.tasks import deliveries_catch_up_task

pytestmark = [*on_real_services, pytest.mark.django_db(transaction=True)]

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def people(world, make_user):
    """grace, grid leader of A1 (the first rung above A1a); alice, community staff of A;
    frank, a resident who reports."""
    grace = make_user("grace", email="grace@example.org")
    assign(grace, world.A1, AssignmentRole.GRID_LEADER)
    alice = make_user("alice", email="alice@example.org")
    assign(alice, world.A, AssignmentRole.COMMUNITY_STAFF)
    frank = make_user("frank", is_staff=False)
    return {"grace": grace, "alice": alice, "frank": frank}


@pytest.fixture
def hazard(db):
    return make_category(name="安全隐患", respond=datetime.timedelta(hours=1))


def overdue_ticket(world, hazard, frank, *, by: datetime.timedelta) -> Ticket:
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank, title="楼道堆物")
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(respond_by=now - by, resolve_by=now + 2 * by)
    return ticket


def escalated(ticket: Ticket) -> list[str]:
    return list(
        Escalation.objects.filter(ticket=ticket).order_by("pk").values_list("level", flat=True)
    )


def test_an_escalation_sweep_whose_worker_died_runs_again_on_the_next_worker(
    world, people, hazard, throwaway_redis, test_database_url, lock_holder
):
    # given two overdue tickets: the first has missed its response deadline, the second
    # (answered) its resolution deadline, and is locked by another session. The sweep
    # takes the response ladder first: it climbs the first ticket, commits, then waits on
    # the second for the resolution ladder
    first = overdue_ticket(world, hazard, people["frank"], by=10 * MINUTE)
    second = overdue_ticket(world, hazard, people["frank"], by=5 * MINUTE)
    now = timezone.now()
    Ticket.objects.filter(pk=second.pk).update(
        responded_at=now - 20 * MINUTE, respond_by=now - 10 * MINUTE, resolve_by=now - MINUTE
    )
    lock_holder.lock_rows("tickets_ticket", second.pk)
    broker = throwaway_redis.url()
    worker = CeleryWorker(broker_url=broker, database_url=test_database_url, visibility_timeout=3)
    successor = CeleryWorker(
        broker_url=broker, database_url=test_database_url, visibility_timeout=3
    )

    with started(worker, successor), broker_at(broker):
        worker.start()
        worker.wait_ready()
        ticket_escalation_sweep_task.delay()
        caught = wait_until(
            lambda: escalated(first) == ["grid"] and lock_holder.waiting(), seconds=30
        )
        assert caught, worker.log_tail()

        # when the whole worker is killed in the middle of the sweep
        worker.kill()
        assert not alive(worker.pid)
        lock_holder.release()

        # then the dead worker's half-done ticket left nothing behind
        assert wait_until(lambda: not lock_holder.waiting(), seconds=10)
        assert escalated(second) == []

        # and the next worker gets the unacknowledged sweep again and finishes it
        successor.start()
        successor.wait_ready()
        assert wait_until(lambda: escalated(second) == ["grid"], seconds=30), successor.log_tail()
        # its events' notifications go out through the same broker
        events = TicketEvent.objects.filter(kind="escalated", ticket__in=[first, second])
        assert wait_until(
            lambda: events.filter(notified_at__isnull=False).count() == 2, seconds=20
        ), successor.log_tail()

    # and each rung was climbed once: the first ticket's was not climbed again
    assert escalated(first) == ["grid"]
    assert escalated(second) == ["grid"]
    assert events.count() == 2
    told = Notification.objects.filter(event__in=events)
    expected = [("grace", first.pk), ("grace", second.pk)]
    assert sorted(told.values_list("recipient__username", "ticket")) == sorted(expected)


def test_a_notification_whose_pool_process_was_killed_is_sent_again_and_once(
    world, people, hazard, throwaway_redis, test_database_url, lock_holder
):
    # given the inbox table is locked, so a notification task waits before writing
    lock_holder.lock_table("tickets_notification")
    broker = throwaway_redis.url()
    with SmtpSink() as mail:
        worker = CeleryWorker(
            broker_url=broker, database_url=test_database_url, pool="prefork", **mail.environment()
        )
        with started(worker), broker_at(broker):
            worker.start()
            worker.wait_ready()
            # when a resident reports: the event's notification task is queued
            ticket = open_ticket(
                category=hazard, grid=world.A1a, reporter=people["frank"], title="电梯困人"
            )
            opened = TicketEvent.objects.get(ticket=ticket, kind="opened")
            first_wait = wait_until(lambda: len(lock_holder.waiting()) == 1, seconds=30)
            assert first_wait, worker.log_tail()
            (pool_process,) = child_pids(worker.pid)

            # and the pool process running it is killed mid-task
            os.kill(pool_process, signal.SIGKILL)

            # then the worker puts the task back and a new pool process runs it again
            # (the killed one's database session is still queued behind the lock)
            again = wait_until(lambda: len(lock_holder.waiting()) == 2, seconds=30)
            assert again, worker.log_tail()
            assert pool_process not in child_pids(worker.pid)
            lock_holder.release()
            assert wait_until(
                lambda: (
                    Notification.objects.filter(event=opened).count() == 2
                    and len(mail.messages) == 2
                ),
                seconds=30,
            ), worker.log_tail()
            wait_until(lambda: False, seconds=1)  # a late duplicate would arrive now
            log = worker.log()

        # and its effect happened once: one inbox line and one email per dispatcher
        assert "WorkerLostError" in log
        told = Notification.objects.filter(event=opened).values_list("recipient__username")
        assert sorted(name for (name,) in told) == ["alice", "grace"]
        assert mail.recipients() == ["alice@example.org", "grace@example.org"]
        opened.refresh_from_db()
        assert opened.notified_at is not None


def ran_again_and_stood_back(worker: CeleryWorker) -> bool:
    """The worker's log shows the delivery task finishing with nothing done (``None``)
    after the pool process was lost."""
    after_the_loss = worker.log().partition("WorkerLostError")[2]
    return any(
        "webhooks.tasks.deliver_task[" in line and "succeeded" in line and line.endswith(": None")
        for line in after_the_loss.splitlines()
    )


def test_a_webhook_delivery_whose_worker_died_mid_request_is_sent_again_and_recorded_once(
    world, people, hazard, make_user, settings, throwaway_redis, test_database_url
):
    # given an integrator subscribed to the reports of community A, whose endpoint keeps
    # the first request waiting
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    integrator = make_user("hotline-platform")
    assign(integrator, world.C, AssignmentRole.DISTRICT_LEADER)
    broker = throwaway_redis.url()
    with WebhookReceiver(stall_first=True) as receiver:
        subscription, _secret = webhooks.subscription_create(
            actor=integrator, grid=world.A, url=receiver.url, event_types=["ticket.opened"]
        )
        worker = CeleryWorker(
            broker_url=broker,
            database_url=test_database_url,
            pool="prefork",
            RELIABILITY_WEBHOOKS_TO_LOOPBACK="1",
        )
        with started(worker), broker_at(broker):
            worker.start()
            worker.wait_ready()
            # when a report is made, its delivery is being sent ...
            open_ticket(category=hazard, grid=world.A1a, reporter=people["frank"], title="积水")
            delivery = Delivery.objects.get(subscription=subscription)
            assert wait_until(lambda: len(receiver.requests) == 1, seconds=30), worker.log_tail()

            # ... and the pool process sending it is killed before the answer came
            (pool_process,) = child_pids(worker.pid)
            os.kill(pool_process, signal.SIGKILL)

            # then the task runs again at once, finds the attempt still claimed by the dead
            # process, and leaves it to the lease: nothing is sent twice at the same time
            stood_back = wait_until(lambda: ran_again_and_stood_back(worker), seconds=30)
            assert stood_back, worker.log_tail()
            delivery.refresh_from_db()
            assert delivery.status == "pending"
            assert delivery.claimed_until is not None
            assert not Attempt.objects.filter(delivery=delivery).exists()

            # when the lease has run out (five minutes in production) and the catch-up runs
            Delivery.objects.filter(pk=delivery.pk).update(
                claimed_until=timezone.now() - datetime.timedelta(seconds=1)
            )
            deliveries_catch_up_task.delay()
            sent = wait_until(
                lambda: Delivery.objects.filter(pk=delivery.pk, status="delivered").exists(),
                seconds=30,
            )
            assert sent, worker.log_tail()

    # then it was delivered and recorded once; the receiver saw the same event id twice
    # (at least once: the first request never got its answer) and deduplicates by it
    attempts = Attempt.objects.filter(delivery=delivery)
    assert [a.status_code for a in attempts] == [200]
    assert len(receiver.requests) == 2
    assert len(set(receiver.event_ids())) == 1
