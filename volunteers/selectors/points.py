"""Scoped reads of the points ledger, its rules, leaderboards and the points shop."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from grids import scoping
from grids.models import Grid, PartyOrganization
from tickets.models import Category
from volunteers.models import (
    EARNING_REASONS,
    AccountKind,
    CategoryDifficulty,
    Difficulty,
    DualRegistration,
    EntryReason,
    PointsAccount,
    PointsAward,
    PointsEntry,
    PointsRule,
    Redemption,
    Shop,
    ShopItem,
)
from volunteers.selectors.reach import (
    account_scope_q,
    any_of,
    own_accounts_q,
    period_bounds,
    reach_q,
    subtree_q,
)

ACCOUNT_RELATIONS = (
    "resident__household__grid",
    "household__grid",
    "household__head",
    "party_member__resident__household__grid",
    "party_member__user",
    "party_member__organization__grid",
)


def earned_q(*, via: str = "") -> Q:
    """Entries that earn (activity, ticket, award) and reversals of them."""
    prefix = f"{via}__" if via else ""
    return Q(**{f"{prefix}reason__in": EARNING_REASONS}) | Q(
        **{
            f"{prefix}reason": EntryReason.REVERSAL,
            f"{prefix}reverses__reason__in": EARNING_REASONS,
        }
    )


def redeemed_q(*, via: str = "") -> Q:
    """Spending in the shop and the reversals that gave it back (cancellations)."""
    prefix = f"{via}__" if via else ""
    return Q(**{f"{prefix}reason": EntryReason.REDEMPTION}) | Q(
        **{
            f"{prefix}reason": EntryReason.REVERSAL,
            f"{prefix}reverses__reason": EntryReason.REDEMPTION,
        }
    )


# --- accounts and entries -----------------------------------------------------------------


def account_visible_q(user, *, via: str = "") -> Q:
    return any_of(account_scope_q(user, via=via), own_accounts_q(user, via=via))


def account_list(*, user) -> QuerySet[PointsAccount]:
    """Accounts the user holds or whose grid is in the user's scope."""
    if user is None or not user.is_authenticated:
        return PointsAccount.objects.none()
    return PointsAccount.objects.filter(account_visible_q(user)).select_related(*ACCOUNT_RELATIONS)


def accounts_of_user(*, user) -> list[PointsAccount]:
    """The user's own accounts: party member first, then resident, then household."""
    if user is None or not user.is_authenticated:
        return []
    order = {AccountKind.PARTY_MEMBER: 0, AccountKind.RESIDENT: 1, AccountKind.HOUSEHOLD: 2}
    accounts = PointsAccount.objects.filter(own_accounts_q(user)).select_related(*ACCOUNT_RELATIONS)
    return sorted(accounts, key=lambda a: (order[a.kind], a.pk))


def account_grids(account: PointsAccount) -> list[Grid]:
    """The grids that place an account (see ``reach.ACCOUNT_GRID_PATHS``)."""
    if account.kind == AccountKind.RESIDENT:
        return [account.resident.household.grid]
    if account.kind == AccountKind.HOUSEHOLD:
        return [account.household.grid]
    member = account.party_member
    grids = [member.organization.grid]
    if member.resident_id is not None:
        grids.append(member.resident.household.grid)
    # an in-service member registered with the community they live in (双报到) belongs
    # there too, even without a household archive of their own
    registered = DualRegistration.objects.filter(party_member=member, ended_on__isnull=True)
    grids.extend(r.grid for r in registered.select_related("grid"))
    return grids


def account_label(account: PointsAccount) -> str:
    if account.kind == AccountKind.RESIDENT:
        return account.resident.name
    if account.kind == AccountKind.PARTY_MEMBER:
        return str(account.party_member)
    household = account.household
    head = household.head.name if household.head_id else ""
    return f"{household.display_address} {head}".strip()


def entry_list(*, user) -> QuerySet[PointsEntry]:
    if user is None or not user.is_authenticated:
        return PointsEntry.objects.none()
    return PointsEntry.objects.filter(account_visible_q(user, via="account")).select_related(
        "account", "grid", "rule", "posted_by", "reverses", "source_type"
    )


def award_list(*, user) -> QuerySet[PointsAward]:
    if user is None or not user.is_authenticated:
        return PointsAward.objects.none()
    return PointsAward.objects.filter(
        any_of(account_visible_q(user, via="account"), Q(awarded_by=user))
    ).select_related("account", "rule", "grid", "awarded_by")


# --- rules --------------------------------------------------------------------------------


def rule_list(*, user) -> QuerySet[PointsRule]:
    """Rules on grids the user reaches: their own subtrees' and those above that apply."""
    return PointsRule.objects.filter(reach_q(user, via="grid")).select_related("grid")


def rule_in_effect(
    *, grid: Grid, kind: str, code: str = "", on: datetime.date
) -> PointsRule | None:
    """The version in force on ``on`` of the rule on the deepest grid at or above ``grid``."""
    return (
        PointsRule.objects.filter(
            kind=kind,
            code=code,
            effective_from__lte=on,
            grid__tree_id=grid.tree_id,
            grid__lft__lte=grid.lft,
            grid__rght__gte=grid.rght,
        )
        .select_related("grid")
        .order_by("-grid__lft", "-effective_from", "-pk")
        .first()
    )


def difficulty_of(category: Category) -> str:
    """The category's difficulty, inherited from the nearest category above that has one."""
    found = (
        CategoryDifficulty.objects.filter(
            category__tree_id=category.tree_id,
            category__lft__lte=category.lft,
            category__rght__gte=category.rght,
        )
        .order_by("-category__lft")
        .values_list("difficulty", flat=True)
        .first()
    )
    return found or Difficulty.NORMAL


# --- leaderboards -------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    account: PointsAccount
    name: str
    points: int


def leaderboard(
    *,
    accounts: QuerySet[PointsAccount],
    start: datetime.date,
    end: datetime.date,
    limit: int = 20,
) -> list[LeaderboardRow]:
    """Points earned in the period (net of reversals), most first; equal points share a
    rank (1, 2, 2, 4). Two queries whatever the number of accounts."""
    since, until = period_bounds(start, end)
    totals = list(
        PointsEntry.objects.filter(
            earned_q(), account__in=accounts.values("pk"), posted_at__gte=since, posted_at__lt=until
        )
        .values("account")
        .annotate(points=Sum("amount"))
        .filter(points__gt=0)
        .order_by("-points", "account")[:limit]
    )
    found = PointsAccount.objects.select_related(*ACCOUNT_RELATIONS).in_bulk(
        [row["account"] for row in totals]
    )
    rows: list[LeaderboardRow] = []
    for position, row in enumerate(totals, start=1):
        rank = rows[-1].rank if rows and rows[-1].points == row["points"] else position
        account = found[row["account"]]
        rows.append(LeaderboardRow(rank, account, account_label(account), row["points"]))
    return rows


def branch_accounts(organization: PartyOrganization) -> QuerySet[PointsAccount]:
    """Party members of a branch and the organizations below it (积分制管理, seed 002)."""
    return PointsAccount.objects.filter(
        kind=AccountKind.PARTY_MEMBER,
        party_member__organization__tree_id=organization.tree_id,
        party_member__organization__lft__gte=organization.lft,
        party_member__organization__rght__lte=organization.rght,
    )


def community_accounts(grid: Grid, *, kind: str | None = None) -> QuerySet[PointsAccount]:
    """Accounts placed in a grid's subtree; ``kind`` narrows to party members, say."""
    condition = Q()
    for path in (
        "resident__household__grid",
        "household__grid",
        "party_member__resident__household__grid",
        "party_member__organization__grid",
    ):
        condition |= subtree_q(grid, via=path)
    accounts = PointsAccount.objects.filter(condition)
    return accounts.filter(kind=kind) if kind else accounts


# --- the shop -----------------------------------------------------------------------------


def shop_list(*, user) -> QuerySet[Shop]:
    return Shop.objects.filter(reach_q(user, via="grid")).select_related("grid")


def item_list(*, user) -> QuerySet[ShopItem]:
    return ShopItem.objects.filter(reach_q(user, via="shop__grid")).select_related("shop__grid")


def redemption_list(*, user) -> QuerySet[Redemption]:
    """Redemptions at shops in the user's scope, of the user's accounts, or made by them."""
    if user is None or not user.is_authenticated:
        return Redemption.objects.none()
    condition = any_of(
        scoping.scope_for(user).q(via="item__shop__grid"),
        own_accounts_q(user, via="account"),
        Q(created_by=user),
    )
    return Redemption.objects.filter(condition).select_related(
        "item__shop__grid",
        "account__resident",
        "account__party_member__resident",
        "account__party_member__user",
        "account__household__head",
        "created_by",
    )
