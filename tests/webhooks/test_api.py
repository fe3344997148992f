"""The webhooks' REST API: subscriptions and deliveries are the caller's own (another's is
a 404), the secret is shown once, bad input is a 400 naming the field, replays work."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from webhooks.models import Delivery, DeliveryStatus, EventType, Subscription

SUBSCRIPTIONS = "/api/v1/webhook-subscriptions/"
DELIVERIES = "/api/v1/webhook-deliveries/"


def signed_with(secret: str, hit) -> bool:
    timestamp = hit.headers["X-Governance-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + hit.body, hashlib.sha256)
    return hmac.compare_digest(
        "sha256=" + expected.hexdigest(), hit.headers["X-Governance-Signature"]
    )


@pytest.fixture
def english_api(api_client_for):
    """A token client asking for English, so the messages below read as written."""

    def _client(user):
        client = api_client_for(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return _client


@pytest.fixture
def ivy_api(ivy, english_api):
    return english_api(ivy)


def create(client, **fields):
    return client.post(SUBSCRIPTIONS, fields, format="json")


def valid(world, receiver, **fields):
    return {
        "name": "12345 平台",
        "grid": world.A.pk,
        "url": receiver.url,
        "event_types": ["ticket.opened", "ticket.resolved"],
        **fields,
    }


# --- subscriptions ------------------------------------------------------------------------------


def test_create_answers_the_secret_once_and_it_signs_the_deliveries(
    world, ivy, ivy_api, receiver, report
):
    created = create(ivy_api, **valid(world, receiver))

    assert created.status_code == 201, created.json()
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert body["secret_hint"] == secret[-4:]
    assert body | {"id": 0, "secret": "", "created_at": "", "updated_at": ""} == {
        "id": 0,
        "name": "12345 平台",
        "grid": world.A.pk,
        "grid_code": world.A.code,
        "grid_name": world.A.name,
        "event_types": ["ticket.opened", "ticket.resolved"],
        "url": receiver.url,
        "is_active": True,
        "secret_hint": secret[-4:],
        "secret": "",
        "created_at": "",
        "updated_at": "",
    }
    subscription = Subscription.objects.get()
    assert subscription.owner == ivy
    assert secret not in subscription.secret_encrypted  # stored encrypted
    # never shown again
    assert "secret" not in ivy_api.get(f"{SUBSCRIPTIONS}{subscription.pk}/").json()
    assert "secret" not in ivy_api.get(SUBSCRIPTIONS).json()["results"][0]

    report()
    assert len(receiver.hits) == 1
    assert signed_with(secret, receiver.hits[0])


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "blank"),
        ("ftp://example.org/hooks", "Enter a full http:// or https:// address."),
        ("example.org/hooks", "Enter a full http:// or https:// address."),
        ("https://", "Enter a full http:// or https:// address."),
        (
            "https://user:pw@example.org/hooks",
            "Put no user name or password in the address; the signature authenticates us.",
        ),
    ],
)
def test_a_bad_url_is_a_400_on_url(world, ivy_api, receiver, url, reason):
    answer = create(ivy_api, **valid(world, receiver, url=url))

    assert answer.status_code == 400
    assert list(answer.json()) == ["url"]
    if reason != "blank":
        assert answer.json()["url"] == [reason]
    assert not Subscription.objects.exists()


def test_a_private_address_is_refused_in_production(world, ivy_api, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    for url in (
        receiver.url,
        "http://localhost:8080/hooks",
        "http://10.1.2.3/hooks",
        "http://[::1]/hooks",
        "http://169.254.169.254/latest/meta-data",
    ):
        answer = create(ivy_api, **valid(world, receiver, url=url))
        assert answer.status_code == 400, url
        assert answer.json() == {
            "url": [
                "This address is on a private network; events are sent to public addresses only."
            ]
        }
    assert (
        create(ivy_api, **valid(world, receiver, url="https://hooks.example.org/in")).status_code
        == 201
    )


def test_event_types_are_required_and_known(world, ivy_api, receiver):
    for types in ([], ["ticket.closed"], "ticket.opened,ticket.resolved"):
        answer = create(ivy_api, **valid(world, receiver, event_types=types))
        assert answer.status_code == 400, types
        assert list(answer.json()) == ["event_types"]
    answer = create(ivy_api, **valid(world, receiver, event_types=EventType.values))
    assert answer.status_code == 201
    assert answer.json()["event_types"] == sorted(EventType.values)


def test_only_a_grid_in_the_callers_scope(world, ivy_api, receiver, make_user, english_api):
    # outside ivy's scope (community B), or not a grid at all: as if it did not exist
    for grid in (world.B.pk, world.T1.pk, 999999):
        answer = create(ivy_api, **valid(world, receiver, grid=grid))
        assert answer.status_code == 400
        assert list(answer.json()) == ["grid"]
    # a department holds no tickets of its own
    root = make_user("root", is_superuser=True)
    answer = create(english_api(root), **valid(world, receiver, grid=world.D1.pk))
    assert answer.status_code == 400
    assert answer.json() == {
        "grid": ["Choose a territorial grid: departments hold no tickets of their own."]
    }
    # being staff gives no scope: an account without assignments subscribes to nothing
    clerk = make_user("clerk", is_staff=True)
    assert create(english_api(clerk), **valid(world, receiver)).status_code == 400
    assert create(ivy_api, **valid(world, receiver, grid=world.A1a.pk)).status_code == 201


def test_others_subscriptions_are_404(world, ivy_api, olga, api_client_for, receiver):
    mine = create(ivy_api, **valid(world, receiver)).json()["id"]
    olga_api = api_client_for(olga)

    assert olga_api.get(SUBSCRIPTIONS).json()["results"] == []
    assert olga_api.get(f"{SUBSCRIPTIONS}{mine}/").status_code == 404
    assert olga_api.patch(f"{SUBSCRIPTIONS}{mine}/", {"is_active": False}).status_code == 404
    assert olga_api.post(f"{SUBSCRIPTIONS}{mine}/rotate-secret/").status_code == 404
    assert olga_api.delete(f"{SUBSCRIPTIONS}{mine}/").status_code == 404
    assert Subscription.objects.get(pk=mine).is_active


def test_anonymous_callers_are_refused(client, db):
    assert client.get(SUBSCRIPTIONS).status_code in (401, 403)
    assert client.get(DELIVERIES).status_code in (401, 403)


def test_update_and_delete(world, ivy_api, receiver):
    mine = create(ivy_api, **valid(world, receiver)).json()["id"]

    changed = ivy_api.patch(
        f"{SUBSCRIPTIONS}{mine}/",
        {
            "url": "https://hooks.example.org/v2",
            "event_types": ["ticket.rated"],
            "is_active": False,
        },
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["url"] == "https://hooks.example.org/v2"
    assert changed.json()["event_types"] == ["ticket.rated"]
    assert changed.json()["is_active"] is False
    assert "secret" not in changed.json()
    refused = ivy_api.patch(f"{SUBSCRIPTIONS}{mine}/", {"url": "nope"}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["url"]
    moved = ivy_api.patch(f"{SUBSCRIPTIONS}{mine}/", {"grid": world.B.pk}, format="json")
    assert (moved.status_code, list(moved.json())) == (400, ["grid"])

    assert ivy_api.delete(f"{SUBSCRIPTIONS}{mine}/").status_code == 204
    assert not Subscription.objects.exists()


def test_rotating_the_secret_signs_with_the_new_one(world, ivy_api, receiver, report):
    created = create(ivy_api, **valid(world, receiver)).json()

    rotated = ivy_api.post(f"{SUBSCRIPTIONS}{created['id']}/rotate-secret/")

    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    assert new != created["secret"]
    report()
    assert signed_with(new, receiver.hits[0])
    assert not signed_with(created["secret"], receiver.hits[0])


def test_subscription_list_queries_do_not_grow(
    world, ivy, ivy_api, subscribe, django_assert_max_num_queries
):
    for grid in (world.A, world.A1, world.A1a, world.A2):
        subscribe(ivy, grid)
    with django_assert_max_num_queries(3):
        answer = ivy_api.get(SUBSCRIPTIONS)
    assert answer.json()["count"] == 4


# --- deliveries ---------------------------------------------------------------------------------


def test_deliveries_list_filters_and_is_own(
    world,
    ivy,
    olga,
    ivy_api,
    api_client_for,
    subscribe,
    receiver,
    report,
    resolve,
    django_assert_max_num_queries,
):
    opened, _ = subscribe(ivy, world.A, EventType.TICKET_OPENED)
    resolved, _ = subscribe(ivy, world.A, EventType.TICKET_RESOLVED)
    subscribe(olga, world.B)
    receiver.answer(200, 500)  # the second ticket's opening fails once
    first = report()
    report()
    resolve(first)
    report(world.B1)

    with django_assert_max_num_queries(3):
        everything = ivy_api.get(DELIVERIES)
    assert everything.status_code == 200
    rows = everything.json()["results"]
    assert len(rows) == 3
    assert {row["subscription"] for row in rows} == {opened.pk, resolved.pk}
    newest = rows[0]
    assert newest["event_type"] == "ticket.resolved"
    assert newest["ticket"] == first.pk
    assert newest["ticket_number"] == first.number
    assert newest["status"] == "delivered"

    by_subscription = ivy_api.get(DELIVERIES, {"subscription": opened.pk}).json()["results"]
    assert len(by_subscription) == 2
    failing = ivy_api.get(DELIVERIES, {"status": "pending"}).json()["results"]
    assert [(r["subscription"], r["last_status_code"]) for r in failing] == [(opened.pk, 500)]
    typed = ivy_api.get(DELIVERIES, {"type": "ticket.resolved"}).json()["results"]
    assert [r["id"] for r in typed] == [newest["id"]]
    assert ivy_api.get(DELIVERIES, {"status": "lost"}).status_code == 400

    # many more rows cost no more queries
    for _ in range(5):
        report()
    with django_assert_max_num_queries(3):
        assert ivy_api.get(DELIVERIES).json()["count"] == 8


def test_a_delivery_shows_its_body_and_attempts(world, ivy, ivy_api, subscribe, receiver, report):
    subscribe(ivy, world.A)
    receiver.answer(500)
    report()
    delivery = Delivery.objects.get()

    answer = ivy_api.get(f"{DELIVERIES}{delivery.pk}/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["payload"] == json.loads(receiver.hits[0].body)
    assert body["event_id"] == receiver.hits[0].headers["X-Governance-Event-Id"]
    assert [(a["number"], a["status_code"], a["succeeded"]) for a in body["attempts"]] == [
        (1, 500, False)
    ]
    assert body["attempts"][0]["response_excerpt"] == "not today"


def test_replay_through_the_api(
    world,
    ivy,
    olga,
    ivy_api,
    api_client_for,
    subscribe,
    receiver,
    report,
    django_capture_on_commit_callbacks,
):
    subscribe(ivy, world.A)
    report()
    delivery = Delivery.objects.get()

    assert api_client_for(olga).post(f"{DELIVERIES}{delivery.pk}/replay/").status_code == 404
    assert api_client_for(olga).get(f"{DELIVERIES}{delivery.pk}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        replayed = ivy_api.post(f"{DELIVERIES}{delivery.pk}/replay/")

    assert replayed.status_code == 202
    assert replayed.json()["replays"] == 1
    assert len(receiver.hits) == 2
    first, second = receiver.hits
    assert second.headers["X-Governance-Event-Id"] == first.headers["X-Governance-Event-Id"]
    assert second.body == first.body
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert list(delivery.attempts.values_list("replay", flat=True)) == [0, 1]

    # an inactive subscription's delivery is not replayed: 409
    Subscription.objects.update(is_active=False)
    refused = ivy_api.post(f"{DELIVERIES}{delivery.pk}/replay/")
    assert refused.status_code == 409
    assert len(receiver.hits) == 2
