"""The scoping check of the fuzzer must itself be able to fail: a check that never
reports a leak would let the whole fuzz run pass whatever the API shows."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace

import pytest

from tests.fuzz import known_ids
from tests.fuzz.scope import Oracle, private_leaks, scoping_violations


@pytest.fixture
def oracle() -> Oracle:
    """Bob sees grids 1 and 2, households 10 and 11, tickets 20; nothing else."""
    made = Oracle.__new__(Oracle)
    made.grids_visible = {"worker": {1, 2}}
    made.visible = {
        ("worker", "grids"): {1, 2},
        ("worker", "households"): {10, 11},
        ("worker", "tickets"): {20},
        ("worker", "residents"): set(),
        ("worker", "campaigns"): {5},
    }
    made.every = {"grids": [1, 2, 3], "households": [10, 11, 12], "tickets": [20, 21]}
    return made


def answer(status: int, body) -> SimpleNamespace:
    return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def test_a_list_showing_a_neighbours_record_is_a_violation(oracle):
    body = {"count": 2, "results": [{"id": 10}, {"id": 12}]}
    problems = scoping_violations(oracle, "worker", "GET", "/api/v1/households/", answer(200, body))
    assert problems
    assert "[12]" in problems[0]


def test_a_detail_or_an_action_on_a_record_outside_the_scope_is_a_violation(oracle):
    assert scoping_violations(
        oracle, "worker", "GET", "/api/v1/tickets/21/", answer(200, {"id": 21})
    )
    assert scoping_violations(
        oracle, "worker", "POST", "/api/v1/tickets/21/claim/", answer(200, {"id": 21})
    )


def test_a_nested_list_and_grids_named_in_figures_are_checked(oracle):
    nested = answer(200, [{"id": 3}])
    assert scoping_violations(oracle, "worker", "GET", "/api/v1/grids/1/children/", nested)
    progress = answer(200, [{"grid": 1, "done": 1}, {"grid": 3, "done": 0}])
    assert scoping_violations(oracle, "worker", "GET", "/api/v1/campaigns/5/progress/", progress)


def test_what_stays_inside_the_scope_or_is_refused_passes(oracle):
    inside = answer(200, {"results": [{"id": 10}, {"id": 11}]})
    assert scoping_violations(oracle, "worker", "GET", "/api/v1/households/", inside) == []
    refused = answer(404, {"detail": "未找到。"})
    assert scoping_violations(oracle, "worker", "GET", "/api/v1/tickets/21/", refused) == []
    described = answer(200, {"name": "Ticket"})
    assert scoping_violations(oracle, "worker", "OPTIONS", "/api/v1/tickets/21/", described) == []


def test_real_ids_are_mixed_into_generated_requests(oracle):
    known_ids.REGISTRY.clear()
    known_ids.REGISTRY.update(oracle.every)
    rng = random.Random(4)
    seen = {
        known_ids.with_known_ids({"id": 99999, "grid": 0}, "/api/v1/tickets/{id}/", rng)["id"]
        for _ in range(40)
    }
    assert {20, 21} & seen  # a real ticket now and then
    assert 99999 in seen  # and the generated value the other times
    body = known_ids.with_known_ids({"departments": [0], "kind": "estate"}, "/api/v1/x/", rng)
    assert body["kind"] == "estate"  # words are left alone


def test_a_public_answer_naming_a_reporter_or_a_phone_is_a_leak():
    secrets = {"13911112222", "张三丰", "zhang.sanfeng@example.org"}
    xml = "<service_requests><request><phone>13911112222</phone></request></service_requests>"
    assert private_leaks(secrets, SimpleNamespace(content=xml.encode())) == ["13911112222"]
    clean = SimpleNamespace(content=b'[{"service_request_id": "20261122-0001"}]')
    assert private_leaks(secrets, clean) == []
