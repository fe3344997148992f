"""Photos of tickets (随手拍): accepted by content, cleaned of EXIF and GPS on storage, their
GPS position used when a report has none, at most five per report and per event, and
served only to those who may see the ticket.

Images are made in memory with Pillow; a decompression bomb is a tiny PNG whose header
declares huge dimensions.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from governance.errors import Conflict
from tests.conftest import requires_postgres, run_in_threads
from tests.tickets.factories import open_ticket
from tickets import photos, services
from tickets.models import EventKind, Ticket, TicketPhoto

IN_A1A = (30.05, 100.05)  # 30°3'N 100°3'E: inside micro grid A1a


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --- building test images ---------------------------------------------------------------------


def rational(value: float, denominator: int = 1) -> IFDRational:
    return IFDRational(value, denominator)


def dms(degrees: float, minutes: float, seconds: float = 0) -> tuple:
    return (rational(degrees), rational(minutes), rational(seconds))


def gps_exif(gps: dict | None = None, *, orientation: int | None = None) -> Image.Exif:
    """EXIF as a phone writes it: maker, GPS block, maybe a rotation."""
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI-MAKER"
    exif[0x0110] = "SECRET-MODEL-X"
    if orientation:
        exif[0x0112] = orientation
    if gps is not None:
        exif[0x8825] = gps
    return exif


def gps_at(lat: float, lng: float) -> dict:
    """(lat, lng) in whole minutes, as EXIF stores it."""

    def split(value: float) -> tuple:
        degrees = int(abs(value))
        minutes = round((abs(value) - degrees) * 60, 6)
        return dms(degrees, minutes)

    return {
        1: "N" if lat >= 0 else "S",
        2: split(lat),
        3: "E" if lng >= 0 else "W",
        4: split(lng),
    }


def image_bytes(
    fmt: str = "JPEG", size: tuple[int, int] = (64, 48), exif: Image.Exif | None = None
) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGBA" if fmt == "PNG" else "RGB", size, (200, 30, 30))
    options = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def phone_photo(name: str = "IMG_0001.jpg", *, at=IN_A1A, orientation: int | None = None):
    return upload(image_bytes(exif=gps_exif(gps_at(*at), orientation=orientation)), name)


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1×1 PNG whose header claims ``width`` × ``height`` pixels."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR data starts at byte 16
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def reopened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- the pure rules ---------------------------------------------------------------------------


def test_a_phone_photo_is_stored_upright_without_exif_and_gps_is_read_first():
    # given a JPEG 64×48 taken rotated (orientation 6), with maker, model and GPS
    original = phone_photo(orientation=6)

    # when
    [prepared] = photos.prepare_photos([original])

    # then the position was read before it was stripped
    assert prepared.gps == pytest.approx(IN_A1A)
    # and nothing of the EXIF is left in the stored image or the thumbnail
    for data in (prepared.image, prepared.thumbnail):
        cleaned = reopened(data)
        assert cleaned.format == "JPEG"
        assert dict(cleaned.getexif()) == {}
        assert not {"exif", "xmp", "icc_profile"} & set(cleaned.info)
        assert b"Exif" not in data
        assert b"HUAWEI-MAKER" not in data
        assert b"SECRET-MODEL-X" not in data
    # and the rotation was applied to the pixels, so the picture stays upright
    assert (prepared.width, prepared.height) == (48, 64)
    assert reopened(prepared.image).size == (48, 64)


@pytest.mark.parametrize(("fmt", "name"), [("PNG", "screen.png"), ("WEBP", "shot.webp")])
def test_png_and_webp_are_accepted_and_stored_as_jpeg_without_exif(fmt, name):
    data = image_bytes(fmt, exif=gps_exif(gps_at(*IN_A1A)))

    [prepared] = photos.prepare_photos([upload(data, name, f"image/{fmt.lower()}")])

    assert prepared.gps == pytest.approx(IN_A1A)
    assert reopened(prepared.image).format == "JPEG"
    assert dict(reopened(prepared.image).getexif()) == {}


def test_the_content_decides_not_the_name():
    # a real PNG named .jpg is a PNG: accepted
    [prepared] = photos.prepare_photos([upload(image_bytes("PNG"), "looks.jpg")])
    assert reopened(prepared.image).format == "JPEG"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.jpg"),
        (b"%PDF-1.4 not a photo", "scan.png"),
        (image_bytes("GIF"), "animation.jpg"),
        (image_bytes("BMP"), "bitmap.webp"),
        (image_bytes("JPEG")[:200], "cut-off.jpg"),  # truncated
        (b"", "empty.jpg"),
    ],
)
def test_a_lying_extension_a_non_image_or_a_damaged_file_is_refused_naming_the_field(data, name):
    with pytest.raises(ValidationError) as caught:
        photos.prepare_photos([upload(data, name)])

    errors = caught.value.message_dict
    assert list(errors) == ["photos"]
    assert name in errors["photos"][0]


def test_a_file_over_10_mb_is_refused_before_it_is_read():
    too_big = upload(b"\xff" * (photos.MAX_BYTES + 1), "huge.jpg")

    with pytest.raises(ValidationError) as caught:
        photos.prepare_photos([too_big])

    assert "huge.jpg" in caught.value.message_dict["photos"][0]
    assert "10 MB" in caught.value.message_dict["photos"][0]


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # 400 MP: Pillow's own DecompressionBombError
        (8_000, 8_000),  # 64 MP: above our limit, below Pillow's hard one
    ],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused(width, height):
    with pytest.raises(ValidationError) as caught:
        photos.prepare_photos([upload(bomb_png(width, height), "bomb.png", "image/png")])

    assert "bomb.png" in caught.value.message_dict["photos"][0]
    assert "50" in caught.value.message_dict["photos"][0]  # the limit, in any language


def test_pillow_refuses_decompression_bombs_process_wide():
    assert Image.MAX_IMAGE_PIXELS == photos.MAX_PIXELS


def test_a_big_photo_is_stored_at_most_2560_px_and_its_thumbnail_at_most_320():
    [prepared] = photos.prepare_photos([upload(image_bytes(size=(3000, 1000)), "wide.jpg")])

    assert (prepared.width, prepared.height) == (2560, 853)
    assert max(reopened(prepared.thumbnail).size) == 320


def test_at_most_five_photos():
    with pytest.raises(ValidationError) as caught:
        photos.prepare_photos([phone_photo(f"{i}.jpg") for i in range(6)])

    assert "5" in caught.value.message_dict["photos"][0]


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        (gps_at(30.05, 100.05), (30.05, 100.05)),
        ({1: "S", 2: dms(33, 52, 12), 3: "W", 4: dms(151, 12, 36)}, (-33.87, -151.21)),
        ({1: b"N\x00", 2: dms(30, 3), 3: b"e", 4: dms(100, 3)}, (30.05, 100.05)),
        ({2: dms(30, 3), 3: "E", 4: dms(100, 3)}, None),  # no latitude reference
        ({1: "N", 2: dms(30, 3), 4: dms(100, 3)}, None),  # no longitude reference
        ({1: "X", 2: dms(30, 3), 3: "E", 4: dms(100, 3)}, None),  # nonsense reference
        ({1: "N", 2: (rational(30, 0), rational(3), rational(0)), 3: "E", 4: dms(100, 3)}, None),
        ({1: "N", 2: dms(30, 60), 3: "E", 4: dms(100, 3)}, None),  # 60 minutes
        ({1: "N", 2: dms(30, 3, 75), 3: "E", 4: dms(100, 3)}, None),  # 75 seconds
        ({1: "N", 2: dms(95, 0), 3: "E", 4: dms(100, 3)}, None),  # off the map
        ({1: "N", 2: dms(30, 3), 3: "E", 4: dms(181, 0)}, None),
        ({1: "N", 2: dms(0, 0), 3: "E", 4: dms(0, 0)}, None),  # no fix written as 0/0
        ({1: "N", 2: dms(30, 3), 3: "E", 4: dms(100, 3), 9: "V"}, None),  # void fix
        ({1: "N", 2: (rational(30),) * 4, 3: "E", 4: dms(100, 3)}, None),
        ({}, None),
    ],
)
def test_odd_gps_is_ignored_never_an_error(gps, expected):
    # through a real file, so Pillow's own reading of odd values is exercised too
    data = image_bytes(exif=gps_exif(gps))

    [prepared] = photos.prepare_photos([upload(data)])

    if expected is None:
        assert prepared.gps is None
    else:
        assert prepared.gps == pytest.approx(expected, abs=1e-4)


class ExifStub:
    """What a damaged file could give back: values of any type in the GPS block."""

    def __init__(self, gps):
        self.gps = gps

    def get_ifd(self, tag):
        if isinstance(self.gps, Exception):
            raise self.gps
        return self.gps


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: "thirty", 3: "E", 4: dms(100, 3)},
        {1: "N", 2: None, 3: "E", 4: dms(100, 3)},
        {1: 78, 2: dms(30, 3), 3: "E", 4: dms(100, 3)},
        {1: "N", 2: ((30, 0), (3, 1), (0, 1)), 3: "E", 4: dms(100, 3)},
        {1: "N", 2: (float("nan"), 3, 0), 3: "E", 4: dms(100, 3)},
        {1: "N", 2: (float("inf"), 3, 0), 3: "E", 4: dms(100, 3)},
        {1: "N", 2: (-30, 3, 0), 3: "E", 4: dms(100, 3)},
        "not a dict",
        KeyError(0x8825),
    ],
)
def test_gps_values_of_any_type_are_ignored(gps):
    assert photos.gps_from_exif(ExifStub(gps)) is None


def test_gps_as_plain_pairs_is_read():
    gps = {1: "N", 2: ((30, 1), (3, 1), (0, 1)), 3: "E", 4: (100.05,)}
    assert photos.gps_from_exif(ExifStub(gps)) == pytest.approx(IN_A1A)


def test_gps_from_exif_without_exif_or_gps():
    assert photos.gps_from_exif(None) is None
    assert photos.gps_from_exif(Image.Exif()) is None


# --- reporting with photos through the API ---------------------------------------------------


def test_api_report_with_photos_and_no_coordinates_is_located_from_exif_gps(
    world, hazard, frank, api_client_for, settings
):
    # when frank reports with two phone photos and no grid, no coordinates
    response = api_client_for(frank).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "井盖缺失",
            "photos": [phone_photo("a.jpg"), upload(image_bytes("PNG"), "b.png")],
        },
        format="multipart",
    )

    # then the first photo's position located the grid
    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.grid == world.A1a
    assert (ticket.lat, ticket.lng) == pytest.approx(IN_A1A)
    opened = ticket.events.get()
    assert opened.data["located"] is True
    assert opened.data["position"] == "photo"
    assert opened.data["photos"] == 2
    # and both photos are stored with the report, cleaned
    rows = list(ticket.photos.order_by("pk"))
    assert [(p.event_id, p.uploaded_by) for p in rows] == [(None, frank), (None, frank)]
    assert len(stored_files(settings)) == 4  # two images, two thumbnails
    for photo in rows:
        data = Path(photo.image.path).read_bytes()
        assert photo.byte_size == len(data)
        assert b"HUAWEI-MAKER" not in data
        assert dict(reopened(data).getexif()) == {}
        assert photo.image.name.startswith("tickets/photos/")
        assert Path(photo.image.name).stem not in ("a", "b")  # uploaded names are never used


def test_api_report_coordinates_given_win_over_the_photo(world, hazard, frank, api_client_for):
    response = api_client_for(frank).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "路灯不亮",
            "lat": 30.3,
            "lng": 100.4,  # in estate A2
            "photos": [phone_photo()],  # taken in A1a
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert (ticket.grid, ticket.lat, ticket.lng) == (world.A2, 30.3, 100.4)
    assert "position" not in ticket.events.get().data


def test_api_report_with_a_bad_photo_is_a_400_and_stores_nothing(
    world, hazard, frank, api_client_for, settings
):
    response = api_client_for(frank).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "楼道堆物",
            "grid": world.A1.pk,
            "photos": [phone_photo("ok.jpg"), upload(b"GIF89a not really", "evil.jpg")],
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "evil.jpg" in response.json()["photos"][0]
    assert not Ticket.objects.exists()
    assert stored_files(settings) == []


def test_api_report_with_six_photos_is_a_400(world, hazard, frank, api_client_for):
    response = api_client_for(frank).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "楼道堆物",
            "grid": world.A1.pk,
            "photos": [phone_photo(f"{i}.jpg") for i in range(6)],
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["photos"]
    assert not Ticket.objects.exists()


def test_api_report_without_photos_or_position_still_needs_a_grid(
    world, hazard, frank, api_client_for
):
    response = api_client_for(frank).post(
        "/api/v1/tickets/",
        {"category": hazard.pk, "title": "楼道堆物", "photos": [upload(image_bytes())]},
        format="multipart",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["grid"]


# --- reading photos ---------------------------------------------------------------------------


@pytest.fixture
def reported(world, hazard, frank):
    """A ticket on A1a reported by frank with one phone photo."""
    return services.ticket_open(
        actor=frank,
        reporter=frank,
        category=hazard,
        title="井盖缺失",
        photos=[phone_photo()],
    )


def test_api_lists_and_serves_photos_to_those_who_see_the_ticket(
    reported, frank, worker, api_client_for
):
    photo = reported.photos.get()
    for person in (frank, worker):
        client = api_client_for(person)
        listing = client.get(f"/api/v1/tickets/{reported.pk}/photos/")
        assert listing.status_code == 200
        [row] = listing.json()
        assert row["id"] == photo.pk
        assert row["event"] is None
        assert (row["width"], row["height"]) == (photo.width, photo.height)

        full = client.get(row["url"])
        assert full.status_code == 200
        assert full["Content-Type"] == "image/jpeg"
        assert "private" in full["Cache-Control"]
        assert reopened(b"".join(full.streaming_content)).size == (64, 48)

        thumb = client.get(row["thumbnail_url"])
        assert thumb.status_code == 200
        assert b"".join(thumb.streaming_content) == Path(photo.thumbnail.path).read_bytes()


def test_api_photos_are_404_outside_ones_scope(reported, outsider, api_client_for):
    photo = reported.photos.get()
    client = api_client_for(outsider)

    assert client.get(f"/api/v1/tickets/{reported.pk}/photos/").status_code == 404
    assert client.get(f"/api/v1/tickets/{reported.pk}/photos/{photo.pk}/").status_code == 404


def test_api_photo_of_another_ticket_is_404(reported, world, hazard, frank, api_client_for):
    other = open_ticket(category=hazard, grid=world.A1, reporter=frank)
    photo = reported.photos.get()

    response = api_client_for(frank).get(f"/api/v1/tickets/{other.pk}/photos/{photo.pk}/")

    assert response.status_code == 404


def test_photo_page_serves_visible_photos_only(client, reported, worker, outsider):
    photo = reported.photos.get()
    url = f"/tickets/photos/{photo.pk}/"

    assert client.get(url).status_code == 302  # login first

    client.force_login(worker)
    response = client.get(url + "?size=thumbnail")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]

    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_media_is_not_served_at_a_public_url(client, reported, worker):
    photo = reported.photos.get()
    client.force_login(worker)

    assert client.get(f"/media/{photo.image.name}").status_code == 404


# --- photos on events: ticket_attach_photos ---------------------------------------------------


@pytest.fixture
def resolved(make_ticket):
    """Resolved by bob (the assignee) on A1a."""
    return make_ticket("resolved")


def resolve_event(ticket):
    return ticket.events.get(kind=EventKind.RESOLVED)


def test_the_resolver_adds_photos_to_the_resolution(resolved, worker):
    event = resolve_event(resolved)

    added = services.ticket_attach_photos(
        actor=worker, ticket=resolved, event=event, files=[phone_photo("after.jpg")]
    )

    assert [p.event_id for p in added] == [event.pk]
    assert TicketPhoto.objects.get().uploaded_by == worker


def test_staff_may_add_photos_to_any_event_others_not(resolved, staff, carol, frank, settings):
    event = resolve_event(resolved)

    services.ticket_attach_photos(actor=staff, ticket=resolved, event=event, files=[phone_photo()])
    for person in (carol, frank):  # a worker who did not write it, the reporter
        with pytest.raises(PermissionDenied):
            services.ticket_attach_photos(
                actor=person, ticket=resolved, event=event, files=[phone_photo()]
            )

    assert TicketPhoto.objects.count() == 1
    assert len(stored_files(settings)) == 2  # the refused files were removed again


def test_the_reporter_adds_photos_to_the_report(reported, frank, outsider):
    services.ticket_attach_photos(
        actor=frank, ticket=reported, event=None, files=[phone_photo("more.jpg")]
    )
    with pytest.raises(PermissionDenied):
        services.ticket_attach_photos(
            actor=outsider, ticket=reported, event=None, files=[phone_photo()]
        )

    assert reported.photos.filter(event__isnull=True).count() == 2


def test_at_most_five_photos_per_report_and_per_event(resolved, worker, frank):
    event = resolve_event(resolved)
    services.ticket_attach_photos(
        actor=worker, ticket=resolved, event=event, files=[phone_photo() for _ in range(3)]
    )
    # the report has room of its own
    services.ticket_attach_photos(
        actor=frank, ticket=resolved, event=None, files=[phone_photo() for _ in range(5)]
    )

    with pytest.raises(ValidationError) as caught:
        services.ticket_attach_photos(
            actor=worker, ticket=resolved, event=event, files=[phone_photo() for _ in range(3)]
        )

    assert "3" in caught.value.message_dict["photos"][0]
    assert resolved.photos.filter(event=event).count() == 3
    assert resolved.photos.filter(event__isnull=True).count() == 5


def test_an_event_of_another_ticket_is_refused(resolved, make_ticket, admin_user):
    other = make_ticket("resolved")

    with pytest.raises(ValidationError) as caught:
        services.ticket_attach_photos(
            actor=admin_user, ticket=other, event=resolve_event(resolved), files=[phone_photo()]
        )

    assert list(caught.value.message_dict) == ["event"]


def test_no_photos_once_the_ticket_is_finished(make_ticket, admin_user):
    closed = make_ticket("closed")

    with pytest.raises(Conflict):
        services.ticket_attach_photos(
            actor=admin_user, ticket=closed, event=None, files=[phone_photo()]
        )


def test_attaching_nothing_is_refused(reported, frank):
    with pytest.raises(ValidationError) as caught:
        services.ticket_attach_photos(actor=frank, ticket=reported, event=None, files=[])

    assert list(caught.value.message_dict) == ["photos"]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_never_exceed_five(world, hazard, frank, settings, monkeypatch):
    # given a report without photos, and a pause after each count that lets the other
    # upload count too, unless the ticket's row lock makes it wait
    ticket = open_ticket(category=hazard, grid=world.A1a, reporter=frank)
    batches = [[phone_photo(f"{n}-{i}.jpg") for i in range(3)] for n in range(2)]
    outcomes: list[str] = []
    check_count = photos.check_count

    def slow_check_count(count: int, *, already: int = 0, field: str = "photos") -> None:
        check_count(count, already=already, field=field)
        time.sleep(0.5)

    monkeypatch.setattr(photos, "check_count", slow_check_count)

    # when frank's two phones each send three photos at the same moment
    def work(index: int) -> None:
        try:
            services.ticket_attach_photos(
                actor=frank, ticket=ticket, event=None, files=batches[index]
            )
            outcomes.append("stored")
        except ValidationError:
            outcomes.append("refused")

    errors = run_in_threads(2, work)

    # then the ticket's row lock lets one count before the other: 3 stored, 3 refused
    assert errors == []
    assert sorted(outcomes) == ["refused", "stored"]
    assert TicketPhoto.objects.filter(ticket=ticket).count() == 3
    assert len(stored_files(settings)) == 6
