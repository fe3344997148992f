"""Login lock-out (django-axes): the answer to a locked sign-in, on pages and the API.

Failed sign-ins are counted per user name *and* client address (``AXES_LOCKOUT_PARAMETERS``):
after ``AXES_FAILURE_LIMIT`` failures that pair is refused for ``AXES_COOLOFF_TIME``, even
with the right password. Counting the pair, not the name alone, means nobody can lock a
colleague out from another connection, and a community office behind one address is not
locked as a whole because of one person's typing. Guessing many names from one address
is slowed by the per-address limit on the login forms (``ANONYMOUS_POST_RATES``).

Every refusal is a 429 with ``Retry-After`` (the cool-off), in the reader's language: the
429 page for the login forms, ``{"detail": ...}`` for ``/api/v1/auth/token/``.
"""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.utils.translation import ngettext

from governance.throttling import too_many_response


def flag_lockout_on_django_request(sender, request=None, **kwargs) -> None:
    """Receiver of axes' ``user_locked_out``: mark Django's own request.

    DRF authenticates with its ``Request``, which wraps Django's; axes marks the object it
    was given, while the axes middleware reads Django's. Copying the mark through makes
    the token endpoint answer like the login forms instead of with a plain 400.
    """
    inner = getattr(request, "_request", None)
    if isinstance(inner, HttpRequest):
        inner.axes_locked_out = True
        inner.axes_credentials = getattr(request, "axes_credentials", None)


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many failed sign-in attempts. Signing in with this name from your connection "
        "is paused for %(minutes)d minute.",
        "Too many failed sign-in attempts. Signing in with this name from your connection "
        "is paused for %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the 429 answer to a locked-out sign-in."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 3600
    return too_many_response(request, message=lockout_message(seconds), wait_seconds=seconds)
