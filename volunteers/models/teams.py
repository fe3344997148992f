"""Volunteers (志愿者) and their teams (志愿服务队).

A ``Volunteer`` is a person registered to serve in a community: a resident of a household
(一户一档), a user who signs in (staff, a party member with an account), or both. Their
points go to the ledger account of their party membership when they have one (积分制管理,
seed 002), else to their resident's account; see ``volunteers.services.ledger``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from residents.personal_data import mask_phone


class TeamKind(models.Model):
    """A kind of team: seed 001's four (party vanguard, women's, arts, emergency rescue) are
    built in; staff add their own."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    is_builtin = models.BooleanField(_("built in"), default=False, editable=False)

    class Meta:
        verbose_name = _("team kind")
        verbose_name_plural = _("team kinds")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Volunteer(models.Model):
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="volunteers",
        help_text=_("Where the volunteer lives and serves; they see its community's activities."),
    )
    name = models.CharField(_("name"), max_length=40)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_profile",
        help_text=_("The account they sign in with, to sign up and check in on their phone."),
    )
    resident = models.OneToOneField(
        "residents.Resident",
        verbose_name=_("resident"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_profile",
    )
    phone = models.CharField(_("phone"), max_length=24, blank=True)
    skills = models.CharField(_("skills"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    registered_on = models.DateField(_("registered on"), default=timezone.localdate)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("volunteer")
        verbose_name_plural = _("volunteers")
        ordering = ["grid_id", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(resident__isnull=False),
                name="volunteer_is_someone",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class VolunteerTeam(models.Model):
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="teams"
    )
    kind = models.ForeignKey(
        TeamKind, verbose_name=_("kind"), on_delete=models.PROTECT, related_name="teams"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    leader = models.ForeignKey(
        Volunteer,
        verbose_name=_("leader"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="teams_led",
    )
    members = models.ManyToManyField(
        Volunteer,
        verbose_name=_("members"),
        through="TeamMembership",
        related_name="teams",
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("volunteer team")
        verbose_name_plural = _("volunteer teams")
        ordering = ["grid_id", "kind_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="team_name_unique_per_grid"),
        ]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(
        VolunteerTeam, verbose_name=_("team"), on_delete=models.CASCADE, related_name="memberships"
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="+"
    )
    joined_on = models.DateField(_("joined on"), default=timezone.localdate)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        ordering = ["team_id", "joined_on", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["team", "volunteer"], name="team_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.team} · {self.volunteer}"
