"""Deadlines and escalation: each rung of the ladder once and in order under a frozen
clock, catching up after missed sweeps, stopping when someone responds, departments that
did not report in, two sweeps at once on PostgreSQL, and a broker that was down.

The ladder above micro grid A1a: grace (grid leader of A1), alice (community staff of A),
tom (staff of township T1), dan (district leader of county C).
"""

from __future__ import annotations

import datetime
import logging
import socket
import subprocess
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance.celery import app as celery_app
from grids.models import AssignmentRole
from tests.conftest import requires_postgres, requires_redis, run_in_threads
from tests.grids.factories import assign
from tests.tickets.factories import make_category, open_ticket
from tickets import escalation, services
from tickets.escalation import Rung, _climb, escalation_sweep, tickets_to_escalate
from tickets.models import (
    Escalation,
    EscalationDeadline,
    EscalationLevel,
    Notification,
    Ticket,
    TicketEvent,
)
from tickets.tasks import notify_event_task, notify_events_task, ticket_escalation_sweep_task

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday
MINUTE, HOUR, DAY = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(hours=1),
    datetime.timedelta(days=1),
)


@pytest.fixture
def tom(world, make_user):
    """Staff of township T1."""
    user = make_user("tom")
    assign(user, world.T1, AssignmentRole.COMMUNITY_STAFF)
    return user


@pytest.fixture
def ladder(grace, staff, tom, leader):
    return {"grid": grace, "community": staff, "township": tom, "county": leader}


@pytest.fixture
def overdue(world, hazard, frank, ladder):
    """A hazard on A1a opened at T0: respond within 1 hour, resolve within 2 days."""
    with time_machine.travel(T0, tick=False):
        return open_ticket(category=hazard, grid=world.A1a, reporter=frank, title="井盖缺失")


def sweep(at: datetime.datetime) -> int:
    """One run of the periodic task at the moment ``at``."""
    with time_machine.travel(at, tick=False):
        return ticket_escalation_sweep_task.delay().get()


def rungs(ticket: Ticket, deadline: str | None = None) -> list[tuple[str, str, list[int]]]:
    events = TicketEvent.objects.filter(ticket=ticket, kind="escalated").order_by("pk")
    return [
        (e.data["deadline"], e.data["level"], e.data["recipients"])
        for e in events
        if deadline is None or e.data["deadline"] == deadline
    ]


def test_each_level_once_and_in_order(overdue, ladder):
    grace, alice, tom, dan = (ladder[k].pk for k in ("grid", "community", "township", "county"))

    # at the deadline itself nothing is late yet; a minute after, the grid leader is told
    assert sweep(T0 + HOUR) == 0
    assert sweep(T0 + HOUR + MINUTE) == 1
    assert sweep(T0 + HOUR + 2 * MINUTE) == 0  # a second sweep repeats nothing
    assert rungs(overdue) == [("respond", "grid", [grace])]

    # then one rung per further response window (1 hour) without a response
    assert sweep(T0 + 2 * HOUR) == 1
    assert sweep(T0 + 2 * HOUR + 30 * MINUTE) == 0
    assert sweep(T0 + 3 * HOUR) == 1
    assert sweep(T0 + 4 * HOUR) == 1
    assert sweep(T0 + 4 * HOUR + MINUTE) == 0
    assert sweep(T0 + DAY) == 0  # the top is reached: nothing more for the response

    assert rungs(overdue) == [
        ("respond", "grid", [grace]),
        ("respond", "community", [alice]),
        ("respond", "township", [tom]),
        ("respond", "county", [dan]),
    ]
    events = list(TicketEvent.objects.filter(ticket=overdue, kind="escalated").order_by("pk"))
    assert [e.created_at for e in events] == [
        T0 + HOUR + MINUTE,
        T0 + 2 * HOUR,
        T0 + 3 * HOUR,
        T0 + 4 * HOUR,
    ]
    assert {e.actor_id for e in events} == {None}
    assert {(e.from_status, e.to_status) for e in events} == {("submitted", "submitted")}
    assert {datetime.datetime.fromisoformat(e.data["missed"]) for e in events} == {T0 + HOUR}
    assert Escalation.objects.filter(ticket=overdue).count() == 4


def test_missed_sweeps_catch_up_in_order(overdue, ladder):
    # given no sweep ran for three and a half hours (broker or worker down)
    # when the next one runs, every rung that fell due is climbed, bottom first
    assert sweep(T0 + 3 * HOUR + 30 * MINUTE) == 3
    assert [level for _d, level, _r in rungs(overdue)] == ["grid", "community", "township"]

    # then the next rung keeps its own time
    assert sweep(T0 + 3 * HOUR + 31 * MINUTE) == 0
    assert sweep(T0 + 4 * HOUR) == 1
    assert [level for _d, level, _r in rungs(overdue)][-1] == "county"


def test_a_response_stops_the_response_ladder(overdue, ladder, worker):
    assert sweep(T0 + HOUR + MINUTE) == 1
    with time_machine.travel(T0 + HOUR + 10 * MINUTE, tick=False):
        services.ticket_dispatch(actor=ladder["community"], ticket=overdue, assignee=worker)
        services.ticket_accept(actor=worker, ticket=overdue)

    assert sweep(T0 + 5 * HOUR) == 0
    assert tickets_to_escalate(deadline=EscalationDeadline.RESPOND, now=T0 + 5 * HOUR) == []

    # the resolution deadline (2 days) climbs its own ladder
    assert sweep(T0 + 2 * DAY + MINUTE) == 1
    assert rungs(overdue) == [
        ("respond", "grid", [ladder["grid"].pk]),
        ("resolve", "grid", [ladder["grid"].pk]),
    ]


def test_a_resolved_ticket_escalates_no_further(overdue, ladder, worker):
    with time_machine.travel(T0 + 10 * MINUTE, tick=False):
        services.ticket_dispatch(actor=ladder["community"], ticket=overdue, assignee=worker)
        services.ticket_accept(actor=worker, ticket=overdue)
        services.ticket_resolve(actor=worker, ticket=overdue)

    assert sweep(T0 + 30 * DAY) == 0
    assert rungs(overdue) == []


def test_a_rung_nobody_holds_is_recorded_and_the_next_follows_at_once(
    world, hazard, frank, grace, tom, leader
):
    # given nobody works as community staff in community A
    with time_machine.travel(T0, tick=False):
        ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)

    assert sweep(T0 + HOUR + MINUTE) == 1
    assert sweep(T0 + 2 * HOUR) == 2  # the community is vacant: the township is told now

    assert rungs(ticket) == [
        ("respond", "grid", [grace.pk]),
        ("respond", "community", []),
        ("respond", "township", [tom.pk]),
    ]
    vacant = TicketEvent.objects.filter(ticket=ticket, kind="escalated", data__level="community")
    assert vacant.get().data["vacant"] is True
    assert sweep(T0 + 3 * HOUR + 30 * MINUTE) == 0  # the county keeps its own time
    assert sweep(T0 + 4 * HOUR) == 1


def test_a_rerouted_ticket_climbs_afresh(overdue, ladder):
    assert sweep(T0 + HOUR + MINUTE) == 1
    faster = make_category(name="紧急隐患", respond=30 * MINUTE, resolve=DAY)
    with time_machine.travel(T0 + HOUR + 5 * MINUTE, tick=False):
        services.ticket_reroute(actor=ladder["community"], ticket=overdue, category=faster)

    assert sweep(T0 + HOUR + 30 * MINUTE) == 0
    assert sweep(T0 + HOUR + 36 * MINUTE) == 1

    missed = [
        datetime.datetime.fromisoformat(e.data["missed"])
        for e in TicketEvent.objects.filter(ticket=overdue, kind="escalated").order_by("pk")
    ]
    assert missed == [T0 + HOUR, T0 + HOUR + 35 * MINUTE]
    assert [level for _d, level, _r in rungs(overdue)] == ["grid", "grid"]


def test_a_department_that_did_not_report_in_goes_to_the_county_once(
    world, hazard, frank, erin, ladder
):
    # given the police (D1) whistled at T0 with 2 hours to report in
    with time_machine.travel(T0, tick=False):
        ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
        services.ticket_whistle(actor=ladder["grid"], ticket=ticket, departments=[world.D1])
    whistle = ticket.whistles.get()

    sweep(T0 + 2 * HOUR)
    assert rungs(ticket, "report_in") == []
    sweep(T0 + 2 * HOUR + MINUTE)
    sweep(T0 + 2 * HOUR + 2 * MINUTE)

    assert rungs(ticket, "report_in") == [("report_in", "county", [ladder["county"].pk])]
    event = TicketEvent.objects.get(ticket=ticket, kind="escalated", data__deadline="report_in")
    assert (event.data["whistle"], event.data["department"]) == (whistle.pk, world.D1.pk)
    assert Escalation.objects.get(event=event).whistle == whistle


def test_a_department_that_reported_in_is_not_escalated(world, hazard, frank, erin, ladder):
    with time_machine.travel(T0, tick=False):
        ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
        services.ticket_whistle(actor=ladder["grid"], ticket=ticket, departments=[world.D1])
    with time_machine.travel(T0 + 30 * MINUTE, tick=False):
        services.whistle_report_in(actor=erin, whistle=ticket.whistles.get())

    assert sweep(T0 + 5 * HOUR) == 0
    assert rungs(ticket) == []


def test_the_people_of_each_rung_are_notified(
    overdue, ladder, django_capture_on_commit_callbacks, mailoutbox
):
    ladder["grid"].email = "grace@example.org"
    ladder["grid"].save(update_fields=["email"])

    with django_capture_on_commit_callbacks(execute=True):
        sweep(T0 + HOUR + MINUTE)

    notification = Notification.objects.get(kind="escalated")
    assert notification.recipient == ladder["grid"]
    assert notification.ticket == overdue
    assert overdue.number in notification.text
    assert [m.to for m in mailoutbox] == [["grace@example.org"]]
    assert notification.emailed_at is not None


def test_the_ledger_refuses_a_rung_twice(overdue, ladder):
    sweep(T0 + HOUR + MINUTE)
    first = Escalation.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Escalation.objects.create(
            ticket=overdue,
            deadline=first.deadline,
            due_at=first.due_at,
            level=first.level,
            event=TicketEvent.objects.create(ticket=overdue, kind="escalated", to_status="x"),
        )


def test_the_sweep_does_not_re_examine_tickets_waiting_for_their_next_rung(overdue, ladder):
    sweep(T0 + HOUR + MINUTE)
    assert tickets_to_escalate(deadline="respond", now=T0 + HOUR + 30 * MINUTE) == []
    assert tickets_to_escalate(deadline="respond", now=T0 + 2 * HOUR) == [overdue.pk]
    sweep(T0 + 4 * HOUR)
    assert tickets_to_escalate(deadline="respond", now=T0 + 10 * DAY) == []


def test_one_failing_ticket_does_not_hold_up_the_others(world, hazard, frank, ladder, monkeypatch):
    with time_machine.travel(T0, tick=False):
        first = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
        second = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    real = escalation._plan

    def broken_for_the_first(ticket, *args, **kwargs):
        if ticket.pk == first.pk:
            raise RuntimeError("boom")
        return real(ticket, *args, **kwargs)

    monkeypatch.setattr(escalation, "_plan", broken_for_the_first)

    # the chunk of both fails, then each is taken alone: the second climbs
    assert escalation_sweep(now=T0 + HOUR + MINUTE) == 1
    assert rungs(first) == []
    assert len(rungs(second)) == 1


def test_a_sweep_climbs_many_tickets_in_few_queries(
    world, hazard, frank, ladder, django_assert_max_num_queries
):
    with time_machine.travel(T0, tick=False):
        due = [open_ticket(category=hazard, grid=world.A1a, reporter=frank) for _ in range(30)]
    # what is due (two deadlines, whistles); then for the chunk: its savepoint, the lock,
    # the rungs reached, the ladder (two, once per grid), the events, their webhook
    # subscriptions (once per grid), the ledger rows, the release: 12 for 30 tickets as
    # for 1 (one ticket at a time it was about ten each)
    with django_assert_max_num_queries(12):
        assert escalation_sweep(now=T0 + HOUR + MINUTE) == 30
    assert Escalation.objects.filter(ticket__in=due).count() == 30
    events = TicketEvent.objects.filter(ticket__in=due, kind="escalated")
    assert events.count() == 30
    assert {tuple(e.data["recipients"]) for e in events} == {(ladder["grid"].pk,)}


def test_the_tasks_are_idempotent_celery_citizens():
    sweep_task, notify = ticket_escalation_sweep_task, notify_event_task
    for task in (sweep_task, notify, notify_events_task):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert 0 < task.soft_time_limit < task.time_limit
    assert sweep_task.time_limit <= 60  # never two sweeps' worth in one
    assert notify.retry_backoff_max < settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(
        "visibility_timeout", 3600
    )
    entry = settings.CELERY_BEAT_SCHEDULE["ticket-escalation-sweep"]
    assert entry["task"] == sweep_task.name
    assert entry["schedule"] == 60.0
    assert 0 < entry["options"]["expires"] < 60


# --- PostgreSQL, real threads --------------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_sweeps_running_at_once_climb_each_rung_once(overdue, ladder):
    # when eight sweeps run at the same moment, four hours after the response deadline
    errors = run_in_threads(8, lambda i: escalation_sweep(now=T0 + 4 * HOUR + MINUTE))

    # then each of the four rungs is climbed once, with one event each
    assert errors == []
    assert [level for _d, level, _r in rungs(overdue)] == [
        "grid",
        "community",
        "township",
        "county",
    ]
    assert Escalation.objects.filter(ticket=overdue).count() == 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_constraint_holds_when_the_lock_is_bypassed(overdue, ladder):
    """The unique constraint is the backstop: writers that skipped the ticket lock and the
    re-read still climb one rung once, and the losers leave no event behind."""
    now = T0 + HOUR + MINUTE
    due = Ticket.objects.get(pk=overdue.pk).respond_by
    results: list[Escalation | None] = []

    def climb(_i: int) -> None:
        with transaction.atomic():
            ticket = Ticket.objects.select_related("category", "grid").get(pk=overdue.pk)
            results.append(
                _climb(
                    ticket,
                    deadline=EscalationDeadline.RESPOND,
                    due=due,
                    rung=Rung(EscalationLevel.GRID, None, ()),
                    level_due=due,
                    next_at=None,
                    now=now,
                )
            )

    assert run_in_threads(6, climb) == []
    assert sum(result is not None for result in results) == 1
    assert TicketEvent.objects.filter(ticket=overdue, kind="escalated").count() == 1


# --- the broker down, then back (Redis, second CI pass) -----------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test's own on a free port, never the shared one on 6379."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the throwaway redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _reset_broker_connections() -> None:
    """Make the app look its pools up again for the current ``broker_url``. The pools
    themselves are left open: kombu keeps them in a registry per broker address, and the
    other tests' broker is still to be used."""
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def throwaway_broker():
    server = ThrowawayRedis()
    server.start()
    # the read and write addresses were derived from CELERY_BROKER_URL at start-up
    keys = ("broker_url", "broker_read_url", "broker_write_url", "task_always_eager")
    previous = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        broker_url=server.url,
        broker_read_url=server.url,
        broker_write_url=server.url,
        task_always_eager=False,
    )
    _reset_broker_connections()
    try:
        yield server
    finally:
        server.stop()
        celery_app.conf.update(previous)
        _reset_broker_connections()


def _wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@requires_redis
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_report_while_the_broker_is_down_is_saved_and_escalates_once_it_is_back(
    world, hazard, grace, frank, api_client_for, throwaway_broker, caplog, mailoutbox
):
    grace.email = "grace@example.org"
    grace.save(update_fields=["email"])

    # given the broker is down
    throwaway_broker.stop()

    # when a resident reports a problem
    with caplog.at_level(logging.ERROR, logger="governance.queueing"):
        response = api_client_for(frank).post(
            "/api/v1/tickets/",
            {"category": hazard.pk, "grid": world.A1a.pk, "title": "楼道堆物"},
            format="json",
        )

    # then the report is saved and answered; the failed enqueue is only logged
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert any("could not queue" in r.getMessage() for r in caplog.records)

    # given its response deadline passes while the broker is still down
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(respond_by=now - MINUTE, resolve_by=now + DAY)

    # when the broker is back and the next sweep goes through it to a worker
    throwaway_broker.start()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        ticket_escalation_sweep_task.delay()
        delivered = _wait_for(
            lambda: Notification.objects.filter(kind="escalated").exists() and len(mailoutbox) == 1
        )

    # then the ticket is escalated once and the grid leader told once
    assert delivered
    assert rungs(ticket) == [("respond", "grid", [grace.pk])]
    escalated = TicketEvent.objects.get(ticket=ticket, kind="escalated")
    assert list(
        Notification.objects.filter(event=escalated).values_list("recipient", flat=True)
    ) == [grace.pk]

    # and running the sweep and the notification again changes nothing
    assert ticket_escalation_sweep_task.apply().get() == 0
    notify_event_task.apply(args=[escalated.pk]).get()
    assert Notification.objects.filter(event=escalated).count() == 1
    assert [m.to for m in mailoutbox] == [["grace@example.org"]]


def test_prefetched_ladders_hold_the_same_people_as_ladders_read_alone(world, ladder):
    grids = [world.A1a, world.A1, world.A2, world.B1, world.T2, world.C, world.D1]
    prefetched: dict = {}
    escalation.prefetch_ladders(grids, prefetched)
    for grid in grids:
        alone = escalation.Ladder(grid)
        for level in escalation.LADDER:
            assert prefetched[grid.pk].rung(level) == alone.rung(level), (grid.name, level)
