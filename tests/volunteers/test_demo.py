"""``seed_volunteers`` gives the demo Jigong's four teams, activities, rules, shops and dual
registrations, once: a second run creates nothing."""

from __future__ import annotations

import pytest

from grids import demo as grids_demo
from residents import demo as residents_demo
from volunteers import demo
from volunteers.models import (
    Activity,
    DualRegistration,
    PointsAccount,
    PointsEntry,
    PointsRule,
    Shop,
    ShopItem,
    Signup,
    UnitPairing,
    VolunteerTeam,
)


@pytest.mark.django_db
def test_demo_volunteering_is_seeded_once():
    grids_demo.seed()
    residents_demo.seed_residents(scale=0.02, log=grids_demo.silent)
    lines: list[str] = []

    first = demo.seed_volunteers(log=lines.append)

    teams = VolunteerTeam.objects.filter(grid__code=demo.JIGONG)
    assert sorted(teams.values_list("kind__code", flat=True)) == sorted(
        ["party_vanguard", "womens", "arts", "emergency_rescue"]
    )
    assert all(team.leader_id for team in teams)
    assert Activity.objects.filter(grid__code=demo.JIGONG).count() == len(demo.ACTIVITIES)
    assert Shop.objects.count() == len(demo.DEMO_COMMUNITIES)
    assert ShopItem.objects.count() == len(demo.DEMO_COMMUNITIES) * len(demo.ITEMS)
    assert PointsRule.objects.count() == len(demo.DEMO_COMMUNITIES) * len(demo.RULES)
    # the clean-up already held earned points, and the ledger adds up
    assert Signup.objects.filter(status="confirmed").exists()
    assert PointsEntry.objects.filter(reason="activity").exists()
    for account in PointsAccount.objects.all():
        assert account.balance == sum(account.entries.values_list("amount", flat=True))
    assert UnitPairing.objects.filter(community__code=demo.JIGONG).count() == len(demo.UNITS)
    assert DualRegistration.objects.exists()
    assert first.total > 0
    assert any("吉公社区" in line for line in lines)

    counts = [
        model.objects.count()
        for model in (VolunteerTeam, Activity, PointsRule, ShopItem, DualRegistration, PointsEntry)
    ]
    again = demo.seed_volunteers()

    assert again.total == 0
    assert counts == [
        model.objects.count()
        for model in (VolunteerTeam, Activity, PointsRule, ShopItem, DualRegistration, PointsEntry)
    ]
