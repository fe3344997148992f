"""Deliberation (网格议事): meetings held at a grid and the items on their agenda.

Seed 003's loop is 群众提事 → 网格议事 → 分类办事 → 闭环评事: a resident's proposal ("add
benches to the estate") or a ticket sent to deliberation goes onto the agenda of a
meeting; the meeting records who came, its minutes and a decision per item; an adopted
item opens follow-up tickets (分类办事) whose ratings close the loop. Seed 004 holds its
meetings at three levels, 协商点 / 协商站 / 协商厅 (a building's point, an estate's
station, the community's hall): the meeting's ``tier`` is derived from its grid's level
when it is scheduled and kept as it was then.

Every write goes through ``tickets.services`` (``meeting_schedule``, ``meeting_add_item``,
``meeting_record``, ``meeting_cancel``, ``item_decide``, ``item_withdraw``); the models hold
fields and the invariants the database can keep.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Grid, GridLevel
from tickets.models.core import Ticket


class MeetingTier(models.TextChoices):
    """Seed 004's three-level deliberation platform (协商点-协商站-协商厅)."""

    POINT = "point", _("Deliberation point (building, micro grid)")
    STATION = "station", _("Deliberation station (estate)")
    HALL = "hall", _("Deliberation hall (community)")


# The grid levels meetings are held at, and the tier each stands for. Townships and
# counties do not deliberate here: their meetings are not the residents' own.
TIER_OF_LEVEL: dict[str, str] = {
    GridLevel.MICRO: MeetingTier.POINT,
    GridLevel.ESTATE: MeetingTier.STATION,
    GridLevel.COMMUNITY: MeetingTier.HALL,
}


class MeetingStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    HELD = "held", _("Held")
    CANCELLED = "cancelled", _("Cancelled")


class Meeting(models.Model):
    """A deliberation meeting (议事会, 恳谈会) of a grid: planned, then held (with its
    attendees and minutes) or cancelled."""

    # PROTECT: a grid with meetings cannot be deleted, only deactivated.
    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="meetings"
    )
    tier = models.CharField(
        _("tier"),
        max_length=16,
        choices=MeetingTier.choices,
        editable=False,
        help_text=_("Derived from the grid's level when the meeting is scheduled."),
    )
    title = models.CharField(_("title"), max_length=200)
    venue = models.CharField(
        _("venue"), max_length=200, blank=True, help_text=_("e.g. 邻里议事厅, 楼栋议事点.")
    )
    scheduled_at = models.DateTimeField(_("scheduled for"))
    held_at = models.DateTimeField(_("held at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=MeetingStatus.choices, default=MeetingStatus.PLANNED
    )
    chaired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chaired by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="chaired_meetings",
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendees with an account"),
        blank=True,
        related_name="attended_meetings",
    )
    resident_attendees = models.PositiveIntegerField(
        _("residents without an account"),
        default=0,
        help_text=_("How many residents came who have no account (they are counted, not named)."),
    )
    minutes = models.TextField(_("minutes"), blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("scheduled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("deliberation meeting")
        verbose_name_plural = _("deliberation meetings")
        ordering = ["-scheduled_at", "-pk"]
        indexes = [
            # subtree lists join the grid's (tree_id, lft, rght) index, then these
            models.Index(fields=["grid", "scheduled_at"], name="meeting_grid_scheduled_idx"),
            # the dashboard's "sessions held in a period"
            models.Index(fields=["status", "held_at"], name="meeting_status_held_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(tier__in=MeetingTier.values), name="meeting_tier_valid"
            ),
            models.CheckConstraint(
                condition=(Q(status=MeetingStatus.HELD) & Q(held_at__isnull=False))
                | (~Q(status=MeetingStatus.HELD) & Q(held_at__isnull=True)),
                name="meeting_held_iff_held_at",
            ),
            models.CheckConstraint(
                condition=~Q(status=MeetingStatus.CANCELLED) | ~Q(cancel_reason=""),
                name="meeting_cancelled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Decision(models.TextChoices):
    ADOPTED = "adopted", _("Adopted")
    REJECTED = "rejected", _("Rejected")
    DEFERRED = "deferred", _("Deferred to a later meeting")


class AgendaItem(models.Model):
    """One item on a meeting's agenda: a ticket in deliberation, or a resident's proposal
    (seed 003's "加装小区休息椅"). It is *open* until it is decided or withdrawn (the
    meeting was cancelled, or the item was taken off); a ticket is on at most one open
    agenda at a time."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.PROTECT, related_name="items"
    )
    order = models.PositiveIntegerField(_("order"))
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="agenda_items",
    )
    proposal = models.TextField(
        _("proposal"),
        blank=True,
        help_text=_("A resident's proposal, when no ticket is behind it."),
    )
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposed_agenda_items",
    )
    proposer_name = models.CharField(
        _("proposer's name"),
        max_length=64,
        blank=True,
        help_text=_("For a resident without an account."),
    )
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decision recorded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    follow_ups = models.ManyToManyField(
        Ticket,
        verbose_name=_("follow-up tickets"),
        blank=True,
        related_name="from_agenda_items",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting", "order"]
        indexes = [
            # the dashboard's "items decided / adopted in a period"
            models.Index(fields=["decision", "decided_at"], name="agenda_decision_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(ticket__isnull=False) & Q(proposal=""))
                | (Q(ticket__isnull=True) & ~Q(proposal="")),
                name="agenda_item_ticket_or_proposal",
            ),
            models.CheckConstraint(
                condition=Q(ticket__isnull=False)
                | Q(proposer__isnull=False)
                | ~Q(proposer_name=""),
                name="agenda_proposal_has_proposer",
            ),
            models.CheckConstraint(
                condition=(Q(decision="") & Q(decided_at__isnull=True))
                | (Q(decision__in=Decision.values) & Q(decided_at__isnull=False)),
                name="agenda_decided_has_time",
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(withdrawn_at__isnull=True),
                name="agenda_decided_or_withdrawn",
            ),
            models.CheckConstraint(
                condition=~Q(decision=Decision.REJECTED) | ~Q(decision_note=""),
                name="agenda_rejected_has_note",
            ),
            # 网格议事: one meeting decides a ticket; it may come back after a deferral
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(ticket__isnull=False, decision="", withdrawn_at__isnull=True),
                name="agenda_one_open_item_per_ticket",
            ),
            models.UniqueConstraint(fields=["meeting", "order"], name="agenda_order_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.order}"

    @property
    def is_open(self) -> bool:
        return not self.decision and self.withdrawn_at is None

    @property
    def subject(self) -> str:
        """What the item is about, for lists: the ticket's title or the proposal's text."""
        return self.ticket.title if self.ticket_id else self.proposal
