"""The points shop (积分兑换超市): shops and items, redeeming, handing out, cancelling.

Redeeming is one transaction: lock the account, then the item (always in this order, so
two redemptions never wait for each other in a circle), check the window, the stock, the
per-person limit and the balance, take the stock, write the spend entry and the
redemption with its pick-up code. Twenty redemptions at once against a balance that
covers three: three succeed, seventeen are told "not enough points" (409); the last five
in stock among twenty buyers: five succeed. Tested with real threads on PostgreSQL.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids.models import Grid
from volunteers import permissions, selectors
from volunteers.models import (
    EntryReason,
    PointsAccount,
    PointsEntry,
    Redemption,
    RedemptionStatus,
    Shop,
    ShopItem,
)
from volunteers.services.common import (
    inside,
    refuse_unknown,
    require,
    required_text,
    territorial_grid,
)
from volunteers.services.ledger import lock_account, post_entry, reverse_entry

MAX_QUANTITY = 10
MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Unambiguous on a phone screen and read aloud at the counter: no 0/O, 1/I/L.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
ITEM_FIELDS = (
    "name",
    "description",
    "photo",
    "price",
    "stock",
    "per_person_limit",
    "available_from",
    "available_until",
    "is_active",
)
SHOP_FIELDS = ("name", "place", "is_active")


def pickup_days() -> int:
    """Days a redemption waits at the counter before it is cancelled and refunded."""
    return int(getattr(settings, "VOLUNTEERS_PICKUP_DAYS", 30))


# --- shops and items ------------------------------------------------------------------------


def _check_shop_name(shop: Shop) -> None:
    if Shop.objects.filter(grid=shop.grid, name=shop.name).exclude(pk=shop.pk).exists():
        raise ValidationError({"name": _("This grid already has a shop of this name.")})


@transaction.atomic
def shop_create(*, actor, grid: Grid, name: str, place: str = "") -> Shop:
    grid = territorial_grid(grid)
    require(permissions.can_manage(actor, grid), _("You may not open a shop here."))
    shop = Shop(
        grid=grid,
        name=required_text(name, field="name", max_length=100),
        place=(place or "").strip()[:200],
    )
    _check_shop_name(shop)
    shop.save()
    return shop


@transaction.atomic
def shop_update(*, actor, shop: Shop, **changes: Any) -> Shop:
    refuse_unknown(changes, SHOP_FIELDS)
    shop = Shop.objects.select_for_update(of=("self",)).select_related("grid").get(pk=shop.pk)
    require(permissions.can_manage(actor, shop.grid), _("You may not change this shop."))
    if "name" in changes:
        shop.name = required_text(changes["name"], field="name", max_length=100)
        _check_shop_name(shop)
    if "place" in changes:
        shop.place = (changes["place"] or "").strip()[:200]
    if "is_active" in changes:
        shop.is_active = bool(changes["is_active"])
    shop.save()
    return shop


def _check_item(item: ShopItem) -> None:
    errors: dict[str, str] = {}
    if not item.price or item.price < 1:
        errors["price"] = _("An item costs at least one point.")
    if item.stock is None or item.stock < 0:
        errors["stock"] = _("Stock is zero or more.")
    if item.per_person_limit is not None and item.per_person_limit < 1:
        errors["per_person_limit"] = _("Allow at least one, or leave it empty for no limit.")
    if item.available_from and item.available_until and item.available_until <= item.available_from:
        errors["available_until"] = _("The window must end after it starts.")
    if item.photo and getattr(item.photo, "size", 0) > MAX_PHOTO_BYTES:
        errors["photo"] = _("The photo is too large (at most 5 MB).")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def item_create(
    *,
    actor,
    shop: Shop,
    name: str,
    price: int,
    stock: int = 0,
    description: str = "",
    photo=None,
    per_person_limit: int | None = None,
    available_from: datetime.datetime | None = None,
    available_until: datetime.datetime | None = None,
    is_active: bool = True,
) -> ShopItem:
    shop = Shop.objects.select_related("grid").get(pk=shop.pk)
    require(permissions.can_manage(actor, shop.grid), _("You may not stock this shop."))
    item = ShopItem(
        shop=shop,
        name=required_text(name, field="name", max_length=100),
        description=(description or "").strip(),
        price=price,
        stock=stock,
        per_person_limit=per_person_limit,
        available_from=available_from,
        available_until=available_until,
        is_active=is_active,
    )
    if photo:
        item.photo = photo
    _check_item(item)
    item.save()
    return item


@transaction.atomic
def item_update(*, actor, item: ShopItem, **changes: Any) -> ShopItem:
    """Change an item; its row lock keeps a restock from crossing a redemption."""
    refuse_unknown(changes, ITEM_FIELDS)
    item = (
        ShopItem.objects.select_for_update(of=("self",))
        .select_related("shop__grid")
        .get(pk=item.pk)
    )
    require(permissions.can_manage(actor, item.shop.grid), _("You may not change this item."))
    for field, value in changes.items():
        setattr(item, field, value)
    if "name" in changes:
        item.name = required_text(item.name, field="name", max_length=100)
    _check_item(item)
    item.save()
    return item


# --- redeeming ------------------------------------------------------------------------------


def _new_pickup_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def _create_redemption(**fields: Any) -> Redemption:
    """Insert with a fresh pick-up code; a collision (about one in 10^11) draws again."""
    for _attempt in range(5):
        code = _new_pickup_code()
        try:
            with transaction.atomic():
                return Redemption.objects.create(pickup_code=code, **fields)
        except IntegrityError:
            if not Redemption.objects.filter(pickup_code=code).exists():
                raise
    raise RuntimeError("could not draw a free pick-up code")


def _account_for_redemption(actor, account: PointsAccount | None, shop: Shop) -> PointsAccount:
    """The actor's own account (their first by default), or, for the shop's staff at the
    counter, the account of a resident or household of their grids without a phone."""
    own = selectors.accounts_of_user(user=actor)
    if account is None:
        if not own:
            raise ValidationError({"account": _("You have no points account yet.")})
        chosen = own[0]
    else:
        chosen = next((a for a in own if a.pk == account.pk), None)
        if chosen is None:
            require(permissions.can_manage(actor, shop.grid), _("You may not spend these points."))
            chosen = selectors.account_list(user=actor).filter(pk=account.pk).first()
            if chosen is None:
                raise ValidationError({"account": _("Choose an account of your grids.")})
    if not any(inside(grid, shop.grid) for grid in selectors.account_grids(chosen)):
        raise ValidationError(
            {"account": _("These points are spent in the shop of their own community.")}
        )
    return chosen


@transaction.atomic
def redemption_create(
    *, actor, item: ShopItem, account: PointsAccount | None = None, quantity: int = 1
) -> Redemption:
    """Redeem ``quantity`` of an item with an account's points (by default the actor's
    own first account); see the module docstring for what is checked and locked."""
    if not 1 <= int(quantity) <= MAX_QUANTITY:
        raise ValidationError(
            {"quantity": _("Between 1 and %(n)d at a time.") % {"n": MAX_QUANTITY}}
        )
    shop = Shop.objects.select_related("grid").get(pk=item.shop_id)
    account = _account_for_redemption(actor, account, shop)
    lock_account(account.pk)  # first the account, then the item: one order everywhere
    item = (
        ShopItem.objects.select_for_update(of=("self",))
        .select_related("shop__grid")
        .get(pk=item.pk)
    )
    now = timezone.now()
    if not item.is_available(now):
        raise Conflict(_("This item is not available now."), code="unavailable")
    if item.stock < quantity:
        raise Conflict(_("Not enough of this item is left in stock."), code="out_of_stock")
    if item.per_person_limit is not None:
        taken = (
            Redemption.objects.filter(account=account, item=item)
            .exclude(status=RedemptionStatus.CANCELLED)
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if taken + quantity > item.per_person_limit:
            raise Conflict(
                _("The limit for this item is %(n)d per person.") % {"n": item.per_person_limit},
                code="limit_reached",
            )
    total = item.price * quantity
    ShopItem.objects.filter(pk=item.pk).update(stock=F("stock") - quantity)
    redemption = _create_redemption(
        item=item,
        account=account,
        quantity=quantity,
        points=total,
        created_by=actor,
        created_at=now,
    )
    post_entry(
        account=account,
        amount=-total,
        reason=EntryReason.REDEMPTION,
        source=redemption,
        grid=item.shop.grid,
        posted_by=actor,
        note=f"{item.name} × {quantity}",
    )
    return redemption


def _lock_redemption(redemption: Redemption) -> Redemption:
    """Account, item, then the redemption: the order redeeming takes."""
    lock_account(redemption.account_id)
    ShopItem.objects.select_for_update(of=("self",)).get(pk=redemption.item_id)
    return (
        Redemption.objects.select_for_update(of=("self",))
        .select_related("item__shop__grid", "account")
        .get(pk=redemption.pk)
    )


@transaction.atomic
def redemption_fulfil(*, actor, redemption: Redemption, code: str = "") -> Redemption:
    """Staff hand the item over; when the resident reads out a code, it must match."""
    redemption = _lock_redemption(redemption)
    require(
        permissions.can_manage(actor, redemption.item.shop.grid),
        _("You may not hand out items of this shop."),
    )
    if redemption.status != RedemptionStatus.PENDING:
        raise Conflict(_("This redemption is no longer waiting for pick-up."), code="invalid_state")
    if code and code.strip().upper() != redemption.pickup_code:
        raise ValidationError({"code": _("This is not the redemption's pick-up code.")})
    redemption.status = RedemptionStatus.FULFILLED
    redemption.fulfilled_at = timezone.now()
    redemption.fulfilled_by = actor
    redemption.save(update_fields=["status", "fulfilled_at", "fulfilled_by"])
    return redemption


@transaction.atomic
def redemption_cancel(*, actor, redemption: Redemption, reason: str = "") -> Redemption:
    """Cancel a redemption not yet picked up: the points come back as a reversal entry and
    the item goes back into stock. The owner or the shop's staff may; ``actor=None`` is
    the system when the pick-up time has run out."""
    redemption = _lock_redemption(redemption)
    if actor is not None:
        require(
            permissions.owns_account(actor, redemption.account)
            or permissions.can_manage(actor, redemption.item.shop.grid),
            _("You may not cancel this redemption."),
        )
    if redemption.status != RedemptionStatus.PENDING:
        raise Conflict(_("This redemption is no longer waiting for pick-up."), code="invalid_state")
    reason = (reason or "").strip()[:200] or (
        _("Cancelled") if actor is not None else _("Not picked up in time")
    )
    spend = PointsEntry.objects.select_related("account", "grid").get(
        source_type__app_label="volunteers",
        source_type__model="redemption",
        source_id=redemption.pk,
        reason=EntryReason.REDEMPTION,
    )
    reverse_entry(spend, posted_by=actor, note=reason)
    ShopItem.objects.filter(pk=redemption.item_id).update(stock=F("stock") + redemption.quantity)
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = timezone.now()
    redemption.cancelled_by = actor
    redemption.cancel_reason = reason
    redemption.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason"])
    return redemption


def redemptions_expire(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Cancel (and refund) redemptions left at the counter longer than the pick-up time.
    Each is re-checked under its locks, so a run that overlaps a hand-out or another run
    skips it; returns how many this run cancelled."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=pickup_days())
    ids = list(
        Redemption.objects.filter(status=RedemptionStatus.PENDING, created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for redemption in Redemption.objects.filter(pk__in=ids).order_by("pk"):
        try:
            redemption_cancel(actor=None, redemption=redemption)
        except Conflict:
            continue
        done += 1
    return done
