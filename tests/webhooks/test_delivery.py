"""Deliveries end to end, against a real HTTP receiver: what is sent (payload, headers,
signature checked with the README's recipe), to whom (types, subtree), the outbox (one
transaction with the ticket; a lost task caught up), retries on the database's clock,
at most one successful delivery, and replays."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import ipaddress
import itertools
import json
import ssl
import time

import pytest
import time_machine
from cryptography import x509
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from governance.errors import Conflict
from grids import services as grids
from grids.models import AssignmentRole, GridAssignment
from tests.grids.factories import assign, superuser
from tests.tickets.factories import open_ticket
from tests.webhooks.receiver import HANG, Receiver
from tickets import escalation
from tickets import services as tickets
from tickets.models import TicketEvent
from webhooks import outbox, services
from webhooks.models import (
    Attempt,
    Delivery,
    DeliveryStatus,
    EventType,
    Subscription,
    WebhookEvent,
)
from webhooks.tasks import deliver_task, deliveries_catch_up_task

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)

# --- the README's verification recipe, literally -----------------------------------------------

TOLERANCE = 300  # seconds


def verify(secret: str, headers, body: bytes, now: float | None = None) -> bool:
    """True when the request was signed with ``secret`` within the last five minutes."""
    timestamp = headers.get("X-Governance-Timestamp", "")
    signature = headers.get("X-Governance-Signature", "")
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


# -----------------------------------------------------------------------------------------------


def sweep() -> int:
    """The beat job, as beat runs it (tasks are eager in the tests)."""
    return deliveries_catch_up_task.delay().get()


def test_a_resolved_ticket_is_posted_signed_and_verifiable(
    world, ivy, subscribe, receiver, report, resolve, frank
):
    # given an integrator subscribed to resolutions on community A
    subscription, secret = subscribe(ivy, world.A, EventType.TICKET_RESOLVED)
    ticket = report(external_number="12345-0001")

    # when the ticket is resolved
    resolve(ticket)

    # then one signed POST arrived, and only for the resolution
    assert len(receiver.hits) == 1
    hit = receiver.hits[0]
    assert hit.path == "/hooks/tickets?source=governance"
    assert verify(secret, hit.headers, hit.body, now=hit.received_at)
    assert hit.headers["Content-Type"] == "application/json; charset=utf-8"
    assert hit.headers["X-Governance-Event-Type"] == "ticket.resolved"
    body = json.loads(hit.body)
    event = WebhookEvent.objects.get()
    assert body["id"] == hit.headers["X-Governance-Event-Id"] == str(event.id)
    assert body["type"] == "ticket.resolved"
    assert body["created_at"] == timezone.localtime(event.ticket_event.created_at).isoformat()
    assert body["ticket"] | {"created_at": None, "respond_by": None, "resolve_by": None} == {
        "id": ticket.pk,
        "number": ticket.number,
        "status": "resolved",
        "channel": "api",
        "grid": {"id": world.A1a.pk, "code": world.A1a.code, "name": world.A1a.name},
        "category": {"code": "hazard", "name": "安全隐患"},
        "external_number": "12345-0001",
        "title": "路灯不亮",
        "created_at": None,
        "respond_by": None,
        "resolve_by": None,
        "responded_at": timezone.localtime(ticket.responded_at).isoformat(),
        "resolved_at": timezone.localtime(ticket.resolved_at).isoformat(),
        "closed_at": None,
        "rating": "",
    }
    assert body["ticket"]["resolve_by"] == timezone.localtime(ticket.resolve_by).isoformat()
    assert body["event"] == {
        "kind": "resolved",
        "from_status": "accepted",
        "to_status": "resolved",
        "note": "已修好路灯",
        "by_system": False,
        "details": {},
    }
    # nothing personal: not the reporter's name, phone or account, nor the handler's
    text = hit.body.decode()
    for personal in (frank.full_name, frank.phone, frank.username, "bob", "reporter"):
        assert personal not in text
    # and the delivery is done, with its attempt recorded
    delivery = Delivery.objects.get()
    assert (delivery.subscription, delivery.status) == (subscription, DeliveryStatus.DELIVERED)
    assert delivery.next_attempt_at is None
    assert list(delivery.attempts.values_list("number", "status_code", "succeeded")) == [
        (1, 200, True)
    ]


def test_the_recipe_refuses_a_wrong_secret_a_changed_body_and_an_old_request(
    world, ivy, subscribe, receiver, report
):
    _subscription, secret = subscribe(ivy, world.A)
    report()
    hit = receiver.hits[0]

    assert verify(secret, hit.headers, hit.body, now=hit.received_at)
    assert not verify(secret + "x", hit.headers, hit.body, now=hit.received_at)
    assert not verify(secret, hit.headers, hit.body.replace(b"api", b"app"), now=hit.received_at)
    assert not verify(secret, hit.headers, hit.body, now=hit.received_at + TOLERANCE + 1)
    assert not verify(secret, {}, hit.body, now=hit.received_at)


def test_only_the_subscribed_event_types_are_sent(
    world, ivy, worker, subscribe, receiver, report, after_commit
):
    opened, _ = subscribe(ivy, world.A, EventType.TICKET_OPENED)
    dispatched, _ = subscribe(ivy, world.A, EventType.TICKET_DISPATCHED)
    ticket = report()
    with after_commit():  # published on the claim board: no webhook type for that
        tickets.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)
    with after_commit():
        tickets.ticket_dispatch(actor=superuser(), ticket=ticket, assignee=worker)

    sent = Delivery.objects.order_by("pk").values_list("subscription", "event__type")
    assert list(sent) == [(opened.pk, "ticket.opened"), (dispatched.pk, "ticket.dispatched")]
    assert [json.loads(h.body)["type"] for h in receiver.hits] == [
        "ticket.opened",
        "ticket.dispatched",
    ]
    assert json.loads(receiver.hits[1].body)["event"]["details"] == {"automatic": False}


def test_a_subscription_covers_its_grid_and_the_grids_below_it(
    world, ivy, olga, leader, subscribe, receiver, report
):
    on_a1, _ = subscribe(ivy, world.A1)
    on_b, _ = subscribe(olga, world.B)
    on_county, _ = subscribe(leader, world.C)

    in_a1a, in_a2, in_b1 = report(world.A1a), report(world.A2), report(world.B1)

    def receivers_of(ticket):
        return set(
            Delivery.objects.filter(event__ticket_event__ticket=ticket).values_list(
                "subscription", flat=True
            )
        )

    assert receivers_of(in_a1a) == {on_a1.pk, on_county.pk}
    assert receivers_of(in_a2) == {on_county.pk}
    assert receivers_of(in_b1) == {on_b.pk, on_county.pk}
    assert len(receiver.hits) == 5
    # one event row per ticket event, whatever the number of subscriptions
    assert WebhookEvent.objects.count() == 3


def test_the_deliveries_commit_or_roll_back_with_the_ticket(
    world, ivy, hazard, frank, subscribe, receiver, django_capture_on_commit_callbacks
):
    subscribe(ivy, world.A)

    @transaction.atomic
    def open_then_fail() -> None:
        open_ticket(category=hazard, grid=world.A1, reporter=frank, title="井盖丢失")
        raise RuntimeError("the request failed after the ticket was written")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        open_then_fail()

    assert not WebhookEvent.objects.exists()
    assert not Delivery.objects.exists()
    assert receiver.hits == []


def test_a_lost_task_is_sent_by_the_catch_up_once(
    world, ivy, hazard, frank, subscribe, receiver, django_capture_on_commit_callbacks
):
    # given an event whose delivery task was never queued (the broker was down)
    _subscription, secret = subscribe(ivy, world.A)
    with django_capture_on_commit_callbacks(execute=False):
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
    delivery = Delivery.objects.get()
    assert (delivery.status, receiver.hits) == (DeliveryStatus.PENDING, [])

    # when the beat job runs, twice
    assert sweep() == 1
    assert sweep() == 0

    # then it was sent once, signed
    assert len(receiver.hits) == 1
    assert verify(secret, receiver.hits[0].headers, receiver.hits[0].body)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_failing_receiver_is_retried_with_growing_delays(world, ivy, subscribe, receiver, report):
    subscribe(ivy, world.A)
    receiver.answer(500, HANG, 500)  # then 200

    with time_machine.travel(T0, tick=False) as clock:
        report()  # attempt 1 at T0: 500
        delivery = Delivery.objects.get()
        assert delivery.next_attempt_at == T0 + MINUTE

        clock.move_to(T0 + MINUTE - datetime.timedelta(seconds=1))
        assert sweep() == 0  # not yet due
        clock.move_to(T0 + MINUTE)
        assert sweep() == 1  # attempt 2: the receiver answers too late
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + 3 * MINUTE

        clock.move_to(T0 + 2 * MINUTE)
        assert sweep() == 0
        clock.move_to(T0 + 3 * MINUTE)
        assert sweep() == 1  # attempt 3: 500
        delivery.refresh_from_db()
        assert delivery.next_attempt_at == T0 + 7 * MINUTE

        clock.move_to(T0 + 7 * MINUTE)
        assert sweep() == 1  # attempt 4: 200
        clock.move_to(T0 + datetime.timedelta(days=2))
        assert sweep() == 0

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempt_count, delivery.next_attempt_at) == (3, None)
    attempts = list(Attempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.started_at - T0) / MINUTE for a in attempts] == [0, 1, 3, 7]
    assert [a.status_code for a in attempts] == [500, None, 500, 200]
    assert [a.succeeded for a in attempts] == [False, False, False, True]
    assert attempts[1].error == "timed out after 0.5 s"
    assert attempts[0].response_excerpt == "not today"
    assert len(receiver.hits) == 4
    # every attempt carried the same event id and body, each signed at its own time
    assert len({h.body for h in receiver.hits}) == 1
    assert len({h.headers["X-Governance-Event-Id"] for h in receiver.hits}) == 1
    assert [int(h.headers["X-Governance-Timestamp"]) for h in receiver.hits] == [
        int((T0 + m * MINUTE).timestamp()) for m in (0, 1, 3, 7)
    ]


def test_after_the_last_attempt_the_delivery_is_failed(world, ivy, subscribe, receiver, report):
    subscribe(ivy, world.A)
    receiver.default = 503

    with time_machine.travel(T0, tick=False) as clock:
        report()
        for _ in range(outbox.MAX_ATTEMPTS - 1):
            clock.move_to(Delivery.objects.get().next_attempt_at)
            assert sweep() == 1
        clock.move_to(T0 + datetime.timedelta(days=3))
        assert sweep() == 0

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
    assert delivery.last_status_code == 503
    starts = list(delivery.attempts.order_by("number").values_list("started_at", flat=True))
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert [gap / MINUTE for gap in gaps] == [1, 2, 4, 8, 16, 32, 64, 128, 240, 240, 240, 240, 240]
    assert starts[-1] - starts[0] == datetime.timedelta(hours=24, minutes=15)
    assert len(receiver.hits) == outbox.MAX_ATTEMPTS == 14


def test_a_delivery_answered_200_is_never_sent_again(world, ivy, subscribe, receiver, report):
    subscribe(ivy, world.A)
    with time_machine.travel(T0, tick=False) as clock:
        report()
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.DELIVERED

        # a duplicate task message, the sweep, later sweeps: nothing goes out again
        assert deliver_task.delay(delivery.pk).get() is None
        assert outbox.delivery_send(delivery_id=delivery.pk) is None
        for later in (MINUTE, datetime.timedelta(hours=5), datetime.timedelta(days=2)):
            clock.move_to(T0 + later)
            assert sweep() == 0
            assert deliver_task.delay(delivery.pk).get() is None

    assert len(receiver.hits) == 1
    assert Attempt.objects.count() == 1


def test_a_redirect_is_a_failure_and_is_not_followed(world, ivy, subscribe, receiver, report):
    subscribe(ivy, world.A)
    receiver.answer(302)

    with time_machine.travel(T0, tick=False):
        report()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.PENDING, 302)
    assert delivery.next_attempt_at == T0 + MINUTE
    assert len(receiver.hits) == 1  # the Location was not visited


def test_an_endpoint_on_a_private_address_is_refused_when_sending(
    world, ivy, subscribe, receiver, report, settings
):
    # given a subscription made while private targets were allowed (a development box)
    subscribe(ivy, world.A, url=receiver.url.replace("127.0.0.1", "localhost"))
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    with time_machine.travel(T0, tick=False):
        report()

    # then nothing left the server, and the attempt says why
    assert receiver.hits == []
    attempt = Attempt.objects.get()
    assert attempt.status_code is None
    assert "non-public address" in attempt.error
    assert Delivery.objects.get().next_attempt_at == T0 + MINUTE


def test_a_deactivated_subscription_sends_nothing_more(
    world, ivy, hazard, frank, subscribe, receiver, django_capture_on_commit_callbacks
):
    subscription, _ = subscribe(ivy, world.A)
    with django_capture_on_commit_callbacks(execute=False):
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
    services.subscription_update(actor=ivy, subscription=subscription, is_active=False)

    assert sweep() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert delivery.last_error == "the subscription is inactive"
    assert receiver.hits == []
    # and new events write no delivery at all
    with django_capture_on_commit_callbacks(execute=True):
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
    assert Delivery.objects.count() == 1


def test_an_owner_who_lost_the_grid_is_sent_nothing(
    world, ivy, hazard, frank, subscribe, receiver, django_capture_on_commit_callbacks
):
    subscribe(ivy, world.A)
    with django_capture_on_commit_callbacks(execute=False):
        open_ticket(category=hazard, grid=world.A1, reporter=frank)
    for assignment in GridAssignment.objects.filter(user=ivy):
        grids.assignment_delete(actor=superuser(), assignment=assignment)

    assert sweep() == 1

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.CANCELLED
    assert "no longer sees" in delivery.last_error
    assert receiver.hits == []


def test_replay_sends_the_same_event_again_as_a_new_chain(
    world, ivy, subscribe, receiver, report, after_commit
):
    _subscription, secret = subscribe(ivy, world.A)
    with time_machine.travel(T0, tick=False) as clock:
        report()
        delivery = Delivery.objects.get()

        # when the integrator replays it an hour later, while their endpoint is down
        clock.move_to(T0 + datetime.timedelta(hours=1))
        receiver.answer(500)
        with after_commit():
            services.delivery_replay(actor=ivy, delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.replays, delivery.attempt_count) == ("pending", 1, 1)

        # then the new chain retries on its own schedule, and succeeds
        clock.move_to(T0 + datetime.timedelta(hours=1) + MINUTE)
        assert sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert list(delivery.attempts.values_list("number", "replay", "status_code")) == [
        (1, 0, 200),
        (2, 1, 500),
        (3, 1, 200),
    ]
    first, replayed = receiver.hits[0], receiver.hits[2]
    assert replayed.body == first.body
    assert replayed.headers["X-Governance-Event-Id"] == first.headers["X-Governance-Event-Id"]
    assert (
        int(replayed.headers["X-Governance-Timestamp"])
        - int(first.headers["X-Governance-Timestamp"])
        == 3660
    )
    assert verify(secret, replayed.headers, replayed.body, now=replayed.received_at)


def test_replay_is_refused_to_others_while_sending_and_when_inactive(
    world, ivy, olga, subscribe, report
):
    subscription, _ = subscribe(ivy, world.A)
    report()
    delivery = Delivery.objects.get()

    with pytest.raises(PermissionDenied):
        services.delivery_replay(actor=olga, delivery=delivery)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + datetime.timedelta(minutes=1)
    )
    with pytest.raises(Conflict) as busy:
        services.delivery_replay(actor=ivy, delivery=delivery)
    assert busy.value.code == "being_sent"
    Delivery.objects.filter(pk=delivery.pk).update(claimed_until=None)
    services.subscription_update(actor=ivy, subscription=subscription, is_active=False)
    with pytest.raises(Conflict) as inactive:
        services.delivery_replay(actor=ivy, delivery=delivery)
    assert inactive.value.code == "inactive_subscription"
    assert Delivery.objects.get().replays == 0


def test_event_details_name_departments_and_ratings_but_no_person(
    world, ivy, frank, make_user, subscribe, receiver, report, resolve, after_commit
):
    erin = make_user("erin")
    assign(erin, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    subscribe(
        ivy,
        world.A,
        EventType.TICKET_WHISTLED,
        EventType.TICKET_REPORTED_IN,
        EventType.TICKET_RATED,
    )
    whistled = report()
    with after_commit():
        tickets.ticket_dispatch(actor=superuser(), ticket=whistled, departments=[world.D1])
    with after_commit():
        tickets.whistle_report_in(actor=erin, whistle=whistled.whistles.get(), note="收到")
    rated = resolve(report())
    with after_commit():
        tickets.ticket_rate(
            actor=frank, ticket=rated, rating="satisfied", comment="谢谢，我家电话13912345678"
        )

    bodies = [json.loads(h.body) for h in receiver.hits]
    assert [b["type"] for b in bodies] == ["ticket.whistled", "ticket.reported_in", "ticket.rated"]
    d1 = {"code": world.D1.code, "name": world.D1.name}
    assert bodies[0]["event"]["details"] == {"departments": [d1]}
    assert bodies[1]["event"]["details"] == {"department": d1, "late": False}
    assert bodies[1]["event"]["note"] == "收到"
    assert bodies[2]["event"]["details"] == {"rating": "satisfied"}
    assert bodies[2]["event"]["note"] == ""  # the reporter's own words stay here
    assert bodies[2]["ticket"]["status"] == "closed"
    assert "13912345678" not in receiver.hits[2].body.decode()


def test_other_timeline_events_write_nothing(world, ivy, subscribe, report):
    subscribe(ivy, world.A, *EventType.values)
    ticket = report()
    tickets.ticket_send_to_deliberation(actor=superuser(), ticket=ticket)

    kinds = set(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == {"opened", "sent_to_deliberation"}
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["ticket.opened"]


def test_an_escalation_is_sent_as_the_systems_move(
    world, ivy, subscribe, receiver, report, after_commit
):
    subscribe(ivy, world.A, EventType.TICKET_ESCALATED)
    with time_machine.travel(T0, tick=False) as clock:
        report()  # nobody responds within the hour
        clock.move_to(T0 + datetime.timedelta(hours=1, minutes=1))
        with after_commit():
            climbed = escalation.escalation_sweep()  # vacant rungs are climbed at once

    assert climbed >= 1
    assert len(receiver.hits) == climbed
    hit = receiver.hits[0]
    body = json.loads(hit.body)
    assert body["type"] == "ticket.escalated"
    assert body["event"]["by_system"] is True
    details = body["event"]["details"]
    assert (details["deadline"], details["level"], details["level_number"]) == (
        "respond",
        "grid",
        1,
    )
    assert details["missed"] == (T0 + datetime.timedelta(hours=1)).isoformat()
    assert "recipients" not in hit.body.decode()  # who was told stays here


def test_a_sweep_of_many_tickets_writes_each_subscription_its_own_grids(
    world, ivy, subscribe, report
):
    root = superuser()
    on_a, _secret = subscribe(ivy, world.A, EventType.TICKET_ESCALATED)
    on_b, _secret = subscribe(root, world.B, EventType.TICKET_ESCALATED)
    opened_only, _secret = subscribe(ivy, world.A, EventType.TICKET_OPENED)
    with time_machine.travel(T0, tick=False) as clock:
        in_a = [report(world.A1a), report(world.A2)]
        in_b = report(world.B1)
        clock.move_to(T0 + datetime.timedelta(hours=1, minutes=1))
        escalation.escalation_sweep()

    escalated = WebhookEvent.objects.filter(type="ticket.escalated")
    by_ticket = {e.ticket_event.ticket_id for e in escalated.filter(deliveries__subscription=on_a)}
    assert by_ticket == {t.pk for t in in_a}
    assert {e.ticket_event.ticket_id for e in escalated.filter(deliveries__subscription=on_b)} == {
        in_b.pk
    }
    assert not escalated.filter(deliveries__subscription=opened_only).exists()


def test_tls_certificates_are_verified(world, ivy, subscribe, report, tmp_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed_certificate(tmp_path))
    endpoint = Receiver(tls=context).start()
    try:
        subscribe(ivy, world.A, url=endpoint.url)
        report()
    finally:
        endpoint.stop()

    attempt = Attempt.objects.get()
    assert endpoint.url.startswith("https://")
    assert attempt.status_code is None
    assert "CERTIFICATE_VERIFY_FAILED" in attempt.error
    assert endpoint.hits == []  # nothing was sent over an unverified connection


def self_signed_certificate(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no authority signed (files: cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_a_secret_that_cannot_be_decrypted_is_a_failed_attempt(
    world, ivy, subscribe, receiver, report, settings
):
    subscribe(ivy, world.A)
    settings.PII_KEYS = [Fernet.generate_key().decode()]  # the sealing key was dropped

    with time_machine.travel(T0, tick=False):
        report()

    assert receiver.hits == []  # nothing goes out unsigned
    attempt = Attempt.objects.get()
    assert "cannot be decrypted" in attempt.error
    assert Delivery.objects.get().next_attempt_at == T0 + MINUTE


def test_a_fault_in_the_outbox_never_undoes_the_tickets_change(
    world, ivy, subscribe, receiver, report, caplog
):
    broken, _ = subscribe(ivy, world.A)
    Subscription.objects.filter(pk=broken.pk).update(event_types=7)  # a damaged row

    ticket = report()

    assert TicketEvent.objects.filter(ticket=ticket, kind="opened").exists()
    assert not WebhookEvent.objects.exists()
    assert receiver.hits == []
    assert "could not write the webhooks of ticket event" in caplog.text


def test_a_12345_order_sent_back_is_a_returned_event(
    world, ivy, hazard, subscribe, receiver, after_commit
):
    subscribe(ivy, world.A, EventType.TICKET_RETURNED)
    with after_commit():
        order = open_ticket(
            category=hazard,
            grid=world.A1,
            channel="hotline",
            external_number="12345-0099",
            reporter_name="王女士",
        )
    with after_commit():
        tickets.ticket_return(actor=superuser(), ticket=order, reason="不属于本辖区")

    (hit,) = receiver.hits
    body = json.loads(hit.body)
    assert body["type"] == "ticket.returned"
    assert body["ticket"]["status"] == "returned"
    assert body["ticket"]["external_number"] == "12345-0099"
    assert body["event"]["note"] == "不属于本辖区"
    assert "王女士" not in hit.body.decode()
    assert "13800138000" not in hit.body.decode()
