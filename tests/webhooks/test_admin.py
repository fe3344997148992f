"""The webhooks' admin: subscriptions added through the service (the secret shown once,
on the page that answers), scoped lists, owner-only changes, read-only deliveries with
their attempts, and the replay action."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages

from governance import pii
from webhooks.models import Delivery, Subscription

SUBSCRIPTIONS = "/admin/webhooks/subscription/"
DELIVERIES = "/admin/webhooks/delivery/"
SECRET = re.compile(r'<code class="webhook-secret">(whsec_[^<]+)</code>')


def form(world, receiver, **fields):
    return {
        "name": "区级平台",
        "grid": world.A1.pk,
        "url": receiver.url,
        "event_types": ["ticket.opened", "ticket.resolved"],
        "is_active": "on",
        **fields,
    }


def shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_adding_a_subscription_shows_its_secret_once(client, world, staff, receiver):
    client.force_login(staff)

    page = client.post(f"{SUBSCRIPTIONS}add/", form(world, receiver))

    assert page.status_code == 200
    secrets = SECRET.findall(page.content.decode())
    assert len(secrets) == 1
    subscription = Subscription.objects.get()
    assert (subscription.owner, subscription.grid) == (staff, world.A1)
    assert subscription.event_types == ["ticket.opened", "ticket.resolved"]
    assert pii.decrypt(subscription.secret_encrypted) == secrets[0]
    # the change page does not show it again
    change = client.get(f"{SUBSCRIPTIONS}{subscription.pk}/change/").content.decode()
    assert secrets[0] not in change
    assert subscription.secret_hint in change


def test_the_add_form_shows_the_services_refusals(client, world, staff, receiver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client.force_login(staff)

    page = client.post(
        f"{SUBSCRIPTIONS}add/",
        form(world, receiver, url="http://192.168.1.20/hooks", event_types=[]),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert errors["url"] == [
        "This address is on a private network; events are sent to public addresses only."
    ]
    assert "event_types" in errors
    assert not Subscription.objects.exists()
    # a grid outside the scope is not even offered
    refused = client.post(f"{SUBSCRIPTIONS}add/", form(world, receiver, grid=world.B.pk))
    assert "grid" in refused.context["adminform"].form.errors


def test_lists_are_scoped_and_only_the_owner_changes(
    client, world, staff, leader, outsider, subscribe
):
    mine, _ = subscribe(staff, world.A1)

    client.force_login(leader)  # dan reads the county: he sees it, but it is not his
    assert shown(client.get(SUBSCRIPTIONS)) == {mine.pk}
    page = client.get(f"{SUBSCRIPTIONS}{mine.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    refused = client.post(f"{SUBSCRIPTIONS}{mine.pk}/change/", {"name": "改了"})
    assert refused.status_code == 403
    assert client.post(f"{SUBSCRIPTIONS}{mine.pk}/delete/", {"post": "yes"}).status_code == 403

    client.force_login(outsider)  # charlie works on B: nothing of A
    assert shown(client.get(SUBSCRIPTIONS)) == set()
    assert client.get(f"{SUBSCRIPTIONS}{mine.pk}/change/").status_code == 302

    client.force_login(staff)
    changed = client.post(
        f"{SUBSCRIPTIONS}{mine.pk}/change/",
        {
            "name": "改名",
            "grid": world.A1.pk,
            "url": mine.url,
            "event_types": ["ticket.rated"],
        },
    )
    assert changed.status_code == 302
    mine.refresh_from_db()
    assert (mine.name, mine.event_types, mine.is_active) == ("改名", ["ticket.rated"], False)


def test_rotate_action_shows_the_new_secret(client, world, staff, subscribe):
    mine, old = subscribe(staff, world.A1)
    client.force_login(staff)

    page = client.post(SUBSCRIPTIONS, {"action": "rotate_secret", "_selected_action": [mine.pk]})

    assert page.status_code == 200
    (new,) = SECRET.findall(page.content.decode())
    assert new != old
    mine.refresh_from_db()
    assert pii.decrypt(mine.secret_encrypted) == new


def test_deliveries_are_read_only_with_their_attempts_and_replayable_by_the_owner(
    client,
    world,
    staff,
    leader,
    outsider,
    subscribe,
    receiver,
    report,
    django_capture_on_commit_callbacks,
):
    subscribe(staff, world.A1)
    receiver.answer(500)
    report()
    delivery = Delivery.objects.get()

    client.force_login(staff)
    assert {d.pk for d in client.get(DELIVERIES).context["cl"].result_list} == {delivery.pk}
    page = client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    (attempts,) = page.context["inline_admin_formsets"]
    assert [(f.original.number, f.original.status_code) for f in attempts] == [(1, 500)]
    assert str(delivery.event_id) in page.content.decode()

    # dan sees it but it is not his to replay; charlie does not see it
    client.force_login(outsider)
    assert client.get(DELIVERIES).context["cl"].result_list.count() == 0
    client.force_login(leader)
    refused = client.post(
        DELIVERIES,
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert any("owner" in str(m) for m in get_messages(refused.wsgi_request))
    assert len(receiver.hits) == 1

    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(DELIVERIES, {"action": "replay", "_selected_action": [delivery.pk]})
    assert len(receiver.hits) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.replays) == ("delivered", 1)
