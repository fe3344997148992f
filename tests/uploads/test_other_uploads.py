"""Every other door that takes a file: visit photos (API and the archive page), the
campaign door knock's photo, the points shop's item photo, and the household import.

Each bad file is a clear 400 (a form error on a page) naming the field, and nothing is
stored: no row, no file under ``MEDIA_ROOT``, no temporary upload left behind.
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from residents import services as residents_services
from residents.models import Campaign, CampaignTask, ImportJob, Visit
from tests.residents.factories import make_household
from tests.uploads.files import (
    LYING,
    as_upload,
    bomb_png,
    fifty_megabytes_of_jpeg,
    image_bytes,
    zip_bomb,
)
from tests.volunteers.factories import make_shop
from volunteers.models import ShopItem

BAD_PHOTOS = [
    ("50 MB", "big.jpg", fifty_megabytes_of_jpeg()),
    ("bomb", "bomb.png", bomb_png(30000, 30000)),
    *((f"a {kind} named .jpg", f"{kind}.jpg", data) for kind, data in LYING.items()),
]
IDS = [label for label, _name, _data in BAD_PHOTOS]


@pytest.fixture
def home(world):
    return make_household(world.A1, building="1", unit="1", room="101")


# --- visits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "name", "data"), BAD_PHOTOS, ids=IDS)
def test_api_visit_refuses_the_photo_and_stores_nothing(
    home, worker, api_client_for, nothing_stored, label, name, data
):
    response = api_client_for(worker).post(
        "/api/v1/visits/",
        {"household": home.pk, "findings": "老人在家", "photo": as_upload(data, name)},
        format="multipart",
    )

    assert response.status_code == 400, label
    assert "photo" in response.json()
    assert not Visit.objects.exists()
    nothing_stored()


@pytest.mark.parametrize(("label", "name", "data"), BAD_PHOTOS, ids=IDS)
def test_archive_page_visit_refuses_the_photo_and_stores_nothing(
    client, home, worker, nothing_stored, label, name, data
):
    client.force_login(worker)

    response = client.post(
        f"/residents/households/{home.pk}/visits/",
        {"kind": "routine", "findings": "老人在家", "photo": as_upload(data, name)},
    )

    assert response.status_code in (200, 400), label  # the archive again, with the error
    assert response.context["visit_form"].errors["photo"]
    assert not Visit.objects.exists()
    nothing_stored()


@pytest.mark.parametrize(("label", "name", "data"), BAD_PHOTOS[:2], ids=IDS[:2])
def test_campaign_door_knock_refuses_the_photo_and_records_nothing(
    world, home, staff, worker, api_client_for, nothing_stored, label, name, data
):
    campaign = residents_services.campaign_start(
        actor=staff,
        grid=world.A,
        title="敲门行动",
        deadline=timezone.now() + datetime.timedelta(days=3),
    )
    task = CampaignTask.objects.get(campaign=campaign, household=home)

    response = api_client_for(worker).post(
        f"/api/v1/campaign-tasks/{task.pk}/record/",
        {"findings": "在家", "photo": as_upload(data, name)},
        format="multipart",
    )

    assert response.status_code == 400, label
    assert "photo" in response.json()
    task.refresh_from_db()
    assert task.done_at is None
    assert Campaign.objects.get().status == "open"
    assert not Visit.objects.exists()
    nothing_stored()


def test_a_good_visit_photo_is_stored(home, worker, api_client_for, upload_dirs):
    response = api_client_for(worker).post(
        "/api/v1/visits/",
        {"household": home.pk, "photo": as_upload(image_bytes(), "door.jpg")},
        format="multipart",
    )
    assert response.status_code == 201
    assert Visit.objects.get().photo


# --- the points shop ----------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "name", "data"), BAD_PHOTOS, ids=IDS)
def test_shop_item_photo_is_refused_and_nothing_stored(
    world, staff, api_client_for, nothing_stored, label, name, data
):
    shop = make_shop(world.A)

    response = api_client_for(staff).post(
        "/api/v1/points-shop-items/",
        {
            "shop": shop.pk,
            "name": "洗衣液",
            "price": 10,
            "stock": 5,
            "photo": as_upload(data, name),
        },
        format="multipart",
    )

    assert response.status_code == 400, label
    assert "photo" in response.json()
    assert not ShopItem.objects.exists()
    nothing_stored()


# --- the household import (admin) ----------------------------------------------------------------

CSV_HEADER = "网格编码,姓名,身份证号\n".encode()
BAD_SHEETS = [
    ("wrong type", "households.pdf", LYING["pdf"]),
    ("50 MB", "households.csv", CSV_HEADER + b"A1,x,y\n" * (50 * 1024 * 1024 // 7)),
    ("a pdf named .xlsx", "households.xlsx", LYING["pdf"]),
    ("a zip that is no workbook", "households.xlsx", LYING["zip"]),
    ("a zip bomb named .xlsx", "households.xlsx", zip_bomb()),
    ("html named .csv", "households.csv", LYING["html"]),
    ("a picture named .csv", "households.csv", image_bytes("PNG")),
]


@pytest.mark.parametrize(("label", "name", "data"), BAD_SHEETS, ids=[b[0] for b in BAD_SHEETS])
def test_household_import_refuses_the_file_before_storing_it(
    client, world, staff, nothing_stored, label, name, data
):
    client.force_login(staff)

    response = client.post(
        "/admin/residents/household/import/", {"file": as_upload(data, name, "text/csv")}
    )

    assert response.status_code == 200, label  # the upload form again, with its error
    assert response.context["form"].errors["file"]
    assert not ImportJob.objects.exists()
    nothing_stored()


def test_a_good_sheet_is_still_accepted(client, world, staff, django_capture_on_commit_callbacks):
    client.force_login(staff)
    sheet = CSV_HEADER + f"{world.A1.code},王大爷,\n".encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/residents/household/import/",
            {"file": as_upload(sheet, "households.csv", "text/csv")},
        )
    assert response.status_code == 302
    assert ImportJob.objects.get().status == "planned"
