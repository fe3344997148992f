"""Rate limits: the API per user and per address, anonymous forms per address; clear 429s
with Retry-After; a forged X-Forwarded-For is no new identity; a cache that is away
lets requests through."""

from __future__ import annotations

import os
import uuid

import pytest
from django.test import Client
from django.utils import translation
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from governance.throttling import client_ip, parse_rate, spend, too_many_message
from tickets.models import Ticket

REPORT = "/tickets/report/"


@pytest.fixture
def anonymous_category(db):
    from tests.tickets.factories import make_category

    return make_category(name="路灯", anonymous=True)


def _report(client: Client, world, category, n: int, **extra):
    return client.post(
        REPORT,
        {
            "category": category.pk,
            "title": f"路灯不亮 {n}",
            "description": "小区东门路灯坏了",
            "grid": world.A.pk,
            "reporter_phone": "13800138000",
        },
        **extra,
    )


# --- the API ------------------------------------------------------------------------------------


def test_api_counts_each_user_apart_and_answers_429_with_retry_after(
    low_rates, world, staff, worker, api_client_for
):
    alice, bob = api_client_for(staff), api_client_for(worker)
    assert [alice.get("/api/v1/grids/").status_code for _ in range(5)] == [200] * 5

    refused = alice.get("/api/v1/grids/")

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "detail" in refused.json()
    assert bob.get("/api/v1/grids/").status_code == 200  # another token, another budget


def test_api_anonymous_callers_are_counted_per_address(low_rates, client):
    answers = [client.get("/api/docs/", {"script": ""}).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]

    other_address = Client(REMOTE_ADDR="10.9.8.7")
    assert other_address.get("/api/docs/", {"script": ""}).status_code == 200


def test_a_forged_forwarded_for_header_is_no_new_identity(low_rates, client):
    answers = [
        client.get("/api/docs/", {"script": ""}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(4)
    ]
    assert answers[-1] == 429


def test_behind_a_trusted_proxy_the_client_is_read_from_the_header(low_rates, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    first = [
        proxy.get("/api/docs/", {"script": ""}, HTTP_X_FORWARDED_FOR="forged, 203.0.113.5")
        for _ in range(4)
    ]
    assert [r.status_code for r in first] == [200, 200, 200, 429]
    # another client behind the same proxy has a budget of its own
    other = proxy.get("/api/docs/", {"script": ""}, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 200


class _AnonymousReports(APIView):
    permission_classes = ()
    throttle_scope = "anonymous-report"

    def post(self, request):
        return Response({"ok": True}, status=201)


def test_a_view_with_a_scope_gets_that_stricter_budget(low_rates):
    factory = APIRequestFactory()
    view = _AnonymousReports.as_view()
    answers = [view(factory.post("/x/", {}, REMOTE_ADDR="198.51.100.1")) for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[-1]["Retry-After"]


# --- anonymous pages ----------------------------------------------------------------------------


def test_anonymous_reports_are_limited_per_address_with_a_page(
    low_rates, client, world, anonymous_category
):
    accepted = [_report(client, world, anonymous_category, n) for n in range(3)]
    assert [r.status_code for r in accepted] == [302] * 3
    assert Ticket.objects.count() == 3

    refused = _report(client, world, anonymous_category, 4)  # the default language: Chinese

    assert refused.status_code == 429
    assert Ticket.objects.count() == 3  # nothing was stored
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 3600
    assert refused["Content-Type"].startswith("text/html")
    assert refused["Content-Language"] == "zh-hans"
    with translation.override("zh-hans"):
        assert too_many_message(wait) in refused.content.decode()
    # another address still reports; reading the page is never counted
    assert _report(Client(REMOTE_ADDR="10.1.1.1"), world, anonymous_category, 5).status_code == 302
    assert client.get(REPORT).status_code == 200


def test_the_refusal_is_in_english_for_an_english_reader(low_rates, client, world):
    for _ in range(3):
        client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    refused = client.post(
        "/accounts/login/", {"username": "nobody", "password": "x"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 429
    assert "Too many requests from your connection" in refused.content.decode()


def test_signed_in_users_are_not_counted_on_anonymous_forms(
    low_rates, client, world, staff, anonymous_category
):
    client.force_login(staff)
    answers = [_report(client, world, anonymous_category, n).status_code for n in range(5)]
    assert 429 not in answers


def test_the_token_endpoint_answers_json(low_rates, client, db):
    for _ in range(3):
        client.post("/api/v1/auth/token/", {"username": "someone", "password": "wrong"})
    refused = client.post("/api/v1/auth/token/", {"username": "someone", "password": "wrong"})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["detail"]
    assert refused["Retry-After"]


def test_a_replayed_report_costs_no_budget(low_rates, client, world, anonymous_category):
    """The idempotency middleware answers a replay before the budget is counted."""
    key = {"HTTP_IDEMPOTENCY_KEY": "offline-report-1"}
    answers = [_report(client, world, anonymous_category, 1, **key) for _ in range(5)]
    assert [a.status_code for a in answers] == [302] * 5
    assert Ticket.objects.count() == 1
    assert _report(client, world, anonymous_category, 2).status_code == 302


# --- the cache ----------------------------------------------------------------------------------


def test_with_the_cache_away_requests_go_through(low_rates, settings, client, world, staff):
    """A Redis nobody listens on: counting fails, the limits step aside, nothing breaks."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    api = Client()
    api.force_login(staff)
    assert [api.get("/api/v1/grids/").status_code for _ in range(7)] == [200] * 7
    answers = [
        client.post("/accounts/login/", {"username": "x", "password": "y"}) for _ in range(4)
    ]
    assert [a.status_code for a in answers] == [200] * 4  # the login budget is 3


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL)")
def test_the_budget_is_shared_through_redis(low_rates, settings, world, staff, api_client_for):
    """With Redis, as in production: every web process counts in the same place."""
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"security-test-{uuid.uuid4().hex}",  # nobody else's keys
    }
    settings.CACHES = {"default": redis_cache}
    try:
        client = api_client_for(staff)
        answers = [client.get("/api/v1/grids/").status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
        again = api_client_for(staff)  # another process would see the same count
        assert again.get("/api/v1/grids/").status_code == 429
    finally:  # the fixture clears the cache afterwards: not the shared Redis database
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_fixed_windows_count_and_turn():
    assert [spend("k", limit=2, window=60, now=1000.0) for _ in range(3)] == [None, None, 20]
    assert spend("k", limit=2, window=60, now=1021.0) is None  # the next minute


@pytest.mark.parametrize(
    ("rate", "expected"), [("20/hour", (20, 3600)), ("5/min", (5, 60)), ("1/d", (1, 86400))]
)
def test_rates_are_read_like_drf_reads_them(rate, expected):
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["20", "x/hour", "0/hour", "5/fortnight"])
def test_a_bad_rate_is_refused(rate):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        parse_rate(rate)


def test_client_ip_ignores_the_header_unless_told(rf, settings):
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1, 10.0.0.2")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "192.0.2.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 5
    assert client_ip(request) == "10.0.0.1"
