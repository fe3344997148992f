"""Activities (志愿服务活动) and sign-ups: seed 001's clean-ups, food-safety checks, talks and
performances. Hours come from check-in and check-out and count once the organiser confirms
them; that confirmation posts the points."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volunteers.models.teams import Volunteer, VolunteerTeam


class PointsBasis(models.TextChoices):
    HOURS = "hours", _("Per volunteer hour (community rule)")
    ATTENDANCE = "attendance", _("Fixed points per attendance")
    NONE = "none", _("No points")


class ActivityStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CANCELLED = "cancelled", _("Cancelled")


class Activity(models.Model):
    title = models.CharField(_("title"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    grid = models.ForeignKey(
        "grids.Grid", verbose_name=_("grid"), on_delete=models.PROTECT, related_name="activities"
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    signup_closes_at = models.DateTimeField(
        _("sign-up closes at"),
        help_text=_("Volunteers sign up and cancel until then; organisers may add people later."),
    )
    capacity = models.PositiveIntegerField(
        _("places"), null=True, blank=True, help_text=_("Empty for no limit.")
    )
    team = models.ForeignKey(
        VolunteerTeam,
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="organised_activities",
    )
    points_basis = models.CharField(
        _("points"), max_length=16, choices=PointsBasis.choices, default=PointsBasis.HOURS
    )
    attendance_points = models.PositiveIntegerField(
        _("points per attendance"), default=0, help_text=_("Only for fixed points per attendance.")
    )
    check_in_code = models.CharField(
        _("check-in code"),
        max_length=6,
        editable=False,
        help_text=_("Shown at the venue; volunteers type it to check themselves in and out."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.OPEN
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["-starts_at", "-pk"]
        indexes = [
            models.Index(fields=["grid", "starts_at"], name="activity_grid_starts_idx"),
            models.Index(fields=["starts_at"], name="activity_starts_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="activity_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(signup_closes_at__lte=F("ends_at")),
                name="activity_signup_closes_before_end",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=1),
                name="activity_capacity_positive",
            ),
            models.CheckConstraint(
                condition=~Q(points_basis=PointsBasis.ATTENDANCE) | Q(attendance_points__gt=0),
                name="activity_attendance_has_points",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.status == ActivityStatus.CANCELLED


class SignupStatus(models.TextChoices):
    SIGNED_UP = "signed_up", _("Signed up")
    CHECKED_IN = "checked_in", _("Checked in")
    CHECKED_OUT = "checked_out", _("Checked out")
    CONFIRMED = "confirmed", _("Hours confirmed")
    CANCELLED = "cancelled", _("Cancelled")


# The sign-ups that take a place (capacity) and count as coming.
TAKING_PLACE = (
    SignupStatus.SIGNED_UP,
    SignupStatus.CHECKED_IN,
    SignupStatus.CHECKED_OUT,
    SignupStatus.CONFIRMED,
)
# The sign-ups of people who came (attendance).
ATTENDED = (SignupStatus.CHECKED_OUT, SignupStatus.CONFIRMED)


class Signup(models.Model):
    """One volunteer on one activity: signed up, then checked in and out, then confirmed.

    A cancelled sign-up keeps its row (and is revived by signing up again), so the pair
    (activity, volunteer) stays unique.
    """

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.PROTECT, related_name="signups"
    )
    volunteer = models.ForeignKey(
        Volunteer, verbose_name=_("volunteer"), on_delete=models.PROTECT, related_name="signups"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=SignupStatus.choices, default=SignupStatus.SIGNED_UP
    )
    signed_up_at = models.DateTimeField(_("signed up at"), default=timezone.now)
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signed up by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked in by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("checked out by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=2, null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        ordering = ["activity_id", "signed_up_at", "pk"]
        indexes = [
            models.Index(fields=["volunteer", "status"], name="signup_volunteer_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["activity", "volunteer"], name="signup_once"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_in_at__isnull=False, checked_out_at__gte=F("checked_in_at")),
                name="signup_out_after_in",
            ),
            models.CheckConstraint(
                condition=~Q(status=SignupStatus.CONFIRMED)
                | Q(hours__isnull=False, confirmed_at__isnull=False),
                name="signup_confirmed_has_hours",
            ),
            models.CheckConstraint(
                condition=Q(hours__isnull=True) | Q(hours__gte=0), name="signup_hours_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity} · {self.volunteer}"
