"""Properties of points arithmetic (``volunteers/services``, ``volunteers/README.md``):
hours credited to the quarter, points priced from hours, and the ledger, whose balance is
always the sum of its entries and never below zero.

The ledger property is model-based: Hypothesis plays random sequences of awards,
redemptions, cancellations and corrections through the real services on one account, and
after every step compares the database with a plain-Python model of what the balance must
be and which steps must be refused. Each sequence runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import Conflict
from grids.models import GridLevel
from tests.grids.factories import make_grid, superuser
from tests.properties.common import PROPERTIES
from tests.residents.factories import make_household, make_resident
from tests.volunteers.factories import make_item, make_rule, make_shop
from volunteers import services
from volunteers.models import PointsAccount, PointsEntry, RuleKind
from volunteers.services.activities import derived_hours
from volunteers.services.ledger import _priced

START = datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC)
minutes = st.integers(min_value=-600, max_value=1200).map(lambda m: datetime.timedelta(minutes=m))
seconds = st.integers(min_value=0, max_value=60).map(lambda s: datetime.timedelta(seconds=s))


@PROPERTIES
@given(st.integers(min_value=15, max_value=600), minutes, minutes, seconds)
def test_hours_are_quarters_within_the_activity_and_never_negative(length, in_at, out_at, jitter):
    activity = SimpleNamespace(starts_at=START, ends_at=START + datetime.timedelta(minutes=length))
    checked_in, checked_out = START + in_at + jitter, START + out_at
    hours = derived_hours(activity, checked_in, checked_out)
    assert Decimal(0) <= hours
    assert (hours * 4) == (hours * 4).to_integral_value()  # a whole number of quarters
    served = max(
        min(checked_out, activity.ends_at) - max(checked_in, activity.starts_at),
        datetime.timedelta(0),
    )
    assert abs(hours - Decimal(served.total_seconds()) / 3600) <= Decimal("0.125")
    # staying longer never earns less
    assert (
        derived_hours(activity, checked_in, checked_out + datetime.timedelta(minutes=15)) >= hours
    )


@PROPERTIES
@given(
    st.decimals(min_value=0, max_value=24, places=2),
    st.integers(min_value=0, max_value=1000),
)
def test_points_priced_from_hours_round_half_up_and_stay_whole(hours, per_hour):
    points = _priced(hours, per_hour)
    assert isinstance(points, int)
    assert points >= 0
    assert abs(points - hours * per_hour) <= Decimal("0.5")


# --- the ledger ----------------------------------------------------------------------------------

AWARDS = (1, 7, 30)
PRICES = (5, 12)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("award"), st.sampled_from(AWARDS)),
        st.tuples(st.just("redeem"), st.sampled_from(range(len(PRICES))), st.integers(1, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 5)),
        st.tuples(st.just("reverse"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=12,
)


@pytest.fixture
def ledger(db):
    county = make_grid(None, GridLevel.COUNTY)
    community = make_grid(make_grid(county, GridLevel.TOWNSHIP), GridLevel.COMMUNITY)
    estate = make_grid(community, GridLevel.ESTATE)
    resident = make_resident(make_household(estate))
    for points in AWARDS:
        make_rule(community, RuleKind.AWARD, points, code=f"award-{points}")
    shop = make_shop(community)
    items = [make_item(shop, name=f"物品{price}", price=price, stock=1000) for price in PRICES]
    account = services.account_for(resident=resident)
    return SimpleNamespace(account=account, grid=community, items=items, root=superuser())


class Model:
    """What the balance must be, and which steps must be refused."""

    def __init__(self) -> None:
        self.balance = 0
        self.awards: list[dict] = []  # {"entry": PointsEntry, "reversed": bool}
        self.pending: list = []  # redemptions waiting for pick-up

    def play(self, step, world) -> None:
        kind = step[0]
        if kind == "award":
            award = services.points_award(
                actor=world.root,
                account=world.account,
                grid=world.grid,
                kind=RuleKind.AWARD,
                code=f"award-{step[1]}",
            )
            self.balance += step[1]
            entry = PointsEntry.objects.get(source_id=award.pk, reason="award")
            self.awards.append({"entry": entry, "reversed": False})
        elif kind == "redeem":
            item, quantity = world.items[step[1]], step[2]
            cost = item.price * quantity
            if cost > self.balance:
                with pytest.raises(Conflict) as refused:
                    services.redemption_create(
                        actor=world.root, item=item, account=world.account, quantity=quantity
                    )
                assert refused.value.code == "insufficient_points"
                return
            redemption = services.redemption_create(
                actor=world.root, item=item, account=world.account, quantity=quantity
            )
            self.balance -= cost
            self.pending.append(redemption)
        elif kind == "cancel" and self.pending:
            redemption = self.pending.pop(step[1] % len(self.pending))
            services.redemption_cancel(actor=world.root, redemption=redemption)
            self.balance += redemption.points
        elif kind == "reverse" and self.awards:
            award = self.awards[step[1] % len(self.awards)]
            amount = award["entry"].amount
            if award["reversed"] or amount > self.balance:
                with pytest.raises(Conflict) as refused:
                    services.points_entry_reverse(
                        actor=world.root, entry=award["entry"], note="更正"
                    )
                expected = "already_reversed" if award["reversed"] else "insufficient_points"
                assert refused.value.code == expected
                return
            services.points_entry_reverse(actor=world.root, entry=award["entry"], note="更正")
            award["reversed"] = True
            self.balance -= amount


def assert_ledger_consistent(account: PointsAccount, expected: int) -> None:
    account.refresh_from_db()
    entries = list(PointsEntry.objects.filter(account=account).order_by("pk"))
    assert account.balance == expected
    assert account.balance >= 0
    assert (
        PointsEntry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"] or 0
    ) == expected
    running = 0
    for entry in entries:
        running += entry.amount
        assert entry.balance_after == running
        assert running >= 0


@PROPERTIES
@given(steps)
def test_the_balance_is_the_sum_of_the_entries_and_never_negative(ledger, sequence):
    with transaction.atomic():
        model = Model()
        for step in sequence:
            model.play(step, ledger)
            assert_ledger_consistent(ledger.account, model.balance)
        transaction.set_rollback(True)
