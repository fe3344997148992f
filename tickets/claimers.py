"""Who may take work from the claim board beyond the grid's roles (党员接单).

Residents with an account serve their community without a grid assignment: as registered
volunteers, as in-service party members registered with the community (双报到), or as
party members of an organization on the community's grids. Each such person may see
and claim the claimable tickets of those communities, and work on what they claimed.
Computed once per request and cached on the user object, like ``grids.scoping``.
"""

from __future__ import annotations

from django.db.models import Q

from grids.models import Grid, GridLevel
from residents.models import PartyMember
from volunteers.models import DualRegistration, Volunteer
from volunteers.selectors.reach import community_of

Bounds = tuple[int, int, int]
_CACHE_ATTR = "_served_communities_cache"


def _community_bounds(grid: Grid) -> Bounds | None:
    community = community_of(grid)
    if community.level != GridLevel.COMMUNITY:
        return None  # an organization of a township or county serves no single community
    return (community.tree_id, community.lft, community.rght)


def served_communities(user) -> tuple[Bounds, ...]:
    if user is None or not user.is_authenticated or not user.is_active:
        return ()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grids = [
        *(
            v.grid
            for v in Volunteer.objects.filter(user=user, is_active=True).select_related("grid")
        ),
        *(
            d.grid
            for d in DualRegistration.objects.filter(
                party_member__user=user, ended_on__isnull=True
            ).select_related("grid")
        ),
        *(
            m.organization.grid
            for m in PartyMember.objects.filter(user=user).select_related("organization__grid")
        ),
    ]
    bounds = tuple(sorted({b for b in (_community_bounds(g) for g in grids) if b}))
    setattr(user, _CACHE_ATTR, bounds)
    return bounds


def serves(user, grid: Grid) -> bool:
    return any(
        grid.tree_id == tree_id and lft <= grid.lft and grid.rght <= rght
        for tree_id, lft, rght in served_communities(user)
    )


def serve_q(user, *, via: str = "grid") -> Q:
    bounds = served_communities(user)
    if not bounds:
        return Q(pk__in=[])
    condition = Q()
    for tree_id, lft, rght in bounds:
        condition |= Q(
            **{f"{via}__tree_id": tree_id, f"{via}__lft__gte": lft, f"{via}__rght__lte": rght}
        )
    return condition
