"""A household's archive knows its tickets; a follow-up visit names the ticket it follows."""

from __future__ import annotations

import pytest

from residents.models import Visit
from tests.tickets.factories import make_category, open_ticket


@pytest.fixture
def hazard(db):
    return make_category(name="设施报修")


def test_ticket_about_a_household_takes_its_grid(worker, homes, hazard, api_client_for):
    client = api_client_for(worker)
    response = client.post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "楼道灯坏了",
            "household": homes["h2"].pk,
            "channel": "patrol",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["grid"] == homes["h2"].grid_id
    assert response.json()["household"] == homes["h2"].pk


def test_household_outside_the_ticket_grid_is_400(worker, homes, hazard, api_client_for, world):
    client = api_client_for(worker)
    response = client.post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "x",
            "household": homes["h1"].pk,
            "grid": world.A1a.pk,
            "channel": "patrol",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "household" in response.json()


def test_household_of_another_grid_is_unknown(worker, homes, hazard, api_client_for):
    response = api_client_for(worker).post(
        "/api/v1/tickets/",
        {
            "category": hazard.pk,
            "title": "x",
            "household": homes["h3"].pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "household" in response.json()


def test_archive_lists_the_household_tickets(client, worker, homes, hazard):
    ticket = open_ticket(
        category=hazard,
        grid=homes["h1"].grid,
        reporter=worker,
        actor=worker,
        household=homes["h1"],
        title="水管漏水",
    )
    client.force_login(worker)
    body = client.get(f"/residents/households/{homes['h1'].pk}/").content.decode()
    assert "水管漏水" in body
    assert ticket.number in body
    other = client.get(f"/residents/households/{homes['h2'].pk}/").content.decode()
    assert "水管漏水" not in other


def test_follow_up_visit_names_its_ticket(worker, homes, hazard, api_client_for):
    ticket = open_ticket(
        category=hazard,
        grid=homes["h1"].grid,
        reporter=worker,
        actor=worker,
        household=homes["h1"],
        title="水管漏水",
    )
    client = api_client_for(worker)
    ok = client.post(
        "/api/v1/visits/",
        {"household": homes["h1"].pk, "kind": "follow_up", "follow_up_ticket": ticket.pk},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    assert Visit.objects.get().follow_up_ticket == ticket
    wrong = client.post(
        "/api/v1/visits/",
        {"household": homes["h2"].pk, "kind": "follow_up", "follow_up_ticket": ticket.pk},
        format="json",
    )
    assert wrong.status_code == 400
    assert "follow_up_ticket" in wrong.json()
    assert Visit.objects.count() == 1
