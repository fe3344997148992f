"""What each assignment role may do on its subtree.

Every role sees its grid's whole subtree. Only the roles that run a grid day to day
may change the grid tree and its assignments there; a district leader reads across
the subtree but changes nothing (seed 003: leaders follow figures, staff act).
"""

from __future__ import annotations

from grids.models import AssignmentRole

CHANGE_ROLES: frozenset[str] = frozenset(
    {AssignmentRole.COMMUNITY_STAFF, AssignmentRole.GRID_LEADER}
)
VIEW_ROLES: frozenset[str] = frozenset(AssignmentRole.values)


def role_can_change(role: str) -> bool:
    return role in CHANGE_ROLES
