"""Photos of tickets (随手拍): the report's own pictures and those of timeline events (a
resolution, a department's reply).

The stored image and its thumbnail are re-encoded copies made by ``tickets.photos``:
no EXIF, no GPS, upright. Files live under ``MEDIA_ROOT`` with random names and are
served only through views that check the ticket is visible to the asker, never from a
public media URL: a photo of a doorway or a face is personal data.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models.core import Ticket, TicketEvent

PHOTO_UPLOAD_TO = "tickets/photos/%Y/%m/"


class TicketPhoto(models.Model):
    """One picture. ``event`` empty: it came with the report (at most five); otherwise it
    belongs to that event of the ticket's timeline (at most five per event)."""

    ticket = models.ForeignKey(
        Ticket, verbose_name=_("ticket"), on_delete=models.PROTECT, related_name="photos"
    )
    event = models.ForeignKey(
        TicketEvent,
        verbose_name=_("event"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="photos",
        help_text=_("Empty for the photos that came with the report."),
    )
    image = models.ImageField(_("image"), upload_to=PHOTO_UPLOAD_TO)
    thumbnail = models.ImageField(_("thumbnail"), upload_to=PHOTO_UPLOAD_TO)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    byte_size = models.PositiveIntegerField(
        _("size in bytes"), help_text=_("Size of the stored image.")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for a resident who reported without an account."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("ticket photo")
        verbose_name_plural = _("ticket photos")
        ordering = ["created_at", "pk"]
        indexes = [
            # "the report's photos" and "this event's photos", each counted under the
            # ticket's row lock before more are added
            models.Index(fields=["ticket", "event"], name="ticket_photo_ticket_event_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gt=0) & Q(height__gt=0) & Q(byte_size__gt=0),
                name="ticket_photo_has_size",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} #{self.pk}"
