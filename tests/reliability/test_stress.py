"""One stress run: the races of the earlier issues, all at once, on PostgreSQL.

Each race has its own test where it was built (``tests/tickets/test_concurrency.py``,
``tests/volunteers/test_concurrency.py``, ``tests/residents/test_duties_and_campaigns.py``,
``tests/grids/test_concurrency.py``). Here they are released together by one barrier, so
their locks (the ticket row, the points account and the stock, the campaign task, the
grid tree's advisory lock, the ticket number sequence) are taken side by side by forty
sessions, and each race must still end the way it ends alone.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable

import pytest
from django.db.models import Sum
from django.utils import timezone

from governance.errors import Conflict
from grids import services as grids
from grids.models import AssignmentRole, Grid, GridLevel
from grids.tree_check import check_tree
from residents import services as residents
from residents.models import Visit
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import assign, superuser
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import fund, make_item, make_shop, make_volunteer
from tickets import services as tickets
from tickets.models import Ticket, TicketEvent
from volunteers import services as volunteers
from volunteers.models import Redemption, ShopItem

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]

PER_RACE = 8


def _outcome(work: Callable[[], object]) -> str:
    """ "ok", or the code of the conflict the service answered with."""
    try:
        work()
    except Conflict as conflict:
        return conflict.code or "conflict"
    return "ok"


@pytest.fixture
def races(world, make_user):
    """Each race's setting, built before the barrier; each returns its thread's work."""
    root = superuser()
    category = make_category(name="安全隐患")

    # claims: one ticket on the claim board, eight people who may claim it
    board_ticket = open_ticket(category=category, grid=world.A1a, reporter=root)
    tickets.ticket_dispatch(actor=root, ticket=board_ticket, claim_board=True)
    claimers = [make_user(f"claimer{i}") for i in range(PER_RACE)]
    for claimer in claimers:
        assign(claimer, world.A1a, AssignmentRole.UNIT_HEAD)

    # redemptions: a balance that buys three items, eight tries
    buyer = make_user("vera", is_staff=False)
    resident = make_resident(make_household(world.A1, room="101"), name="王大爷")
    make_volunteer(world.A1, user=buyer, resident=resident)
    account = volunteers.account_for(resident=resident)
    fund(account, 30, world.A)
    item = make_item(make_shop(world.A), price=10, stock=100)

    # campaign visits: four doors, two workers at each
    doors = [make_household(world.A2, room=f"20{i}") for i in range(PER_RACE // 2)]
    campaign = residents.campaign_start(
        actor=root,
        grid=world.A2,
        title="敲门行动",
        deadline=timezone.now() + datetime.timedelta(days=7),
    )
    tasks = {task.household_id: task for task in campaign.tasks.all()}
    knockers = [make_user(f"knocker{i}") for i in range(PER_RACE)]
    for knocker in knockers:
        assign(knocker, world.A2, AssignmentRole.FULL_TIME_WORKER)

    # tree inserts: eight new communities under one township
    parent = world.T2

    def claim(i: int) -> str:
        return _outcome(lambda: tickets.ticket_claim(actor=claimers[i], ticket=board_ticket))

    def redeem(i: int) -> str:
        return _outcome(lambda: volunteers.redemption_create(actor=buyer, item=item))

    def knock(i: int) -> str:
        task = tasks[doors[i // 2].pk]
        return _outcome(lambda: residents.campaign_task_record(actor=knockers[i], task=task))

    def insert(i: int) -> str:
        return _outcome(
            lambda: grids.grid_create(
                actor=root,
                parent=parent,
                name=f"社区S{i}",
                code=f"S{i:03d}",
                level=GridLevel.COMMUNITY,
            )
        )

    def report(i: int) -> str:
        return _outcome(
            lambda: open_ticket(category=category, grid=world.A1, reporter=root, title=f"#{i}")
        )

    return {
        "claim": claim,
        "redeem": redeem,
        "knock": knock,
        "insert": insert,
        "report": report,
        "_": {
            "ticket": board_ticket,
            "claimers": claimers,
            "account": account,
            "item": item,
            "doors": doors,
            "parent": parent,
        },
    }


def test_the_races_of_every_issue_at_once(races):
    # given every race's threads, released together
    names = ["claim", "redeem", "knock", "insert", "report"]
    work = [(name, i) for name in names for i in range(PER_RACE)]
    outcomes: dict[str, Counter] = {name: Counter() for name in names}

    def run(index: int) -> None:
        name, i = work[index]
        outcomes[name][races[name](i)] += 1

    # when they all run at once
    errors = run_in_threads(len(work), run)

    # then nothing failed unexpectedly, and each race ended as it ends alone
    assert errors == []
    setting = races["_"]
    # one claim wins; the others are told it is taken
    assert outcomes["claim"] == {"ok": 1, "already_claimed": PER_RACE - 1}
    ticket = Ticket.objects.get(pk=setting["ticket"].pk)
    assert ticket.status == "accepted"
    assert ticket.assignee in setting["claimers"]
    assert TicketEvent.objects.filter(ticket=ticket, kind="claimed").count() == 1
    # three redemptions are affordable; the ledger and the stock agree
    assert outcomes["redeem"] == {"ok": 3, "insufficient_points": PER_RACE - 3}
    account = setting["account"]
    account.refresh_from_db()
    assert account.balance == 0
    assert account.entries.aggregate(total=Sum("amount"))["total"] == 0
    assert Redemption.objects.count() == 3
    assert ShopItem.objects.get(pk=setting["item"].pk).stock == 97
    # one visit per door; the second worker at each door is told
    assert outcomes["knock"]["ok"] == len(setting["doors"])
    assert sum(outcomes["knock"].values()) == PER_RACE
    assert Visit.objects.filter(household__in=setting["doors"]).count() == len(setting["doors"])
    # every insert made it, and the tree's bounds are whole
    assert outcomes["insert"] == {"ok": PER_RACE}
    assert Grid.objects.filter(parent=setting["parent"]).count() == PER_RACE
    assert check_tree(Grid) == []
    # every report got its own number, consecutively
    assert outcomes["report"] == {"ok": PER_RACE}
    numbers = sorted(Ticket.objects.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers) == PER_RACE + 1
    assert [int(n[-4:]) for n in numbers] == list(range(1, PER_RACE + 2))
