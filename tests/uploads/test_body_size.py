"""A body larger than ``REQUEST_MAX_BYTES`` is refused from its Content-Length alone:
413 with a message in the caller's format, nothing read, nothing stored."""

from __future__ import annotations

import io

import pytest
from django.test import RequestFactory

from governance.security.body_size import RequestBodySizeMiddleware
from tests.tickets.factories import make_category
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


class Unreadable(io.RawIOBase):
    """A body that fails the test if anyone reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readinto = read


def oversized(path: str, limit: int, **extra):
    request = RequestFactory().post(path, data=b"", content_type="multipart/form-data; boundary=x")
    request.META["CONTENT_LENGTH"] = str(limit + 1)
    request.META["wsgi.input"] = Unreadable()
    request.META.update(extra)
    return request


def never_called(request):
    raise AssertionError("the request went past the size check")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/v1/tickets/", "application/json"),
        ("/open311/v2/requests.json", "application/json"),
        ("/open311/v2/requests.xml", "text/xml"),
        ("/report/", "text/plain"),
    ],
)
def test_a_body_over_the_limit_is_refused_unread(settings, path, content_type):
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    response = RequestBodySizeMiddleware(never_called)(oversized(path, settings.REQUEST_MAX_BYTES))
    assert response.status_code == 413
    assert response["Content-Type"].startswith(content_type)
    assert "1 MB" in response.content.decode()


def test_through_the_whole_stack_nothing_is_created(settings, client, world, staff):
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    category = make_category(name="安全隐患")
    client.force_login(staff)
    body = b"x" * (settings.REQUEST_MAX_BYTES + 1)
    response = client.generic(
        "POST",
        "/api/v1/tickets/",
        body,
        content_type="multipart/form-data; boundary=x",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 413
    assert "larger than 1 MB" in response.json()["detail"]
    assert not Ticket.objects.filter(category=category).exists()


def test_a_body_at_the_limit_goes_on(settings):
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    request = oversized("/api/v1/tickets/", settings.REQUEST_MAX_BYTES - 1)
    assert RequestBodySizeMiddleware(lambda r: "passed")(request) == "passed"
