"""Who may edit archives and who may read personal data whole, by role on the grid.

Lists, exports and the API show ID numbers and phones masked to everyone. Reading one
whole is a deliberate act (a "reveal"), allowed only to the roles whose work needs it on
that household, and logged. Community staff handle benefits and certificates (they need
the ID number); the people who phone residents (staff, grid leaders, full-time workers)
need the phone. Part-time workers, unit heads, party secretaries, department liaisons and
district leaders see masked values only.
"""

from __future__ import annotations

from grids import scoping
from grids.models import AssignmentRole, Grid

EDIT_ROLES = frozenset(
    {
        AssignmentRole.COMMUNITY_STAFF,
        AssignmentRole.GRID_LEADER,
        AssignmentRole.FULL_TIME_WORKER,
        AssignmentRole.PART_TIME_WORKER,
    }
)
VISIT_ROLES = EDIT_ROLES | {AssignmentRole.UNIT_HEAD}
CAMPAIGN_ROLES = frozenset({AssignmentRole.COMMUNITY_STAFF, AssignmentRole.GRID_LEADER})
REVEAL_ROLES: dict[str, frozenset[str]] = {
    "id_number": frozenset({AssignmentRole.COMMUNITY_STAFF}),
    "phone": frozenset(
        {
            AssignmentRole.COMMUNITY_STAFF,
            AssignmentRole.GRID_LEADER,
            AssignmentRole.FULL_TIME_WORKER,
        }
    ),
}


def can_edit_archive(user, grid: Grid) -> bool:
    return bool(scoping.roles_for(user, grid) & EDIT_ROLES)


def can_visit(user, grid: Grid) -> bool:
    return bool(scoping.roles_for(user, grid) & VISIT_ROLES)


def can_run_campaign(user, grid: Grid) -> bool:
    return bool(scoping.roles_for(user, grid) & CAMPAIGN_ROLES)


def revealable_fields(user, grid: Grid) -> list[str]:
    """The personal fields the user may read whole on a household of ``grid``."""
    roles = scoping.roles_for(user, grid)
    return [field for field, allowed in REVEAL_ROLES.items() if roles & allowed]
