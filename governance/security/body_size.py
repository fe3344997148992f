"""A request body too large to be anything we accept is refused before it is read.

Each upload is checked for its own limit (10 MB a photo, 20 MB a spreadsheet) with a
clear message, but by then Django has already streamed the whole body to a temporary file.
A body larger than ``REQUEST_MAX_BYTES`` (all the photos a report may carry, with room to
spare) is answered 413 from its ``Content-Length`` alone, before any middleware parses
the form (CSRF does), so a client sending gigabytes costs one header. A reverse proxy
should say the same (``client_max_body_size``); this is the limit when there is none.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def too_large_response(request: HttpRequest) -> HttpResponse:
    limit_mb = settings.REQUEST_MAX_BYTES // (1024 * 1024)
    message = _("The request is larger than %(mb)d MB. Send fewer or smaller files.") % {
        "mb": limit_mb
    }
    if request.path.startswith("/open311/"):
        from open311.formats import errors_for_path

        return errors_for_path(request.path, 413, [message])
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestBodySizeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _declared_length(request) > settings.REQUEST_MAX_BYTES:
            return too_large_response(request)
        return self.get_response(request)
