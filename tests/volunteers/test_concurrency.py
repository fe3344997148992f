"""Races on PostgreSQL with real threads (SQLite has one writer and ignores row locks, so
these are skipped there and run in the second pass of .ci/run): redemptions against one
balance, the last items in stock, the last places of an activity, one ticket's points."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from governance.errors import Conflict
from grids.models import AssignmentRole
from tests.conftest import requires_postgres, run_in_threads
from tests.grids.factories import assign, superuser
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import (
    fund,
    make_activity,
    make_item,
    make_rule,
    make_shop,
    make_volunteer,
)
from tickets import services as tickets
from tickets.models import Rating
from volunteers import services
from volunteers.models import (
    EntryReason,
    PointsAccount,
    PointsEntry,
    Redemption,
    RuleKind,
    ShopItem,
    Signup,
)

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _consistent(account: PointsAccount) -> int:
    account.refresh_from_db()
    total = account.entries.aggregate(total=Sum("amount"))["total"] or 0
    assert account.balance == total >= 0
    return account.balance


def test_twenty_redemptions_against_a_balance_for_three(world, vera, vera_account):
    # given a balance that covers exactly three items, and plenty in stock
    fund(vera_account, 30, world.A)
    item = make_item(make_shop(world.A), price=10, stock=100)

    # when twenty redemptions arrive at the same moment
    errors = run_in_threads(20, lambda i: services.redemption_create(actor=vera, item=item))

    # then three succeed and seventeen are told there are not enough points
    assert len(errors) == 17
    assert all(isinstance(e, Conflict) and e.code == "insufficient_points" for e in errors), errors
    assert Redemption.objects.count() == 3
    assert ShopItem.objects.get(pk=item.pk).stock == 97
    assert _consistent(vera_account) == 0


def test_twenty_buyers_for_the_last_five(world):
    # given twenty residents of A with points enough each, and five items in stock
    buyers = []
    for i in range(20):
        resident = make_resident(make_household(world.A1), name=f"居民{i}")
        account = services.account_for(resident=resident)
        fund(account, 50, world.A)
        buyers.append(account)
    item = make_item(make_shop(world.A), price=10, stock=5)
    staff = superuser()

    errors = run_in_threads(
        20, lambda i: services.redemption_create(actor=staff, item=item, account=buyers[i])
    )

    assert len(errors) == 15
    assert all(isinstance(e, Conflict) and e.code == "out_of_stock" for e in errors), errors
    assert ShopItem.objects.get(pk=item.pk).stock == 0
    assert Redemption.objects.count() == 5
    assert sorted(_consistent(a) for a in buyers) == [40] * 5 + [50] * 15


def test_twenty_redemptions_through_the_api_three_201_seventeen_409(
    world, vera, vera_account, api_client_for
):
    fund(vera_account, 30, world.A)
    item = make_item(make_shop(world.A), price=10, stock=100)
    clients = [api_client_for(vera) for _i in range(20)]
    codes: list[int] = []

    def redeem(i: int) -> None:
        codes.append(clients[i].post(f"/api/v1/points-shop-items/{item.pk}/redeem/").status_code)

    assert run_in_threads(20, redeem) == []
    assert sorted(codes) == [201] * 3 + [409] * 17
    assert _consistent(vera_account) == 0


def test_redeeming_and_cancelling_at_once_keep_the_ledger_whole(world, vera, vera_account):
    fund(vera_account, 100, world.A)
    item = make_item(make_shop(world.A), price=10, stock=100)
    earlier = [services.redemption_create(actor=vera, item=item) for _i in range(5)]

    def work(i: int) -> None:
        if i < 5:
            services.redemption_cancel(actor=vera, redemption=earlier[i])
        else:
            services.redemption_create(actor=vera, item=item)

    errors = run_in_threads(15, work)

    # the five cancellations all went through; new redemptions only ran out of points
    assert all(isinstance(e, Conflict) and e.code == "insufficient_points" for e in errors)
    assert Redemption.objects.filter(status="cancelled").count() == 5
    pending = Redemption.objects.filter(status="pending").count()
    assert pending + len(errors) == 10  # ten new ones tried; the refused wrote nothing
    assert _consistent(vera_account) == 100 - 10 * pending
    assert ShopItem.objects.get(pk=item.pk).stock == 100 - pending


def test_twenty_volunteers_for_five_places(world, staff):
    volunteers = []
    for i in range(20):
        resident = make_resident(make_household(world.A1), name=f"志愿者{i}")
        volunteers.append(make_volunteer(world.A1, resident=resident))
    activity = make_activity(world.A1, actor=staff, capacity=5)

    errors = run_in_threads(
        20,
        lambda i: services.signup_create(actor=staff, activity=activity, volunteer=volunteers[i]),
    )

    assert len(errors) == 15
    assert all(isinstance(e, Conflict) and e.code == "full" for e in errors), errors
    assert Signup.objects.filter(activity=activity).count() == 5


def test_a_ticket_posted_from_many_places_at_once_earns_once(world, pete, pete_account, make_user):
    make_rule(world.A, RuleKind.TICKET_CLAIM, 10, code="normal")
    assign(pete, world.A1a, AssignmentRole.UNIT_HEAD)
    frank = make_user("frank", is_staff=False)
    ticket = open_ticket(category=make_category(), grid=world.A1a, reporter=frank)
    tickets.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)
    tickets.ticket_claim(actor=pete, ticket=ticket)
    tickets.ticket_resolve(actor=pete, ticket=ticket)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)

    errors = run_in_threads(10, lambda i: services.points_post_for_ticket(ticket=ticket))

    assert errors == []
    assert PointsEntry.objects.filter(reason=EntryReason.TICKET).count() == 1
    assert _consistent(pete_account) == 10
