"""12345 hotline orders (工单) as they come in, and the batch imports that bring them.

A ``HotlineOrder`` keeps what the hotline sent, as it sent it (so a re-import can tell
"unchanged" from "changed" field by field), and where it went: a ticket on one of our
grids (*placed*), the list of orders a dispatcher must place by hand (*unplaceable*,
with the reason), or back to the hotline (*returned*, 退单, with the reason). The order
number is the key: the same order arriving twice is the same row and the same ticket.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grids.models import Grid
from residents.models import ImportStatus
from tickets.models import Category, Ticket


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed on a grid")
    UNPLACEABLE = "unplaceable", _("Waiting to be placed by hand")
    RETURNED = "returned", _("Returned to the hotline")


class HotlineOrder(models.Model):
    """One 12345 order: the hotline's fields as received, and what became of it."""

    # The subtree the order was received for (the importing desk's area): who sees it in
    # the list, and where its grid is looked for.
    area = models.ForeignKey(
        Grid, verbose_name=_("area"), on_delete=models.PROTECT, related_name="hotline_orders"
    )
    number = models.CharField(_("order number"), max_length=64, blank=True)
    # An order that came without a number is recognised by its call time, phone and
    # content (a hash), so the same row imported again is still the same order.
    fingerprint = models.CharField(_("fingerprint"), max_length=64, blank=True, editable=False)
    # --- as received ---
    called_at = models.DateTimeField(_("call time"), null=True, blank=True)
    caller = models.CharField(_("caller"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    content = models.TextField(_("content"))
    category_text = models.CharField(_("category (as received)"), max_length=100, blank=True)
    deadline = models.DateTimeField(_("hotline deadline"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    # --- what became of it ---
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.UNPLACEABLE
    )
    reason = models.TextField(_("why it could not be placed"), blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ticket = models.OneToOneField(
        Ticket,
        verbose_name=_("ticket"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hotline_order",
    )
    return_reason = models.TextField(_("reason for the return"), blank=True)
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revisions = models.PositiveIntegerField(
        _("revisions"), default=0, help_text=_("How often the hotline sent a changed version.")
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("12345 order")
        verbose_name_plural = _("12345 orders")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["area", "status"], name="hotline_area_status_idx"),
            models.Index(fields=["updated_at"], name="hotline_updated_idx"),
            models.Index(fields=["called_at"], name="hotline_called_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="hotline_order_number_unique"
            ),
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=~Q(fingerprint=""),
                name="hotline_order_fingerprint_unique",
            ),
            models.CheckConstraint(
                condition=~Q(number="") | ~Q(fingerprint=""), name="hotline_order_has_a_key"
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.PLACED) | Q(ticket__isnull=False),
                name="hotline_placed_has_ticket",
            ),
            models.CheckConstraint(
                condition=~Q(status=OrderStatus.RETURNED) | ~Q(return_reason=""),
                name="hotline_returned_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number or str(_("(no number)"))


class HotlineImport(models.Model):
    """A hotline file: checked first (dry run), then applied; both in the background,
    reporting progress here row by row (as the residents' ``ImportJob``)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    area = models.ForeignKey(
        Grid, verbose_name=_("area"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), upload_to="hotline/imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("12345 import")
        verbose_name_plural = _("12345 imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.PENDING, ImportStatus.PLANNING, ImportStatus.APPLYING)

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
