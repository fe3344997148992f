"""The points shop through the API: redeeming (balance, stock, limit, window), the
pick-up code, handing out, cancelling with a reversal, and the expiry sweep."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.volunteers.factories import fund, make_item, make_shop
from volunteers import services
from volunteers.models import EntryReason, PointsEntry, Redemption, ShopItem
from volunteers.tasks import redemptions_expire_task

ITEMS = "/api/v1/points-shop-items/"
REDEMPTIONS = "/api/v1/points-redemptions/"


@pytest.fixture
def shop(world):
    return make_shop(world.A)


@pytest.fixture
def soap(shop):
    return make_item(shop, name="洗衣液", price=30, stock=5, per_person_limit=2)


def test_redeeming_spends_points_and_takes_stock(world, soap, vera, vera_account, api_client_for):
    fund(vera_account, 100, world.A)

    response = api_client_for(vera).post(
        f"{ITEMS}{soap.pk}/redeem/", {"quantity": 2}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["points"], body["status"], body["quantity"]) == (60, "pending", 2)
    assert len(body["pickup_code"]) == 8
    vera_account.refresh_from_db()
    soap.refresh_from_db()
    assert (vera_account.balance, soap.stock) == (40, 3)
    spend = PointsEntry.objects.get(reason=EntryReason.REDEMPTION)
    assert (spend.amount, spend.grid, spend.balance_after) == (-60, world.A, 40)


def test_not_enough_points_is_a_409_and_writes_nothing(
    world, soap, vera, vera_account, api_client_for
):
    fund(vera_account, 20, world.A)

    response = api_client_for(vera).post(f"{ITEMS}{soap.pk}/redeem/")

    assert response.status_code == 409
    assert "20" in response.json()["detail"]
    soap.refresh_from_db()
    assert soap.stock == 5
    assert not Redemption.objects.exists()


def test_out_of_stock_and_per_person_limit_are_409s(
    world, shop, soap, vera, vera_account, api_client_for
):
    fund(vera_account, 500, world.A)
    client = api_client_for(vera)
    rice = make_item(shop, name="大米", price=10, stock=1)

    assert client.post(f"{ITEMS}{rice.pk}/redeem/").status_code == 201
    assert client.post(f"{ITEMS}{rice.pk}/redeem/").status_code == 409  # gone
    assert (
        client.post(f"{ITEMS}{soap.pk}/redeem/", {"quantity": 2}, format="json").status_code == 201
    )
    limit = client.post(f"{ITEMS}{soap.pk}/redeem/")
    assert limit.status_code == 409  # two per person
    assert Redemption.objects.count() == 2


def test_an_item_outside_its_window_is_refused(world, shop, vera, vera_account, api_client_for):
    fund(vera_account, 100, world.A)
    later = timezone.now() + datetime.timedelta(days=3)
    mooncake = make_item(shop, name="月饼", price=10, available_from=later)
    assert api_client_for(vera).post(f"{ITEMS}{mooncake.pk}/redeem/").status_code == 409
    with time_machine.travel(later + datetime.timedelta(hours=1)):
        assert api_client_for(vera).post(f"{ITEMS}{mooncake.pk}/redeem/").status_code == 201


def test_another_community_neither_sees_the_shop_nor_spends_there(
    world, soap, staff, victor, homes, api_client_for
):
    outsider_account = services.account_for(resident=homes["zhao"])
    fund(outsider_account, 100, world.B)

    assert api_client_for(victor).get(f"{ITEMS}{soap.pk}/").status_code == 404
    assert api_client_for(victor).post(f"{ITEMS}{soap.pk}/redeem/").status_code == 404
    # nor can A's staff spend B's points at A's counter: the account is not theirs to see
    response = api_client_for(staff).post(
        f"{ITEMS}{soap.pk}/redeem/", {"account": outsider_account.pk}, format="json"
    )
    assert response.status_code == 400
    assert "account" in response.json()
    assert not Redemption.objects.exists()


def test_staff_redeem_for_a_household_at_the_counter(world, soap, staff, homes, api_client_for):
    household = services.account_for(household=homes["h1"])
    fund(household, 30, world.A)

    response = api_client_for(staff).post(
        f"{ITEMS}{soap.pk}/redeem/", {"account": household.pk}, format="json"
    )

    assert response.status_code == 201
    household.refresh_from_db()
    assert household.balance == 0


def test_cancelling_returns_points_and_stock_once(world, soap, vera, vera_account, api_client_for):
    fund(vera_account, 30, world.A)
    client = api_client_for(vera)
    redemption = client.post(f"{ITEMS}{soap.pk}/redeem/").json()

    cancelled = client.post(f"{REDEMPTIONS}{redemption['id']}/cancel/", {"reason": "不要了"})
    again = client.post(f"{REDEMPTIONS}{redemption['id']}/cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409
    vera_account.refresh_from_db()
    soap.refresh_from_db()
    assert (vera_account.balance, soap.stock) == (30, 5)
    reversal = PointsEntry.objects.get(reason=EntryReason.REVERSAL)
    assert reversal.amount == 30
    assert reversal.reverses.reason == EntryReason.REDEMPTION


def test_staff_hand_out_with_the_pick_up_code(
    world, soap, staff, vera, vera_account, api_client_for
):
    fund(vera_account, 30, world.A)
    redemption = api_client_for(vera).post(f"{ITEMS}{soap.pk}/redeem/").json()
    url = f"{REDEMPTIONS}{redemption['id']}/fulfil/"

    assert api_client_for(vera).post(url).status_code == 403
    found = api_client_for(staff).get(REDEMPTIONS, {"pickup_code": redemption["pickup_code"]})
    assert [r["id"] for r in found.json()["results"]] == [redemption["id"]]
    wrong = api_client_for(staff).post(url, {"code": "ZZZZZZZZ"}, format="json")
    assert wrong.status_code == 400
    handed = api_client_for(staff).post(
        url, {"code": redemption["pickup_code"].lower()}, format="json"
    )
    assert handed.status_code == 200
    assert handed.json()["status"] == "fulfilled"
    late_cancel = api_client_for(vera).post(f"{REDEMPTIONS}{redemption['id']}/cancel/")
    assert late_cancel.status_code == 409
    vera_account.refresh_from_db()
    assert vera_account.balance == 0


def test_redemptions_not_picked_up_expire_once(world, soap, vera, vera_account, settings):
    settings.VOLUNTEERS_PICKUP_DAYS = 7
    fund(vera_account, 60, world.A)
    old = services.redemption_create(actor=vera, item=soap)
    fresh = services.redemption_create(actor=vera, item=soap)
    Redemption.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=8)
    )

    assert redemptions_expire_task.delay().get() == 1
    assert redemptions_expire_task.delay().get() == 0

    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("cancelled", "pending")
    assert old.cancelled_by is None
    vera_account.refresh_from_db()
    assert vera_account.balance == 30
    assert ShopItem.objects.get(pk=soap.pk).stock == 4


def test_shop_lists_keep_their_query_count(world, shop, staff, vera, vera_account, api_client_for):
    fund(vera_account, 1000, world.A)
    client = api_client_for(vera)
    first = make_item(shop, name="毛巾", price=1)
    services.redemption_create(actor=vera, item=first)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(ITEMS).status_code == 200
            assert client.get(REDEMPTIONS, {"mine": "true"}).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(5):
        item = make_item(shop, name=f"物品{i}", price=1)
        services.redemption_create(actor=vera, item=item)
    assert count() == small
