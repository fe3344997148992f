"""Files for the upload tests, and where uploads land.

``MEDIA_ROOT`` and Django's temporary upload directory are moved into the test's own
directory, so "nothing stored" is checked by listing them: no stored file, and no
temporary file left behind by a refused upload.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def upload_dirs(settings, tmp_path) -> dict[str, Path]:
    media, spool = tmp_path / "media", tmp_path / "spool"
    spool.mkdir()
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return {"media": media, "spool": spool}


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def nothing_stored(upload_dirs):
    """Call after a refused upload: no file kept, no temporary file left."""

    def check() -> None:
        assert files_under(upload_dirs["media"]) == []
        assert files_under(upload_dirs["spool"]) == []

    return check
