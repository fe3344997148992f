"""Who may do what in volunteering, from grid assignments (``grids.scoping``).

- **staff**: whoever may change the grid (community staff, grid leaders, superusers):
  teams, activities, volunteers' registration, rules, awards, the shop, dual registration.
- **organiser**: the activity's organiser, the leader of its team, or staff of its grid:
  sign people up after the cut-off, check them in and out, confirm hours, cancel it.
- **team leader**: creates activities for their team on the team's subtree.
- **volunteer**: signs up and cancels before the cut-off, checks in and out with the code
  shown at the venue; spends their own points.
"""

from __future__ import annotations

from grids import scoping
from grids.models import Grid
from volunteers.models import Activity, PointsAccount, Signup, VolunteerTeam
from volunteers.selectors import accounts_of_user


def can_manage(user, grid: Grid) -> bool:
    return user is not None and scoping.can_change(user, grid)


def is_team_leader(user, team: VolunteerTeam | None) -> bool:
    return (
        user is not None
        and user.is_authenticated
        and team is not None
        and team.leader_id is not None
        and team.leader.user_id == user.pk
    )


def _inside(grid: Grid, top: Grid) -> bool:
    return grid.tree_id == top.tree_id and top.lft <= grid.lft and grid.rght <= top.rght


def can_create_activity(user, grid: Grid, team: VolunteerTeam | None) -> bool:
    if can_manage(user, grid):
        return True
    return is_team_leader(user, team) and team is not None and _inside(grid, team.grid)


def can_organise(user, activity: Activity) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return (
        activity.organiser_id == user.pk
        or can_manage(user, activity.grid)
        or is_team_leader(user, activity.team)
    )


def is_own_signup(user, signup: Signup) -> bool:
    return (
        user is not None
        and user.is_authenticated
        and signup.volunteer.user_id is not None
        and signup.volunteer.user_id == user.pk
    )


def owns_account(user, account: PointsAccount) -> bool:
    return any(a.pk == account.pk for a in accounts_of_user(user=user))
