"""Answers for the moments a backing service is away.

When PostgreSQL restarts under traffic, requests in the gap fail with ``OperationalError``
(or ``InterfaceError`` on a connection that died). They get a 503 with a message and a
``Retry-After``, not a stack trace; nothing half-written stays behind because each write
is a transaction, and the next request reconnects (``CONN_HEALTH_CHECKS``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith(("/api/", "/open311/")) or "application/json" in accept


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s %s: %s", request.method, request.path, exception)
        message = _("The service is briefly unavailable. Nothing was saved; please try again.")
        if _wants_json(request):
            response: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            html = render_to_string("503.html", {"message": message})
            response = HttpResponse(html, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
