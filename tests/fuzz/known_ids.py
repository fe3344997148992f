"""Real ids in generated requests.

Left alone, the fuzzer asks for ``/api/v1/tickets/8366271/`` and meets a 404 every time:
the services behind the 404 are never reached. These Schemathesis hooks replace, half of the
time, each id in the path, the query and the body of a generated request by the id of a
real record of the right kind, drawn from every record in the database, the persona's
own and the neighbours' alike: reaching the neighbours' records is the point of the
scoping check.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

# Filled by the test module once the data is built; Hypothesis draws from it lazily.
REGISTRY: dict[str, list[int]] = {}

# A request field (path, query or body) → the resource whose ids it takes.
FIELDS = {
    "grid": "grids",
    "community": "grids",
    "department": "grids",
    "departments": "grids",
    "parent": "grids",
    "household": "households",
    "lead_household": "households",
    "resident": "residents",
    "ticket": "tickets",
    "original": "tickets",
    "follow_up_ticket": "tickets",
    "category": "ticket-categories",
    "assignee": "users",
    "user": "users",
    "visitor": "users",
    "chaired_by": "users",
    "organiser": "users",
    "secretary": "users",
    "proposer": "users",
    "attendees": "users",
    "volunteer": "volunteers",
    "leader": "volunteers",
    "team": "volunteer-teams",
    "activity": "volunteer-activities",
    "account": "points-accounts",
    "shop": "points-shops",
    "item": "points-shop-items",
    "organization": "party-organizations",
    "party_member": "party-member-service-records",
    "campaign": "campaigns",
    "meeting": "meetings",
    "rule": "points-rules",
    "tags": "key-group-tags",
    "kind": "volunteer-team-kinds",
    "photo_pk": "ticket-photos",
}
# ``parent`` of a category or a party organization is one of its own kind.
OWN_PARENT = ("ticket-categories", "party-organizations")


def resource_of_path(path: str) -> str:
    """``/api/v1/<resource>/…`` → ``<resource>``."""
    parts = path.strip("/").split("/")
    return parts[2] if len(parts) > 2 and parts[:2] == ["api", "v1"] else ""


def _resource(field: str, operation_path: str) -> str | None:
    if field == "parent" and resource_of_path(operation_path) in OWN_PARENT:
        return resource_of_path(operation_path)
    if field == "id":
        return resource_of_path(operation_path)
    return FIELDS.get(field)


def _ids(resource: str | None) -> list[int]:
    return REGISTRY.get(resource or "", [])


def _swap(value: Any, ids: list[int], rng: random.Random) -> Any:
    """The generated value, or (half the time) a real id in its place: a list of them for
    a list, as text for a path parameter that travels as text."""
    if isinstance(value, bool) or not ids or rng.random() < 0.5:
        return value
    if isinstance(value, list):
        return rng.sample(ids, k=min(len(ids), rng.randint(1, 3)))
    if isinstance(value, int | float) or value is None:
        return rng.choice(ids)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return str(rng.choice(ids))
    return value  # e.g. a grid's ``kind``, which is a word


def with_known_ids(values: Any, operation_path: str, rng: random.Random) -> Any:
    """``values`` (a mapping of fields) where each known field may take a real id;
    anything else (a negative test's list or string body) is kept as it is."""
    if not isinstance(values, dict):
        return values
    return {
        key: _swap(value, _ids(_resource(key, operation_path)), rng)
        for key, value in values.items()
    }


def install(schema) -> None:
    """Register the hooks on ``schema`` (path, query and body). The choices come from a
    ``Random`` that Hypothesis draws (so they replay and shrink with the example) rather
    than from a strategy built per example, which would cost more than the request."""

    def _with_known_ids(context, strategy):
        path = context.operation.path if context.operation is not None else ""
        choices = st.randoms(note_method_calls=False, use_true_random=False)
        return st.tuples(strategy, choices).map(lambda pair: with_known_ids(pair[0], path, pair[1]))

    for name in (
        "before_generate_path_parameters",
        "before_generate_query",
        "before_generate_body",
    ):
        schema.hook(name)(_with_known_ids)


# --- Open311 ------------------------------------------------------------------------------------

# Filled by the test module: the values a GeoReport client would send (the integrator's
# api_key, service codes, grid codes as address_id, ticket numbers, request tokens).
OPEN311: dict[str, list[str]] = {}
OPEN311_FIELDS = {
    "api_key": "api_key",
    "service_code": "service_code",
    "address_id": "address_id",
    "service_request_id": "service_request_id",
    "token": "token",
}


def with_known_values(values: Any, rng: random.Random) -> Any:
    """Open311's parameters are words, not numbers: half the time, a known one."""
    if not isinstance(values, dict):
        return values
    swapped = dict(values)
    for key, kind in OPEN311_FIELDS.items():
        known = OPEN311.get(kind)
        if known and key in swapped and rng.random() < 0.5:
            swapped[key] = rng.choice(known)
    return swapped


def install_open311(schema) -> None:
    def _with_known_values(context, strategy):
        if context.operation is None:
            return strategy
        choices = st.randoms(note_method_calls=False, use_true_random=False)
        return st.tuples(strategy, choices).map(lambda pair: with_known_values(*pair))

    for name in (
        "before_generate_path_parameters",
        "before_generate_query",
        "before_generate_body",
    ):
        schema.hook(name)(_with_known_values)
