"""The points shop (积分兑换超市, seed 001): items per community shop, and redemptions with a
pick-up code. Stock and balance never go below zero: both are checked under row locks in
``volunteers.services.shop`` and by ``CHECK`` constraints here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from volunteers.models.points import PointsAccount


class Shop(models.Model):
    grid = models.ForeignKey(
        "grids.Grid",
        verbose_name=_("grid"),
        on_delete=models.PROTECT,
        related_name="points_shops",
        help_text=_("The community whose residents and party members spend their points here."),
    )
    name = models.CharField(_("name"), max_length=100)
    place = models.CharField(_("place"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("points shop")
        verbose_name_plural = _("points shops")
        ordering = ["grid_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["grid", "name"], name="shop_name_unique_per_grid"),
        ]

    def __str__(self) -> str:
        return self.name


class ShopItem(models.Model):
    shop = models.ForeignKey(
        Shop, verbose_name=_("shop"), on_delete=models.PROTECT, related_name="items"
    )
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="shop/%Y/%m/", blank=True)
    price = models.PositiveIntegerField(_("price in points"))
    stock = models.PositiveIntegerField(_("stock"), default=0)
    per_person_limit = models.PositiveSmallIntegerField(
        _("limit per person"),
        null=True,
        blank=True,
        help_text=_("How many one account may redeem in all; empty for no limit."),
    )
    available_from = models.DateTimeField(_("available from"), null=True, blank=True)
    available_until = models.DateTimeField(_("available until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("shop item")
        verbose_name_plural = _("shop items")
        ordering = ["shop_id", "price", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="shop_item_price_positive"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="shop_item_stock_not_negative"),
            models.CheckConstraint(
                condition=Q(per_person_limit__isnull=True) | Q(per_person_limit__gte=1),
                name="shop_item_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=F("available_from")),
                name="shop_item_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_available(self, now=None) -> bool:
        """Active and inside its window (stock is checked under lock when redeeming)."""
        now = now or timezone.now()
        return (
            self.is_active
            and self.shop.is_active
            and (self.available_from is None or self.available_from <= now)
            and (self.available_until is None or now < self.available_until)
        )


class RedemptionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for pick-up")
    FULFILLED = "fulfilled", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")


class Redemption(models.Model):
    item = models.ForeignKey(
        ShopItem, verbose_name=_("item"), on_delete=models.PROTECT, related_name="redemptions"
    )
    account = models.ForeignKey(
        PointsAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    points = models.PositiveIntegerField(_("points"))
    pickup_code = models.CharField(_("pick-up code"), max_length=8, unique=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RedemptionStatus.choices,
        default=RedemptionStatus.PENDING,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("redeemed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("redeemed at"), default=timezone.now)
    fulfilled_at = models.DateTimeField(_("picked up at"), null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handed out by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the pick-up time ran out."),
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "item", "status"], name="redemption_limit_idx"),
            models.Index(fields=["status", "created_at"], name="redemption_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="redemption_quantity_positive"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="redemption_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item} × {self.quantity} · {self.pickup_code}"
