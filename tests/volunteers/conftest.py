"""Fixtures of the volunteers tests: households and people around communities A and B.

Beside alice (staff of A), bob (worker on A1), charlie (worker on B) and dan (district
leader of C) from ``tests/conftest.py``::

    vera    a resident of A1 (王大爷's household) with an account and no grid role: a volunteer
    pete    a resident of micro grid A1a (李阿姨) and a party member of A's branch: a volunteer
    victor  a resident of B1 (赵先生): a volunteer of community B
    mo      an in-service party member of the police (department D1), no household here
"""

from __future__ import annotations

import datetime

import pytest

from grids.models import PartyOrganizationKind
from residents.models import PartyMember, PartyMemberStatus
from tests.grids.factories import make_party_organization
from tests.residents.factories import make_household, make_resident
from tests.volunteers.factories import make_volunteer
from volunteers import services


@pytest.fixture
def homes(world):
    h1 = make_household(world.A1, building="1", unit="1", room="101")
    h2 = make_household(world.A1a, building="2", unit="1", room="201")
    h3 = make_household(world.B1, building="9", unit="1", room="901")
    wang = make_resident(h1, name="王大爷", birth=datetime.date(1956, 2, 2), relation="head")
    li = make_resident(
        h2, name="李阿姨", birth=datetime.date(1970, 6, 6), gender="female", relation="head"
    )
    zhao = make_resident(h3, name="赵先生", birth=datetime.date(1985, 1, 1), relation="head")
    return {"h1": h1, "h2": h2, "h3": h3, "wang": wang, "li": li, "zhao": zhao}


@pytest.fixture
def branch(world):
    """The party branch of community A."""
    return make_party_organization(world.A, PartyOrganizationKind.BRANCH, name="A社区党支部")


@pytest.fixture
def police_branch(world):
    return make_party_organization(world.D1, PartyOrganizationKind.BRANCH, name="县公安局党支部")


@pytest.fixture
def vera(world, homes, make_user):
    user = make_user("vera", is_staff=False)
    make_volunteer(world.A1, user=user, resident=homes["wang"])
    return user


@pytest.fixture
def pete(world, homes, branch, make_user):
    user = make_user("pete", is_staff=False)
    PartyMember.objects.create(resident=homes["li"], organization=branch)
    make_volunteer(world.A1a, user=user, resident=homes["li"])
    return user


@pytest.fixture
def victor(world, homes, make_user):
    user = make_user("victor", is_staff=False)
    make_volunteer(world.B1, user=user, resident=homes["zhao"])
    return user


@pytest.fixture
def mo(police_branch, make_user):
    user = make_user("mo", is_staff=False)
    PartyMember.objects.create(
        user=user, organization=police_branch, status=PartyMemberStatus.IN_SERVICE
    )
    return user


@pytest.fixture
def vera_account(vera, homes):
    return services.account_for(resident=homes["wang"])


@pytest.fixture
def pete_account(pete, homes):
    return services.account_for(party_member=homes["li"].party_membership)
