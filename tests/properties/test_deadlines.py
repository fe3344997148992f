"""Properties of deadline arithmetic (``tickets/deadlines.py``) and of office hours
(``tickets/routing.py``), across days and time zones.

A deadline is an instant: the category's durations added to the moment the ticket opens,
whatever time zone that moment is written in. "Overdue" compares instants. Office hours
are read on the wall clock of the project's time zone, Asia/Shanghai, which has no
daylight saving time: UTC+8 all year.
"""

from __future__ import annotations

import datetime
import zoneinfo
from types import SimpleNamespace

from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tests.properties.common import PROPERTIES
from tickets import states
from tickets.deadlines import apply_policy, is_overdue
from tickets.routing import is_office_hours, office_hours

UTC = datetime.UTC
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))  # fixed: no DST, ever
# Zones a server (or a report's timestamp) may be in, DST and odd offsets included.
ZONES = [
    zoneinfo.ZoneInfo(name)
    for name in (
        "UTC",
        "Asia/Shanghai",
        "America/New_York",
        "Europe/London",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kathmandu",
    )
]

# Hypothesis takes naive bounds and attaches the zone itself.
instants = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime.datetime(2037, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(
    min_value=datetime.timedelta(minutes=1), max_value=datetime.timedelta(days=90)
)


@st.composite
def policies(draw) -> SimpleNamespace:
    """A category's policy as ``category_errors`` accepts it: respond ≤ resolve."""
    respond = draw(durations)
    resolve = respond + draw(
        st.timedeltas(min_value=datetime.timedelta(0), max_value=datetime.timedelta(days=60))
    )
    return SimpleNamespace(respond_within=respond, resolve_within=resolve)


def ticket(policy, **fields) -> SimpleNamespace:
    return SimpleNamespace(category=policy, respond_by=None, resolve_by=None, **fields)


@PROPERTIES
@given(policies(), instants, st.sampled_from(ZONES))
def test_deadlines_are_the_same_instants_in_every_time_zone(policy, now, zone):
    in_utc, local = ticket(policy), ticket(policy)
    apply_policy(in_utc, now)
    apply_policy(local, now.astimezone(zone))
    assert in_utc.respond_by == local.respond_by
    assert in_utc.resolve_by == local.resolve_by
    # absolute durations: a DST change in ``zone`` neither adds nor removes an hour
    assert local.respond_by - now == policy.respond_within
    assert local.resolve_by - now == policy.resolve_within
    assert in_utc.respond_by <= in_utc.resolve_by


@PROPERTIES
@given(
    policies(),
    instants,
    st.timedeltas(min_value=-datetime.timedelta(days=120), max_value=datetime.timedelta(days=120)),
    st.sampled_from(sorted(states.OPEN)),
    st.booleans(),
    st.sampled_from(ZONES),
)
def test_overdue_means_a_deadline_passed_whatever_the_zone(
    policy, opened, elapsed, status, responded, zone
):
    t = ticket(policy, status=status, responded_at=opened if responded else None)
    apply_policy(t, opened)
    now = opened + elapsed
    expected = (not responded and now > t.respond_by) or now > t.resolve_by
    assert is_overdue(t, now) is expected
    assert is_overdue(t, now.astimezone(zone)) is expected
    # a later moment is never less overdue
    assert is_overdue(t, now + datetime.timedelta(days=1)) >= expected


@PROPERTIES
@given(policies(), instants, st.integers(min_value=0, max_value=10**6))
def test_a_finished_ticket_is_never_overdue(policy, opened, seconds):
    for status in ("closed", "rejected", "duplicate"):
        t = ticket(policy, status=status, responded_at=None)
        apply_policy(t, opened)
        assert not is_overdue(t, opened + datetime.timedelta(seconds=seconds, days=365))


@PROPERTIES
@given(instants, st.sampled_from(ZONES))
def test_office_hours_follow_the_shanghai_wall_clock_wherever_the_moment_is_written(at, zone):
    wall = at.astimezone(SHANGHAI)  # UTC+8, the same as Asia/Shanghai every day of the year
    start, end = office_hours()
    expected = wall.weekday() < 5 and start <= wall.time().replace(tzinfo=None) < end
    assert is_office_hours(at) is expected
    assert is_office_hours(at.astimezone(zone)) is expected
    assert timezone.localtime(
        at, timezone.get_default_timezone()
    ).utcoffset() == datetime.timedelta(hours=8)


@PROPERTIES
@given(st.dates(min_value=datetime.date(2000, 1, 3), max_value=datetime.date(2037, 12, 28)))
def test_office_hours_start_and_end_on_the_minute_across_days(day):
    start, end = office_hours()
    opening = datetime.datetime.combine(day, start, SHANGHAI)
    closing = datetime.datetime.combine(day, end, SHANGHAI)
    second = datetime.timedelta(seconds=1)
    weekday = day.weekday() < 5
    assert is_office_hours(opening) is weekday
    assert not is_office_hours(opening - second)
    assert is_office_hours(closing - second) is weekday
    assert not is_office_hours(closing)
    assert not is_office_hours(datetime.datetime.combine(day, datetime.time(0, 0), SHANGHAI))
