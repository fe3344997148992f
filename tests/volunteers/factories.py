"""Builders for volunteering: everything through the services, as staff would do it, so a
sign-up or a balance got where it is the way production gets there."""

from __future__ import annotations

import datetime

from django.utils import timezone

from grids.models import Grid
from tests.grids.factories import superuser
from volunteers import services
from volunteers.models import (
    Activity,
    PointsAccount,
    PointsAward,
    PointsRule,
    RuleKind,
    Shop,
    ShopItem,
    Volunteer,
)

LONG_AGO = datetime.date(2000, 1, 1)


def make_volunteer(grid: Grid, *, user=None, resident=None, name: str = "") -> Volunteer:
    return services.volunteer_register(
        actor=superuser(), grid=grid, user=user, resident=resident, name=name
    )


def make_activity(
    grid: Grid,
    *,
    starts_at: datetime.datetime | None = None,
    hours: float = 2,
    actor=None,
    **fields,
) -> Activity:
    """An activity on ``grid`` starting in a day (or at ``starts_at``), ``hours`` long."""
    starts_at = starts_at or timezone.now() + datetime.timedelta(days=1)
    fields.setdefault("title", "环境卫生整治")
    return services.activity_create(
        actor=actor or superuser(),
        grid=grid,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(hours=hours),
        **fields,
    )


def make_rule(
    grid: Grid,
    kind: str,
    points: int,
    *,
    code: str = "",
    name: str = "",
    effective_from: datetime.date = LONG_AGO,
) -> PointsRule:
    return services.rule_set(
        actor=superuser(),
        grid=grid,
        kind=kind,
        code=code,
        name=name or f"{kind} {code}".strip(),
        points=points,
        effective_from=effective_from,
    )


def fund(account: PointsAccount, points: int, grid: Grid) -> PointsAward:
    """Give an account ``points`` through an award rule of exactly that size."""
    code = f"fund-{points}"
    if not PointsRule.objects.filter(grid=grid, kind=RuleKind.AWARD, code=code).exists():
        make_rule(grid, RuleKind.AWARD, points, code=code, name=f"测试奖励{points}")
    return services.points_award(
        actor=superuser(), account=account, grid=grid, kind=RuleKind.AWARD, code=code
    )


def make_shop(grid: Grid, *, name: str = "积分兑换超市") -> Shop:
    return services.shop_create(actor=superuser(), grid=grid, name=name)


def make_item(
    shop: Shop, *, name: str = "洗衣液", price: int = 10, stock: int = 100, **kw
) -> ShopItem:
    return services.item_create(
        actor=superuser(), shop=shop, name=name, price=price, stock=stock, **kw
    )
