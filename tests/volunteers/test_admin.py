"""The volunteers admin: scoped lists, writes through the services (their refusals shown
on the form), the read-only ledger with its reverse action, hand-outs, the report."""

from __future__ import annotations

import datetime

from django.utils import timezone

from tests.grids.factories import superuser
from tests.volunteers.factories import fund, make_activity, make_item, make_rule, make_shop
from volunteers import services
from volunteers.models import (
    Activity,
    EntryReason,
    PointsEntry,
    PointsRule,
    Redemption,
    RuleKind,
    TeamKind,
    TeamMembership,
    Volunteer,
    VolunteerTeam,
)

ADMIN = "/admin/volunteers/"


def shown(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_activities_are_scoped(client, world, staff, outsider, leader):
    in_a = make_activity(world.A1)
    in_b = make_activity(world.B1)

    client.force_login(staff)
    assert shown(client.get(f"{ADMIN}activity/")) == {in_a.pk}
    client.force_login(outsider)
    assert shown(client.get(f"{ADMIN}activity/")) == {in_b.pk}
    assert client.get(f"{ADMIN}activity/{in_a.pk}/change/").status_code == 302  # "not found"
    client.force_login(leader)
    assert shown(client.get(f"{ADMIN}activity/")) == {in_a.pk, in_b.pk}


def _activity_form(world, staff, start, **extra):
    end = start + datetime.timedelta(hours=2)
    return {
        "title": "文艺演出",
        "grid": world.A.pk,
        "place": "文艺运动区",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": end.strftime("%Y-%m-%d"),
        "ends_at_1": end.strftime("%H:%M:%S"),
        "signup_closes_at_0": start.strftime("%Y-%m-%d"),
        "signup_closes_at_1": start.strftime("%H:%M:%S"),
        "capacity": "10",
        "organiser": staff.pk,
        "points_basis": "attendance",
        "attendance_points": "8",
        "signups-TOTAL_FORMS": "0",
        "signups-INITIAL_FORMS": "0",
        **extra,
    }


def test_an_activity_added_in_the_admin_goes_through_the_service(client, world, staff):
    start = timezone.localtime() + datetime.timedelta(days=3)
    client.force_login(staff)

    response = client.post(f"{ADMIN}activity/add/", _activity_form(world, staff, start))

    assert response.status_code == 302, response.context["adminform"].form.errors
    activity = Activity.objects.get()
    assert (activity.title, activity.created_by, activity.attendance_points) == (
        "文艺演出",
        staff,
        8,
    )
    assert len(activity.check_in_code) == 6


def test_a_refused_activity_shows_the_reason_on_the_form(client, world, staff):
    start = timezone.localtime() + datetime.timedelta(days=3)
    client.force_login(staff)

    response = client.post(
        f"{ADMIN}activity/add/",
        _activity_form(world, staff, start, points_basis="attendance", attendance_points="0"),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "attendance_points" in errors
    assert not Activity.objects.exists()


def test_a_backdated_rule_change_is_a_form_error(client, world, staff):
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    client.force_login(staff)
    form = {
        "grid": world.A.pk,
        "kind": "volunteer_hour",
        "code": "",
        "name": "每小时",
        "points": "15",
        "effective_from": "2020-01-01",
        "note": "",
    }

    refused = client.post(f"{ADMIN}pointsrule/add/", form)
    assert refused.status_code == 200
    assert "effective_from" in refused.context["adminform"].form.errors
    later = (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    assert (
        client.post(f"{ADMIN}pointsrule/add/", {**form, "effective_from": later}).status_code == 302
    )
    assert sorted(PointsRule.objects.values_list("points", flat=True)) == [10, 15]
    rule = PointsRule.objects.get(points=10)
    assert client.post(f"{ADMIN}pointsrule/{rule.pk}/change/", {**form}).status_code == 403


def test_volunteers_and_teams_in_the_admin(client, world, staff, homes):
    client.force_login(staff)
    added = client.post(
        f"{ADMIN}volunteer/add/",
        {
            "grid": world.A1.pk,
            "name": "",
            "resident": homes["wang"].pk,
            "phone": "",
            "skills": "电工",
            "is_active": "on",
        },
    )
    assert added.status_code == 302, added.context["adminform"].form.errors
    volunteer = Volunteer.objects.get()
    assert volunteer.name == "王大爷"
    team = client.post(
        f"{ADMIN}volunteerteam/add/",
        {
            "grid": world.A.pk,
            "kind": TeamKind.objects.get(code="emergency_rescue").pk,
            "name": "应急救援志愿服务队",
            "description": "",
            "leader": volunteer.pk,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert team.status_code == 302, team.context["adminform"].form.errors
    created = VolunteerTeam.objects.get()
    assert list(
        TeamMembership.objects.filter(team=created).values_list("volunteer", flat=True)
    ) == [volunteer.pk]


def test_the_ledger_is_read_only_and_reversed_by_action(client, world, staff, vera_account):
    fund(vera_account, 20, world.A)
    entry = PointsEntry.objects.get()
    client.force_login(staff)

    assert shown(client.get(f"{ADMIN}pointsentry/")) == {entry.pk}
    assert client.get(f"{ADMIN}pointsentry/add/").status_code == 403
    assert client.post(f"{ADMIN}pointsentry/{entry.pk}/change/", {"amount": 99}).status_code == 403
    response = client.post(
        f"{ADMIN}pointsentry/",
        {"action": "reverse_entries", "_selected_action": [entry.pk]},
    )
    assert response.status_code == 302
    reversal = PointsEntry.objects.get(reason=EntryReason.REVERSAL)
    assert reversal.reverses == entry
    vera_account.refresh_from_db()
    assert vera_account.balance == 0
    assert client.get(f"{ADMIN}pointsaccount/{vera_account.pk}/change/").status_code == 200


def test_redemptions_are_handed_out_by_action(client, world, staff, outsider, vera, vera_account):
    fund(vera_account, 10, world.A)
    redemption = services.redemption_create(
        actor=vera, item=make_item(make_shop(world.A), price=10)
    )

    client.force_login(outsider)
    assert shown(client.get(f"{ADMIN}redemption/")) == set()
    client.force_login(staff)
    found = client.get(f"{ADMIN}redemption/", {"q": redemption.pickup_code})
    assert shown(found) == {redemption.pk}
    client.post(f"{ADMIN}redemption/", {"action": "fulfil", "_selected_action": [redemption.pk]})
    redemption.refresh_from_db()
    assert (redemption.status, redemption.fulfilled_by) == ("fulfilled", staff)
    # a second hand-out is refused and reported, not repeated
    client.post(f"{ADMIN}redemption/", {"action": "cancel", "_selected_action": [redemption.pk]})
    assert Redemption.objects.get().status == "fulfilled"


def test_the_organization_report_page(client, world, staff, mo, police_branch):
    services.registration_create(actor=staff, party_member=mo.party_membership, grid=world.A1)
    services.pairing_create(actor=staff, organization=police_branch, community=world.A)
    client.force_login(staff)
    # alice's scope does not cover the police's grid: she chooses among her grids' units
    page = client.get(f"{ADMIN}dualregistration/report/")
    assert page.status_code == 200
    assert client.get(f"{ADMIN}dualregistration/").status_code == 200

    client.force_login(superuser())
    today = timezone.localdate()
    report = client.get(
        f"{ADMIN}dualregistration/report/",
        {"organization": police_branch.pk, "start": today.replace(day=1), "end": today},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert report.status_code == 200
    assert report.context["report"].members[0].name == mo.full_name
    assert "Registered members: 1; active in the period: 0." in report.content.decode()


def test_an_activity_page_shows_its_attendance(client, world, staff, vera):
    activity = make_activity(world.A1, actor=staff)
    signup = services.signup_create(actor=vera, activity=activity)
    client.force_login(staff)

    page = client.get(f"{ADMIN}activity/{activity.pk}/change/")

    assert page.status_code == 200
    (attendance,) = page.context["inline_admin_formsets"]
    assert [form.original.pk for form in attendance] == [signup.pk]
    assert attendance.has_add_permission is False
    assert activity.check_in_code in page.content.decode()


def test_a_reader_sees_the_volunteers_phone_masked(client, world, staff, leader, homes):
    volunteer = services.volunteer_register(
        actor=staff, grid=world.A1, resident=homes["wang"], phone="13912345678"
    )
    client.force_login(leader)
    page = client.get(f"{ADMIN}volunteer/{volunteer.pk}/change/").content.decode()
    assert "139****5678" in page
    assert "13912345678" not in page
    client.force_login(staff)
    assert "13912345678" in client.get(f"{ADMIN}volunteer/{volunteer.pk}/change/").content.decode()
