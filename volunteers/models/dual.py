"""Dual registration (双报到双服务, seed 001): in-service party members register with the
community where they live, and their employer's party organization pairs with a community
(结对). A registration links the member to a grid; their claimed tickets, activities and
hours count for the member and for their organization (see the organization report)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UnitPairing(models.Model):
    organization = models.ForeignKey(
        "grids.PartyOrganization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="community_pairings",
        help_text=_("The unit's party organization, often a county department's."),
    )
    community = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("community"),
        on_delete=models.PROTECT,
        related_name="unit_pairings",
    )
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("unit pairing")
        verbose_name_plural = _("unit pairings")
        ordering = ["community_id", "organization_id", "-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "community"],
                condition=Q(ends_on__isnull=True),
                name="pairing_one_open_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="pairing_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ↔ {self.community}"


class DualRegistration(models.Model):
    party_member = models.ForeignKey(
        "residents.PartyMember",
        verbose_name=_("party member"),
        on_delete=models.PROTECT,
        related_name="dual_registrations",
    )
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="dual_registrations",
        help_text=_("The grid of the community where the member lives and serves."),
    )
    organization = models.ForeignKey(
        "grids.PartyOrganization",
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="dual_registrations",
        help_text=_("The member's unit, whose report counts this registration."),
    )
    registered_on = models.DateField(_("registered on"), default=timezone.localdate)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dual registration")
        verbose_name_plural = _("dual registrations")
        ordering = ["grid_id", "-registered_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["party_member"],
                condition=Q(ended_on__isnull=True),
                name="dual_registration_one_open",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("registered_on")),
                name="dual_registration_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.party_member} · {self.grid}"
