"""Dual registration (双报到双服务), unit pairings, the organization report, a party
member's service record, and the participation figures the dashboards read."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from grids.models import AssignmentRole
from residents.models import PartyMember, PartyMemberStatus
from tests.grids.factories import assign, superuser
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import (
    fund,
    make_activity,
    make_item,
    make_rule,
    make_shop,
    make_volunteer,
)
from tickets import services as tickets
from tickets.models import Rating
from volunteers import selectors, services
from volunteers.models import DualRegistration, RuleKind, UnitPairing

REGISTRATIONS = "/api/v1/dual-registrations/"
PAIRINGS = "/api/v1/unit-pairings/"
REPORT = "/api/v1/dual-registration-report/"
RECORDS = "/api/v1/party-member-service-records/"


@pytest.fixture
def erin(world, make_user):
    """The police's liaison: her scope is the department D1, where the police branch sits."""
    user = make_user("erin")
    assign(user, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    return user


def test_staff_register_an_in_service_member(
    world, staff, worker, mo, police_branch, api_client_for
):
    member = mo.party_membership
    payload = {"party_member": member.pk, "grid": world.A1.pk}

    assert api_client_for(worker).post(REGISTRATIONS, payload, format="json").status_code == 403
    created = api_client_for(staff).post(REGISTRATIONS, payload, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["organization"] == police_branch.pk  # their own unit by default
    twice = api_client_for(staff).post(REGISTRATIONS, payload, format="json")
    assert twice.status_code == 400
    assert "party_member" in twice.json()
    assert DualRegistration.objects.count() == 1


def test_retired_members_do_not_dual_register(world, staff, mo, api_client_for):
    member = mo.party_membership
    PartyMember.objects.filter(pk=member.pk).update(status=PartyMemberStatus.RETIRED)
    response = api_client_for(staff).post(
        REGISTRATIONS, {"party_member": member.pk, "grid": world.A1.pk}, format="json"
    )
    assert response.status_code == 400
    assert not DualRegistration.objects.exists()


def test_registrations_are_seen_by_the_community_and_the_unit(
    world, staff, outsider, erin, mo, api_client_for
):
    registration = services.registration_create(
        actor=staff, party_member=mo.party_membership, grid=world.A1
    )
    for user, seen in ((staff, True), (erin, True), (outsider, False)):
        ids = {r["id"] for r in api_client_for(user).get(REGISTRATIONS).json()["results"]}
        assert (registration.pk in ids) is seen, user
    ended = api_client_for(staff).post(f"{REGISTRATIONS}{registration.pk}/end/")
    assert ended.status_code == 200
    assert ended.json()["ended_on"] == timezone.localdate().isoformat()
    assert api_client_for(staff).post(f"{REGISTRATIONS}{registration.pk}/end/").status_code == 409


def test_units_pair_with_a_community(world, staff, police_branch, api_client_for):
    client = api_client_for(staff)
    payload = {"organization": police_branch.pk, "community": world.A.pk}

    assert (
        client.post(PAIRINGS, {**payload, "community": world.A1.pk}, format="json").status_code
        == 400
    )
    created = client.post(PAIRINGS, payload, format="json")
    assert created.status_code == 201
    assert client.post(PAIRINGS, payload, format="json").status_code == 400
    assert client.post(f"{PAIRINGS}{created.json()['id']}/end/").status_code == 200
    assert UnitPairing.objects.get().ends_on == timezone.localdate()


@pytest.fixture
def busy_month(world, staff, mo, police_branch, make_user):
    """Mo, of the police, registered with A1: he closes a claimed ticket rated satisfied,
    serves 2 hours at a clean-up and does a party duty; a B volunteer serves elsewhere."""
    services.pairing_create(actor=staff, organization=police_branch, community=world.A)
    services.registration_create(actor=staff, party_member=mo.party_membership, grid=world.A1)
    make_rule(world.A, RuleKind.VOLUNTEER_HOUR, 10)
    make_rule(world.A, RuleKind.TICKET_CLAIM, 10, code="normal")
    make_rule(world.A, RuleKind.PARTY_DUTY, 5, code="three_meetings")
    # the ticket
    assign(mo, world.A1, AssignmentRole.UNIT_HEAD)  # may claim on A1
    frank = make_user("frank", is_staff=False)
    ticket = open_ticket(category=make_category(), grid=world.A1, reporter=frank)
    tickets.ticket_dispatch(actor=superuser(), ticket=ticket, claim_board=True)
    tickets.ticket_claim(actor=mo, ticket=ticket)
    tickets.ticket_resolve(actor=mo, ticket=ticket)
    tickets.ticket_rate(actor=frank, ticket=ticket, rating=Rating.SATISFIED)
    services.points_post_for_ticket(ticket=ticket)
    # the clean-up, already held
    volunteer = make_volunteer(world.A1, user=mo)
    start = timezone.now() - datetime.timedelta(hours=3)
    cleanup = make_activity(world.A1, actor=staff, starts_at=start, hours=2)
    with time_machine.travel(start - datetime.timedelta(hours=1)):
        signup = services.signup_create(actor=staff, activity=cleanup, volunteer=volunteer)
    with time_machine.travel(start, tick=False):
        services.signup_check_in(actor=staff, signup=signup)
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        services.signup_check_out(actor=staff, signup=signup)
    services.signup_confirm(actor=staff, signup=signup)
    services.points_award(
        actor=staff,
        account=services.account_for(party_member=mo.party_membership),
        grid=world.A,
        kind=RuleKind.PARTY_DUTY,
        code="three_meetings",
    )
    return {"ticket": ticket, "cleanup": cleanup}


def test_the_organization_report_counts_what_members_did(
    world, busy_month, staff, erin, outsider, mo, police_branch, api_client_for
):
    response = api_client_for(erin).get(REPORT, {"organization": police_branch.pk})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert [p["community"] for p in body["pairings"]] == [world.A.pk]
    assert len(body["members"]) == 1
    row = body["members"][0]
    assert row["name"] == mo.full_name
    assert row["participation"] == {"tickets": 1, "activities": 1, "hours": "2.00", "points": 35}
    assert body["totals"] == row["participation"]
    assert body["active_members"] == 1
    assert (
        api_client_for(outsider).get(REPORT, {"organization": police_branch.pk}).status_code == 404
    )
    assert api_client_for(staff).get(REPORT).status_code == 400


def test_the_report_of_a_period_before_is_empty(busy_month, erin, police_branch, api_client_for):
    long_ago = {"organization": police_branch.pk, "from": "2025-01-01", "to": "2025-01-31"}
    body = api_client_for(erin).get(REPORT, long_ago).json()
    assert body["members"] == []
    assert body["totals"] == {"tickets": 0, "activities": 0, "hours": "0.00", "points": 0}


def test_a_members_service_record(world, busy_month, staff, mo, outsider, api_client_for):
    member = mo.party_membership
    record = api_client_for(staff).get(f"{RECORDS}{member.pk}/")
    assert record.status_code == 200, record.json()
    body = record.json()
    assert [t["id"] for t in body["tickets"]] == [busy_month["ticket"].pk]
    assert [s["activity"] for s in body["signups"]] == [busy_month["cleanup"].pk]
    assert body["participation"]["points"] == 35
    assert api_client_for(mo).get(f"{RECORDS}{member.pk}/").status_code == 200
    assert api_client_for(outsider).get(f"{RECORDS}{member.pk}/").status_code == 404


def test_participation_figures_for_a_subtree(
    world, busy_month, staff, leader, outsider, vera, vera_account, django_assert_num_queries
):
    # given a redemption at A's shop, one cancelled, and an activity on B
    fund(vera_account, 50, world.A)
    item = make_item(make_shop(world.A), price=20)
    kept = services.redemption_create(actor=vera, item=item)
    dropped = services.redemption_create(actor=vera, item=item)
    services.redemption_cancel(actor=vera, redemption=dropped)
    make_activity(world.B1, starts_at=timezone.now() - datetime.timedelta(hours=4), hours=1)
    today = timezone.localdate()

    with django_assert_num_queries(4):
        figures = selectors.participation_figures(grid=world.A, start=today, end=today)

    assert figures == {
        "volunteer_hours": Decimal("2.00"),
        "attendances": 1,
        "volunteers": 1,
        "activities_held": 1,
        "points_earned": 20 + 10 + 5 + 50,  # hours, ticket, duty, vera's fund
        "points_redeemed": kept.points,
        "dual_registered": 1,
        "dual_registered_active": 1,
    }
    assert (
        selectors.participation_figures(grid=world.B, start=today, end=today)["activities_held"]
        == 1
    )
    empty = selectors.participation_figures(grid=world.T2, start=today, end=today)
    assert empty["volunteer_hours"] == 0
    assert empty["points_earned"] == 0
    assert selectors.participation_figures(grid=world.A, start=today, end=today, user=leader)
    with pytest.raises(PermissionDenied):
        selectors.participation_figures(grid=world.A, start=today, end=today, user=outsider)


def test_who_serves_a_community_for_the_claim_board(world, staff, mo, vera, victor):
    services.registration_create(actor=staff, party_member=mo.party_membership, grid=world.A1)

    assert selectors.may_serve_on(mo, world.A2)  # anywhere in the community registered with
    assert not selectors.may_serve_on(mo, world.B1)
    assert selectors.may_serve_on(vera, world.A1a)
    assert not selectors.may_serve_on(vera, world.B1)
    assert selectors.may_serve_on(victor, world.B1)
