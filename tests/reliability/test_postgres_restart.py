"""PostgreSQL restarted under traffic: requests in the gap fail cleanly (a 503 with a
message, JSON for the API, never a stack trace), none leaves a half-written ticket, the
service recovers without being restarted, and a report sent again with its
``Idempotency-Key`` is saved exactly once.

Real processes: a PostgreSQL cluster of the test's own (initdb + pg_ctl, a copy of the test
database), gunicorn with two workers in production mode against it, and reporters in
threads over HTTP. Only the throwaway cluster is restarted.
"""

from __future__ import annotations

import datetime
import http.client
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import psycopg
import pytest
from cryptography.fernet import Fernet
from rest_framework.authtoken.models import Token

from grids.models import AssignmentRole
from tests.grids.factories import assign
from tests.reliability.conftest import needs_postgres_server, on_real_services
from tests.reliability.servers import ThrowawayPostgres, WebServer, child_pids, started, wait_until
from tests.tickets.factories import make_category

pytestmark = [*on_real_services, needs_postgres_server, pytest.mark.django_db(transaction=True)]

MESSAGE = "The service is briefly unavailable. Please try again in a moment."
REPORTERS = 3


@dataclass
class Answer:
    key: str
    title: str
    sent_at: float
    status: int
    body: dict = field(default_factory=dict)
    retry_after: str | None = None


class Client:
    """Plain HTTP to the server under test, with the language pinned to English so the
    messages can be compared."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def request(self, method: str, path: str, body: dict | None = None, **headers: str):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(
                method,
                path,
                body=json.dumps(body) if body is not None else None,
                headers={
                    "Authorization": f"Token {self.token}",
                    "Content-Type": "application/json",
                    "Accept-Language": "en",
                    **headers,
                },
            )
            response = connection.getresponse()
            return response.status, response.getheader("Retry-After"), response.read()
        finally:
            connection.close()

    def report(self, payload: dict, key: str) -> Answer:
        sent_at = time.monotonic()
        status, retry_after, raw = self.request(
            "POST", "/api/v1/tickets/", payload, **{"Idempotency-Key": key}
        )
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"raw": raw.decode(errors="replace")[:500]}
        return Answer(key, payload["title"], sent_at, status, body, retry_after)


class Reporters:
    """Threads that report problems one after another until stopped."""

    def __init__(self, client: Client, payload: dict) -> None:
        self.client, self.payload = client, payload
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(REPORTERS)]

    def _run(self) -> None:
        while not self.stopping.is_set():
            title = f"断电-{uuid.uuid4().hex[:10]}"
            self.answers.append(
                self.client.report({**self.payload, "title": title}, key=uuid.uuid4().hex)
            )

    def count(self, status: int, after: float = 0.0) -> int:
        return sum(a.status == status and a.sent_at >= after for a in list(self.answers))

    def __enter__(self) -> Reporters:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)


def tickets_and_timelines(url: str) -> dict[str, list[str]]:
    """Each ticket's title → the kinds of its timeline, oldest first."""
    with psycopg.connect(url) as session:
        rows = session.execute(
            "SELECT t.title, e.kind FROM tickets_ticket t "
            "LEFT JOIN tickets_ticketevent e ON e.ticket_id = t.id ORDER BY t.id, e.id"
        ).fetchall()
    timelines: dict[str, list[str]] = {}
    for title, kind in rows:
        timelines.setdefault(title, [])
        if kind is not None:
            timelines[title].append(kind)
    return timelines


def test_a_database_restart_under_traffic_fails_cleanly_and_recovers_alone(
    world, make_user, test_database_url
):
    # given a resident with a token, a category, and a copy of this database on a
    # PostgreSQL of the test's own, served by gunicorn in production mode
    frank = make_user("frank", is_staff=False)
    staff = make_user("alice")
    assign(staff, world.A, AssignmentRole.COMMUNITY_STAFF)
    category = make_category(name="停电", respond=datetime.timedelta(hours=1))
    token = Token.objects.create(user=frank).key
    payload = {"category": category.pk, "grid": world.A1a.pk}
    database = ThrowawayPostgres()
    try:
        database.init()
        database.start()
        database.copy_database_from(test_database_url, "governance")
        web = WebServer(
            database_url=database.url("governance"),
            DEBUG="0",
            SECRET_KEY="restart-test-" + uuid.uuid4().hex,
            PII_KEYS=Fernet.generate_key().decode(),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="0",
        )
        client = Client(web.port, token)
        with started(web):
            web.start()
            web.wait_ready()
            workers_before = sorted(child_pids(web.pid))

            with Reporters(client, payload) as reporters:
                assert wait_until(lambda: reporters.count(201) >= 6, seconds=20), web.log_tail()

                # when the database stops in the middle of the traffic
                database.stop("fast")
                down_since = time.monotonic()
                failing = wait_until(lambda: reporters.count(503, down_since) >= 6, seconds=15)
                assert failing, Counter(a.status for a in reporters.answers)
                gap = {
                    "health": client.request("GET", "/healthz/"),
                    "list": client.request("GET", "/api/v1/tickets/"),
                    "page": client.request("GET", "/tickets/report/", Accept="text/html"),
                }

                # and comes back
                database.start()
                back_since = time.monotonic()
                recovered = wait_until(lambda: reporters.count(201, back_since) >= 9, seconds=20)
                assert recovered, web.log_tail()
            answers = list(reporters.answers)

            # then, the answers during the gap were clean 503s with the message
            statuses = Counter(a.status for a in answers)
            assert set(statuses) == {201, 503}, (statuses, web.log_tail())
            for answer in answers:
                if answer.status == 503:
                    assert answer.body == {"detail": MESSAGE}
                    assert answer.retry_after == "30"
            health, listing, page = gap["health"], gap["list"], gap["page"]
            assert health[0] == 503
            assert listing[0] == 503
            assert json.loads(listing[2]) == {"detail": MESSAGE}
            assert page[0] == 503
            assert MESSAGE in page[2].decode()
            assert b"Traceback" not in page[2]

            # and every request sent after the database was back succeeded, served by the
            # same gunicorn workers (stale connections were checked and replaced)
            late = [a for a in answers if a.sent_at >= back_since]
            assert late
            assert all(a.status == 201 for a in late)
            assert sorted(child_pids(web.pid)) == workers_before
            assert client.request("GET", "/healthz/")[0] == 200

            # when every failed report is sent again with its key, and a few of the others
            # too, as a phone that never saw its answer would
            failed = [a for a in answers if a.status != 201]
            resent = failed + [a for a in answers if a.status == 201][:5]
            again = [client.report({**payload, "title": a.title}, a.key) for a in resent]
            assert all(r.status == 201 for r in again), Counter(r.status for r in again)

        # then each report is one ticket, whole: none lost, none twice, none half-written
        timelines = tickets_and_timelines(database.url("governance"))
        assert sorted(timelines) == sorted(a.title for a in answers)
        assert all(kinds and kinds[0] == "opened" for kinds in timelines.values()), timelines
        assert all(kinds.count("opened") == 1 for kinds in timelines.values())
    finally:
        database.destroy()
