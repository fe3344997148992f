"""Login lock-out (django-axes): five failures of one name from one address lock that
pair for thirty minutes, on the login page, the admin's and the API's token endpoint;
every refusal is a clear 429."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone, translation
from rest_framework.authtoken.models import Token

from governance.security.lockout import lockout_message

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
TOKEN = "/api/v1/auth/token/"
LIMIT = 5


@pytest.fixture
def alice(staff):
    return staff  # password "pw" (tests/grids/factories.py)


def _fail(client: Client, url: str, username: str = "alice", times: int = 1):
    return [client.post(url, {"username": username, "password": "wrong"}) for _ in range(times)]


def test_the_fifth_failure_locks_the_name_from_that_address(client, alice):
    answers = _fail(client, LOGIN, times=LIMIT)
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429]

    # the right password is refused too, with the page and the cool-off
    refused = client.post(LOGIN, {"username": "alice", "password": "pw"})
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(30 * 60)
    assert "_auth_user_id" not in client.session
    with translation.override("zh-hans"):
        assert lockout_message(30 * 60) in refused.content.decode()


def test_the_refusal_speaks_english_to_an_english_reader(client, alice):
    _fail(client, LOGIN, times=LIMIT)
    refused = client.post(LOGIN, {"username": "alice", "password": "pw"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert "30 minutes" in refused.content.decode()


def test_the_lock_holds_the_pair_only(client, alice, worker):
    _fail(client, LOGIN, times=LIMIT)

    # alice from her own connection is not locked out by someone guessing elsewhere
    elsewhere = Client(REMOTE_ADDR="10.20.30.40")
    assert elsewhere.post(LOGIN, {"username": "alice", "password": "pw"}).status_code == 302
    # another person behind the same address signs in
    assert client.post(LOGIN, {"username": "bob", "password": "pw"}).status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, alice):
    _fail(client, LOGIN, times=LIMIT)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=31)):
        assert client.post(LOGIN, {"username": "alice", "password": "pw"}).status_code == 302


def test_a_success_starts_the_count_again(client, alice):
    _fail(client, LOGIN, times=LIMIT - 1)
    assert client.post(LOGIN, {"username": "alice", "password": "pw"}).status_code == 302
    client.logout()
    answers = _fail(client, LOGIN, times=LIMIT - 1)
    assert [a.status_code for a in answers] == [200] * (LIMIT - 1)
    assert client.post(LOGIN, {"username": "alice", "password": "pw"}).status_code == 302


def test_the_admin_login_is_guarded_as_well(client, alice):
    answers = _fail(client, ADMIN_LOGIN, times=LIMIT)
    assert answers[-1].status_code == 429
    refused = client.post(ADMIN_LOGIN, {"username": "alice", "password": "pw"})
    assert refused.status_code == 429
    # one count for all the doors: the page's login is locked too
    assert client.post(LOGIN, {"username": "alice", "password": "pw"}).status_code == 429


def test_the_token_endpoint_locks_with_a_json_429(client, alice):
    answers = _fail(client, TOKEN, times=LIMIT)
    assert [a.status_code for a in answers] == [400] * (LIMIT - 1) + [429]

    refused = client.post(TOKEN, {"username": "alice", "password": "pw"})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused["Retry-After"] == str(30 * 60)
    assert refused.json()["detail"]
    assert not Token.objects.filter(user=alice).exists()


def test_the_token_endpoint_still_gives_tokens(client, alice):
    answer = client.post(TOKEN, {"username": "alice", "password": "pw"})
    assert answer.status_code == 200
    assert answer.json()["token"] == Token.objects.get(user=alice).key


def test_failures_are_recorded_without_the_password(client, alice):
    _fail(client, LOGIN, times=2)
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.failures_since_start == 2
    assert attempt.ip_address == "127.0.0.1"
    assert "wrong" not in attempt.post_data


def test_signing_in_without_a_request_is_not_refused(alice):
    """The shell and management commands call authenticate() without a request."""
    from django.contrib.auth import authenticate

    assert authenticate(username="alice", password="pw") == alice
    assert authenticate(username="alice", password="wrong") is None
