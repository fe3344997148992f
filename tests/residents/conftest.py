from __future__ import annotations

import datetime

import pytest

from residents.models import KeyGroupTag
from tests.residents.factories import make_household, make_resident


@pytest.fixture
def tags(db) -> dict[str, KeyGroupTag]:
    return {t.code: t for t in KeyGroupTag.objects.all()}


@pytest.fixture
def homes(world, tags):
    """Two households under bob's estate A1 (one in micro A1a) and one in sibling A2."""
    h1 = make_household(world.A1, building="1", unit="2", room="301", phone="13812345678")
    h2 = make_household(world.A1a, building="3", unit="1", room="101")
    h3 = make_household(world.A2, address="A2 村东头 5 号")
    wang = make_resident(
        h1,
        name="王大爷",
        birth=datetime.date(1950, 3, 8),
        relation="head",
        phone="13987654321",
        tags=[tags["elderly_alone"]],
    )
    li = make_resident(
        h2,
        name="李阿姨",
        birth=datetime.date(1958, 7, 1),
        gender="female",
        relation="head",
        tags=[tags["dibao"]],
    )
    zhao = make_resident(h3, name="赵先生", birth=datetime.date(1990, 1, 1), relation="head")
    return {"h1": h1, "h2": h2, "h3": h3, "wang": wang, "li": li, "zhao": zhao}
