"""党员接单 beyond grid roles: volunteers and party members of a community see its claim
board, claim from it, and carry what they claimed through to the end."""

from __future__ import annotations

import pytest

from grids.models import PartyOrganizationKind
from residents.models import PartyMember
from tests.grids.factories import make_party_organization
from tests.volunteers.factories import make_volunteer
from tickets.models import TicketStatus


@pytest.fixture
def board_ticket(make_ticket):
    """A ticket of micro grid A1a published on the claim board."""
    return make_ticket(TicketStatus.CLAIMABLE)


@pytest.fixture
def vera(world, make_user):
    """A resident volunteer of community A with an account and no grid role."""
    user = make_user("vera_claims", is_staff=False)
    make_volunteer(world.A1, user=user)
    return user


def test_a_volunteer_sees_claims_and_resolves(board_ticket, vera, api_client_for):
    client = api_client_for(vera)
    board = client.get("/api/v1/claim-board/")
    assert board.status_code == 200
    assert [t["id"] for t in board.json()["results"]] == [board_ticket.pk]

    claimed = client.post(f"/api/v1/tickets/{board_ticket.pk}/claim/", {}, format="json")
    assert claimed.status_code == 200, claimed.json()
    assert claimed.json()["status"] == TicketStatus.ACCEPTED
    started = client.post(f"/api/v1/tickets/{board_ticket.pk}/start/", {}, format="json")
    assert started.status_code == 200, started.json()
    resolved = client.post(f"/api/v1/tickets/{board_ticket.pk}/resolve/", {}, format="json")
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["status"] == TicketStatus.RESOLVED


def test_a_volunteer_of_another_community_sees_nothing(
    world, board_ticket, make_user, api_client_for
):
    victor = make_user("victor_claims", is_staff=False)
    make_volunteer(world.B1, user=victor)
    client = api_client_for(victor)
    assert client.get("/api/v1/claim-board/").json()["results"] == []
    assert client.get(f"/api/v1/tickets/{board_ticket.pk}/").status_code == 404
    assert (
        client.post(f"/api/v1/tickets/{board_ticket.pk}/claim/", {}, format="json").status_code
        == 404
    )


def test_a_party_member_of_a_community_branch_claims(
    world, board_ticket, make_user, api_client_for
):
    branch = make_party_organization(world.A, PartyOrganizationKind.BRANCH, name="社区A支部")
    pete = make_user("pete_claims", is_staff=False)
    PartyMember.objects.create(user=pete, organization=branch)
    response = api_client_for(pete).post(
        f"/api/v1/tickets/{board_ticket.pk}/claim/", {}, format="json"
    )
    assert response.status_code == 200, response.json()


def test_a_volunteer_cannot_claim_what_is_not_on_the_board(
    world, make_ticket, vera, api_client_for
):
    dispatched = make_ticket(TicketStatus.DISPATCHED)
    response = api_client_for(vera).post(
        f"/api/v1/tickets/{dispatched.pk}/claim/", {}, format="json"
    )
    assert response.status_code == 404  # not on the board: not theirs to see
