"""The answer when the database cannot serve a request: a 503 with a message and a
``Retry-After``, JSON for the API and a page for people, whichever door the failure came
through (a view, or a middleware outside any view through ``handler500``).

The failure is injected where the database would raise it; the real outage, a PostgreSQL
restart under traffic, is ``test_postgres_restart.py``.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.urls import get_resolver

from governance import middleware
from governance.idempotency.models import IdempotencyRecord
from grids import selectors as grid_selectors
from tickets import selectors as ticket_selectors

MESSAGE = "The service is briefly unavailable. Please try again in a moment."


def database_gone(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_an_api_request_gets_a_json_503_with_the_message(
    worker, api_client_for, monkeypatch, caplog
):
    monkeypatch.setattr(ticket_selectors, "ticket_list", database_gone)

    response = api_client_for(worker).get("/api/v1/tickets/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert response.json() == {"detail": MESSAGE}
    assert response["Retry-After"] == "30"
    assert "database unavailable: GET /api/v1/tickets/" in caplog.text


def test_a_page_gets_a_503_page_with_the_message_and_no_trace(worker, client, monkeypatch):
    client.force_login(worker)
    monkeypatch.setattr(grid_selectors, "grid_list", database_gone)

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert MESSAGE in html
    assert "<h1>Briefly unavailable</h1>" in html
    assert "Traceback" not in html
    assert "server closed the connection" not in html


def test_the_page_stands_in_bare_when_the_template_cannot_be_drawn(worker, client, monkeypatch):
    client.force_login(worker)
    monkeypatch.setattr(grid_selectors, "grid_list", database_gone)
    monkeypatch.setattr(middleware, "render_to_string", database_gone)

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert MESSAGE in response.content.decode()


def test_a_failure_outside_any_view_is_a_503_too(worker, api_client_for, monkeypatch):
    """The idempotency middleware reads and writes its keys before and after the view: a
    database gone at that moment reaches Django's 500 handler, which answers 503."""
    monkeypatch.setattr(IdempotencyRecord.objects, "create", database_gone)
    client = api_client_for(worker)
    client.raise_request_exception = False

    response = client.post(
        "/api/v1/tickets/",
        {"title": "路灯不亮"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="phone-1",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 503
    assert response.json() == {"detail": MESSAGE}
    assert response["Retry-After"] == "30"


def test_the_500_handler_is_the_one_that_knows_about_the_database():
    assert get_resolver().resolve_error_handler(500) is middleware.server_error


def test_other_errors_keep_the_plain_500(rf):
    request = rf.get("/tickets/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = middleware.server_error(request)
    assert response.status_code == 500


@pytest.mark.parametrize(
    ("path", "accept", "json_expected"),
    [
        ("/open311/v2/services.json", "", True),
        ("/tickets/report/", "application/json", True),
        ("/tickets/report/", "text/html", False),
    ],
)
def test_json_or_page_by_path_and_accept(rf, path, accept, json_expected):
    request = rf.get(path, HTTP_ACCEPT=accept)
    try:
        raise OperationalError("gone")
    except OperationalError:
        response = middleware.server_error(request)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json") is json_expected


@pytest.mark.parametrize(("fmt", "parse"), [("json", "json"), ("xml", "xml")])
def test_open311_gets_its_own_error_list_with_503(world, client, monkeypatch, fmt, parse):
    """Open311 clients parse the standard's error list, not ``{"detail": ...}``."""
    import xml.etree.ElementTree as ET

    from open311 import selectors as open311_selectors

    monkeypatch.setattr(open311_selectors, "service_list", database_gone)

    response = client.get(f"/open311/v2/services.{fmt}", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    if parse == "json":
        assert response.json() == [{"code": 503, "description": MESSAGE}]
    else:
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        assert root.find("error/code").text == "503"
        assert root.find("error/description").text == MESSAGE
