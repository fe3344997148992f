"""Notifications: who is told about which event (the table in ``tickets/notifications.py``),
exactly once per event and recipient and at most one email each however often the task
runs, the inbox API and page, and the unread count in every page's header.

Events reach the notification task after their commit; inside a test's transaction that
moment is simulated with ``django_capture_on_commit_callbacks(execute=True)``.
"""

from __future__ import annotations

import datetime
from smtplib import SMTPException
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.tickets.factories import make_category, open_ticket
from tickets import notifications, services
from tickets.models import Notification, TicketEvent
from tickets.tasks import notify_event_task

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # Monday, office


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Run what is queued after the commit (the notification tasks) of what happens
    inside the block, as a worker would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def told(**filters) -> list[tuple[str, str]]:
    """(username, kind) of the notifications matching ``filters``, sorted."""
    rows = Notification.objects.filter(**filters).values_list("recipient__username", "kind")
    return sorted(rows)


def post(client, ticket, action, **data):
    return client.post(f"/api/v1/tickets/{ticket.pk}/{action}/", data, format="json")


# --- who is told what --------------------------------------------------------------------------


def test_a_new_report_tells_its_dispatchers_not_its_reporter(
    world, hazard, grace, staff, frank, worker, api_client_for, after_commit
):
    with after_commit():
        created = api_client_for(frank).post(
            "/api/v1/tickets/",
            {"category": hazard.pk, "grid": world.A1a.pk, "title": "井盖缺失"},
            format="json",
        )

    assert created.status_code == 201
    event = TicketEvent.objects.get(ticket_id=created.json()["id"], kind="opened")
    assert told(event=event) == [("alice", "to_dispatch"), ("grace", "to_dispatch")]


def test_a_dispatch_tells_the_person_it_went_to(
    make_ticket, staff, worker, api_client_for, after_commit
):
    ticket = make_ticket("submitted")

    with after_commit():
        assert (
            post(api_client_for(staff), ticket, "dispatch", assignee=worker.pk).status_code == 200
        )

    event = TicketEvent.objects.get(ticket=ticket, kind="dispatched")
    assert told(event=event) == [("bob", "assigned")]
    assert ticket.number in Notification.objects.get(event=event).text


def test_an_automatic_route_tells_the_worker_instead_of_the_dispatchers(
    world, fire, grace, staff, worker, frank, after_commit
):
    with time_machine.travel(T0, tick=False), after_commit():
        ticket = open_ticket(category=fire, grid=world.A1a, reporter=frank)

    assert told(ticket=ticket) == [("bob", "assigned")]


def test_the_reporter_follows_the_loop_and_the_handler_hears_the_rating(
    make_ticket, worker, frank, api_client_for, after_commit
):
    ticket = make_ticket("dispatched")
    bob, resident = api_client_for(worker), api_client_for(frank)

    with after_commit():
        assert post(bob, ticket, "accept").status_code == 200
        assert post(bob, ticket, "start").status_code == 200
        assert post(bob, ticket, "resolve", note="已修复").status_code == 200
        assert post(resident, ticket, "rate", rating="satisfied").status_code == 200

    kinds = dict(TicketEvent.objects.filter(ticket=ticket).values_list("pk", "kind"))
    by_event = [
        (kinds[event_id], username, kind)
        for event_id, username, kind in Notification.objects.filter(ticket=ticket)
        .order_by("event_id")
        .values_list("event_id", "recipient__username", "kind")
    ]
    assert by_event == [
        ("accepted", "frank", "progress"),
        ("resolved", "frank", "resolved"),
        ("rated", "bob", "rated"),
    ]


def test_an_unsatisfied_rating_tells_the_handler_and_the_dispatchers(
    make_ticket, grace, staff, worker, frank, api_client_for, after_commit
):
    ticket = make_ticket("resolved")

    with after_commit():
        rated = post(api_client_for(frank), ticket, "rate", rating="unsatisfied")

    assert rated.status_code == 200
    event = TicketEvent.objects.get(ticket=ticket, kind="rated")
    assert told(event=event) == [
        ("alice", "to_dispatch"),
        ("bob", "rated"),
        ("grace", "to_dispatch"),
    ]


def test_a_whistle_tells_the_department_and_its_report_in_tells_the_whistler(
    make_ticket, world, grace, erin, api_client_for, after_commit
):
    ticket = make_ticket("submitted")

    with after_commit():
        whistled = post(api_client_for(grace), ticket, "whistle", departments=[world.D1.pk])
        whistle_id = whistled.json()["whistles"][0]["id"]
        reported = api_client_for(erin).post(f"/api/v1/whistles/{whistle_id}/report-in/")

    assert (whistled.status_code, reported.status_code) == (200, 200)
    assert told(event__kind="whistled") == [("erin", "whistled")]
    assert told(event__kind="reported_in") == [("grace", "department")]
    assert world.D1.name in Notification.objects.get(recipient=erin).text


def test_a_rejection_tells_the_reporter_with_the_reason(
    make_ticket, staff, api_client_for, after_commit
):
    ticket = make_ticket("submitted")

    with after_commit():
        post(api_client_for(staff), ticket, "reject", reason="不属于本社区事务")

    notification = Notification.objects.get(event__kind="rejected")
    assert (notification.recipient.username, notification.kind) == ("frank", "rejected")
    assert "不属于本社区事务" in notification.text


def test_nobody_is_told_of_their_own_act_and_inactive_people_are_not_told(
    make_ticket, staff, grace, after_commit
):
    ticket = make_ticket("submitted")
    other = make_category(name="环境卫生")
    grace.is_active = False
    grace.save(update_fields=["is_active"])

    with after_commit():
        # alice takes it herself, then re-routes it: the dispatchers are alice herself
        # and grace, whose account is inactive
        services.ticket_dispatch(actor=staff, ticket=ticket, assignee=staff)
        services.ticket_reroute(actor=staff, ticket=ticket, category=other)

    assert TicketEvent.objects.filter(ticket=ticket, kind="rerouted").exists()
    assert told(ticket=ticket) == []


def test_a_reporter_without_an_account_gets_no_notification(
    world, hazard, staff, grace, after_commit
):
    with after_commit():
        ticket = open_ticket(category=hazard, grid=world.A1a, actor=staff, channel="hotline")
        services.ticket_reject(actor=staff, ticket=ticket, reason="重复来电")

    assert told(event__kind="rejected") == []


# --- once, and at most one email ----------------------------------------------------------------


def test_the_task_run_twice_writes_one_notification_per_recipient_and_one_email(
    world, hazard, grace, staff, frank, mailoutbox
):
    grace.email, staff.email = "grace@example.org", "alice@example.org"
    grace.save(update_fields=["email"])
    staff.save(update_fields=["email"])
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    opened = ticket.events.get(kind="opened")

    notify_event_task.apply(args=[opened.pk]).get()
    notify_event_task.apply(args=[opened.pk]).get()

    assert told(event=opened) == [("alice", "to_dispatch"), ("grace", "to_dispatch")]
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.org", "grace@example.org"]
    assert Notification.objects.filter(event=opened, emailed_at__isnull=True).count() == 0


def test_a_failed_email_is_given_back_and_sent_once_on_the_retry(
    world, hazard, grace, frank, mailoutbox, monkeypatch
):
    grace.email = "grace@example.org"
    grace.save(update_fields=["email"])
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    opened = ticket.events.get(kind="opened")
    real_send = notifications.send_mail

    def refused(*args, **kwargs):
        raise SMTPException("421 try again later")

    monkeypatch.setattr(notifications, "send_mail", refused)
    with pytest.raises(SMTPException):
        notifications.notify_event(event_id=opened.pk)
    assert Notification.objects.get(event=opened).emailed_at is None
    assert mailoutbox == []

    monkeypatch.setattr(notifications, "send_mail", real_send)
    assert notifications.notify_event(event_id=opened.pk) == 1
    assert notifications.notify_event(event_id=opened.pk) == 0
    assert [m.to for m in mailoutbox] == [["grace@example.org"]]


def test_an_event_that_was_never_committed_is_ignored(db):
    assert notify_event_task.apply(args=[987654]).get() == 0


# --- the inbox API ------------------------------------------------------------------------------


@pytest.fixture
def inbox_of(world, hazard, frank):
    """``inbox_of(user, n)``: n notifications for ``user``, each about a new ticket."""

    def _fill(user, n: int) -> list[Notification]:
        made = []
        for i in range(n):
            ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank, title=f"#{i}")
            made.append(
                Notification.objects.create(
                    recipient=user,
                    ticket=ticket,
                    event=ticket.events.get(),
                    kind="to_dispatch",
                    text=f"工单 {ticket.number} 待派单",
                )
            )
        return made

    return _fill


def test_the_api_lists_the_callers_own_notifications_only(
    inbox_of, grace, outsider, api_client_for
):
    mine = inbox_of(grace, 2)
    inbox_of(outsider, 1)

    body = api_client_for(grace).get("/api/v1/notifications/").json()

    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [n.pk for n in reversed(mine)]
    assert body["results"][0]["ticket_number"] == mine[-1].ticket.number
    assert body["results"][0]["is_read"] is False


def test_read_unread_filter_read_all_and_the_count(inbox_of, grace, outsider, api_client_for):
    first, second, third = inbox_of(grace, 3)
    theirs = inbox_of(outsider, 1)[0]
    client = api_client_for(grace)

    read = client.post(f"/api/v1/notifications/{first.pk}/read/")
    again = client.post(f"/api/v1/notifications/{first.pk}/read/")
    someone_elses = client.post(f"/api/v1/notifications/{theirs.pk}/read/")

    assert (read.status_code, again.status_code, someone_elses.status_code) == (200, 200, 404)
    assert read.json()["read_at"] == again.json()["read_at"]  # the first reading is kept
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert {row["id"] for row in unread["results"]} == {second.pk, third.pk}
    assert client.get("/api/v1/notifications/?unread=false").json()["count"] == 1
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}

    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_api_needs_a_signed_in_caller(client, db):
    assert client.get("/api/v1/notifications/").status_code in (401, 403)


def test_the_list_queries_do_not_grow_with_rows(inbox_of, grace, api_client_for):
    client = api_client_for(grace)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/notifications/").status_code == 200
        return len(queries)

    inbox_of(grace, 2)
    few = count()
    inbox_of(grace, 12)
    assert count() == few


# --- the inbox page and the header --------------------------------------------------------------


def test_the_inbox_page_lists_and_marks_read(inbox_of, grace, outsider, client):
    first, second = inbox_of(grace, 2)
    theirs = inbox_of(outsider, 1)[0]
    client.force_login(grace)

    page = client.get("/tickets/inbox/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert first.text in page.content.decode()
    assert second.text in page.content.decode()
    assert theirs.text not in page.content.decode()

    marked = client.post("/tickets/inbox/?unread=1", {"notification": first.pk})
    assert (marked.status_code, marked["Location"]) == (302, "/tickets/inbox/?unread=1")
    first.refresh_from_db()
    assert first.read_at is not None
    unread_page = client.get("/tickets/inbox/?unread=1").content.decode()
    assert second.text in unread_page
    assert first.text not in unread_page

    assert client.post("/tickets/inbox/", {"notification": theirs.pk}).status_code == 404
    assert client.post("/tickets/inbox/", {"notification": "x"}).status_code == 404
    client.post("/tickets/inbox/", {"all": "1"})
    assert Notification.objects.filter(recipient=grace, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_page_needs_a_login(client):
    response = client.get("/tickets/inbox/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def _notification_queries(queries) -> int:
    return sum("tickets_notification" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("url", ["/", "/residents/"])
def test_the_header_shows_the_unread_count_with_one_query(inbox_of, grace, client, url):
    inbox_of(grace, 3)
    client.force_login(grace)

    with CaptureQueriesContext(connection) as queries:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/tickets/inbox/"' in html
    assert '<span class="unread">3<' in html
    assert _notification_queries(queries) == 1


def test_the_header_caps_the_count(inbox_of, grace, client, monkeypatch):
    from governance import context_processors

    monkeypatch.setattr(context_processors, "UNREAD_CAP", 3)
    inbox_of(grace, 4)
    client.force_login(grace)

    assert '<span class="unread">2+<' in client.get("/").content.decode()


def test_the_header_costs_nothing_for_anonymous_visitors(client, db):
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/accounts/login/")

    assert page.status_code == 200
    assert _notification_queries(queries) == 0
    assert "/tickets/inbox/" not in page.content.decode()


def test_a_user_with_nothing_unread_sees_no_count(world, make_user, client):
    user = make_user("una")
    assign(user, world.A, AssignmentRole.COMMUNITY_STAFF)
    client.force_login(user)

    html = client.get("/").content.decode()
    assert 'href="/tickets/inbox/"' in html
    assert 'class="unread"' not in html


# --- the outbox: events whose task was lost --------------------------------------------------


def test_an_event_whose_task_was_lost_is_notified_once_by_the_catch_up(
    make_ticket, staff, worker, api_client_for, django_capture_on_commit_callbacks, mailoutbox
):
    # given a dispatch whose notification task never ran (the broker was down)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket("submitted")
    with django_capture_on_commit_callbacks(execute=False):
        assert (
            post(api_client_for(staff), ticket, "dispatch", assignee=worker.pk).status_code == 200
        )
    event = TicketEvent.objects.get(ticket=ticket, kind="dispatched")
    assert told(event=event) == []
    assert event.notified_at is None

    # when the catch-up runs within the grace period, it leaves the event to its own task
    assert notifications.notifications_catch_up(now=event.created_at) == 0
    # and after it, it notifies the event, once
    later = event.created_at + notifications.CATCH_UP_GRACE + datetime.timedelta(seconds=1)
    assert notifications.notifications_catch_up(now=later) == 1
    assert notifications.notifications_catch_up(now=later) == 0

    # then
    assert told(event=event) == [("bob", "assigned")]
    event.refresh_from_db()
    assert event.notified_at is not None
    assert len([m for m in mailoutbox if ticket.number in m.subject]) <= 1


def test_a_notified_event_is_not_caught_up(
    make_ticket, staff, worker, api_client_for, after_commit
):
    with after_commit():
        ticket = make_ticket("submitted")
    with after_commit():
        post(api_client_for(staff), ticket, "dispatch", assignee=worker.pk)
    event = TicketEvent.objects.get(ticket=ticket, kind="dispatched")
    assert event.notified_at is not None
    later = event.created_at + datetime.timedelta(hours=1)
    assert notifications.notifications_catch_up(now=later) == 0
    assert told(event=event) == [("bob", "assigned")]
