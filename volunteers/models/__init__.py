"""The volunteers app's models, one module per subject; import them from here.

``teams``: volunteers, team kinds, teams and their members; ``activities``: activities and
sign-ups; ``points``: the ledger, rules and awards; ``shop``: the points shop;
``dual``: dual registration of party members and unit pairings.
"""

from volunteers.models.activities import (
    ATTENDED,
    TAKING_PLACE,
    Activity,
    ActivityStatus,
    PointsBasis,
    Signup,
    SignupStatus,
)
from volunteers.models.dual import DualRegistration, UnitPairing
from volunteers.models.points import (
    EARNING_REASONS,
    AccountKind,
    CategoryDifficulty,
    Difficulty,
    EntryReason,
    PointsAccount,
    PointsAward,
    PointsEntry,
    PointsRule,
    RuleKind,
)
from volunteers.models.shop import Redemption, RedemptionStatus, Shop, ShopItem
from volunteers.models.teams import TeamKind, TeamMembership, Volunteer, VolunteerTeam

__all__ = [
    "ATTENDED",
    "EARNING_REASONS",
    "TAKING_PLACE",
    "AccountKind",
    "Activity",
    "ActivityStatus",
    "CategoryDifficulty",
    "Difficulty",
    "DualRegistration",
    "EntryReason",
    "PointsAccount",
    "PointsAward",
    "PointsBasis",
    "PointsEntry",
    "PointsRule",
    "Redemption",
    "RedemptionStatus",
    "RuleKind",
    "Shop",
    "ShopItem",
    "Signup",
    "SignupStatus",
    "TeamKind",
    "TeamMembership",
    "UnitPairing",
    "Volunteer",
    "VolunteerTeam",
]
