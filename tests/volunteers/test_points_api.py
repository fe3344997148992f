"""Accounts, entries, rules, awards and leaderboards through the API, scoped: a volunteer
sees their own balance, staff their grids', nobody another community's."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from grids.models import PartyOrganizationKind
from residents.models import PartyMember
from tests.grids.factories import make_party_organization, superuser
from tests.residents.factories import make_household, make_resident
from tests.volunteers.factories import fund, make_rule
from volunteers import services
from volunteers.models import PointsEntry, PointsRule, RuleKind

ACCOUNTS = "/api/v1/points-accounts/"
ENTRIES = "/api/v1/points-entries/"
RULES = "/api/v1/points-rules/"
AWARDS = "/api/v1/points-awards/"
BOARD = "/api/v1/points-leaderboard/"


def test_a_volunteer_sees_their_own_balance_and_history(world, vera, vera_account, api_client_for):
    fund(vera_account, 25, world.A)
    client = api_client_for(vera)

    mine = client.get(ACCOUNTS, {"mine": "true"})
    assert mine.status_code == 200
    assert [(a["id"], a["balance"], a["name"]) for a in mine.json()["results"]] == [
        (vera_account.pk, 25, "王大爷")
    ]
    history = client.get(f"{ACCOUNTS}{vera_account.pk}/entries/")
    assert history.status_code == 200
    assert [e["amount"] for e in history.json()["results"]] == [25]


def test_another_community_cannot_see_a_balance(world, vera, vera_account, victor, api_client_for):
    fund(vera_account, 25, world.A)
    client = api_client_for(victor)

    assert vera_account.pk not in {a["id"] for a in client.get(ACCOUNTS).json()["results"]}
    assert client.get(f"{ACCOUNTS}{vera_account.pk}/").status_code == 404
    assert client.get(f"{ACCOUNTS}{vera_account.pk}/entries/").status_code == 404
    assert client.get(ENTRIES).json()["count"] == 0


def test_staff_see_their_grids_accounts_and_reverse_an_entry(
    world, staff, vera, vera_account, api_client_for
):
    fund(vera_account, 25, world.A)
    entry = PointsEntry.objects.get()
    client = api_client_for(staff)

    assert vera_account.pk in {a["id"] for a in client.get(ACCOUNTS).json()["results"]}
    assert client.post(f"{ENTRIES}{entry.pk}/reverse/", {}, format="json").status_code == 400
    assert (
        api_client_for(vera).post(f"{ENTRIES}{entry.pk}/reverse/", {"note": "x"}).status_code == 403
    )
    reversed_ = client.post(f"{ENTRIES}{entry.pk}/reverse/", {"note": "发错了"}, format="json")
    assert reversed_.status_code == 201
    assert reversed_.json()["amount"] == -25
    assert client.post(f"{ENTRIES}{entry.pk}/reverse/", {"note": "再来"}).status_code == 409
    vera_account.refresh_from_db()
    assert vera_account.balance == 0


def test_rules_are_versioned_through_the_api(world, staff, worker, api_client_for):
    client = api_client_for(staff)
    payload = {"grid": world.A.pk, "kind": "volunteer_hour", "name": "每小时", "points": 10}

    created = client.post(RULES, payload, format="json")
    assert created.status_code == 201, created.json()
    backdated = client.post(
        RULES,
        {**payload, "points": 12, "effective_from": "2020-01-01"},
        format="json",
    )
    assert backdated.status_code == 400
    future_day = timezone.localdate() + datetime.timedelta(days=30)
    future = client.post(
        RULES, {**payload, "points": 12, "effective_from": future_day.isoformat()}, format="json"
    )
    assert future.status_code == 201
    assert client.delete(f"{RULES}{created.json()['id']}/").status_code == 409
    assert client.delete(f"{RULES}{future.json()['id']}/").status_code == 204
    on_his_grid = {**payload, "grid": world.A1.pk}
    assert api_client_for(worker).post(RULES, on_his_grid, format="json").status_code == 403
    bad_kind = client.post(RULES, {**payload, "kind": "bribe"}, format="json")
    assert bad_kind.status_code == 400
    assert list(PointsRule.objects.values_list("points", flat=True)) == [10]


def test_awards_through_the_api(world, staff, vera_account, api_client_for):
    make_rule(world.A, RuleKind.AWARD, 50, code="civilised_family", name="文明家庭")
    response = api_client_for(staff).post(
        AWARDS,
        {
            "account": vera_account.pk,
            "grid": world.A.pk,
            "kind": "award",
            "code": "civilised_family",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["points"], response.json()["rule_name"]) == (50, "文明家庭")
    vera_account.refresh_from_db()
    assert vera_account.balance == 50


@pytest.fixture
def members(world, branch):
    """Three party members of A's branch (one in a group below it) and one of B."""
    group = make_party_organization(
        world.A1, PartyOrganizationKind.GROUP, parent=branch, name="A1楼栋党小组"
    )
    b_branch = make_party_organization(world.B, PartyOrganizationKind.BRANCH, name="B社区党支部")
    people = {}
    for name, grid, organization in (
        ("甲", world.A1, branch),
        ("乙", world.A1, group),
        ("丙", world.A2, branch),
        ("丁", world.B1, b_branch),
    ):
        resident = make_resident(make_household(grid), name=name)
        member = PartyMember.objects.create(resident=resident, organization=organization)
        people[name] = services.account_for(party_member=member)
    return people


def test_party_leaderboard_per_branch_and_per_community(
    world, staff, members, branch, api_client_for
):
    make_rule(world.A, RuleKind.PARTY_DUTY, 5, code="three_meetings")
    make_rule(world.B, RuleKind.PARTY_DUTY, 5, code="three_meetings")
    for name, times in (("甲", 2), ("乙", 3), ("丙", 2), ("丁", 9)):
        grid = world.B if name == "丁" else world.A
        for _i in range(times):
            services.points_award(
                actor=superuser(),
                account=members[name],
                grid=grid,
                kind=RuleKind.PARTY_DUTY,
                code="three_meetings",
            )
    client = api_client_for(staff)

    by_branch = client.get(BOARD, {"organization": branch.pk})
    assert by_branch.status_code == 200, by_branch.json()
    assert [(r["rank"], r["name"], r["points"]) for r in by_branch.json()["rows"]] == [
        (1, "乙", 15),
        (2, "甲", 10),
        (2, "丙", 10),
    ]
    by_community = client.get(BOARD, {"grid": world.A.pk, "kind": "party_member"})
    assert [r["name"] for r in by_community.json()["rows"]] == ["乙", "甲", "丙"]
    assert client.get(BOARD, {"grid": world.B.pk}).status_code == 404  # not alice's


def test_leaderboard_counts_the_period_only(world, staff, members, branch, api_client_for):
    make_rule(world.A, RuleKind.AWARD, 7, code="good_deed")
    services.points_award(
        actor=staff, account=members["甲"], grid=world.A, kind=RuleKind.AWARD, code="good_deed"
    )
    # entries are posted now and cannot be back-dated: a period ending yesterday has none
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    month_before = yesterday - datetime.timedelta(days=30)
    earlier = api_client_for(staff).get(
        BOARD, {"grid": world.A.pk, "from": month_before.isoformat(), "to": yesterday.isoformat()}
    )
    assert earlier.json()["rows"] == []
    too_long = api_client_for(staff).get(BOARD, {"grid": world.A.pk, "from": "2020-01-01"})
    assert too_long.status_code == 400
    today = api_client_for(staff).get(BOARD, {"grid": world.A.pk})
    assert [r["points"] for r in today.json()["rows"]] == [7]


def test_a_volunteer_reads_their_own_community_board_only(world, vera, victor, api_client_for):
    assert api_client_for(vera).get(BOARD, {"grid": world.A.pk}).status_code == 200
    assert api_client_for(vera).get(BOARD, {"grid": world.T1.pk}).status_code == 404
    assert api_client_for(victor).get(BOARD, {"grid": world.A.pk}).status_code == 404
    assert api_client_for(vera).get(BOARD).status_code == 400
