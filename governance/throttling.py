"""Rate limits: the API per token and per address, the anonymous forms per address.

Two layers, one idea: count a client's requests in the shared cache and, once its budget
is spent, answer 429 with ``Retry-After`` instead of doing the work.

* The REST API uses DRF's throttles (``REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]``): a
  signed-in caller (token or session) is counted per user with the generous ``user`` rate,
  since integrators synchronise in bursts; an anonymous caller per address with ``anon``;
  a view that accepts anonymous reports names ``throttle_scope = "anonymous-report"`` and
  gets that stricter budget on top.
* Pages are plain Django views, outside DRF: ``AnonymousPostThrottleMiddleware`` counts the
  unsafe requests of clients that are not signed in on the paths of
  ``ANONYMOUS_POST_RATES`` (the report form, the private rating link, the login forms).

The client is ``REMOTE_ADDR``. Behind reverse proxies that is the last proxy, so
``TRUSTED_PROXY_COUNT`` says how many proxies in front of the application each append the
address they received to ``X-Forwarded-For``; the client is then that many entries from
the right. The header is never read without that setting: anyone can send it, and a
forged header would give an attacker a fresh identity with every request. The same
function names the client for django-axes' login lock-out.

The cache helps; it is not a dependency. When it is away (Redis stopped), requests are let
through and a warning is logged: a resident's report must never be lost to a rate limiter.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import ngettext
from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
CACHE_ERRORS = (RedisError, OSError)


# --- who is asking ------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or, behind ``TRUSTED_PROXY_COUNT`` proxies,
    the entry of ``X-Forwarded-For`` that the outermost trusted proxy wrote."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if not forwarded:
        return remote
    return forwarded[-min(proxies, len(forwarded))]


def wants_json(request: HttpRequest) -> bool:
    accept = request.headers.get("Accept", "")
    return request.path.startswith(("/api/", "/open311/")) or "application/json" in accept


# --- rates --------------------------------------------------------------------------------------


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` → (20, 3600). The period is read from its first letter (s, m, h, d),
    as DRF reads it, so one notation serves both layers."""
    count, _slash, period = str(rate).partition("/")
    try:
        number = int(count)
        seconds = PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError) as exc:
        raise ImproperlyConfigured(
            f"A rate is written like 20/hour or 5/min, got {rate!r}"
        ) from exc
    if number < 1:
        raise ImproperlyConfigured(f"A rate allows at least one request, got {rate!r}")
    return number, seconds


@lru_cache(maxsize=8)
def _rules(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, int, int], ...]:
    """Path prefixes with their parsed rates, longest prefix first."""
    rules = [(prefix, *parse_rate(rate)) for prefix, rate in items]
    return tuple(sorted(rules, key=lambda rule: -len(rule[0])))


def anonymous_post_rule(path: str) -> tuple[str, int, int] | None:
    """The (prefix, requests, seconds) that governs anonymous unsafe requests to ``path``."""
    rates = getattr(settings, "ANONYMOUS_POST_RATES", {})
    for prefix, number, seconds in _rules(tuple(sorted(rates.items()))):
        if path.startswith(prefix):
            return prefix, number, seconds
    return None


def spend(key: str, *, limit: int, window: int, now: float | None = None) -> int | None:
    """Count one request against ``key``'s budget of ``limit`` per ``window`` seconds.

    Returns ``None`` when the request may go ahead, else the seconds until the window
    turns. Windows are aligned on the clock (a fixed window: one atomic increment per
    request, shared by every web process through the cache).
    """
    now = time.time() if now is None else now
    start = int(now // window) * window
    bucket = f"throttle:{key}:{start}"
    cache.add(bucket, 0, timeout=window + 60)
    try:
        count = cache.incr(bucket)
    except ValueError:  # the bucket expired between add and incr
        cache.add(bucket, 1, timeout=window + 60)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil(start + window - now))


def too_many_message(wait_seconds: int) -> str:
    minutes = max(1, math.ceil(wait_seconds / 60))
    return ngettext(
        "Too many requests from your connection. Please try again in %(minutes)d minute.",
        "Too many requests from your connection. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def too_many_response(request: HttpRequest, *, message: str, wait_seconds: int) -> HttpResponse:
    """The 429 answer: JSON ``{"detail": ...}`` for the API, Open311's own error list
    under ``/open311/``, the 429 page for people."""
    if request.path.startswith("/open311/"):
        from open311.formats import errors_for_path

        response: HttpResponse = errors_for_path(request.path, 429, [message])
    elif wants_json(request):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(render_to_string("429.html", {"message": message}), status=429)
    response["Retry-After"] = str(wait_seconds)
    return response


# --- pages --------------------------------------------------------------------------------------


class AnonymousPostThrottleMiddleware:
    """Anonymous unsafe requests per client address on the paths of ``ANONYMOUS_POST_RATES``.

    Signed-in users are not counted here (their own pages are behind a login, and the API
    counts them per user). It sits after the idempotency middleware, so a replay of a
    report that was already accepted is answered from its record and costs nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        anonymous_post_rule("/")  # a bad rate stops start-up, not the first report

    def __call__(self, request: HttpRequest) -> HttpResponse:
        throttled = self._throttled(request)
        if throttled is not None:
            return throttled
        return self.get_response(request)

    def _throttled(self, request: HttpRequest) -> HttpResponse | None:
        if request.method not in UNSAFE_METHODS:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        rule = anonymous_post_rule(request.path)
        if rule is None:
            return None
        prefix, limit, window = rule
        try:
            wait = spend(f"anon-post:{prefix}:{client_ip(request)}", limit=limit, window=window)
        except CACHE_ERRORS as exc:
            logger.warning("rate limit skipped, cache unavailable: %s", exc)
            return None
        if wait is None:
            return None
        logger.info("anonymous %s to %s throttled", request.method, prefix)
        return too_many_response(request, message=too_many_message(wait), wait_seconds=wait)


# --- the API (DRF) ------------------------------------------------------------------------------


class _LiveRateMixin:
    """What the project's throttles add to DRF's.

    * The rate is read when a throttle is made (once per request), not when the class is
      imported: DRF's own classes freeze ``DEFAULT_THROTTLE_RATES`` at import, so a
      settings override would be ignored.
    * The client is ``client_ip``: DRF, left alone, believes any ``X-Forwarded-For``.
    * A cache that is away lets the request through (see the module's docstring).
    """

    scope: str | None

    def get_rate(self) -> str:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}") from exc

    def get_ident(self, request) -> str:
        return client_ip(request)

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_ERRORS as exc:
            logger.warning("API rate limit skipped, cache unavailable: %s", exc)
            return True


class UserRateThrottle(_LiveRateMixin, throttling.UserRateThrottle):
    """Per signed-in user (a token belongs to one user): scope ``user``."""


class AnonRateThrottle(_LiveRateMixin, throttling.AnonRateThrottle):
    """Per client address for callers without credentials: scope ``anon``."""


class ScopedRateThrottle(_LiveRateMixin, throttling.ScopedRateThrottle):
    """The view's own ``throttle_scope`` (e.g. ``anonymous-report``), per user or address;
    views without one are not counted by it."""
