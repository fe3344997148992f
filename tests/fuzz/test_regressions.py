"""What the fuzzers found, each kept as the plain request (or call) that showed it.

Found by Schemathesis (``test_api_schema.py``): a 500 on deleting a party organization
that still has members; responses the schema said could not be (null where a value was
promised, a blank rating or decision outside its enum); a visit dated 1839 accepted and
answered with a date-time no client parses. Found by Hypothesis (``tests/properties``):
ID numbers and phones in full-width or other scripts' digits accepted as typed (so one
person could be registered twice); a landline's three-digit area code masked as four
digits; deadlines one hour off when counted from a local time with daylight saving; a
point on the slanted edge shared by two grids located in neither. Found on the way: an
import file with spaces in an ID number planned a new resident instead of the existing one.
"""

from __future__ import annotations

import datetime
import zoneinfo
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from grids import services as grid_services
from grids.locate import locate
from grids.models import GridLevel, PartyOrganizationKind
from residents.importing import plan_import, read_table
from residents.models import PartyMember, Resident, Visit
from tests.grids.factories import make_grid, make_party_organization, superuser
from tests.residents.factories import id_number, make_household, make_resident
from tests.tickets.factories import make_category, open_ticket
from tests.volunteers.factories import make_activity
from tickets import services as ticket_services
from tickets.deadlines import apply_policy


@pytest.fixture(scope="module")
def api_schema(django_db_blocker) -> dict:
    """The schema the API serves (generating it needs no database)."""
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]["properties"]


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# --- found by Schemathesis ------------------------------------------------------------------------


def test_deleting_a_party_organization_with_members_is_a_400_not_a_500(
    world, staff, api_client_for
):
    branch = make_party_organization(world.A, PartyOrganizationKind.BRANCH, name="A支部")
    home = make_household(world.A1, room="101")
    PartyMember.objects.create(resident=make_resident(home), organization=branch)

    response = api_client_for(staff).delete(f"/api/v1/party-organizations/{branch.pk}/")

    assert response.status_code == 400
    assert response.json()["id"]
    assert branch.__class__.objects.filter(pk=branch.pk).exists()


def test_an_activity_without_capacity_or_code_answers_nulls_the_schema_allows(
    world, worker, api_client_for, api_schema
):
    make_activity(world.A1)  # no capacity; bob does not organise it; he has not signed up

    [row] = api_client_for(worker).get("/api/v1/volunteer-activities/").json()["results"]

    activity = component(api_schema, "Activity")
    for field in ("places_left", "check_in_code", "my_signup", "my_signup_status"):
        assert row[field] is None
        assert activity[field]["nullable"] is True, field


def test_other_fields_that_answer_null_are_documented_nullable(api_schema):
    assert component(api_schema, "Entry")["rule_name"]["nullable"] is True
    assert component(api_schema, "Household")["duty_status"]["nullable"] is True
    photo_url = component(api_schema, "Item")["photo_url"]
    assert photo_url["nullable"] is True
    assert photo_url["format"] == "uri-reference"  # a path on this site, not a full URI


def test_an_unrated_ticket_answers_a_blank_rating_the_schema_allows(
    world, worker, api_client_for, api_schema
):
    ticket = open_ticket(category=make_category(anonymous=True), grid=world.A1)

    body = api_client_for(worker).get(f"/api/v1/tickets/{ticket.pk}/").json()

    assert body["rating"] == ""
    refs = component(api_schema, "Ticket")["rating"]["oneOf"]
    assert "BlankEnum" in [ref["$ref"].rsplit("/", 1)[-1] for ref in refs]


def test_an_undecided_agenda_item_answers_a_blank_decision_the_schema_allows(
    world, staff, api_client_for, api_schema
):
    meeting = ticket_services.meeting_schedule(
        actor=staff, grid=world.A1, title="议事会", scheduled_at=timezone.now()
    )
    item = ticket_services.meeting_add_item(actor=staff, meeting=meeting, proposal="加装电梯")

    body = api_client_for(staff).get(f"/api/v1/agenda-items/{item.pk}/").json()

    assert body["decision"] == ""
    refs = component(api_schema, "AgendaItem")["decision"]["oneOf"]
    assert "BlankEnum" in [ref["$ref"].rsplit("/", 1)[-1] for ref in refs]


def test_a_visit_dated_1839_is_refused(world, worker, api_client_for):
    home = make_household(world.A1, room="101")

    response = api_client_for(worker).post(
        "/api/v1/visits/",
        {"household": home.pk, "kind": "routine", "visited_at": "1839-04-11T01:02:04Z"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["visited_at"]
    assert not Visit.objects.exists()


def test_a_visit_of_last_week_is_still_recorded(world, worker, api_client_for):
    home = make_household(world.A1, room="101")
    last_week = timezone.now() - datetime.timedelta(days=7)

    response = api_client_for(worker).post(
        "/api/v1/visits/",
        {"household": home.pk, "visited_at": last_week.isoformat()},
        format="json",
    )

    assert response.status_code == 201


# --- found by Hypothesis --------------------------------------------------------------------------


def test_an_id_number_typed_in_full_width_is_stored_in_ascii_and_stays_unique(
    world, staff, api_client_for
):
    home = make_household(world.A1, room="101")
    number = id_number(datetime.date(1980, 5, 17))
    client = api_client_for(staff)

    first = client.post(
        "/api/v1/residents/",
        {"household": home.pk, "name": "王五", "id_number": full_width(number)},
        format="json",
    )
    again = client.post(
        "/api/v1/residents/",
        {"household": home.pk, "name": "王五", "id_number": number},
        format="json",
    )

    assert first.status_code == 201
    assert Resident.objects.get().reveal_id_number() == number
    assert again.status_code == 400
    assert again.json()["id_number"]


def test_an_id_number_with_other_scripts_digits_is_refused(world, staff, api_client_for):
    home = make_household(world.A1, room="101")
    number = id_number(datetime.date(1980, 5, 17))
    arabic = "".join(chr(0x0660 + int(c)) for c in number[:17]) + number[17]

    response = api_client_for(staff).post(
        "/api/v1/residents/",
        {"household": home.pk, "name": "王五", "id_number": arabic},
        format="json",
    )

    assert response.status_code == 400
    assert not Resident.objects.exists()


def test_a_phone_typed_in_full_width_is_stored_in_ascii(world, staff, api_client_for):
    response = api_client_for(staff).post(
        "/api/v1/households/",
        {"grid": world.A1.pk, "room": "101", "phone": full_width("13812345678")},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["phone"] == "138****5678"


def test_a_shanghai_landline_without_a_dash_hides_the_whole_subscriber_number(
    world, staff, api_client_for
):
    response = api_client_for(staff).post(
        "/api/v1/households/",
        {"grid": world.A1.pk, "room": "101", "phone": "02112345678"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["phone"] == "021******78"


def test_a_landline_with_an_extension_and_no_dash_after_the_area_code_is_masked(
    world, staff, api_client_for
):
    response = api_client_for(staff).post(
        "/api/v1/households/",
        {"grid": world.A1.pk, "room": "102", "phone": "09718123456-123"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["phone"] == "0971*********23"


def test_deadlines_counted_from_a_local_time_with_daylight_saving_are_not_an_hour_off():
    policy = SimpleNamespace(
        respond_within=datetime.timedelta(days=19), resolve_within=datetime.timedelta(days=19)
    )
    ticket = SimpleNamespace(category=policy, respond_by=None, resolve_by=None)
    opened = datetime.datetime(2000, 10, 11, 0, 0, tzinfo=datetime.UTC)

    apply_policy(ticket, opened.astimezone(zoneinfo.ZoneInfo("America/New_York")))

    assert ticket.respond_by == opened + datetime.timedelta(days=19)  # across the DST change


def test_a_point_on_a_slanted_edge_shared_by_two_estates_is_located_in_one_of_them(
    world, staff, api_client_for
):
    """Two estates cut along a diagonal: before, this point fell in neither and went to
    the community."""
    county = make_grid(None, GridLevel.COUNTY, box=(100.0, 30.0, 101.0, 31.0))
    community = make_grid(
        make_grid(county, GridLevel.TOWNSHIP, box=(100.0, 30.0, 101.0, 31.0)),
        GridLevel.COMMUNITY,
        box=(100.4493, 30.5826, 100.4593, 30.5896),
    )
    (a, b), (c, d) = (100.4493, 30.5826), (100.4593, 30.5896)
    lower = {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, b]]]}
    upper = {"type": "Polygon", "coordinates": [[[a, b], [c, d], [a, d], [a, b]]]}
    estates = {
        grid_services.grid_create(
            actor=superuser(),
            parent=community,
            name=name,
            code=f"D-{name}",
            level=GridLevel.ESTATE,
            boundary=boundary,
        ).pk
        for name, boundary in (("lower", lower), ("upper", upper))
    }

    found = locate(30.584932577435225, 100.45263225347888)

    assert found is not None
    assert found.pk in estates


# --- found on the way -----------------------------------------------------------------------------


def test_an_import_row_with_spaces_in_the_id_number_finds_the_registered_resident(world, staff):
    number = id_number(datetime.date(1980, 5, 17))
    make_resident(make_household(world.A1, room="101"), name="王五", id_number=number)
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    sheet = f"网格编码,房号,姓名,身份证号\n{world.A1.code},101,王五,{spaced}\n".encode()

    plan = plan_import(read_table(sheet, "h.csv"), user=staff)

    assert plan.counts()["create"] == 0
    assert plan.counts()["unchanged"] + plan.counts()["update"] == 1


# --- a JSON 404 for URLs that match no API route ------------------------------------------------


def test_an_api_url_that_matches_no_route_answers_json(client):
    response = client.get("/api/v1/tickets/0.5/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


def test_an_open311_url_that_matches_no_route_answers_in_its_format(client):
    response = client.get("/open311/v2/nothing-here.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert [error["code"] for error in response.json()] == [404]
    response = client.get("/open311/v2/nothing-here.xml")
    assert response.status_code == 404
    assert b"<errors>" in response.content


def test_a_page_url_that_matches_no_route_keeps_the_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
