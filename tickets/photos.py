"""The rules for ticket photos (随手拍), as pure functions: which files are accepted, how
they are cleaned, and where a photo says it was taken.

A file is accepted by what it *is*, never by its name or declared type: Pillow must open
it as JPEG, PNG or WebP (no other decoder is even tried), verify it and decode it. It is
then re-encoded from its pixels alone, so the stored image and its thumbnail carry no
EXIF, no GPS position, no XMP and no maker notes, whatever the camera wrote; the EXIF
orientation is applied first so the picture stays upright. Before that, the EXIF GPS
position is read (when the report gives no coordinates, it locates the grid); odd GPS
data is ignored, never an error.

Nothing here touches the database or the storage: ``tickets.services.media`` stores
what ``prepare_photos`` returns.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps

MAX_PHOTOS = 5  # per report and per timeline event
MAX_BYTES = 10 * 1024 * 1024  # a phone photo is a few MB; more is a video, a scan, a mistake
# 50 megapixels: above a 48 MP phone camera, below what would take hundreds of MB to
# decode. A small file declaring more (a "decompression bomb") is refused before decoding.
MAX_PIXELS = 50_000_000
STORED_EDGE = 2560  # the long side of the stored image: evidence, not a print
THUMBNAIL_EDGE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 75
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")

# Pillow refuses images above twice this in ``Image.open`` (DecompressionBombError) and
# warns above it. This process-wide limit also protects every other image Pillow opens
# here (visit photos, the admin); ``_open`` checks ``MAX_PIXELS`` itself as well.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

GPS_IFD = 0x8825
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
GPS_STATUS = 9  # "A" measurement active, "V" void (no fix)


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo checked and cleaned, ready to store: JPEG bytes without any metadata."""

    name: str  # the uploaded name, for messages only (never used to store the file)
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    gps: tuple[float, float] | None  # (latitude, longitude) from the original EXIF


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError({field: message})


def _display_name(upload) -> str:
    name = str(getattr(upload, "name", "") or _("the photo")).rsplit("/", 1)[-1]
    return name if len(name) <= 60 else name[:57] + "…"


def check_count(count: int, *, already: int = 0, field: str = "photos") -> None:
    """At most ``MAX_PHOTOS`` on a report or an event, counting those it already has."""
    if count + already > MAX_PHOTOS:
        if already:
            message = ngettext(
                "At most %(max)s photos; %(already)s is already attached.",
                "At most %(max)s photos; %(already)s are already attached.",
                already,
            ) % {"max": MAX_PHOTOS, "already": already}
        else:
            message = _("At most %(max)s photos at a time.") % {"max": MAX_PHOTOS}
        raise _refuse(field, message)


def prepare_photos(
    uploads: Iterable | None, *, already: int = 0, field: str = "photos"
) -> list[PreparedPhoto]:
    """Check and clean every upload (all or none: the first bad one is a
    ``ValidationError`` keyed by ``field`` that names the file)."""
    files = [upload for upload in uploads or () if upload]
    check_count(len(files), already=already, field=field)
    return [
        upload if isinstance(upload, PreparedPhoto) else prepare_photo(upload, field=field)
        for upload in files
    ]


def prepare_photo(upload, *, field: str = "photos") -> PreparedPhoto:
    """One upload (a Django ``UploadedFile`` or any file object with ``read``)."""
    name = _display_name(upload)
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise _refuse(field, _too_large(name))
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _refuse(field, _too_large(name))
    if not data:
        raise _refuse(field, _("%(name)s is empty.") % {"name": name})
    image = _open(data, name=name, field=field)
    gps = gps_from_exif(_exif_of(image))
    try:
        upright = ImageOps.exif_transpose(image)
        pixels = _pixels_only(upright)
        stored = _fit(pixels, STORED_EDGE)
        thumbnail = _fit(pixels, THUMBNAIL_EDGE)
        return PreparedPhoto(
            name=name,
            image=_jpeg(stored, JPEG_QUALITY),
            thumbnail=_jpeg(thumbnail, THUMBNAIL_QUALITY),
            width=stored.width,
            height=stored.height,
            gps=gps,
        )
    except Image.DecompressionBombError as exc:
        raise _refuse(field, _too_big(name)) from exc
    except Exception as exc:  # Pillow raises many types for damaged data; all mean "unreadable"
        raise _refuse(field, _unreadable(name)) from exc


def first_gps(photos: Sequence[PreparedPhoto]) -> tuple[float, float] | None:
    """Where the first photo that knows it was taken (in upload order)."""
    return next((photo.gps for photo in photos if photo.gps is not None), None)


# --- opening and decoding -----------------------------------------------------------------


def _too_large(name: str) -> str:
    return _("%(name)s is too large (at most %(mb)s MB).") % {
        "name": name,
        "mb": MAX_BYTES // (1024 * 1024),
    }


def _too_big(name: str) -> str:
    return _("%(name)s has too many pixels (at most %(mp)s megapixels).") % {
        "name": name,
        "mp": MAX_PIXELS // 1_000_000,
    }


def _unreadable(name: str) -> str:
    return _("%(name)s is not a JPEG, PNG or WebP image, or it is damaged.") % {"name": name}


def _open(data: bytes, *, name: str, field: str) -> Image.Image:
    """Open, verify and decode; only the three accepted decoders are tried, and the
    pixel count is checked from the header before any pixel is decoded."""
    try:
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            _check_pixels(probe, name=name, field=field)
            probe.verify()  # structure and checksums (PNG CRCs) without decoding
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        _check_pixels(image, name=name, field=field)
        # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 48 MP photo destined to be 2560 px
        # never needs its full size in memory.
        image.draft("RGB", (STORED_EDGE, STORED_EDGE))
        image.load()  # a truncated or corrupt file fails here, not later
    except ValidationError:
        raise
    except Image.DecompressionBombError as exc:
        raise _refuse(field, _too_big(name)) from exc
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError, ValueError, …
        raise _refuse(field, _unreadable(name)) from exc
    return image


def _check_pixels(image: Image.Image, *, name: str, field: str) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _refuse(field, _unreadable(name))
    if width * height > MAX_PIXELS:
        raise _refuse(field, _too_big(name))


def _exif_of(image: Image.Image) -> Image.Exif | None:
    try:
        return image.getexif()
    except Exception:  # a damaged EXIF block only costs us the position
        return None


def _pixels_only(image: Image.Image) -> Image.Image:
    """The picture as plain RGB pixels in a new image: nothing of the original's
    ``info`` (EXIF, XMP, ICC, comments) can follow it into the stored file.
    Transparency is laid on white, as a photo viewer would show it."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        clean = Image.new("RGB", rgba.size, "white")
        clean.paste(rgba, mask=rgba.getchannel("A"))
        return clean
    rgb = image.convert("RGB")
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean


def _fit(image: Image.Image, edge: int) -> Image.Image:
    if max(image.size) <= edge:
        return image
    smaller = image.copy()
    smaller.thumbnail((edge, edge), Image.Resampling.LANCZOS)
    return smaller


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


# --- EXIF GPS -----------------------------------------------------------------------------


def gps_from_exif(exif: Image.Exif | None) -> tuple[float, float] | None:
    """(latitude, longitude) in degrees from an EXIF block, or ``None`` when it has no
    usable position: no GPS block, a missing hemisphere reference, a zero denominator,
    minutes or seconds of 60 or more, a value off the map, a void fix, or (0, 0), which
    cameras write when they had no fix at all."""
    if exif is None:
        return None
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:
        return None
    if not isinstance(gps, Mapping) or not gps:
        return None
    if _text(gps.get(GPS_STATUS)) == "V":
        return None
    lat = _coordinate(gps.get(GPS_LATITUDE), _text(gps.get(GPS_LATITUDE_REF)), "N", "S", 90)
    lng = _coordinate(gps.get(GPS_LONGITUDE), _text(gps.get(GPS_LONGITUDE_REF)), "E", "W", 180)
    if lat is None or lng is None or (lat == 0 and lng == 0):
        return None
    return lat, lng


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return ""
    return value.strip("\x00 ").upper()


def _number(value) -> float | None:
    """An EXIF rational (Pillow's ``IFDRational``, a (num, den) pair, or a plain number)."""
    try:
        if isinstance(value, tuple | list) and len(value) == 2:
            numerator, denominator = (float(part) for part in value)
            if denominator == 0:
                return None
            number = numerator / denominator
        else:
            denominator = getattr(value, "denominator", 1)
            if denominator == 0:
                return None
            number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _coordinate(value, ref: str, positive: str, negative: str, limit: float) -> float | None:
    if ref not in (positive, negative):
        return None
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [_number(part) for part in value]
    if any(part is None or part < 0 for part in parts):
        return None
    degrees, minutes, seconds = (*parts, 0.0, 0.0)[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    decimal = degrees + minutes / 60 + seconds / 3600
    if decimal > limit:
        return None
    return round(-decimal if ref == negative else decimal, 7)
