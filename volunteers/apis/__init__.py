"""REST API of the volunteers app (``/api/v1/``), registered by ``register(router)``.

Views are thin: reads through ``volunteers.selectors`` (an object out of reach is a 404),
writes through ``volunteers.services`` (400 bad input, 403 no right, 409 a state that does
not allow it, each with a reason). The modules: ``teams`` (volunteers, team kinds,
teams), ``activities`` (activities, sign-ups), ``points`` (accounts, entries, rules,
awards, leaderboards), ``shop``, ``dual`` (pairings, registrations, reports).
"""

from __future__ import annotations

from volunteers.apis.activities import ActivityViewSet, SignupViewSet
from volunteers.apis.dual import (
    OrganizationReportViewSet,
    PairingViewSet,
    RegistrationViewSet,
    ServiceRecordViewSet,
)
from volunteers.apis.points import (
    AccountViewSet,
    AwardViewSet,
    EntryViewSet,
    LeaderboardViewSet,
    RuleViewSet,
)
from volunteers.apis.shop import ItemViewSet, RedemptionViewSet, ShopViewSet
from volunteers.apis.teams import TeamKindViewSet, TeamViewSet, VolunteerViewSet


def register(router) -> None:
    router.register("volunteers", VolunteerViewSet, basename="volunteer")
    router.register("volunteer-team-kinds", TeamKindViewSet, basename="volunteer-team-kind")
    router.register("volunteer-teams", TeamViewSet, basename="volunteer-team")
    router.register("volunteer-activities", ActivityViewSet, basename="volunteer-activity")
    router.register("volunteer-signups", SignupViewSet, basename="volunteer-signup")
    router.register("points-accounts", AccountViewSet, basename="points-account")
    router.register("points-entries", EntryViewSet, basename="points-entry")
    router.register("points-rules", RuleViewSet, basename="points-rule")
    router.register("points-awards", AwardViewSet, basename="points-award")
    router.register("points-leaderboard", LeaderboardViewSet, basename="points-leaderboard")
    router.register("points-shops", ShopViewSet, basename="points-shop")
    router.register("points-shop-items", ItemViewSet, basename="points-shop-item")
    router.register("points-redemptions", RedemptionViewSet, basename="points-redemption")
    router.register("unit-pairings", PairingViewSet, basename="unit-pairing")
    router.register("dual-registrations", RegistrationViewSet, basename="dual-registration")
    router.register(
        "dual-registration-report", OrganizationReportViewSet, basename="dual-registration-report"
    )
    router.register(
        "party-member-service-records", ServiceRecordViewSet, basename="party-member-record"
    )
