"""POST requests.{format}: a civic app's request becomes an ordinary ticket of channel
Open311, with what the ticket has no field for kept beside it."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from open311.models import Open311Request
from tests.open311.conftest import children, parse_json, parse_xml, post_request
from tickets.models import Channel, EventKind, Ticket, TicketStatus


def descriptions(response) -> list[str]:
    assert response.status_code in (400, 403, 404), response.content
    return [error["description"] for error in parse_json(response)]


def test_a_posted_request_is_a_ticket_located_from_its_coordinates(
    client, world, streetlight, integrator, api_key
):
    response = post_request(
        client,
        api_key,
        phone="13800138000",
        email="zhang.san@example.cn",
        first_name="三",
        last_name="张",
        device_id="device-42",
        account_id="acct-7",
        media_url="https://img.example.cn/p/1.jpg",
        address_string="幸福路3号楼东侧",
        **{"attribute[problems][]": ["dark", "flicker"], "attribute[count]": "2"},
    )

    assert response.status_code == 200
    (answer,) = parse_json(response)
    assert list(answer) == ["service_request_id", "token", "service_notice", "account_id"]
    ticket = Ticket.objects.get()
    assert answer["service_request_id"] == ticket.number
    assert answer["account_id"] == "acct-7"
    assert answer["service_notice"]
    assert ticket.channel == Channel.OPEN311
    assert ticket.grid == world.A1a  # located from lat/long
    assert (ticket.lat, ticket.lng) == (30.05, 100.05)
    assert ticket.category == streetlight
    assert ticket.created_by == integrator
    assert ticket.reporter is None
    assert ticket.reporter_phone == "13800138000"
    assert ticket.reporter_name == "张三"
    assert ticket.description == "3号楼东侧路灯不亮"
    assert ticket.title == "3号楼东侧路灯不亮"
    assert ticket.address == "幸福路3号楼东侧"
    assert ticket.status == TicketStatus.SUBMITTED
    assert list(ticket.events.values_list("kind", flat=True)) == [EventKind.OPENED]
    kept = Open311Request.objects.get(ticket=ticket)
    assert kept.token == answer["token"] == ticket.external_number
    assert (kept.email, kept.device_id, kept.account_id) == (
        "zhang.san@example.cn",
        "device-42",
        "acct-7",
    )
    assert (kept.first_name, kept.last_name) == ("三", "张")
    assert kept.media_url == "https://img.example.cn/p/1.jpg"
    assert kept.attributes == {"pole": "east", "problems": ["dark", "flicker"], "count": 2}


def test_the_answer_in_xml(client, world, streetlight, api_key):
    response = post_request(client, api_key, fmt="xml")

    assert response.status_code == 200
    root = parse_xml(response)
    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    assert children(request) == ["service_request_id", "token", "service_notice", "account_id"]
    assert request.findtext("service_request_id") == Ticket.objects.get().number
    assert request.findtext("account_id") in ("", None)


def test_without_a_phone_the_integrator_is_the_reporter(
    client, world, streetlight, integrator, api_key
):
    response = post_request(client, api_key, first_name="Jane", last_name="Doe")

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.reporter == integrator
    assert ticket.reporter_phone == ""
    assert ticket.reporter_name == "Jane Doe"


def test_the_tokens_endpoint_gives_the_number(client, world, streetlight, api_key):
    token = parse_json(post_request(client, api_key))[0]["token"]
    number = Ticket.objects.get().number

    assert parse_json(client.get(f"/open311/v2/tokens/{token}.json")) == [
        {"service_request_id": number, "token": token}
    ]
    root = parse_xml(client.get(f"/open311/v2/tokens/{token}.xml"))
    assert root.tag == "service_requests"
    assert children(root[0]) == ["service_request_id", "token"]
    assert root[0].findtext("service_request_id") == number
    missing = client.get("/open311/v2/tokens/0123abcd.json")
    assert missing.status_code == 404
    assert parse_json(missing)[0]["code"] == 404


# --- the api_key ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_wrong_api_key_is_403(client, world, streetlight, api_key, fmt):
    for key in (None, "", "not-a-key"):
        response = post_request(client, key, fmt=fmt)

        assert response.status_code == 403
        if fmt == "json":
            assert parse_json(response)[0]["code"] == 403
        else:
            root = parse_xml(response)
            assert (root.tag, root[0].findtext("code")) == ("errors", "403")
    assert not Ticket.objects.exists()


def test_the_key_of_a_deactivated_account_is_refused(client, world, streetlight, api_key):
    Token.objects.get(key=api_key).user.__class__.objects.update(is_active=False)

    assert post_request(client, api_key).status_code == 403
    assert not Ticket.objects.exists()


def test_the_api_key_may_come_in_the_query_string(client, world, streetlight, api_key):
    response = post_request(client, None, query=f"?api_key={api_key}")

    assert response.status_code == 200
    assert Ticket.objects.count() == 1


def test_get_needs_no_api_key(client, world, streetlight):
    assert client.get("/open311/v2/requests.json").status_code == 200


def test_csrf_does_not_apply(world, streetlight, api_key):
    strict = Client(enforce_csrf_checks=True)

    assert post_request(strict, api_key).status_code == 200


def test_multipart_forms_are_read_too(client, world, streetlight, api_key):
    response = post_request(client, api_key, multipart=True, **{"attribute[problems][]": ["dark"]})

    assert response.status_code == 200
    assert Open311Request.objects.get().attributes["problems"] == ["dark"]


# --- jurisdiction -----------------------------------------------------------------------------


def test_empty_jurisdiction_is_absent_and_another_is_404(
    client, settings, world, streetlight, api_key
):
    settings.OPEN311_JURISDICTION_ID = "grid.example.org"

    assert post_request(client, api_key, jurisdiction_id="").status_code == 200
    assert post_request(client, api_key, jurisdiction_id="grid.example.org").status_code == 200
    other = post_request(client, api_key, jurisdiction_id="city.example.com")
    assert other.status_code == 404
    assert parse_json(other)[0]["code"] == 404
    assert Ticket.objects.count() == 2


# --- bad input --------------------------------------------------------------------------------


def test_an_unknown_or_missing_service_is_400_naming_service_code(
    client, world, streetlight, api_key
):
    unknown = post_request(client, api_key, service_code="nothing-here")
    missing = post_request(client, api_key, service_code=None)

    assert descriptions(unknown)[0].startswith("service_code: ")
    assert "nothing-here" in descriptions(unknown)[0]
    assert descriptions(missing)[0].startswith("service_code: ")
    assert not Ticket.objects.exists()


def test_description_longer_than_4000_is_400(client, world, streetlight, api_key):
    too_long = post_request(client, api_key, description="灯" * 4001)
    just_right = post_request(client, api_key, description="灯" * 4000)

    assert too_long.status_code == 400
    assert descriptions(too_long)[0].startswith("description: ")
    assert just_right.status_code == 200
    assert len(Ticket.objects.get().description) == 4000
    assert len(Ticket.objects.get().title) <= 60


def test_without_a_description_the_title_is_the_service(client, world, pothole, api_key):
    response = post_request(
        client, api_key, service_code="pothole", description=None, **{"attribute[pole]": None}
    )

    assert response.status_code == 200
    assert Ticket.objects.get().title == "道路坑洼"


def test_a_required_attribute_must_be_answered(client, world, streetlight, api_key):
    response = post_request(client, api_key, **{"attribute[pole]": None})

    (description,) = descriptions(response)
    assert description.startswith("attribute[pole]: ")
    assert not Ticket.objects.exists()


def test_an_answer_must_be_a_value_of_the_list(client, world, streetlight, api_key):
    single = post_request(client, api_key, **{"attribute[pole]": "north"})
    multi = post_request(client, api_key, **{"attribute[problems][]": ["dark", "burnt"]})

    assert descriptions(single)[0].startswith("attribute[pole]: ")
    assert descriptions(multi)[0].startswith("attribute[problems]: ")
    assert not Ticket.objects.exists()


def test_multivaluelist_takes_brackets_or_repeated_keys(client, world, streetlight, api_key):
    post_request(client, api_key, **{"attribute[problems]": ["tilted", "dark", "tilted"]})

    assert Open311Request.objects.get().attributes["problems"] == ["tilted", "dark"]


def test_a_single_value_list_takes_one_answer(client, world, streetlight, api_key):
    response = post_request(client, api_key, **{"attribute[pole]": ["east", "west"]})

    assert descriptions(response)[0].startswith("attribute[pole]: ")


def test_numbers_and_unknown_attributes(client, world, streetlight, api_key):
    not_a_number = post_request(client, api_key, **{"attribute[count]": "two"})
    infinite = post_request(client, api_key, **{"attribute[count]": "1e999"})
    unknown = post_request(client, api_key, **{"attribute[colour]": "red"})
    malformed = post_request(client, api_key, **{"attribute[]": "red"})

    assert descriptions(not_a_number)[0].startswith("attribute[count]: ")
    assert descriptions(infinite)[0].startswith("attribute[count]: ")
    assert descriptions(unknown)[0].startswith("attribute[colour]: ")
    assert descriptions(malformed)[0].startswith("attribute[]: ")
    assert not Ticket.objects.exists()


def test_an_informative_attribute_takes_no_answer_and_is_ignored(
    client, world, streetlight, api_key
):
    post_request(client, api_key, **{"attribute[notice]": "好的"})

    assert "notice" not in Open311Request.objects.get().attributes


def test_all_errors_are_listed_each_naming_its_field(client, world, streetlight, api_key):
    response = post_request(
        client, api_key, lat="north", email="x", **{"attribute[pole]": None}, media_url="ftp://x"
    )

    fields = sorted(text.split(": ", 1)[0] for text in descriptions(response))
    assert fields == ["lat"]  # the form is read first: a bad type stops there
    response = post_request(client, api_key, email="x", media_url="ftp://x")
    fields = sorted(text.split(": ", 1)[0] for text in descriptions(response))
    assert fields == ["email", "media_url"]


def test_a_bad_phone_is_400_naming_phone(client, world, streetlight, api_key):
    response = post_request(client, api_key, phone="12345")

    assert descriptions(response)[0].startswith("phone: ")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lat": "91", "long": "100"}, "lat"),
        ({"lat": "30", "long": "nan"}, "long"),
        ({"lat": "30.05", "long": None}, "lat"),  # both or neither
        ({"lat": "1", "long": "1"}, "lat"),  # on no grid
        ({"lat": None, "long": None}, "lat"),  # no location at all
        ({"lat": None, "long": None, "address_id": "NOPE"}, "address_id"),
        ({"lat": None, "long": None, "address_string": "幸福路3号"}, "address_string"),
        ({"first_name": "名" * 31}, "first_name"),
        ({"device_id": "d" * 101}, "device_id"),
    ],
)
def test_location_and_lengths(client, world, streetlight, api_key, fields, field):
    response = post_request(client, api_key, **fields)

    assert descriptions(response)[0].startswith(f"{field}: ")
    assert not Ticket.objects.exists()


def test_address_id_is_a_grid_code(client, world, streetlight, api_key):
    response = post_request(client, api_key, lat=None, long=None, address_id=world.A2.code)

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.grid == world.A2
    assert Open311Request.objects.get().address_id == world.A2.code


def test_a_department_is_not_an_address(client, world, streetlight, api_key):
    response = post_request(client, api_key, lat=None, long=None, address_id=world.D1.code)

    assert descriptions(response)[0].startswith("address_id: ")


def test_an_address_alone_goes_to_the_configured_grid(
    client, settings, world, streetlight, api_key
):
    settings.OPEN311_ADDRESS_GRID = world.T1.code

    response = post_request(client, api_key, lat=None, long=None, address_string="幸福路3号")

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert (ticket.grid, ticket.address, ticket.lat) == (world.T1, "幸福路3号", None)


def test_nul_characters_are_refused(client, world, streetlight, api_key):
    response = post_request(client, api_key, description="路灯\x00不亮")

    assert descriptions(response)[0].startswith("description: ")
    assert not Ticket.objects.exists()


def test_a_post_with_an_idempotency_key_is_replay_safe(client, world, streetlight, api_key):
    """The project's idempotency middleware covers this POST too: the same key and body
    again answer the first answer and open no second ticket."""
    key = {"Idempotency-Key": "0b8f3c1e-5d2a-4c35-9a4e-open311"}
    first = post_request(client, api_key, headers=key)
    again = post_request(client, api_key, headers=key)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert Ticket.objects.count() == 1


def test_unknown_fields_are_ignored(client, world, streetlight, api_key):
    response = post_request(client, api_key, idempotency_key="k-1", something="else")

    assert response.status_code == 200


def test_a_body_with_too_many_fields_is_400(client, settings, world, streetlight, api_key):
    """Django refuses such a body wherever it is first read (the idempotency middleware
    reads forms before the view): a 400, never a 500."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10

    response = post_request(client, api_key, **{f"x{i}": "1" for i in range(20)})

    assert response.status_code == 400
    assert not Ticket.objects.exists()
