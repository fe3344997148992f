"""Every list endpoint of the volunteers API answers in a number of queries that does not
grow with its rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from grids.models import PartyOrganizationKind
from residents.models import PartyMember, PartyMemberStatus
from tests.grids.factories import make_party_organization
from tests.residents.factories import make_household, make_resident
from tests.volunteers.factories import fund, make_activity, make_rule, make_volunteer
from volunteers import services
from volunteers.models import RuleKind, TeamKind

LISTS = (
    "/api/v1/volunteers/",
    "/api/v1/volunteer-teams/",
    "/api/v1/volunteer-activities/",
    "/api/v1/points-accounts/",
    "/api/v1/points-entries/",
    "/api/v1/points-rules/",
    "/api/v1/points-awards/",
    "/api/v1/dual-registrations/",
    "/api/v1/unit-pairings/",
)


def _add_rows(world, staff, branch, n: int, offset: int) -> None:
    kind = TeamKind.objects.get(code="arts")
    for i in range(offset, offset + n):
        resident = make_resident(make_household(world.A1), name=f"居民{i}")
        volunteer = make_volunteer(world.A1, resident=resident)
        services.team_create(actor=staff, grid=world.A, kind=kind, name=f"队{i}", leader=volunteer)
        make_activity(world.A1, actor=staff, title=f"活动{i}")
        fund(services.account_for(resident=resident), 5, world.A)
        member = PartyMember.objects.create(
            resident=resident, organization=branch, status=PartyMemberStatus.IN_SERVICE
        )
        services.registration_create(actor=staff, party_member=member, grid=world.A1)
        make_rule(world.A, RuleKind.AWARD, 5, code=f"award-{i}")
        unit = make_party_organization(world.D1, PartyOrganizationKind.BRANCH, name=f"单位{i}")
        services.pairing_create(actor=staff, organization=unit, community=world.A)


@pytest.mark.parametrize("url", LISTS)
def test_list_query_count_does_not_grow(world, staff, branch, url, api_client_for):
    client = api_client_for(staff)
    _add_rows(world, staff, branch, 1, 0)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
            assert response.status_code == 200
            assert response.json()["count"] >= 1
        return len(ctx.captured_queries)

    small = count()
    _add_rows(world, staff, branch, 4, 1)
    assert count() == small
