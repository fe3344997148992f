"""The duty rota (八小时以外 / 24小时待命): who answers for a grid out of office hours.

Seed 000 (Delê community) keeps a 24-hour on-call; outside office hours a new ticket
routed to "the grid's worker" goes to whoever is on duty for the grid or the nearest grid
above it (``tickets.routing``). Shifts are written through ``tickets.routing``'s
``duty_shift_*`` functions, which check that the person works on the grid and has no
other shift at the same time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grids.models import Grid


class DutyShift(models.Model):
    """One person on call for a grid (and the grids below it) from ``starts_at`` to
    ``ends_at`` (end excluded, so back-to-back shifts do not overlap)."""

    grid = models.ForeignKey(
        Grid, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="duty_shifts"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person on duty"),
        on_delete=models.PROTECT,
        related_name="duty_shifts",
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty shifts")
        ordering = ["starts_at", "pk"]
        indexes = [
            # "who is on duty now" on a few grids: shifts not yet ended, per grid
            models.Index(fields=["grid", "ends_at"], name="dutyshift_grid_ends_idx"),
            # one person's shifts, for the overlap check and "my shifts"
            models.Index(fields=["user", "starts_at"], name="dutyshift_user_starts_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="dutyshift_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.grid} · {self.starts_at:%Y-%m-%d %H:%M}"
