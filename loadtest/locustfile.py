"""The simulated people of ``make load``: residents report and rate, community staff
dispatch, grid workers and unit heads claim, accept, start and resolve, district leaders
read the dashboard. All through the REST API with the demo's accounts
(``loadtest/prepare.py``).

Every answer is kept by (method, name, status); every accepted report's id, number and
idempotency key, and every accepted transition, are written at the end to
``$LOAD_OUTPUT/locust.json`` for ``loadtest/reconcile.py`` to check against the database.
A 409 on a transition is an expected answer (two people reached for the same ticket), and
so is a 404 on a claim (the ticket left the board for someone who saw it only there);
anything else unexpected is a failure in locust's statistics.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from collections import Counter
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task

SCENARIO = json.loads(Path(os.environ["LOAD_SCENARIO"]).read_text())
OUTPUT = Path(os.environ["LOAD_OUTPUT"])
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))
PLACES = SCENARIO["places"]
CATEGORIES = SCENARIO["categories"]
TITLES = ("路灯不亮", "楼道堆物", "下水道堵塞", "垃圾清运不及时", "电动车楼道充电", "邻里噪音")

created: list[dict] = []
answers: Counter = Counter()
accepted: Counter = Counter()
sent = 0


def _cycle(people):
    return itertools.cycle(list(people))


RESIDENTS = _cycle((place, person) for place in PLACES for person in place["residents"])
STAFF = _cycle((place, place["staff"]) for place in PLACES)
HELPERS = _cycle((place, person) for place in PLACES for person in place["helpers"])
LEADERS = _cycle((place, place["district"]) for place in PLACES)


class Simulated(HttpUser):
    abstract = True
    people = RESIDENTS

    def on_start(self) -> None:
        self.place, self.identity = next(self.people)
        self.client.headers["Authorization"] = f"Token {self.identity['token']}"
        self.client.headers["Accept-Language"] = "en"

    def call(self, method: str, path: str, name: str, expected=(200,), action="", **kwargs):
        """One request; its answer is counted, and a transition's 2xx is remembered."""
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as reply:
            answers[(method, name, reply.status_code)] += 1
            if reply.status_code not in expected:
                reply.failure(f"{reply.status_code}: {reply.text[:200]}")
                return None
            reply.success()
            if action and reply.status_code < 300:
                accepted[action] += 1
            return reply

    def results(self, path: str, name: str) -> list[dict]:
        reply = self.call("GET", path, name)
        return reply.json().get("results", []) if reply is not None else []

    def act(self, ticket: dict, action: str, *, expected=(200, 409), **payload) -> None:
        self.call(
            "POST",
            f"/api/v1/tickets/{ticket['id']}/{action}/",
            action,
            expected=expected,
            action=action,
            json=payload,
        )


class Resident(Simulated):
    """Reports a problem on the grid they live on, follows it, rates it once resolved."""

    weight = 1
    wait_time = between(2, 5)
    people = RESIDENTS

    @task(3)
    def report(self) -> None:
        key = uuid.uuid4().hex
        reply = self.call(
            "POST",
            "/api/v1/tickets/",
            "report",
            expected=(201,),
            action="report",
            json={
                "category": random.choice(CATEGORIES),
                "grid": self.place["report_grid"],
                "title": random.choice(TITLES),
                "description": "压测",
            },
            headers={"Idempotency-Key": key},
        )
        if reply is not None:
            body = reply.json()
            created.append({"id": body["id"], "number": body["number"], "key": key})

    @task(2)
    def rate(self) -> None:
        resolved = self.results("/api/v1/tickets/?status=resolved&page_size=10", "my resolved")
        if resolved:
            unhappy = random.random() < 0.1
            rating = (
                "unsatisfied" if unhappy else random.choice(("satisfied", "basically_satisfied"))
            )
            self.act(random.choice(resolved), "rate", rating=rating)

    @task(1)
    def follow(self) -> None:
        self.results("/api/v1/tickets/?page_size=10", "my tickets")


class Staff(Simulated):
    """Community staff: give the waiting tickets to the grid's worker or to the board."""

    fixed_count = len(PLACES)
    wait_time = between(1, 2)
    people = STAFF

    @task(4)
    def dispatch(self) -> None:
        """The reports on the worker's grid: mostly to the worker, some to the board."""
        waiting = self.waiting(self.place["report_grid"])
        if not waiting:
            return
        ticket = random.choice(waiting)
        if random.random() < 0.7:
            self.act(ticket, "dispatch", assignee=self.place["worker"]["id"])
        else:
            self.act(ticket, "dispatch", claim_board=True)

    @task(1)
    def publish(self) -> None:
        """Anything else waiting in the community goes on the claim board."""
        waiting = self.waiting(self.place["community"])
        if waiting:
            self.act(random.choice(waiting), "dispatch", claim_board=True)

    def waiting(self, grid: int) -> list[dict]:
        return self.results(
            f"/api/v1/tickets/?status=submitted&status=reopened&grid={grid}&page_size=20",
            "waiting",
        )

    @task(1)
    def overdue(self) -> None:
        self.results("/api/v1/tickets/?overdue=true&page_size=20", "overdue")


class Helper(Simulated):
    """Grid workers and unit heads: claim from the board, work what they were given
    through to resolved."""

    fixed_count = sum(len(place["helpers"]) for place in PLACES)
    wait_time = between(1, 2)
    people = HELPERS

    @task(2)
    def claim(self) -> None:
        board = self.results("/api/v1/claim-board/?page_size=10", "claim board")
        if board:
            # taken meanwhile: a 409, or a 404 for someone who saw it only while it was
            # on the board (a claimer outside the grid's own people)
            self.act(random.choice(board), "claim", expected=(200, 404, 409))

    @task(5)
    def work(self) -> None:
        mine = self.results(
            f"/api/v1/tickets/?assignee={self.identity['id']}&status=dispatched"
            "&status=accepted&status=in_progress&page_size=20",
            "my work",
        )
        if not mine:
            return
        ticket = random.choice(mine)
        step = {"dispatched": "accept", "accepted": "start", "in_progress": "resolve"}
        action = step[ticket["status"]]
        payload = {"note": "已处理"} if action == "resolve" else {}
        self.act(ticket, action, **payload)


class Leader(Simulated):
    """District leaders: the dashboard of their county and its ticket list."""

    fixed_count = len(PLACES)
    wait_time = between(3, 6)
    people = LEADERS

    @task(2)
    def dashboard(self) -> None:
        self.call("GET", f"/api/v1/dashboard/?grid={self.place['county']}", "dashboard")

    @task(1)
    def tickets(self) -> None:
        self.results(f"/api/v1/tickets/?grid={self.place['county']}&page_size=50", "county tickets")


@events.request.add_listener
def _bound(**_kwargs) -> None:
    """At most ``LOAD_MAX_REQUESTS`` requests, whatever the time limit."""
    global sent
    sent += 1
    if sent == MAX_REQUESTS:
        runner = _environment.runner if _environment else None
        if runner is not None:
            gevent.spawn(runner.quit)


_environment = None
_most_users = 0


@events.spawning_complete.add_listener
def _count(user_count: int, **_kwargs) -> None:
    global _most_users
    _most_users = max(_most_users, user_count)


@events.init.add_listener
def _remember(environment, **_kwargs) -> None:
    global _environment
    _environment = environment


def _figures(entry) -> dict:
    return {
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": round(entry.total_rps, 2),
        "avg_ms": round(entry.avg_response_time, 1),
        "p50_ms": entry.get_response_time_percentile(0.5),
        "p95_ms": entry.get_response_time_percentile(0.95),
        "p99_ms": entry.get_response_time_percentile(0.99),
        "max_ms": round(entry.max_response_time or 0, 1),
    }


@events.quitting.add_listener
def _write(environment, **_kwargs) -> None:
    stats = environment.stats
    total = stats.total
    data = {
        "created": created,
        "answers": [[m, n, s, c] for (m, n, s), c in sorted(answers.items())],
        "accepted": dict(accepted),
        "total": _figures(total),
        "seconds": round((total.last_request_timestamp or 0) - (total.start_time or 0), 1),
        "by_name": {f"{e.method} {e.name}": _figures(e) for e in stats.entries.values()},
        "users": _most_users,
    }
    OUTPUT.joinpath("locust.json").write_text(json.dumps(data, ensure_ascii=False, indent=1))
