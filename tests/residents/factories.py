"""Households and residents for tests, written through the services as staff would."""

from __future__ import annotations

import datetime
import itertools

from residents import services
from residents.personal_data import check_char
from tests.grids.factories import superuser

_sequence = itertools.count(1)


def id_number(birth: datetime.date, gender: str = "male", region: str = "632726") -> str:
    """A valid 18-character ID number for the given birth date and gender."""
    seq = next(_sequence) % 500
    third = (1 if gender == "male" else 0) + 2 * (seq % 5)  # odd = male
    first17 = f"{region}{birth:%Y%m%d}{seq // 5 % 100:02d}{third}"
    return first17 + check_char(first17)


def make_household(grid, *, room: str | None = None, **fields):
    room = room if room is not None else str(next(_sequence))
    return services.household_create(actor=superuser(), grid=grid, room=room, **fields)


def make_resident(household, *, birth=datetime.date(1980, 5, 17), gender="male", tags=(), **kw):
    kw.setdefault("name", f"居民{next(_sequence)}")
    kw.setdefault("id_number", id_number(birth, gender))
    return services.resident_create(
        actor=superuser(),
        household=household,
        birth_date=birth,
        gender=gender,
        tags=list(tags),
        **kw,
    )
