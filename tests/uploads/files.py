"""What the upload tests send: oversized, lying, bombing and oddly tagged files."""

from __future__ import annotations

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.tickets.test_photos import bomb_png, dms, gps_exif, image_bytes, rational

MB = 1024 * 1024


def fifty_megabytes_of_jpeg() -> bytes:
    """A valid JPEG followed by 50 MB: Pillow opens it happily, only its size is wrong."""
    return image_bytes() + b"\0" * (50 * MB)


def small_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a picture")
    return buffer.getvalue()


def zip_bomb(unpacked_mb: int = 300, name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """A small zip holding one member that inflates to ``unpacked_mb`` MB of zeros, next
    to the members an .xlsx workbook has."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open(name, "w", force_zip64=True) as member:
            chunk = b"\0" * MB
            for _ in range(unpacked_mb):
                member.write(chunk)
    return buffer.getvalue()


# A .jpg that is something else, by its first bytes.
LYING = {
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n",
    "zip": small_zip(),
    "html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
}


def odd_gps_jpeg(kind: str) -> bytes:
    """A JPEG whose EXIF GPS block is nonsense of the given kind."""
    if kind == "nan":  # 0/0 is how EXIF spells "not a number"
        gps = {1: "N", 2: (rational(0, 0), rational(3), rational(0)), 3: "E", 4: dms(100, 3)}
    elif kind == "out_of_range":
        gps = {1: "N", 2: dms(95, 0), 3: "E", 4: dms(181, 0)}
    else:  # zero denominators
        gps = {
            1: "N",
            2: (rational(30, 0), rational(3, 0), rational(1, 0)),
            3: "E",
            4: (rational(100, 0), rational(3), rational(0)),
        }
    return image_bytes(exif=gps_exif(gps))


def as_upload(data: bytes, name: str, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def has_exif(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif()) or "exif" in image.info


__all__ = ["bomb_png", "image_bytes"]
