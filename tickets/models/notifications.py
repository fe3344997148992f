"""Who is told what: the in-app inbox (``Notification``) and the rungs of the escalation
ladder (``Escalation``).

Both are written after the fact by background jobs and both are guarded by unique
constraints, because those jobs may run twice (late acknowledgement, two beats during a
deploy, a sweep retried after a worker was lost): a second run must find the row and do
nothing. The rules (which event tells whom, when a deadline climbs a level) live in
``tickets.notifications`` and ``tickets.escalation``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models.core import Ticket, TicketEvent, Whistle


class NotificationKind(models.TextChoices):
    """Why the recipient is told (the same event tells different people different things)."""

    TO_DISPATCH = "to_dispatch", _("Waiting for dispatch")
    ASSIGNED = "assigned", _("Given to you")
    WHISTLED = "whistled", _("Whistled to your department")
    DEPARTMENT = "department", _("A department answered")
    PROGRESS = "progress", _("Your report was taken on")
    RESOLVED = "resolved", _("Your report was resolved")
    RATED = "rated", _("Your work was rated")
    REOPENED = "reopened", _("Reopened")
    REJECTED = "rejected", _("Your report was rejected")
    DUPLICATE = "duplicate", _("Your report is a duplicate")
    ESCALATED = "escalated", _("Overdue, escalated to you")


class Notification(models.Model):
    """One line of a person's inbox: an event of a ticket that concerns them.

    Exactly one per event and recipient (a unique constraint; the producing task inserts
    with ``ignore_conflicts``), and at most one email each: the sender claims
    ``emailed_at`` with a conditional update before it sends.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="notifications"
    )
    event = models.ForeignKey(
        TicketEvent,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # the inbox, newest first
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            # the unread count in every page header: only unread rows are indexed
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], name="notification_once_per_event_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} · {self.text[:40]}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EscalationDeadline(models.TextChoices):
    """Which deadline was missed."""

    RESPOND = "respond", _("Response")
    RESOLVE = "resolve", _("Resolution")
    REPORT_IN = "report_in", _("Department report-in")


class EscalationLevel(models.TextChoices):
    """The ladder, bottom to top (the order of the choices is the order of escalation)."""

    GRID = "grid", _("Grid leader")
    COMMUNITY = "community", _("Community")
    TOWNSHIP = "township", _("Township")
    COUNTY = "county", _("County")


class Escalation(models.Model):
    """One rung climbed: a missed deadline of a ticket escalated to one level, once.

    The ticket's timeline holds the same fact as an ``escalated`` event (``event``); this
    row is the database's guard that it happens once per ticket, deadline and level (and
    per whistle for a department that did not report in), however many sweeps run at the
    same moment, and the index the sweep uses to skip tickets that already reached the top.
    ``due_at`` is the deadline as it stood: a reopened or re-routed ticket has fresh
    deadlines and climbs the ladder afresh. ``next_at`` on the highest rung says when the
    next one is due, so the sweep finds the tickets with a rung to climb in one indexed
    query instead of re-examining every overdue ticket every minute.
    """

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="escalations"
    )
    whistle = models.ForeignKey(
        Whistle,
        verbose_name=_("whistle"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="escalations",
    )
    deadline = models.CharField(_("deadline"), max_length=16, choices=EscalationDeadline.choices)
    due_at = models.DateTimeField(_("due at"))
    level = models.CharField(_("level"), max_length=16, choices=EscalationLevel.choices)
    event = models.OneToOneField(
        TicketEvent,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        related_name="escalation",
    )
    next_at = models.DateTimeField(
        _("next level at"),
        null=True,
        blank=True,
        help_text=_("When the next level is due if nothing moves; empty at the top."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "deadline", "due_at", "level"],
                condition=Q(whistle__isnull=True),
                name="escalation_once_per_ticket_level",
            ),
            models.UniqueConstraint(
                fields=["whistle", "level"],
                condition=Q(whistle__isnull=False),
                name="escalation_once_per_whistle_level",
            ),
            models.CheckConstraint(
                condition=Q(deadline=EscalationDeadline.REPORT_IN, whistle__isnull=False)
                | (~Q(deadline=EscalationDeadline.REPORT_IN) & Q(whistle__isnull=True)),
                name="escalation_whistle_iff_report_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.deadline} → {self.level}"
