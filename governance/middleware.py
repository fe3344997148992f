"""Answers for the moments a backing service is away.

When PostgreSQL restarts under traffic, requests in the gap fail with ``OperationalError``
(or ``InterfaceError`` on a connection that died). They get a 503 with a message and a
``Retry-After``, not a stack trace; nothing half-written stays behind because each write
is a transaction, and the next request reconnects (``CONN_HEALTH_CHECKS``).

Two doors lead here. A view that fails reaches ``DatabaseUnavailableMiddleware``'s
``process_exception``. A failure outside any view (a middleware that reads the database
itself, such as the idempotency keys, or a session saved on the way out) never reaches a
middleware's ``process_exception``: Django turns it into its 500 page, through
``handler500``, so ``server_error`` below is that handler (``governance/urls.py``) and
gives the same 503 for the same cause.

The message does not say "nothing was saved": a write can commit a moment before the
connection goes, and only its answer is lost. A client that sends its ``Idempotency-Key``
again gets the saved answer instead of a second ticket, which is what the phone pages'
offline queue does.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
DATABASE_ERRORS = (OperationalError, InterfaceError)


def _wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith(("/api/", "/open311/")) or "application/json" in accept


def _page(message: str) -> str:
    """The HTML page; a page that cannot be drawn (static files not collected, a broken
    template) must not turn the 503 into a 500, so a bare page stands in."""
    try:
        return render_to_string("503.html", {"message": message})
    except Exception:
        logger.exception("the 503 page could not be rendered")
        return f"<!doctype html><title>503</title><p>{escape(message)}</p>"


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for a request the database could not serve: JSON for the API and Open311
    (``{"detail": ...}`` like every API error), a page otherwise."""
    message = _("The service is briefly unavailable. Please try again in a moment.")
    if request.path.startswith("/open311/"):
        from open311.formats import errors_for_path  # Open311 clients expect its error list

        response: HttpResponse = errors_for_path(request.path, 503, [message])
    elif _wants_json(request):
        response = JsonResponse({"detail": message}, status=503)
    else:
        response = HttpResponse(_page(message), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        logger.warning("database unavailable: %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the database's failures outside a view are a 503 as well; every
    other error keeps Django's own 500 page. Django calls this from inside its exception
    handler, so the exception is the one being handled."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return unavailable_response(request)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a URL that matches no route under the API or Open311 answers in
    their format (``{"detail": ...}``, the Open311 error list) like their other 404s, so
    an integrator's client never has to parse an HTML page; elsewhere Django's page."""
    message = _("Not found.")
    if request.path.startswith("/open311/"):
        from open311.formats import errors_for_path

        return errors_for_path(request.path, 404, [message])
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=404)
    return defaults.page_not_found(request, exception)
