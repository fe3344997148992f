"""The ticket list at county scale (issue 8): cursor pages, filters read inside the list's
own query, the whistles inside each row on PostgreSQL, and the communities a volunteer
serves as a condition of the query — each the same answer as before, with fewer queries."""

from __future__ import annotations

import datetime

import pytest

from grids.models import AssignmentRole
from residents.models import PartyMember
from tests.conftest import requires_postgres
from tests.grids.factories import assign, make_party_organization, superuser
from tests.residents.factories import make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tickets import claimers, selectors, services
from tickets.models import Ticket, Whistle
from volunteers.models import Volunteer

URL = "/api/v1/tickets/"


@pytest.fixture
def category(db):
    return make_category(resolve=datetime.timedelta(days=3))


@pytest.fixture
def reporter(make_user):
    return make_user("reporter", is_staff=False)


def test_pages_follow_each_other_without_count(world, category, reporter, api_client_for):
    tickets = [open_ticket(category=category, grid=world.A1a, reporter=reporter) for _ in range(7)]
    # equal deadlines: the primary key keeps the order stable between pages
    Ticket.objects.update(resolve_by=tickets[0].resolve_by)
    client = api_client_for(superuser())
    seen, url, params = [], URL, {"page_size": 3, "ordering": "resolve_by"}
    while url:
        body = client.get(url, params).json()
        assert set(body) == {"next", "previous", "results"}
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
    assert seen == sorted(t.pk for t in tickets)
    back = client.get(body["previous"] if body["previous"] else URL).json()
    assert back["results"]


def test_unknown_grid_or_category_finds_nothing(world, category, reporter, api_client_for):
    open_ticket(category=category, grid=world.A1a, reporter=reporter)
    client = api_client_for(superuser())
    assert client.get(URL, {"grid": 999_999}).json()["results"] == []
    assert client.get(URL, {"category": 999_999}).json()["results"] == []
    assert len(client.get(URL, {"grid": world.A.pk}).json()["results"]) == 1
    assert client.get(URL, {"grid": world.B.pk}).json()["results"] == []


def test_a_page_costs_the_same_queries_however_many_rows(
    world, category, reporter, make_user, api_client_for, django_assert_max_num_queries
):
    leader = make_user("township_leader")
    assign(leader, world.T1, AssignmentRole.DISTRICT_LEADER)
    client = api_client_for(leader)
    params = {"grid": world.T1.pk, "status": ["submitted", "whistled"], "ordering": "resolve_by"}
    for index in range(12):
        ticket = open_ticket(category=category, grid=world.A1a, reporter=reporter)
        if index % 3 == 0:
            services.ticket_dispatch(actor=superuser(), ticket=ticket, departments=[world.D1])
    # token, scope, page (the whistles ride in the rows); elsewhere the whistles are one more
    limit = 3 if selectors.whistles_in_row() else 4
    with django_assert_max_num_queries(limit):
        response = client.get(URL, params)
    assert len(response.json()["results"]) == 12


@requires_postgres
def test_whistles_in_the_row_are_the_whistles(
    world, category, reporter, make_user, api_client_for, monkeypatch
):
    liaison = make_user("liaison")
    assign(liaison, world.D1, AssignmentRole.DEPARTMENT_LIAISON)
    ticket = open_ticket(category=category, grid=world.A1a, reporter=reporter)
    services.ticket_dispatch(actor=superuser(), ticket=ticket, departments=[world.D1, world.D2])
    first = ticket.whistles.order_by("pk").first()
    services.whistle_report_in(actor=liaison, whistle=first)
    services.whistle_reply(actor=liaison, whistle=first, reply="已处理")
    loaded = selectors.ticket_list(user=liaison).get(pk=ticket.pk)
    built = list(loaded.whistles.all())
    stored = list(Whistle.objects.filter(ticket=ticket).order_by("created_at", "pk"))
    assert [w.pk for w in built] == [w.pk for w in stored]
    for mine, theirs in zip(built, stored, strict=True):
        for field in Whistle._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
        assert mine.ticket is loaded
        assert (mine.department.tree_id, mine.department.lft, mine.department.rght) == (
            theirs.department.tree_id,
            theirs.department.lft,
            theirs.department.rght,
        )
        assert str(mine.reported_by) == str(theirs.reported_by)
        assert str(mine.replied_by) == str(theirs.replied_by)
    client = api_client_for(liaison)
    in_row = client.get(f"{URL}{ticket.pk}/").json()
    monkeypatch.setattr(selectors, "whistles_in_row", lambda: False)
    prefetched = client.get(f"{URL}{ticket.pk}/").json()
    assert in_row == prefetched
    assert in_row["whistles"][0]["reported_by"]["name"] == str(liaison)


def test_served_communities_as_a_condition_match_the_claimers(world, category, reporter, make_user):
    """Volunteers, dual-registered and organized party members see the claimable
    tickets of the communities they serve — exactly ``claimers.serves``."""
    root = superuser()
    claimable = []
    for grid in (world.A1a, world.A2, world.B1, world.T2):
        ticket = open_ticket(category=category, grid=grid, reporter=reporter)
        services.ticket_dispatch(actor=root, ticket=ticket, claim_board=True)
        claimable.append(ticket)
    volunteer_user = make_user("volunteer", is_staff=False)
    household = make_household(world.A1a, room="9")
    Volunteer.objects.create(
        grid=world.A1a, name="志愿者", user=volunteer_user, resident=make_resident(household)
    )
    member_user = make_user("member", is_staff=False)
    organization = make_party_organization(world.B1, "branch")
    PartyMember.objects.create(user=member_user, organization=organization)
    for user in (volunteer_user, member_user, make_user("nobody", is_staff=False)):
        visible = set(selectors.ticket_visible(user=user).values_list("pk", flat=True))
        expected = {t.pk for t in claimable if claimers.serves(user, t.grid)}
        assert visible == expected, user.username
    assert set(selectors.ticket_visible(user=volunteer_user).values_list("pk", flat=True)) == {
        claimable[0].pk,
        claimable[1].pk,
    }
