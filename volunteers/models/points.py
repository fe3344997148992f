"""The points ledger (积分): accounts, append-only entries, the rules that price service, and
the staff awards that are entries' sources.

The ledger's invariants live in the database:

- an account belongs to exactly one resident, party member or household;
- its cached ``balance`` is never negative (``CHECK``) and always equals the sum of its
  entries (the services change both in one transaction, under the account's row lock);
- an entry is never posted twice for the same source and reason (``UNIQUE``);
- an entry is never updated or deleted (triggers added by migration ``0002``);
  corrections are reversal entries, at most one per entry.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    PARTY_MEMBER = "party_member", _("Party member")
    HOUSEHOLD = "household", _("Household")


class PointsAccount(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=AccountKind.choices)
    resident = models.OneToOneField(
        "residents.Resident",
        verbose_name=_("resident"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_account",
    )
    party_member = models.OneToOneField(
        "residents.PartyMember",
        verbose_name=_("party member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_account",
    )
    household = models.OneToOneField(
        "residents.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="points_account",
    )
    balance = models.IntegerField(_("balance"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=AccountKind.RESIDENT,
                        resident__isnull=False,
                        party_member__isnull=True,
                        household__isnull=True,
                    )
                    | Q(
                        kind=AccountKind.PARTY_MEMBER,
                        resident__isnull=True,
                        party_member__isnull=False,
                        household__isnull=True,
                    )
                    | Q(
                        kind=AccountKind.HOUSEHOLD,
                        resident__isnull=True,
                        party_member__isnull=True,
                        household__isnull=False,
                    )
                ),
                name="points_account_has_one_owner",
            ),
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_not_negative"),
        ]

    def __str__(self) -> str:
        owner = self.resident or self.party_member or self.household
        return f"{self.get_kind_display()} · {owner}"


class EntryReason(models.TextChoices):
    ACTIVITY = "activity", _("Volunteer activity")
    TICKET = "ticket", _("Claimed ticket closed satisfied")
    AWARD = "award", _("Award by rule")
    REDEMPTION = "redemption", _("Redemption in the points shop")
    REVERSAL = "reversal", _("Reversal")


# What a person earns (leaderboards, "points earned"); a reversal of one of these counts
# against the earnings, a reversal of a redemption gives spent points back.
EARNING_REASONS = (EntryReason.ACTIVITY, EntryReason.TICKET, EntryReason.AWARD)


class RuleKind(models.TextChoices):
    VOLUNTEER_HOUR = "volunteer_hour", _("Per volunteer hour")
    TICKET_CLAIM = "ticket_claim", _("Per claimed ticket closed satisfied, by difficulty")
    AWARD = "award", _("Award")
    PARTY_DUTY = "party_duty", _("Party duty")


class Difficulty(models.TextChoices):
    EASY = "easy", _("Easy")
    NORMAL = "normal", _("Normal")
    HARD = "hard", _("Hard")


class PointsRule(models.Model):
    """How many points a kind of service earns on a grid's subtree (a community, usually).

    Rules are versioned, not edited: a change is a new row with a later ``effective_from``,
    and the version in force on the day of the service prices it. The rule on the deepest
    grid above the service wins, so a township may set defaults its communities override.
    ``code`` tells rules of one kind apart: the difficulty of a ticket rule, the award or
    party duty type (三会一课, 主题党日, 文明家庭, …); it is empty for volunteer hours.
    """

    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="points_rules"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices)
    code = models.SlugField(_("code"), max_length=40, blank=True)
    name = models.CharField(_("name"), max_length=100)
    points = models.PositiveIntegerField(
        _("points"), help_text=_("0 stops the rule from its date on.")
    )
    effective_from = models.DateField(_("effective from"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering = ["grid_id", "kind", "code", "-effective_from"]
        indexes = [
            models.Index(fields=["kind", "code", "effective_from"], name="rule_lookup_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "kind", "code", "effective_from"], name="rule_one_version_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points})"


class CategoryDifficulty(models.Model):
    """How hard a ticket category's work is, for the ticket rules (seed 001: points by
    difficulty). Subcategories inherit their parent's; unset means normal."""

    category = models.OneToOneField(
        "tickets.Category",
        verbose_name=_("ticket category"),
        on_delete=models.CASCADE,
        related_name="points_difficulty",
    )
    difficulty = models.CharField(_("difficulty"), max_length=8, choices=Difficulty.choices)

    class Meta:
        verbose_name = _("ticket category difficulty")
        verbose_name_plural = _("ticket category difficulties")

    def __str__(self) -> str:
        return f"{self.category} · {self.get_difficulty_display()}"


class PointsAward(models.Model):
    """A staff award under a rule (先进评比, a party duty done): the source of its entry."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="awards"
    )
    rule = models.ForeignKey(
        PointsRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="awards"
    )
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    awarded_on = models.DateField(_("awarded on"), default=timezone.localdate)
    awarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("awarded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points award")
        verbose_name_plural = _("points awards")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.rule.name} → {self.account}"


class PointsEntry(models.Model):
    """One line of the ledger. Append-only: see the module docstring."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    amount = models.IntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=16, choices=EntryReason.choices)
    rule = models.ForeignKey(
        PointsRule,
        verbose_name=_("rule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    source_type = models.ForeignKey(
        ContentType, verbose_name=_("source type"), on_delete=models.PROTECT, related_name="+"
    )
    source_id = models.PositiveBigIntegerField(_("source id"))
    source = GenericForeignKey("source_type", "source_id")
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Where the points were earned or spent."),
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversal",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for the system."),
    )
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    balance_after = models.IntegerField(_("balance after"))

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-posted_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "posted_at"], name="entry_account_posted_idx"),
            models.Index(fields=["grid", "posted_at"], name="entry_grid_posted_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "reason"], name="points_entry_once_per_source"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="points_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(reason=EntryReason.REVERSAL, reverses__isnull=False)
                | (~Q(reason=EntryReason.REVERSAL) & Q(reverses__isnull=True)),
                name="points_reversal_names_its_entry",
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="points_entry_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+d} {self.get_reason_display()}"
