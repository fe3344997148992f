"""Who sees what of volunteering: the grid scope, widened for volunteers.

A volunteer is often a resident with an account and no grid assignment, so the grid scope
alone would show them nothing. Their *reach* is the community they registered with
(its whole subtree) plus the grids above it, where township- or county-wide activities are
organised; grid workers and staff reach their scope's subtrees and the grids above them
too. Reach is for reading activities, teams, shops and rules; changing anything is the
grid scope's *change* right (``volunteers.permissions``), and balances are seen only by
their owners and by those whose scope covers the account's grid.
"""

from __future__ import annotations

import datetime

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from grids import scoping
from grids.models import Grid, GridLevel
from grids.scoping import Bounds
from residents.models import PartyMember
from volunteers.models import DualRegistration, Volunteer

# The paths from an account to the grids that place it: a resident's or household's grid,
# and for a party member both where they live and where their organization sits.
ACCOUNT_GRID_PATHS = (
    "resident__household__grid",
    "household__grid",
    "party_member__resident__household__grid",
    "party_member__organization__grid",
)


def any_of(*conditions: Q | Exists) -> Q:
    """The OR of ``conditions``, where an empty ``Q()`` means "every row" (a superuser's
    scope): Django's ``Q() | Q(x)`` is ``Q(x)``, which would narrow instead of widen."""
    combined = Q(pk__in=[])
    for condition in conditions:
        if isinstance(condition, Q) and not condition:
            return Q()
        combined |= condition if isinstance(condition, Q) else Q(condition)
    return combined


def period_bounds(
    start: datetime.date, end: datetime.date
) -> tuple[datetime.datetime, datetime.datetime]:
    """Local days ``start`` to ``end`` inclusive as aware datetimes ``[from, until)``."""
    zone = timezone.get_current_timezone()
    since = datetime.datetime.combine(start, datetime.time.min, tzinfo=zone)
    until = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time.min, zone)
    return since, until


def community_of(grid: Grid) -> Grid:
    """The community (or village) at or above ``grid``; the grid itself when it has none
    above it (a township, a county)."""
    if grid.level == GridLevel.COMMUNITY:
        return grid
    found = (
        Grid.objects.filter(
            tree_id=grid.tree_id,
            lft__lte=grid.lft,
            rght__gte=grid.rght,
            level=GridLevel.COMMUNITY,
        )
        .order_by("-lft")
        .first()
    )
    return found or grid


def subtree_q(grid: Grid, *, via: str = "grid") -> Q:
    prefix = f"{via}__" if via else ""
    return Q(
        **{
            f"{prefix}tree_id": grid.tree_id,
            f"{prefix}lft__gte": grid.lft,
            f"{prefix}rght__lte": grid.rght,
        }
    )


def _around(bounds: Bounds, via: str) -> Q:
    """Grids inside the subtree ``bounds`` or above its top."""
    tree_id, lft, rght = bounds
    prefix = f"{via}__" if via else ""
    inside = Q(
        **{f"{prefix}tree_id": tree_id, f"{prefix}lft__gte": lft, f"{prefix}rght__lte": rght}
    )
    above = Q(**{f"{prefix}tree_id": tree_id, f"{prefix}lft__lt": lft, f"{prefix}rght__gt": rght})
    return inside | above


def volunteer_for_user(user) -> Volunteer | None:
    """The user's volunteer registration, with its grid and resident (one query)."""
    if user is None or not user.is_authenticated:
        return None
    return (
        Volunteer.objects.select_related("grid", "resident")
        .filter(user=user, is_active=True)
        .first()
    )


def reach_q(user, *, via: str = "grid") -> Q:
    """Rows whose grid (through ``via``) the user reaches; see the module docstring."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    scope = scoping.scope_for(user)
    if scope.is_global:
        return Q()
    bounds: list[Bounds] = list(scope.view)
    volunteer = volunteer_for_user(user)
    if volunteer is not None:
        community = community_of(volunteer.grid)
        bounds.append((community.tree_id, community.lft, community.rght))
    if not bounds:
        return Q(pk__in=[])
    condition = Q()
    for bound in bounds:
        condition |= _around(bound, via)
    return condition


def reaches(user, grid: Grid) -> bool:
    """Whether ``grid`` is in the user's reach (for one object already in hand)."""
    return Grid.objects.filter(reach_q(user, via=""), pk=grid.pk).exists()


def sees_people_of(user, grid: Grid) -> bool:
    """Whether the user may see people's points on ``grid`` (a leaderboard): their grid
    scope covers it, or it lies inside the community they volunteer in. Not the grids
    above it: a township's board would show other communities' people."""
    if scoping.can_view(user, grid):
        return True
    volunteer = volunteer_for_user(user)
    if volunteer is None:
        return False
    community = community_of(volunteer.grid)
    return (
        grid.tree_id == community.tree_id
        and community.lft <= grid.lft
        and grid.rght <= community.rght
    )


def may_serve_on(user, grid: Grid) -> bool:
    """Whether the user serves the community of ``grid`` as a volunteer or a dual-registered
    party member (双报到): for the claim board (党员接单), beside the grid scope."""
    if user is None or not user.is_authenticated:
        return False
    community = community_of(grid)
    inside = subtree_q(community)
    return (
        Volunteer.objects.filter(inside, user=user, is_active=True).exists()
        or DualRegistration.objects.filter(
            inside, party_member__user=user, ended_on__isnull=True
        ).exists()
    )


def account_scope_q(user, *, via: str = "") -> Q:
    """Accounts whose grid lies in the user's grid scope (staff, workers, leaders)."""
    scope = scoping.scope_for(user)
    if scope.is_global:
        return Q()
    if scope.is_empty:
        return Q(pk__in=[])
    prefix = f"{via}__" if via else ""
    condition = Q()
    for path in ACCOUNT_GRID_PATHS:
        condition |= scope.q(via=f"{prefix}{path}")
    # an in-service member registered with a community of the scope (双报到) belongs to it
    registered = DualRegistration.objects.filter(
        scope.q(via="grid"), party_member=OuterRef(f"{prefix}party_member")
    )
    return condition | Q(Exists(registered))


def own_accounts_q(user, *, via: str = "") -> Q:
    """The accounts a user holds: their party membership's, and through their volunteer
    registration their resident's, that resident's party membership's and household's."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    prefix = f"{via}__" if via else ""
    condition = Q(**{f"{prefix}party_member__user": user})
    volunteer = volunteer_for_user(user)
    if volunteer is not None and volunteer.resident_id is not None:
        condition |= (
            Q(**{f"{prefix}resident_id": volunteer.resident_id})
            | Q(**{f"{prefix}party_member__resident_id": volunteer.resident_id})
            | Q(**{f"{prefix}household_id": volunteer.resident.household_id})
        )
    return condition


def party_member_of(*, user=None, resident_id: int | None = None) -> PartyMember | None:
    """The party membership of a person known by their account and/or resident record."""
    condition = Q(pk__in=[])
    if resident_id is not None:
        condition |= Q(resident_id=resident_id)
    if user is not None and user.is_authenticated:
        condition |= Q(user=user)
    return PartyMember.objects.filter(condition).order_by("pk").first()
