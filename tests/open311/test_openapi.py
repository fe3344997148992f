"""The OpenAPI description at /open311/v2/openapi.json: it names every route, and what
the endpoints answer in JSON matches its schemas (the fuzzer relies on both)."""

from __future__ import annotations

import re

import jsonschema
import pytest
from django.urls import get_resolver

from open311 import urls as open311_urls
from tests.grids.factories import superuser
from tests.open311.conftest import parse_json, post_request
from tickets import services
from tickets.models import Ticket


def _json_schema(node):
    """OpenAPI 3.0's ``nullable`` in JSON Schema terms."""
    if isinstance(node, dict):
        converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
        if node.get("nullable"):
            converted["type"] = [node["type"], "null"]
        return converted
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    return node


@pytest.fixture
def document(client, db) -> dict:
    response = client.get("/open311/v2/openapi.json")
    assert response.status_code == 200
    return response.json()


def check(document: dict, path: str, method: str, response) -> None:
    """The response's status is documented for the operation, and its JSON body matches
    the documented schema."""
    operation = document["paths"][path][method]
    answer = operation["responses"][str(response.status_code)]
    schema_ref = answer["content"]["application/json"]["schema"]
    schema = {**schema_ref, "components": _json_schema(document["components"])}
    jsonschema.Draft202012Validator(schema).validate(parse_json(response))


def test_every_route_is_described(document):
    described = {
        re.sub(r"\{[a-z_]+\}", "X", path.removeprefix("/open311/v2/")) for path in document["paths"]
    }
    routes = {
        re.sub(r"\(\?P<[a-z]+>[^)]*\)", "X", str(pattern.pattern))
        .lstrip("^")
        .rstrip("$")
        .replace("\\.", ".")
        for pattern in open311_urls.urlpatterns
        if pattern.name not in (None, "openapi")
    }
    assert routes == described
    assert get_resolver().resolve("/open311/v2/openapi.json").url_name == "openapi"


def test_answers_match_the_schemas(client, document, world, streetlight, api_key, worker):
    base = "/open311/v2"
    posted = post_request(client, api_key)
    check(document, f"{base}/requests.{{format}}", "post", posted)
    token = parse_json(posted)[0]["token"]
    ticket = Ticket.objects.get()
    services.ticket_dispatch(actor=superuser(), ticket=ticket, assignee=worker)
    services.ticket_accept(actor=worker, ticket=ticket)
    services.ticket_resolve(actor=worker, ticket=ticket, note="已修复")

    reads = [
        (f"{base}/discovery.{{format}}", "/discovery.json"),
        (f"{base}/services.{{format}}", "/services.json"),
        (f"{base}/services/{{service_code}}.{{format}}", "/services/streetlight.json"),
        (f"{base}/services/{{service_code}}.{{format}}", "/services/nothing.json"),
        (f"{base}/requests.{{format}}", "/requests.json"),
        (f"{base}/requests.{{format}}", "/requests.json?start_date=bad"),
        (f"{base}/requests/{{service_request_id}}.{{format}}", f"/requests/{ticket.number}.json"),
        (f"{base}/requests/{{service_request_id}}.{{format}}", "/requests/0.json"),
        (f"{base}/tokens/{{token}}.{{format}}", f"/tokens/{token}.json"),
        (f"{base}/servicerequestupdates.{{format}}", "/servicerequestupdates.json"),
        (f"{base}/services.{{format}}", "/services.json?jurisdiction_id=elsewhere"),
    ]
    for path, url in reads:
        check(document, path, "get", client.get(base + url))
    for wrong in (post_request(client, "wrong"), post_request(client, api_key, lat="x")):
        check(document, f"{base}/requests.{{format}}", "post", wrong)
    check(document, f"{base}/services.{{format}}", "get", client.delete(f"{base}/services.json"))


def test_xml_is_documented_beside_json(document):
    for operations in document["paths"].values():
        for operation in operations.values():
            for answer in operation["responses"].values():
                assert set(answer["content"]) == {"text/xml", "application/json"}
