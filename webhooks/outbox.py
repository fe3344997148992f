"""The webhooks' outbox: written with the ticket event, sent after the commit, retried by
the database's clock.

1. ``deliveries_create`` runs inside the transaction that appends a ticket event
   (``tickets.signals.event_recorded``): for each active subscription whose subtree holds
   the ticket's grid and whose types include the event's, one ``Delivery`` row, due now.
   It commits or rolls back with the ticket's change; after the commit each delivery's
   task is queued (``governance.queueing.enqueue_on_commit``, which never fails the
   request).
2. ``delivery_send`` makes one attempt. It first *claims* the delivery with a conditional
   UPDATE (pending, due, and no live lease) that sets a lease (``claimed_until``) and a
   token: of two workers, or the task and the sweep, exactly one gets the row. It sends
   outside any transaction, then records the attempt under the row lock: a 2xx makes the
   delivery ``delivered`` (no retry ever sends it again); anything else schedules the next
   attempt by ``RETRY_DELAYS`` or, after the last, makes it ``failed``.
3. ``deliveries_catch_up`` (every minute from beat) queues the deliveries that are due:
   retries whose time has come, first attempts whose task was lost while the broker was
   down, and attempts whose worker died (their lease expired). Retries are scheduled
   only here, from ``next_attempt_at`` in the database, never as Celery countdowns: a
   countdown of hours would outlive the broker's visibility timeout and a broker restart.

At least once, not exactly once: a worker that dies after the receiver answered but
before the attempt was recorded leaves the lease to expire (``CLAIM_LEASE``), and the
delivery is sent again. Receivers deduplicate by the event id.
"""

from __future__ import annotations

import datetime
import logging
import uuid

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from governance.queueing import enqueue_on_commit
from grids import scoping
from tickets.models import TicketEvent
from webhooks import payloads, signing, transport
from webhooks.models import (
    EVENT_TYPE_OF_KIND,
    Attempt,
    Delivery,
    DeliveryStatus,
    Subscription,
    WebhookEvent,
)

logger = logging.getLogger(__name__)

# Minutes to wait after each failed attempt: 1, 2, 4, … doubling, capped at 4 hours. The
# 14th attempt comes 24 h 15 min after the first; when it fails the delivery is failed.
RETRY_DELAYS = tuple(
    datetime.timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 64, 128, 240, 240, 240, 240, 240)
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# How long a claim holds: well above the task's hard time limit (60 s), so a lease never
# runs out under an attempt still in progress.
CLAIM_LEASE = datetime.timedelta(minutes=5)
CATCH_UP_BATCH = 500
# A queued message older than this is dropped by the worker: the next sweep queues the
# delivery again if it is still due, so a slow queue does not pile up copies.
QUEUED_MESSAGE_EXPIRES = 120


def retry_delay(failed_attempts: int) -> datetime.timedelta | None:
    """The wait after the ``failed_attempts``-th failure of a chain; ``None``: give up."""
    if failed_attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[failed_attempts - 1]


# --- 1. writing the outbox (inside the ticket's transaction) -----------------------------------


def _subscriptions_above(grid) -> list[Subscription]:
    """Active subscriptions of active owners whose subtree holds ``grid`` (the grid or any
    grid above it), of every type. One query."""
    return list(
        Subscription.objects.filter(
            is_active=True,
            owner__is_active=True,
            grid__tree_id=grid.tree_id,
            grid__lft__lte=grid.lft,
            grid__rght__gte=grid.rght,
        ).order_by("pk")
    )


def matching_subscriptions(event: TicketEvent, event_type: str) -> list[Subscription]:
    """The subscriptions above the ticket's grid that want this type. One query."""
    return [s for s in _subscriptions_above(event.ticket.grid) if event_type in s.event_types]


def deliveries_create(*, event: TicketEvent) -> list[Delivery]:
    """The outbox rows of one ticket event; nothing when no subscription wants it.

    Runs in the caller's transaction; the writes in a savepoint, taken only when some
    subscription wants the event. A fault here is logged and loses this event's webhooks,
    but never undoes the ticket's change, which matters more."""
    event_type = EVENT_TYPE_OF_KIND.get(event.kind)
    if event_type is None:
        return []
    try:
        subscriptions = matching_subscriptions(event, event_type)
    except Exception:
        logger.exception("could not write the webhooks of ticket event %s", event.pk)
        return []
    return _write_deliveries(event, event_type, subscriptions)


def deliveries_create_many(*, events: list[TicketEvent]) -> list[Delivery]:
    """``deliveries_create`` for events appended together (the escalation sweep's): the
    active subscriptions of the events' trees are read in one query and matched to each
    event's grid here, instead of a query per event."""
    typed = [(event, EVENT_TYPE_OF_KIND.get(event.kind)) for event in events]
    typed = [(event, event_type) for event, event_type in typed if event_type is not None]
    if not typed:
        return []
    try:
        trees = {event.ticket.grid.tree_id for event, _type in typed}
        active = list(
            Subscription.objects.filter(
                is_active=True, owner__is_active=True, grid__tree_id__in=trees
            )
            .select_related("grid")
            .order_by("pk")
        )
    except Exception:
        logger.exception("could not write the webhooks of %d ticket events", len(typed))
        return []
    written: list[Delivery] = []
    for event, event_type in typed:
        grid = event.ticket.grid
        wanting = [
            s
            for s in active
            if s.grid.tree_id == grid.tree_id
            and s.grid.lft <= grid.lft
            and s.grid.rght >= grid.rght
            and event_type in s.event_types
        ]
        written += _write_deliveries(event, event_type, wanting)
    return written


def _write_deliveries(
    event: TicketEvent, event_type: str, subscriptions: list[Subscription]
) -> list[Delivery]:
    from webhooks.tasks import deliver_task  # the tasks module imports this one

    if not subscriptions:
        return []
    try:
        with transaction.atomic():
            webhook_event = WebhookEvent(
                ticket_event=event, type=event_type, grid=event.ticket.grid
            )
            webhook_event.payload = payloads.build_payload(
                event_id=str(webhook_event.id), event_type=event_type, event=event
            )
            webhook_event.created_at = event.created_at
            webhook_event.save()
            now = timezone.now()
            deliveries = Delivery.objects.bulk_create(
                Delivery(
                    subscription=subscription,
                    event=webhook_event,
                    next_attempt_at=now,
                    created_at=now,
                )
                for subscription in subscriptions
            )
    except Exception:
        logger.exception("could not write the webhooks of ticket event %s", event.pk)
        return []
    for delivery in deliveries:
        enqueue_on_commit(deliver_task, delivery.pk)
    return deliveries


def _queue(task, delivery_id: int, **options) -> None:
    """Queue one attempt from the sweep; a broker that is down is logged, the next sweep
    tries again."""
    try:
        task.apply_async((delivery_id,), **options)
    except Exception:
        logger.exception("could not queue delivery %s; the sweep will catch up", delivery_id)


# --- 2. one attempt -----------------------------------------------------------------------------


def _claim(delivery_id: int, now: datetime.datetime) -> uuid.UUID | None:
    """Take the delivery for one attempt, or ``None`` when it is not ours to send (done,
    not due, or under someone else's live lease). The UPDATE's condition is the lock: on
    PostgreSQL a second UPDATE waits for the first and then finds the lease taken."""
    token = uuid.uuid4()
    claimed = (
        Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=now + CLAIM_LEASE, claim_token=token)
    )
    return token if claimed else None


def _why_not_send(delivery: Delivery) -> str:
    """Why a claimed delivery must not go out any more (empty: it may). Checked at send
    time, because a subscription or its owner may have changed since the event."""
    subscription = delivery.subscription
    if not subscription.is_active:
        return "the subscription is inactive"
    owner = subscription.owner
    if not owner.is_active:
        return "the subscription's owner is inactive"
    if not scoping.can_view(owner, delivery.event.grid):
        return "the subscription's owner no longer sees this ticket's grid"
    return ""


@transaction.atomic
def _cancel(delivery_id: int, token: uuid.UUID, reason: str) -> None:
    Delivery.objects.filter(pk=delivery_id, claim_token=token).update(
        status=DeliveryStatus.CANCELLED,
        next_attempt_at=None,
        claimed_until=None,
        claim_token=None,
        last_error=reason,
        updated_at=timezone.now(),
    )


@transaction.atomic
def _record(
    delivery_id: int, token: uuid.UUID, started_at: datetime.datetime, outcome: transport.Outcome
) -> Delivery:
    """Write the attempt and move the delivery on. A success always counts (delivered is
    final); a failure only moves a delivery still held by this attempt's claim."""
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    Attempt.objects.create(
        delivery=delivery,
        number=delivery.attempts.count() + 1,
        replay=delivery.replays,
        started_at=started_at,
        duration_ms=outcome.duration_ms,
        status_code=outcome.status_code,
        succeeded=outcome.succeeded,
        error=outcome.error,
        response_excerpt=outcome.excerpt,
    )
    ours = delivery.claim_token == token
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
    elif ours and delivery.status == DeliveryStatus.PENDING:
        delivery.attempt_count += 1
        delay = retry_delay(delivery.attempt_count)
        if delay is None:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = started_at + delay
    if ours or outcome.succeeded:
        delivery.claimed_until = delivery.claim_token = None
    delivery.save()
    return delivery


def _load(delivery_id: int) -> Delivery:
    return Delivery.objects.select_related(
        "subscription", "subscription__owner", "event", "event__grid"
    ).get(pk=delivery_id)


def delivery_send(*, delivery_id: int) -> str | None:
    """Make the delivery's next attempt if it is due and nobody else is making it.
    Returns the delivery's status afterwards, or ``None`` when there was nothing to do.
    Safe to call any number of times: only a claim sends."""
    started_at = timezone.now()
    token = _claim(delivery_id, started_at)
    if token is None:
        return None
    delivery = _load(delivery_id)
    reason = _why_not_send(delivery)
    if reason:
        _cancel(delivery_id, token, reason)
        return DeliveryStatus.CANCELLED
    outcome = _attempt(delivery, started_at)
    return _record(delivery_id, token, started_at, outcome).status


def _attempt(delivery: Delivery, started_at: datetime.datetime) -> transport.Outcome:
    """Sign the frozen body afresh and POST it. Trouble on the way is an outcome (a failed
    attempt, recorded and retried), never an exception that would leave the claim to
    expire unrecorded."""
    body = payloads.serialize(delivery.event.payload)
    try:
        secret = signing.unseal(delivery.subscription.secret_encrypted)
    except ImproperlyConfigured as exc:  # PII_KEYS rotated without the key it was sealed with
        logger.error("delivery %s: %s", delivery.pk, exc)
        return transport.Outcome(status_code=None, duration_ms=0, error=str(exc))
    headers = signing.headers(
        secret=secret,
        timestamp=int(started_at.timestamp()),
        body=body,
        event_id=str(delivery.event_id),
        event_type=delivery.event.type,
        delivery_id=delivery.pk,
    )
    try:
        return transport.post(delivery.subscription.url, body=body, headers=headers)
    except SoftTimeLimitExceeded:
        # a receiver dripping its answer: a failed attempt, like a timeout
        return transport.Outcome(
            status_code=None,
            duration_ms=int((timezone.now() - started_at).total_seconds() * 1000),
            error="the attempt exceeded the task's time limit",
        )


# --- 3. the sweep -------------------------------------------------------------------------------


def due_deliveries(now: datetime.datetime):
    return (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at", "pk")
    )


def deliveries_catch_up(
    *, now: datetime.datetime | None = None, limit: int = CATCH_UP_BATCH
) -> int:
    """Queue an attempt for every delivery that is due (oldest first, at most ``limit``);
    returns how many were queued. Queuing twice is harmless: each attempt is claimed."""
    from webhooks.tasks import deliver_task

    now = now or timezone.now()
    due = list(due_deliveries(now).values_list("pk", flat=True)[:limit])
    for delivery_id in due:
        _queue(deliver_task, delivery_id, expires=QUEUED_MESSAGE_EXPIRES)
    return len(due)
