"""Activities and sign-ups through the API: who may publish, capacity, cut-off, check-in
and check-out (by the organiser or with the venue's code), hours confirmed once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.volunteers.factories import make_activity, make_rule, make_volunteer
from volunteers import services
from volunteers.models import Activity, EntryReason, PointsEntry, RuleKind, Signup, TeamKind

ACTIVITIES = "/api/v1/volunteer-activities/"
SIGNUPS = "/api/v1/volunteer-signups/"


@pytest.fixture
def start():
    return timezone.now().replace(microsecond=0) + datetime.timedelta(days=2)


@pytest.fixture
def cleanup(world, staff, start):
    """A two-hour clean-up on estate A1, organised by alice, with 2 places."""
    return make_activity(world.A1, actor=staff, starts_at=start, hours=2, capacity=2)


def _payload(world, start, **extra):
    return {
        "grid": world.A1.pk,
        "title": "食品安全监督检查",
        "place": "农贸市场",
        "starts_at": start.isoformat(),
        "ends_at": (start + datetime.timedelta(hours=2)).isoformat(),
        "capacity": 5,
        **extra,
    }


def test_staff_publish_an_activity_and_workers_may_not(world, staff, worker, start, api_client_for):
    response = api_client_for(staff).post(ACTIVITIES, _payload(world, start), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["organiser"]["id"] == staff.pk
    assert body["places_left"] == 5
    assert len(body["check_in_code"]) == 6
    activity = Activity.objects.get(pk=body["id"])
    assert activity.signup_closes_at == activity.starts_at

    refused = api_client_for(worker).post(ACTIVITIES, _payload(world, start), format="json")
    assert refused.status_code == 403
    assert Activity.objects.count() == 1


def test_an_activity_must_end_after_it_starts(world, staff, start, api_client_for):
    payload = _payload(world, start, ends_at=(start - datetime.timedelta(hours=1)).isoformat())
    response = api_client_for(staff).post(ACTIVITIES, payload, format="json")
    assert response.status_code == 400
    assert "ends_at" in response.json()
    assert not Activity.objects.exists()


def test_a_team_leader_publishes_for_their_team(world, vera, staff, start, api_client_for):
    team = services.team_create(
        actor=staff,
        grid=world.A,
        kind=TeamKind.objects.get(code="womens"),
        name="巾帼志愿服务队",
        leader=vera.volunteer_profile,
    )
    response = api_client_for(vera).post(
        ACTIVITIES, _payload(world, start, team=team.pk), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["team_name"] == "巾帼志愿服务队"
    alone = api_client_for(vera).post(ACTIVITIES, _payload(world, start), format="json")
    assert alone.status_code == 403


def test_volunteers_see_their_community_only(cleanup, vera, victor, world, api_client_for):
    other = make_activity(world.B1, title="B社区义诊")
    township = make_activity(world.T1, title="全镇植树")

    mine = api_client_for(vera).get(ACTIVITIES)
    assert mine.status_code == 200
    assert {a["id"] for a in mine.json()["results"]} == {cleanup.pk, township.pk}
    assert mine.json()["results"][0]["check_in_code"] is None  # not an organiser

    theirs = api_client_for(victor).get(ACTIVITIES)
    assert {a["id"] for a in theirs.json()["results"]} == {other.pk, township.pk}
    assert api_client_for(victor).get(f"{ACTIVITIES}{cleanup.pk}/").status_code == 404
    assert api_client_for(victor).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").status_code == 404


def test_sign_up_over_capacity_is_refused(cleanup, vera, pete, world, make_user, api_client_for):
    third = make_user("third", is_staff=False)
    make_volunteer(world.A1, user=third)

    assert api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").status_code == 201
    assert api_client_for(pete).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").status_code == 201
    full = api_client_for(third).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")

    assert full.status_code == 409
    assert full.json()["detail"]
    assert Signup.objects.filter(activity=cleanup).count() == 2
    listed = api_client_for(vera).get(f"{ACTIVITIES}{cleanup.pk}/").json()
    assert (listed["taken"], listed["places_left"], listed["my_signup_status"]) == (
        2,
        0,
        "signed_up",
    )


def test_signing_up_twice_is_refused_and_a_cancelled_place_frees_up(cleanup, vera, api_client_for):
    client = api_client_for(vera)
    signup = client.post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()
    assert client.post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").status_code == 409

    assert client.post(f"{SIGNUPS}{signup['id']}/cancel/").status_code == 200
    assert Signup.objects.get().status == "cancelled"
    again = client.post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    assert again.status_code == 201
    assert again.json()["id"] == signup["id"]  # the same row, revived


def test_no_sign_up_or_cancel_after_the_cut_off(cleanup, vera, pete, start, api_client_for):
    signup = api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()

    with time_machine.travel(start + datetime.timedelta(minutes=1)):
        late = api_client_for(pete).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
        cancel = api_client_for(vera).post(f"{SIGNUPS}{signup['id']}/cancel/")

    assert late.status_code == 409
    assert cancel.status_code == 409
    assert Signup.objects.get().status == "signed_up"


def test_organiser_signs_up_a_walk_in_after_the_cut_off(
    cleanup, staff, pete, start, api_client_for
):
    with time_machine.travel(start + datetime.timedelta(minutes=10)):
        response = api_client_for(staff).post(
            f"{ACTIVITIES}{cleanup.pk}/sign-up/",
            {"volunteer": pete.volunteer_profile.pk},
            format="json",
        )
    assert response.status_code == 201
    assert Signup.objects.get().volunteer == pete.volunteer_profile


def test_a_volunteer_may_not_sign_up_someone_else(cleanup, vera, pete, api_client_for):
    response = api_client_for(vera).post(
        f"{ACTIVITIES}{cleanup.pk}/sign-up/",
        {"volunteer": pete.volunteer_profile.pk},
        format="json",
    )
    assert response.status_code in (400, 403)
    assert not Signup.objects.exists()


def test_check_out_before_check_in_is_refused(cleanup, staff, vera, start, api_client_for):
    signup = api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()

    with time_machine.travel(start + datetime.timedelta(minutes=5)):
        response = api_client_for(staff).post(f"{SIGNUPS}{signup['id']}/check-out/")

    assert response.status_code == 409
    assert Signup.objects.get().checked_out_at is None


def test_code_checks_in_and_out_and_hours_are_derived(cleanup, vera, start, api_client_for):
    client = api_client_for(vera)
    client.post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    code = cleanup.check_in_code

    with time_machine.travel(start - datetime.timedelta(minutes=10), tick=False):
        wrong = client.post(
            f"{ACTIVITIES}{cleanup.pk}/check-in/",
            {"code": "000000" if code != "000000" else "111111"},
        )
        assert wrong.status_code == 400
        assert "code" in wrong.json()
        checked_in = client.post(f"{ACTIVITIES}{cleanup.pk}/check-in/", {"code": code})
        assert checked_in.status_code == 200
        assert checked_in.json()["status"] == "checked_in"
    with time_machine.travel(start + datetime.timedelta(minutes=100), tick=False):
        out = client.post(f"{ACTIVITIES}{cleanup.pk}/check-in/", {"code": code})

    assert out.status_code == 200
    # arrived early: the hours count from the start, to the nearest quarter (100 min → 1.75)
    assert out.json()["status"] == "checked_out"
    assert Decimal(out.json()["hours"]) == Decimal("1.75")


def test_the_code_is_refused_long_before_the_activity(cleanup, vera, start, api_client_for):
    client = api_client_for(vera)
    client.post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    with time_machine.travel(start - datetime.timedelta(hours=5)):
        early = client.post(f"{ACTIVITIES}{cleanup.pk}/check-in/", {"code": cleanup.check_in_code})
    assert early.status_code == 409
    assert Signup.objects.get().status == "signed_up"


def test_hours_are_confirmed_once_and_earn_the_rule(
    world, cleanup, staff, vera, vera_account, start, api_client_for
):
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    signup = api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()
    organiser = api_client_for(staff)
    with time_machine.travel(start):
        assert organiser.post(f"{SIGNUPS}{signup['id']}/check-in/").status_code == 200
    with time_machine.travel(start + datetime.timedelta(hours=2)):
        assert organiser.post(f"{SIGNUPS}{signup['id']}/check-out/").status_code == 200

    confirmed = organiser.post(f"{SIGNUPS}{signup['id']}/confirm/")
    twice = organiser.post(f"{SIGNUPS}{signup['id']}/confirm/")

    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert twice.status_code == 409
    entry = PointsEntry.objects.get()
    assert (entry.account, entry.amount, entry.reason) == (vera_account, 20, EntryReason.ACTIVITY)
    vera_account.refresh_from_db()
    assert vera_account.balance == 20


def test_the_organiser_may_correct_the_hours_within_the_activity(
    world, cleanup, staff, vera, vera_account, start, api_client_for
):
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    signup = api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()
    organiser = api_client_for(staff)
    with time_machine.travel(start):
        organiser.post(f"{SIGNUPS}{signup['id']}/check-in/")
    with time_machine.travel(start + datetime.timedelta(minutes=30)):
        organiser.post(f"{SIGNUPS}{signup['id']}/check-out/")

    too_long = organiser.post(f"{SIGNUPS}{signup['id']}/confirm/", {"hours": "3"}, format="json")
    assert too_long.status_code == 400
    fixed = organiser.post(
        f"{SIGNUPS}{signup['id']}/confirm/", {"hours": "1.25", "note": "忘记签退"}, format="json"
    )
    assert fixed.status_code == 200
    assert PointsEntry.objects.get().amount == 13  # 12.5 rounded half up


def test_attendance_points_per_activity(world, staff, vera, vera_account, start, api_client_for):
    talk = make_activity(
        world.A, actor=staff, starts_at=start, points_basis="attendance", attendance_points=5
    )
    signup = api_client_for(vera).post(f"{ACTIVITIES}{talk.pk}/sign-up/").json()
    organiser = api_client_for(staff)
    with time_machine.travel(start):
        organiser.post(f"{SIGNUPS}{signup['id']}/check-in/")
        organiser.post(f"{SIGNUPS}{signup['id']}/check-out/")
    assert organiser.post(f"{ACTIVITIES}{talk.pk}/confirm-all/").json() == {"confirmed": 1}
    assert PointsEntry.objects.get().amount == 5


def test_only_organisers_read_the_attendance_and_confirm(
    cleanup, staff, vera, worker, start, api_client_for
):
    signup = api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/").json()
    sheet = api_client_for(staff).get(f"{ACTIVITIES}{cleanup.pk}/attendance/")
    assert sheet.status_code == 200
    assert [row["id"] for row in sheet.json()] == [signup["id"]]
    assert api_client_for(vera).get(f"{ACTIVITIES}{cleanup.pk}/attendance/").status_code == 403
    with time_machine.travel(start):
        checked_in_by_worker = api_client_for(worker).post(f"{SIGNUPS}{signup['id']}/check-in/")
    assert checked_in_by_worker.status_code == 403  # sees the grid, is not an organiser


def test_the_organiser_cancels_an_activity(cleanup, staff, vera, api_client_for):
    api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    assert api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/cancel/").status_code == 403
    response = api_client_for(staff).post(
        f"{ACTIVITIES}{cleanup.pk}/cancel/", {"reason": "大风"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert api_client_for(staff).post(f"{ACTIVITIES}{cleanup.pk}/cancel/").status_code == 409


def test_capacity_cannot_drop_below_the_sign_ups(cleanup, staff, vera, pete, api_client_for):
    api_client_for(vera).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    api_client_for(pete).post(f"{ACTIVITIES}{cleanup.pk}/sign-up/")
    response = api_client_for(staff).patch(
        f"{ACTIVITIES}{cleanup.pk}/", {"capacity": 1}, format="json"
    )
    assert response.status_code == 400
    assert "capacity" in response.json()


def test_list_query_count_does_not_grow(world, staff, vera, api_client_for):
    client = api_client_for(vera)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(ACTIVITIES).status_code == 200
            assert client.get(SIGNUPS).status_code == 200
        return len(ctx.captured_queries)

    first = make_activity(world.A1, actor=staff)
    client.post(f"{ACTIVITIES}{first.pk}/sign-up/")  # an empty page skips the row query
    small = count()
    for i in range(6):
        activity = make_activity(world.A1a, actor=staff, title=f"活动{i}")
        client.post(f"{ACTIVITIES}{activity.pk}/sign-up/")
    assert count() == small


def test_workers_see_their_subtree_and_the_grids_above(world, worker, staff, api_client_for):
    on_a1 = make_activity(world.A1a, actor=staff)
    on_a2 = make_activity(world.A2, actor=staff)
    on_a = make_activity(world.A, actor=staff)
    seen = {a["id"] for a in api_client_for(worker).get(ACTIVITIES).json()["results"]}
    assert seen == {on_a1.pk, on_a.pk}
    assert on_a2.pk not in seen
