"""Tickets (工单): categories with their deadline policy and route, the tickets themselves,
their append-only timeline, and whistles to departments (网格吹哨、部门报到).

Every state change goes through ``tickets.services``; the models hold fields, database
invariants and small properties of the object itself. The state chart is in
``tickets/README.md`` and the allowed transitions in ``tickets/states.py``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from grids.models import Grid, GridKind

ZERO = datetime.timedelta(0)


class Route(models.TextChoices):
    """Where a category's tickets go when they are dispatched automatically."""

    WORKER = "worker", _("Grid worker of the grid")
    CLAIM_BOARD = "claim_board", _("Claim board")
    DEPARTMENT = "department", _("Department (industry grid)")
    DELIBERATION = "deliberation", _("Grid deliberation")


class Category(MPTTModel):
    """A kind of problem (安全隐患, 矛盾纠纷, …) with its deadline policy and default route.

    The policy is copied onto a ticket when it opens and when it reopens, so changing a
    category never moves the deadlines of tickets already running.
    """

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=32, unique=True)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    respond_within = models.DurationField(
        _("respond within"),
        default=datetime.timedelta(hours=4),
        help_text=_("Time from report to the first response (accept, claim or report-in)."),
    )
    resolve_within = models.DurationField(
        _("resolve within"),
        default=datetime.timedelta(days=3),
        help_text=_("Time from report to resolution."),
    )
    report_within = models.DurationField(
        _("report in within"),
        default=datetime.timedelta(hours=2),
        help_text=_("Time a whistled department has to report in (部门报到)."),
    )
    default_route = models.CharField(
        _("default route"), max_length=16, choices=Route.choices, default=Route.WORKER
    )
    department = models.ForeignKey(
        Grid,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket_categories",
        limit_choices_to={"kind": GridKind.INDUSTRY},
        help_text=_("The industry grid whistled when the route is a department."),
    )
    allows_anonymous = models.BooleanField(
        _("anonymous reports allowed"),
        default=False,
        help_text=_("Residents may report without signing in, leaving a phone number."),
    )
    auto_dispatch = models.BooleanField(
        _("dispatch automatically"),
        default=False,
        help_text=_("New tickets follow the default route at once, without a dispatcher."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class MPTTMeta:
        order_insertion_by = ["code"]

    class Meta:
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")
        constraints = [
            models.CheckConstraint(
                condition=~Q(default_route=Route.DEPARTMENT) | Q(department__isnull=False),
                name="category_department_route_has_department",
            ),
            models.CheckConstraint(
                condition=Q(respond_within__gt=ZERO)
                & Q(resolve_within__gte=F("respond_within"))
                & Q(report_within__gt=ZERO),
                name="category_policy_positive_and_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    RESIDENT_WEB = "resident_web", _("Resident web page")
    PATROL = "patrol", _("Grid worker patrol")
    UNIT_HEAD = "unit_head", _("Unit head")
    INFORMANT = "informant", _("Informant")
    HOTLINE = "hotline", _("12345 hotline")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311 (civic apps)")
    DELIBERATION = "deliberation", _("Grid deliberation")


class TicketStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    DISPATCHED = "dispatched", _("Dispatched")
    CLAIMABLE = "claimable", _("On the claim board")
    WHISTLED = "whistled", _("Whistled to departments")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    DELIBERATION = "deliberation", _("In deliberation")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Duplicate")
    REOPENED = "reopened", _("Reopened")
    # 退单: a 12345 order sent back to the hotline as not ours, with the reason.
    RETURNED = "returned", _("Returned to the hotline")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASICALLY_SATISFIED = "basically_satisfied", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")


class Ticket(models.Model):
    """One problem a resident (or a worker on patrol, or the hotline) raised, owned by
    someone until the reporter says it is solved (闭环)."""

    number = models.CharField(_("number"), max_length=24, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=TicketStatus.choices, default=TicketStatus.SUBMITTED
    )
    # PROTECT: a grid with tickets cannot be deleted, only deactivated.
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="tickets"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="tickets"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    household = models.ForeignKey(
        "residents.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        help_text=_("The household the problem concerns, when there is one (一户一档)."),
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_tickets",
    )
    reporter_name = models.CharField(_("reporter's name"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("reporter's phone"), max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("entered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="entered_tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    respond_by = models.DateTimeField(_("respond by"))
    resolve_by = models.DateTimeField(_("resolve by"))
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name=_("duplicate of"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="duplicates",
    )
    reject_reason = models.TextField(_("reason for rejection"), blank=True)
    # The number the sending system gave it (a 12345 order number, an Open311 client's id):
    # unique per channel, so the same order arriving twice is the same ticket.
    external_number = models.CharField(_("external number"), max_length=64, blank=True, default="")
    rating = models.CharField(_("rating"), max_length=24, choices=Rating.choices, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # the overdue sweep and the overdue filter: open statuses past a deadline
            models.Index(fields=["status", "respond_by"], name="ticket_status_respond_idx"),
            models.Index(fields=["status", "resolve_by"], name="ticket_status_resolve_idx"),
            # the auto-close of resolved, unrated tickets
            models.Index(fields=["status", "resolved_at"], name="ticket_status_resolved_idx"),
            # subtree lists join the grid's (tree_id, lft, rght) index, then these
            models.Index(fields=["grid", "status"], name="ticket_grid_status_idx"),
            models.Index(fields=["grid", "created_at"], name="ticket_grid_created_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(reporter__isnull=False) | ~Q(reporter_phone=""),
                name="ticket_reporter_or_phone",
            ),
            models.CheckConstraint(
                condition=~Q(status=TicketStatus.REJECTED) | ~Q(reject_reason=""),
                name="ticket_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=TicketStatus.DUPLICATE) | Q(duplicate_of__isnull=False),
                name="ticket_duplicate_has_original",
            ),
            models.CheckConstraint(
                condition=~Q(duplicate_of=F("pk")), name="ticket_not_duplicate_of_itself"
            ),
            models.CheckConstraint(
                condition=Q(lat__isnull=True, lng__isnull=True)
                | Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180),
                name="ticket_coordinates_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolve_by__gte=F("respond_by")), name="ticket_deadlines_ordered"
            ),
            models.UniqueConstraint(
                fields=["channel", "external_number"],
                condition=~Q(external_number=""),
                name="ticket_external_number_unique_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_anonymous(self) -> bool:
        return self.reporter_id is None


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    DISPATCHED = "dispatched", _("Dispatched to a person")
    PUBLISHED = "published", _("Published on the claim board")
    CLAIMED = "claimed", _("Claimed")
    ACCEPTED = "accepted", _("Accepted")
    STARTED = "started", _("Started")
    WHISTLED = "whistled", _("Whistled to departments")
    REPORTED_IN = "reported_in", _("Department reported in")
    REPLIED = "replied", _("Department replied")
    RESOLVED = "resolved", _("Resolved")
    RATED = "rated", _("Rated")
    REOPENED = "reopened", _("Reopened")
    REJECTED = "rejected", _("Rejected")
    MARKED_DUPLICATE = "marked_duplicate", _("Marked as a duplicate")
    DUPLICATE_LINKED = "duplicate_linked", _("A duplicate was linked")
    REROUTED = "rerouted", _("Re-routed")
    SENT_TO_DELIBERATION = "sent_to_deliberation", _("Sent to deliberation")
    CLOSED = "closed", _("Closed")
    ESCALATED = "escalated", _("Escalated")
    RETURNED = "returned", _("Returned to the hotline")


class TicketEvent(models.Model):
    """One line of a ticket's timeline: the audit trail and the source of response times.

    Append-only: services create events in the same transaction as the change they record
    and nothing updates or deletes them (the admin shows them read-only).
    """

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ticket_events",
        help_text=_("Empty for the system (automatic dispatch, auto-close)."),
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    from_status = models.CharField(
        _("from status"), max_length=16, choices=TicketStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=16, choices=TicketStatus.choices)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    # The outbox mark: set once the event's notifications are written. The catch-up task
    # notifies events left unmarked (their task was lost while the broker was down).
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="event_ticket_created_idx"),
            # the notification outbox: events whose notifications are not written yet
            models.Index(
                fields=["created_at"],
                condition=Q(notified_at__isnull=True),
                name="event_unnotified_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.get_kind_display()}"


class WhistleStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting report-in")
    REPORTED = "reported", _("Reported in")
    REPLIED = "replied", _("Replied")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_WHISTLE_STATUSES = (WhistleStatus.PENDING, WhistleStatus.REPORTED)


class Whistle(models.Model):
    """A ticket whistled to a department (网格吹哨): the department must report in by
    ``report_by`` (部门报到), then act; its replies join the ticket's timeline."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="whistles"
    )
    department = models.ForeignKey(
        Grid,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="whistles",
        limit_choices_to={"kind": GridKind.INDUSTRY},
    )
    whistled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("whistled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=WhistleStatus.choices, default=WhistleStatus.PENDING
    )
    report_by = models.DateTimeField(_("report in by"))
    reported_at = models.DateTimeField(_("reported in at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported in by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reply = models.TextField(_("reply"), blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("replied by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("whistle")
        verbose_name_plural = _("whistles")
        ordering = ["created_at", "pk"]
        indexes = [
            # the later sweep of departments that did not report in
            models.Index(fields=["status", "report_by"], name="whistle_status_report_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "department"],
                condition=Q(status__in=OPEN_WHISTLE_STATUSES),
                name="whistle_one_open_per_department",
            ),
            models.CheckConstraint(
                condition=Q(status=WhistleStatus.PENDING)
                | Q(status=WhistleStatus.CANCELLED)
                | Q(reported_at__isnull=False),
                name="whistle_reported_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.department_id}"


class TicketSequence(models.Model):
    """The last ticket number handed out on a day (local time): numbers read
    ``20261122-0042`` so a worker can say them over the phone."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket number sequence")
        verbose_name_plural = _("ticket number sequences")

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"
