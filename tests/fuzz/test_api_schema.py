"""Property-based fuzzing of the whole REST API, and of Open311, from their own OpenAPI
documents.

Schemathesis reads ``/api/schema/`` (drf-spectacular) and ``/open311/v2/openapi.json``
from the WSGI application (``governance.wsgi.application``, called in-process) and, for
every operation, generates valid and invalid requests: ``FUZZ_EXAMPLES`` per operation
(25 by default; 15 as the worker) in the *fuzzing* phase; ``FUZZ_COVERAGE=1`` adds the
*coverage* phase (boundary values, missing and wrong-typed fields, unexpected methods:
~10,000 more requests per persona, for a deep run). Every ``/api/v1/`` operation is
fuzzed as each persona, with its token, against the data of ``tests/fuzz/world.py``;
real ids are mixed into paths, queries and bodies (``known_ids.py``), unsafe methods
included. Each answer must:

* not be a server error (``not_a_server_error``);
* conform to the schema: status code, content type, headers and body
  (``status_code_conformance``, ``content_type_conformance``,
  ``response_headers_conformance``, ``response_schema_conformance``); the API's document
  lists the error answers of every operation (``governance.api.schema``), Open311's its
  own;
* stay inside the persona's scope (``scope.py``): no record outside it shown, none acted
  on; and for Open311, whose reads are public, nothing personal in any answer.

The personas:

* **integrator**: an integration account of community A — a user with a token and the
  *community staff* role on A (the role a community gives the account its civic app or
  12345 bridge uses; it is also Open311's ``api_key``). Chosen over an account without any
  role because every write of the API is then reached past its permission check, and its
  scope (A and its estates) has siblings (community B) and a neighbouring county to leak
  into;
* **worker**: bob, a full-time grid worker on estate A1 (sees A1 and micro grid A1a).

Built-in checks left out, and why: ``negative_data_rejection`` and ``positive_data_acceptance``
judge a 2xx/4xx by the schema alone, but DRF coerces (``"1"`` is an integer, unknown fields
are ignored) and valid-looking requests are refused for the record's state (409) or the
caller's role (403), which no schema says; ``ignored_auth``/``missing_required_header``
test the authentication classes, which ``tests/security`` covers; ``use_after_free`` and
``ensure_resource_availability`` need state kept across requests, which the per-request
rollback (``conftest.py``) removes on purpose; ``max_response_time`` is a load matter.

Bounded (7,500 requests, about three and a half minutes on two cores, data included)
and reproducible: a fixed seed, ``derandomize``, no example database.
``FUZZ_EXAMPLES=60 FUZZ_COVERAGE=1`` digs deeper (some 30,000 requests, a quarter of an
hour). PostgreSQL only (the second CI pass): the services lock rows and take advisory
locks.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from governance.wsgi import application
from open311.models import Open311Request
from tests.fuzz import known_ids, tally
from tests.fuzz.scope import private_leaks, scoping_violations
from tickets.models import Category, Ticket

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
WORKER_EXAMPLES = max(EXAMPLES * 3 // 5, 1)  # 15 by default
SEED = int(os.environ.get("FUZZ_SEED", "20260915"))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {
            "examples": {"enabled": False},  # the schema carries no examples
            "stateful": {"enabled": False},  # each request is rolled back (conftest.py)
            "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE", "") == "1"},
        },
    }
)

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)
known_ids.install(schema)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="API fuzzing runs on PostgreSQL only, in the second pass of .ci/run "
        "(the services lock rows and take advisory locks)",
    ),
    pytest.mark.django_db,
]


@pytest.fixture
def known(fuzz_data) -> None:
    known_ids.REGISTRY.clear()
    known_ids.REGISTRY.update(fuzz_data["oracle"].every)


def _send(case, fuzz_data, persona: str) -> None:
    headers = {"Authorization": f"Token {fuzz_data['world'].tokens[persona]}"}
    tally.record(persona, case)
    with transaction.atomic():
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        problems = scoping_violations(
            fuzz_data["oracle"], persona, case.method.upper(), case.formatted_path, response
        )
        assert not problems, "\n".join(problems) + "\n" + case.as_curl_command(headers)
        transaction.set_rollback(True)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_integrator(case, fuzz_data, known):
    _send(case, fuzz_data, "integrator")


@schema.parametrize()
@settings(max_examples=WORKER_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_as_worker(case, fuzz_data, known):
    """Fewer examples: the worker's run is about scope (half its requests name real
    records, the neighbours' among them); input validation is the integrator's run."""
    _send(case, fuzz_data, "worker")


# --- Open311 GeoReport v2, from its own static OpenAPI document ---------------------------------

open311 = schemathesis.openapi.from_wsgi("/open311/v2/openapi.json", application, config=CONFIG)
known_ids.install_open311(open311)

# Open311's document describes its errors in the standard's shape (400, 403, 404, 405).
CHECKS_311 = CHECKS


@pytest.fixture
def open311_values(fuzz_data) -> None:
    world = fuzz_data["world"]
    known_ids.OPEN311.clear()
    known_ids.OPEN311.update(
        api_key=[world.tokens["integrator"]],
        service_code=list(Category.objects.values_list("code", flat=True)),
        address_id=[grid.code for grid in world.grids.values()],
        service_request_id=list(Ticket.objects.values_list("number", flat=True)[:20]),
        token=list(Open311Request.objects.values_list("token", flat=True)),
    )


@open311.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_open311(case, fuzz_data, open311_values):
    """Anyone reads, the integrator posts (its token as ``api_key`` in half the posts):
    no 5xx, answers as documented, and nothing personal in any public answer."""
    tally.record("open311", case)
    with transaction.atomic():
        response = case.call()
        case.validate_response(response, checks=CHECKS_311)
        leaked = private_leaks(fuzz_data["private"], response)
        assert not leaked, f"{case.method} {case.formatted_path} shows {leaked}"
        transaction.set_rollback(True)
