"""Points for 党员接单: ``points_post_for_ticket`` posts the community's rule to whoever
claimed the ticket from the claim board, once, when it closes rated satisfied."""

from __future__ import annotations

import pytest
from django.db import transaction

from grids.models import AssignmentRole
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import make_rule
from tickets import services as tickets
from tickets.models import Rating
from volunteers import services
from volunteers.models import CategoryDifficulty, Difficulty, EntryReason, PointsEntry, RuleKind
from volunteers.tasks import points_post_for_ticket_task


@pytest.fixture
def frank(make_user):
    return make_user("frank", is_staff=False)


@pytest.fixture
def errands(db):
    parent = make_category(name="为老服务")
    return make_category(name="代购药品", parent=parent)


@pytest.fixture
def claimer(world, pete):
    """Pete (a party member) may claim on A1a as its unit head."""
    assign(pete, world.A1a, AssignmentRole.UNIT_HEAD)
    return pete


@pytest.fixture
def rules(world):
    make_rule(world.A, RuleKind.TICKET_CLAIM, 5, code=Difficulty.EASY)
    make_rule(world.A, RuleKind.TICKET_CLAIM, 10, code=Difficulty.NORMAL)
    make_rule(world.A, RuleKind.TICKET_CLAIM, 20, code=Difficulty.HARD)


def _claimed_and_resolved(world, category, frank, claimer):
    ticket = open_ticket(category=category, grid=world.A1a, reporter=frank, title="帮独居老人买药")
    tickets.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)
    tickets.ticket_claim(actor=claimer, ticket=ticket)
    tickets.ticket_resolve(actor=claimer, ticket=ticket)
    return ticket


def test_satisfied_claim_earns_the_rule_once(world, errands, frank, claimer, rules, pete_account):
    # given the parent category is hard (the subcategory inherits it)
    CategoryDifficulty.objects.create(category=errands.parent, difficulty=Difficulty.HARD)
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)

    # when the points are posted, twice
    first = services.points_post_for_ticket(ticket=ticket)
    second = services.points_post_for_ticket(ticket=ticket)

    # then one entry of the hard rule for pete's party-member account
    assert first is not None
    assert first == second
    entry = PointsEntry.objects.get()
    assert (entry.account, entry.amount, entry.reason) == (pete_account, 20, EntryReason.TICKET)
    assert entry.source == ticket
    assert entry.grid == world.A1a
    pete_account.refresh_from_db()
    assert pete_account.balance == 20


def test_normal_difficulty_by_default(world, errands, frank, claimer, rules, pete_account):
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)

    assert services.points_post_for_ticket(ticket=ticket).amount == 10


@pytest.mark.parametrize("rating", [Rating.BASICALLY_SATISFIED, Rating.UNSATISFIED])
def test_no_points_unless_rated_satisfied(world, errands, frank, claimer, rules, rating):
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=rating)

    assert services.points_post_for_ticket(ticket=ticket) is None
    assert not PointsEntry.objects.exists()


def test_no_points_for_a_ticket_not_taken_from_the_claim_board(
    world, errands, frank, claimer, rules
):
    ticket = open_ticket(category=errands, grid=world.A1a, reporter=frank)
    tickets.ticket_dispatch(actor=superuser(), ticket=ticket, assignee=claimer)
    tickets.ticket_accept(actor=claimer, ticket=ticket)
    tickets.ticket_resolve(actor=claimer, ticket=ticket)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)

    assert services.points_post_for_ticket(ticket=ticket) is None
    assert not PointsEntry.objects.exists()


def test_no_points_before_the_ticket_closes_or_without_a_rule(world, errands, frank, claimer):
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    assert services.points_post_for_ticket(ticket=ticket) is None  # resolved, not rated
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)
    assert services.points_post_for_ticket(ticket=ticket) is None  # no rule in community A
    assert not PointsEntry.objects.exists()


def test_the_task_posts_once_when_run_twice(world, errands, frank, claimer, rules):
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)

    points_post_for_ticket_task.delay(ticket.pk)
    points_post_for_ticket_task.delay(ticket.pk)

    assert PointsEntry.objects.filter(reason=EntryReason.TICKET).count() == 1


def test_posting_inside_the_ratings_transaction(
    world, errands, frank, claimer, rules, pete_account
):
    """As ``tickets.services.ticket_rate`` will call it: in the same transaction, right
    after the ticket closes (an error there would undo the rating too)."""
    ticket = _claimed_and_resolved(world, errands, frank, claimer)
    with transaction.atomic():
        closed = tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)
        entry = services.points_post_for_ticket(ticket=closed)

    assert entry.amount == 10
    pete_account.refresh_from_db()
    assert pete_account.balance == 10
