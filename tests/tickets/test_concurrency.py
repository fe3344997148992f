"""Races on PostgreSQL with real threads (SQLite has one writer and ignores row locks, so
these are skipped there and run in the second pass of .ci/run)."""

from __future__ import annotations

import pytest

from governance.errors import Conflict
from grids.models import AssignmentRole
from grids.tree_check import check_tree
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category, open_ticket
from tickets import services
from tickets.models import Category, Ticket, TicketEvent

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def party_members(world, make_user):
    """Twenty people who may claim on micro grid A1a (party members arrive with the
    residents issue; for now anyone whose scope covers the grid may claim)."""
    members = [make_user(f"member{i}") for i in range(20)]
    for member in members:
        assign(member, world.A1a, AssignmentRole.UNIT_HEAD)
    return members


@pytest.fixture
def on_the_board(world, hazard, frank):
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank, title="帮独居老人买药")
    services.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)
    return ticket


def test_twenty_claims_at_once_one_wins(on_the_board, party_members):
    # when twenty members claim the same ticket at the same moment
    errors = run_in_threads(
        20, lambda i: services.ticket_claim(actor=party_members[i], ticket=on_the_board)
    )

    # then exactly one claim, one event; the nineteen others are told it is taken
    assert len(errors) == 19
    assert all(isinstance(error, Conflict) for error in errors), errors
    assert {error.code for error in errors} == {"already_claimed"}
    ticket = Ticket.objects.get(pk=on_the_board.pk)
    assert ticket.status == "accepted"
    assert ticket.assignee in party_members
    claims = TicketEvent.objects.filter(ticket=ticket, kind="claimed")
    assert claims.count() == 1
    assert claims.get().actor == ticket.assignee


def test_twenty_claims_through_the_api_one_200_nineteen_409(
    on_the_board, party_members, api_client_for
):
    clients = [api_client_for(member) for member in party_members]
    codes: list[int] = []

    def claim(i: int) -> None:
        codes.append(clients[i].post(f"/api/v1/tickets/{on_the_board.pk}/claim/").status_code)

    assert run_in_threads(20, claim) == []
    assert sorted(codes) == [200] + [409] * 19
    assert TicketEvent.objects.filter(ticket=on_the_board, kind="claimed").count() == 1


def test_reports_opened_at_once_get_distinct_consecutive_numbers(world, hazard, frank):
    errors = run_in_threads(
        10, lambda i: open_ticket(category=hazard, grid=world.A1, reporter=frank, title=f"#{i}")
    )

    assert errors == []
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert [n[-4:] for n in numbers] == [f"{i:04d}" for i in range(1, 11)]


def test_categories_created_at_once_leave_a_valid_tree(db):
    parent = make_category(name="安全隐患")

    errors = run_in_threads(10, lambda i: make_category(name=f"子类{i}", parent=parent))

    assert errors == []
    assert Category.objects.filter(parent=parent).count() == 10
    assert check_tree(Category) == []
