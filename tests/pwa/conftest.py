from __future__ import annotations

import datetime
import zoneinfo

import pytest

from residents import services as resident_services
from tests.residents.conftest import homes, tags  # noqa: F401 - fixtures
from tests.tickets.conftest import errands, frank, grace, hazard, make_ticket  # noqa: F401 - fixtures

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def campaign(request, staff, world):
    """A door-knocking campaign over community A: a task for each of h1, h2 and h3."""
    request.getfixturevalue("homes")
    return resident_services.campaign_start(
        actor=staff,
        grid=world.A,
        title="冬季安全敲门行动",
        deadline=datetime.datetime(2099, 1, 1, tzinfo=SHANGHAI),
        checklist=["燃气是否安全？"],
    )
