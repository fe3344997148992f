"""Signed webhooks for integrators: subscriptions, the events sent, and the outbox of
deliveries with every attempt.

A ``Subscription`` belongs to the user who created it (its owner) and covers one grid's
subtree for some event types. When a ticket event of a matching type is recorded, the
receiver (``webhooks.outbox.deliveries_create``) writes, in the ticket's own transaction,
one ``WebhookEvent`` (the payload as it stood at that moment, with the stable id
integrators deduplicate by) and one ``Delivery`` per matching subscription. Each try to
send a delivery is an ``Attempt``. The design is in ``webhooks/README.md``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from tickets.models import EventKind, TicketEvent


class EventType(models.TextChoices):
    """What integrators subscribe to: the ticket events worth telling another system."""

    TICKET_OPENED = "ticket.opened", _("Ticket opened")
    TICKET_DISPATCHED = "ticket.dispatched", _("Ticket dispatched to a person")
    TICKET_CLAIMED = "ticket.claimed", _("Ticket claimed")
    TICKET_WHISTLED = "ticket.whistled", _("Ticket whistled to departments")
    TICKET_REPORTED_IN = "ticket.reported_in", _("Department reported in")
    TICKET_ESCALATED = "ticket.escalated", _("Ticket escalated")
    TICKET_RESOLVED = "ticket.resolved", _("Ticket resolved")
    TICKET_RATED = "ticket.rated", _("Ticket rated")
    TICKET_REOPENED = "ticket.reopened", _("Ticket reopened")
    TICKET_RETURNED = "ticket.returned", _("Ticket returned to the hotline")


# The timeline's event kinds that are sent, one type each; other kinds are not sent.
EVENT_TYPE_OF_KIND: dict[str, str] = {
    EventKind.OPENED: EventType.TICKET_OPENED,
    EventKind.DISPATCHED: EventType.TICKET_DISPATCHED,
    EventKind.CLAIMED: EventType.TICKET_CLAIMED,
    EventKind.WHISTLED: EventType.TICKET_WHISTLED,
    EventKind.REPORTED_IN: EventType.TICKET_REPORTED_IN,
    EventKind.ESCALATED: EventType.TICKET_ESCALATED,
    EventKind.RESOLVED: EventType.TICKET_RESOLVED,
    EventKind.RATED: EventType.TICKET_RATED,
    EventKind.REOPENED: EventType.TICKET_REOPENED,
    EventKind.RETURNED: EventType.TICKET_RETURNED,
}


class Subscription(models.Model):
    """An integrator's endpoint: which events of which subtree go to which address.

    The secret signs every delivery. It is stored Fernet-encrypted (``governance.pii``),
    because signing needs it whole; only its last characters are kept in clear, so people
    can tell which secret an endpoint holds.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.CASCADE,
        related_name="webhook_subscriptions",
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    # PROTECT like every foreign key to a grid: a grid with subscriptions is deactivated,
    # never deleted.
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        help_text=_("Events of tickets on this grid and every grid below it are sent."),
    )
    event_types = models.JSONField(_("event types"), default=list)
    url = models.CharField(_("target URL"), max_length=500)
    secret_encrypted = models.TextField(_("secret (encrypted)"), editable=False)
    secret_hint = models.CharField(_("secret ends with"), max_length=8, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # the receiver's question per ticket event: active subscriptions above a grid
            models.Index(fields=["grid", "is_active"], name="webhook_sub_grid_active_idx"),
            models.Index(fields=["owner", "created_at"], name="webhook_sub_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.url


class WebhookEvent(models.Model):
    """One ticket event as integrators receive it, written once whatever the number of
    subscriptions. The payload is frozen when the event happens, so a retry hours later,
    or a replay, sends exactly the same body; ``id`` is the stable event id."""

    id = models.UUIDField(_("event id"), primary_key=True, default=uuid.uuid4, editable=False)
    ticket_event = models.OneToOneField(
        TicketEvent,
        verbose_name=_("ticket event"),
        on_delete=models.PROTECT,
        related_name="webhook_event",
    )
    type = models.CharField(_("event type"), max_length=32, choices=EventType.choices)
    # The ticket's grid when the event happened: the owner must still see it to be sent it.
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Delivery(models.Model):
    """One event for one subscription: the outbox row and its retry state.

    ``next_attempt_at`` is when the next attempt is due (empty once the delivery is
    finished); ``claimed_until`` and ``claim_token`` are the lease a worker takes with a
    conditional UPDATE before sending, so two workers never send the same attempt.
    ``attempt_count`` counts the attempts of the current chain (a replay starts a new
    chain); every attempt ever made is an ``Attempt`` row.
    """

    subscription = models.ForeignKey(
        Subscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        WebhookEvent,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(_("attempts in this chain"), default=0)
    replays = models.PositiveIntegerField(_("replays"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    claimed_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhook_delivery_once_per_subscription"
            ),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.PENDING) | Q(next_attempt_at__isnull=False),
                name="webhook_pending_delivery_is_scheduled",
            ),
        ]
        indexes = [
            # the catch-up sweep: pending deliveries that are due
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status=DeliveryStatus.PENDING),
                name="webhook_delivery_due_idx",
            ),
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_sub_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.subscription}"


class Attempt(models.Model):
    """One try to send a delivery: when, how long, what the receiver answered (or what
    went wrong). ``replay`` tells which chain it belongs to (0: the original one)."""

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField(_("attempt"))
    replay = models.PositiveIntegerField(_("replay"), default=0)
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    error = models.TextField(_("error"), blank=True)
    response_excerpt = models.CharField(_("response (start)"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="webhook_attempt_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
