"""Ticket photos through the real endpoints: the API report, the report page (随手拍, with
and without an account) and a ticket page's action with photos.

The rules themselves (content decides, EXIF removed, GPS read or ignored, at most five,
bombs refused) are tested as pure functions in ``tests/tickets/test_photos.py``; here
each kind of bad file goes through each door, and must come back a clear 400 naming the
file, with no ticket, no event and no file stored.
"""

from __future__ import annotations

import pytest

from tests.grids.factories import superuser
from tests.tickets.factories import make_category, open_ticket
from tests.uploads.conftest import files_under
from tests.uploads.files import (
    LYING,
    as_upload,
    bomb_png,
    fifty_megabytes_of_jpeg,
    has_exif,
    image_bytes,
    odd_gps_jpeg,
)
from tickets import services
from tickets.models import Ticket, TicketEvent, TicketPhoto


@pytest.fixture
def hazard(db):
    return make_category(name="安全隐患", anonymous=True)


def bad_files():
    """(label, file name, bytes): every kind of file a photo field must refuse."""
    yield "50 MB", "big.jpg", fifty_megabytes_of_jpeg()
    yield "bomb", "bomb.png", bomb_png(30000, 30000)
    for kind, data in LYING.items():
        yield f"a {kind} named .jpg", f"{kind}.jpg", data
    yield "wrong type", "notes.txt", b"just some text"


BAD = list(bad_files())
IDS = [label for label, _name, _data in BAD]


@pytest.mark.parametrize(("label", "name", "data"), BAD, ids=IDS)
def test_api_report_refuses_the_file_and_stores_nothing(
    world, hazard, worker, api_client_for, nothing_stored, label, name, data
):
    response = api_client_for(worker).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "井盖缺失",
            "grid": world.A1.pk,
            "photos": [as_upload(data, name)],
        },
        format="multipart",
    )

    assert response.status_code == 400, label
    assert name in response.json()["photos"][0]
    assert not Ticket.objects.exists()
    nothing_stored()


@pytest.mark.parametrize(("label", "name", "data"), BAD, ids=IDS)
def test_report_page_refuses_the_file_for_a_resident_without_an_account(
    client, world, hazard, nothing_stored, label, name, data
):
    response = client.post(
        "/tickets/report/",
        {
            "category": hazard.pk,
            "title": "路灯不亮",
            "grid": world.A.pk,
            "reporter_phone": "13812345678",
            "photos": [as_upload(data, name)],
        },
    )

    assert response.status_code == 400, label
    assert name in response.content.decode()  # the form says which file
    assert not Ticket.objects.exists()
    nothing_stored()


@pytest.mark.parametrize(("label", "name", "data"), BAD[:2], ids=IDS[:2])
def test_resolving_with_a_bad_photo_resolves_nothing_and_stores_nothing(
    client, world, hazard, worker, nothing_stored, label, name, data
):
    ticket = open_ticket(category=hazard, grid=world.A1a)

    services.ticket_dispatch(actor=superuser(), ticket=ticket, assignee=worker)
    services.ticket_accept(actor=worker, ticket=ticket)
    events = TicketEvent.objects.filter(ticket=ticket).count()
    client.force_login(worker)

    response = client.post(
        f"/tickets/{ticket.pk}/do/resolve/",
        {"note": "已修好", "photos": [as_upload(data, name)]},
    )

    assert response.status_code == 400, label
    ticket.refresh_from_db()
    assert ticket.status == "accepted"
    assert TicketEvent.objects.filter(ticket=ticket).count() == events
    nothing_stored()


@pytest.mark.parametrize("kind", ["nan", "out_of_range", "zero_denominator"])
def test_odd_gps_is_ignored_and_the_photo_kept_without_exif(
    world, hazard, worker, api_client_for, upload_dirs, kind
):
    """A photo whose GPS tag is nonsense is still evidence: it is kept, its position is not
    used (the report needs a grid or coordinates of its own), and no EXIF survives."""
    client = api_client_for(worker)
    photo = odd_gps_jpeg(kind)
    without_place = client.post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "积水",
            "photos": [as_upload(photo, "g.jpg")],
        },
        format="multipart",
    )
    assert without_place.status_code == 400
    assert "grid" in without_place.json()
    assert files_under(upload_dirs["media"]) == []

    response = client.post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "积水",
            "grid": world.A1.pk,
            "photos": [as_upload(photo, "g.jpg")],
        },
        format="multipart",
    )

    assert response.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.lat is None
    assert ticket.lng is None
    [photo] = TicketPhoto.objects.filter(ticket=ticket)
    with photo.image.open("rb") as stored:
        assert not has_exif(stored.read())


def test_a_good_photo_still_goes_through_every_door(world, hazard, worker, api_client_for):
    """The refusals above are about the files, not the doors."""
    response = api_client_for(worker).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "井盖缺失",
            "grid": world.A1.pk,
            "photos": [as_upload(image_bytes(), "ok.jpg")],
        },
        format="multipart",
    )
    assert response.status_code == 201
    assert TicketPhoto.objects.count() == 1
