"""The phone pages through their real URLs: activities near me with sign-up, the venue's
code, the organiser's sheet, my points, the shop and my pick-ups."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tests.volunteers.factories import fund, make_activity, make_item, make_rule, make_shop
from volunteers import services
from volunteers.models import Redemption, RuleKind, Signup

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def start():
    return timezone.now().replace(microsecond=0) + datetime.timedelta(days=1)


@pytest.fixture
def cleanup(world, staff, start):
    return make_activity(
        world.A1, actor=staff, starts_at=start, capacity=1, title="环境卫生整治", place="同庆小区"
    )


def test_pages_need_a_sign_in(client, cleanup):
    for url in ("/volunteers/", f"/volunteers/activities/{cleanup.pk}/", "/volunteers/points/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_activities_near_me(client, cleanup, vera, world):
    make_activity(world.B1, title="B社区义诊")
    client.force_login(vera)

    response = client.get("/volunteers/", **EN)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Activities near me" in body
    assert "环境卫生整治" in body
    assert "B社区义诊" not in body
    assert "0 of 1 places taken" in body


def test_another_communitys_activity_is_a_404(client, cleanup, victor):
    client.force_login(victor)
    assert client.get(f"/volunteers/activities/{cleanup.pk}/").status_code == 404
    assert client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/").status_code == 404


def test_sign_up_then_full(client, cleanup, vera, pete):
    client.force_login(vera)
    response = client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/")
    assert response.status_code == 302
    assert Signup.objects.get().volunteer == vera.volunteer_profile

    client.force_login(pete)
    full = client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/", **EN)
    assert full.status_code == 409
    assert "This activity is full." in full.content.decode()
    assert Signup.objects.count() == 1


def test_a_user_who_is_not_a_volunteer_is_told_how_to_become_one(client, cleanup, worker):
    client.force_login(worker)
    page = client.get(f"/volunteers/activities/{cleanup.pk}/", **EN)
    assert page.status_code == 200
    assert "ask your community staff to register you" in page.content.decode()
    refused = client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/", **EN)
    assert refused.status_code == 400
    assert not Signup.objects.exists()


def test_cancel_my_sign_up(client, cleanup, vera):
    client.force_login(vera)
    client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/")
    response = client.post(f"/volunteers/activities/{cleanup.pk}/cancel/")
    assert response.status_code == 302
    assert Signup.objects.get().status == "cancelled"


def test_the_venue_code_checks_in_and_out(client, cleanup, vera, start):
    client.force_login(vera)
    client.post(f"/volunteers/activities/{cleanup.pk}/sign-up/")
    url = f"/volunteers/activities/{cleanup.pk}/code/"
    wrong_code = "000000" if cleanup.check_in_code != "000000" else "111111"

    with time_machine.travel(start, tick=False):
        wrong = client.post(url, {"code": wrong_code}, **EN)
        assert wrong.status_code == 200
        assert "This is not the code shown at the venue." in wrong.content.decode()
        assert client.post(url, {"code": "12"}, **EN).status_code == 200  # not six digits
        assert client.post(url, {"code": cleanup.check_in_code}).status_code == 302
    assert Signup.objects.get().status == "checked_in"
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        out = client.post(url, {"code": cleanup.check_in_code}, follow=True, **EN)
    assert "Checked out: 2.00 hours served." in out.content.decode()
    assert Signup.objects.get().status == "checked_out"


def test_the_organisers_sheet(client, world, cleanup, staff, vera, vera_account, start):
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    services.signup_create(actor=vera, activity=cleanup)
    signup = Signup.objects.get()
    sheet = f"/volunteers/activities/{cleanup.pk}/attendance/"

    client.force_login(vera)
    assert client.get(sheet).status_code == 403
    client.force_login(staff)
    page = client.get(sheet, **EN)
    assert page.status_code == 200
    assert cleanup.check_in_code in page.content.decode()
    with time_machine.travel(start, tick=False):
        assert client.post(f"{sheet}{signup.pk}/check-in/").status_code == 302
    with time_machine.travel(start + datetime.timedelta(hours=1), tick=False):
        assert client.post(f"{sheet}{signup.pk}/check-out/").status_code == 302
    assert client.post(f"{sheet}{signup.pk}/confirm/", {"hours": "1.5"}).status_code == 302
    again = client.post(f"{sheet}{signup.pk}/confirm/")
    assert again.status_code == 409
    assert client.post(f"{sheet}{signup.pk}/teleport/").status_code == 404
    signup.refresh_from_db()
    assert (signup.status, str(signup.hours)) == ("confirmed", "1.50")
    vera_account.refresh_from_db()
    assert vera_account.balance == 15


def test_my_sign_ups_and_my_points(client, world, cleanup, vera, vera_account):
    services.signup_create(actor=vera, activity=cleanup)
    fund(vera_account, 40, world.A)
    client.force_login(vera)

    mine = client.get("/volunteers/mine/", **EN)
    assert mine.status_code == 200
    assert "环境卫生整治" in mine.content.decode()
    points = client.get("/volunteers/points/", **EN)
    assert points.status_code == 200
    body = points.content.decode()
    assert ">40<" in body
    assert "Award by rule" in body


def test_the_shop_redeem_and_pick_up(client, world, vera, vera_account):
    fund(vera_account, 40, world.A)
    shop = make_shop(world.A)
    soap = make_item(shop, name="洗衣液", price=30, stock=3)
    rice = make_item(shop, name="大米", price=80, stock=3)
    client.force_login(vera)

    page = client.get("/volunteers/shop/", **EN)
    assert page.status_code == 200
    assert "洗衣液" in page.content.decode()
    poor = client.post(
        f"/volunteers/shop/items/{rice.pk}/redeem/",
        {"account": vera_account.pk, "quantity": 1},
        **EN,
    )
    assert poor.status_code == 409
    done = client.post(
        f"/volunteers/shop/items/{soap.pk}/redeem/",
        {"account": vera_account.pk, "quantity": 1},
        follow=True,
        **EN,
    )
    redemption = Redemption.objects.get()
    assert done.status_code == 200
    assert redemption.pickup_code in done.content.decode()
    cancel = client.post(f"/volunteers/redemptions/{redemption.pk}/cancel/")
    assert cancel.status_code == 302
    redemption.refresh_from_db()
    assert redemption.status == "cancelled"
    vera_account.refresh_from_db()
    assert vera_account.balance == 40


def test_item_photos_are_shown_to_the_shops_community_only(
    client, world, vera, victor, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(picture, format="PNG")
    photo = SimpleUploadedFile("soap.png", picture.getvalue(), content_type="image/png")
    item = make_item(make_shop(world.A), photo=photo)

    client.force_login(vera)
    response = client.get(f"/volunteers/shop/items/{item.pk}/photo/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    client.force_login(victor)
    assert client.get(f"/volunteers/shop/items/{item.pk}/photo/").status_code == 404
