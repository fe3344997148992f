"""Discovery, the service list and service definitions, in both formats; formats,
jurisdictions and the error shape common to every endpoint."""

from __future__ import annotations

import pytest

from open311.formats import errors_for_path
from open311.models import ServiceAttribute
from tests.open311.conftest import children, parse_json, parse_xml
from tickets.models import Category

SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]


def test_services_json_lists_active_categories_as_services(client, streetlight, pothole):
    Category.objects.filter(code="dispute").update(is_active=False)

    response = client.get("/open311/v2/services.json")

    assert response.status_code == 200
    services = parse_json(response)
    assert isinstance(services, list)  # JSON drops the <services> root
    by_code = {service["service_code"]: service for service in services}
    assert "dispute" not in by_code  # inactive
    assert by_code["streetlight"] == {
        "service_code": "streetlight",
        "service_name": "路灯不亮",
        "description": "路灯不亮或闪烁",
        "metadata": True,
        "type": "realtime",
        "keywords": "路灯, 照明",
        "group": "设施报修组",
    }
    assert by_code["pothole"]["metadata"] is False
    assert by_code["pothole"]["group"] is None
    assert all(list(service) == SERVICE_FIELDS for service in services)
    assert all(isinstance(service["service_code"], str) for service in services)


def test_services_xml_has_the_standard_elements(client, streetlight, pothole):
    response = client.get("/open311/v2/services.xml")

    assert response.status_code == 200
    root = parse_xml(response)
    assert root.tag == "services"
    assert set(children(root)) == {"service"}
    streetlight_element = next(
        service for service in root if service.findtext("service_code") == "streetlight"
    )
    assert children(streetlight_element) == SERVICE_FIELDS
    assert streetlight_element.findtext("metadata") == "true"
    assert streetlight_element.findtext("type") == "realtime"
    assert streetlight_element.findtext("group") == "设施报修组"
    pothole_element = next(s for s in root if s.findtext("service_code") == "pothole")
    assert pothole_element.findtext("metadata") == "false"
    assert pothole_element.findtext("description") in ("", None)


def test_service_definition_json(client, streetlight):
    response = client.get("/open311/v2/services/streetlight.json")

    assert response.status_code == 200
    definition = parse_json(response)
    assert definition["service_code"] == "streetlight"
    codes = [attribute["code"] for attribute in definition["attributes"]]
    assert codes == ["pole", "problems", "count", "notice"]  # by order
    pole = definition["attributes"][0]
    assert pole == {
        "variable": True,
        "code": "pole",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "灯杆在哪一侧？",
        "values": [{"key": "east", "name": "东侧"}, {"key": "west", "name": "西侧"}],
    }
    assert definition["attributes"][3]["variable"] is False
    assert definition["attributes"][2]["values"] == []


def test_service_definition_xml(client, streetlight):
    response = client.get("/open311/v2/services/streetlight.xml")

    root = parse_xml(response)
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert set(children(attributes)) == {"attribute"}
    problems = attributes[1]
    assert children(problems) == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    assert problems.findtext("datatype") == "multivaluelist"
    assert problems.findtext("required") == "false"
    assert [
        (value.findtext("key"), value.findtext("name")) for value in problems.find("values")
    ] == [("dark", "不亮"), ("flicker", "闪烁"), ("tilted", "倾斜")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_or_inactive_service_is_404_in_the_error_shape(client, pothole, fmt):
    Category.objects.filter(pk=pothole.pk).update(is_active=False)

    for code in ("nothing-here", "pothole"):
        response = client.get(f"/open311/v2/services/{code}.{fmt}")

        assert response.status_code == 404
        if fmt == "json":
            errors = parse_json(response)
            assert errors[0]["code"] == 404
            assert code in errors[0]["description"]
        else:
            root = parse_xml(response)
            assert root.tag == "errors"
            assert children(root[0]) == ["code", "description"]
            assert root[0].findtext("code") == "404"


def test_unknown_format_extension_is_404(client, pothole):
    for path in ("services.html", "services/pothole.csv", "requests.yaml", "discovery.txt"):
        response = client.get(f"/open311/v2/{path}")

        assert response.status_code == 404, path
        assert parse_xml(response).tag == "errors"


def test_anything_else_under_the_prefix_is_a_standard_404(client, db):
    assert parse_json(client.get("/open311/v2/nothing.json"))[0]["code"] == 404
    assert parse_xml(client.get("/open311/v2/services")).tag == "errors"
    assert client.get("/open311/v2/").status_code == 404


def test_a_method_the_resource_does_not_take_is_405(client, pothole):
    response = client.put("/open311/v2/services.json")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert parse_json(response)[0]["code"] == 405
    assert client.post("/open311/v2/services/pothole.xml").status_code == 405


def test_head_answers_like_get(client, pothole):
    assert client.head("/open311/v2/services.json").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction_empty_ours_or_another(client, settings, pothole, fmt):
    settings.OPEN311_JURISDICTION_ID = "grid.example.org"
    base = f"/open311/v2/services.{fmt}"

    assert client.get(base, {"jurisdiction_id": ""}).status_code == 200  # empty = absent
    assert client.get(base, {"jurisdiction_id": "grid.example.org"}).status_code == 200
    assert client.get(base, {"jurisdiction_id": "GRID.example.org"}).status_code == 200
    other = client.get(base, {"jurisdiction_id": "city.example.com"})
    assert other.status_code == 404
    body = parse_json(other)[0] if fmt == "json" else {"code": 404}
    assert body["code"] == 404


def test_jurisdiction_defaults_to_the_domain_the_site_is_called_by(client, pothole):
    url = "/open311/v2/services.json"
    assert client.get(url, {"jurisdiction_id": "testserver"}).status_code == 200
    assert client.get(url, {"jurisdiction_id": "x.org"}).status_code == 404


def test_a_nul_character_is_a_400_not_a_server_error(client, pothole):
    response = client.get("/open311/v2/services.json", {"jurisdiction_id": "a\x00b"})

    assert response.status_code == 400
    assert parse_json(response)[0]["description"].startswith("jurisdiction_id: ")
    assert client.get("/open311/v2/services/po%00thole.json").status_code == 400


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(client, db, fmt):
    response = client.get(f"/open311/v2/discovery.{fmt}")

    assert response.status_code == 200
    if fmt == "json":
        document = parse_json(response)
        assert list(document) == ["changeset", "contact", "key_service", "endpoints"]
        (endpoint,) = document["endpoints"]
        assert endpoint["url"] == "http://testserver/open311/v2"
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert endpoint["type"] in ("production", "test")
        assert "+08:00" in endpoint["changeset"]
    else:
        root = parse_xml(response)
        assert root.tag == "discovery"
        assert children(root) == ["changeset", "contact", "key_service", "endpoints"]
        endpoint = root.find("endpoints/endpoint")
        assert endpoint.findtext("url") == "http://testserver/open311/v2"
        assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]


def test_services_list_takes_a_fixed_number_of_queries(
    client, streetlight, pothole, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        assert client.get("/open311/v2/services.json").status_code == 200
    for number in range(5):
        ServiceAttribute.objects.create(
            category=pothole, code=f"q{number}", datatype="string", description="?"
        )
    with django_assert_max_num_queries(1):
        assert client.get("/open311/v2/services.xml").status_code == 200


def test_xml_escapes_markup_and_drops_characters_xml_cannot_carry(client, pothole):
    Category.objects.filter(pk=pothole.pk).update(name="<b>坑&洼</b>\x01")

    root = parse_xml(client.get("/open311/v2/services.xml"))

    names = [service.findtext("service_name") for service in root]
    assert "<b>坑&洼</b>" in names


def test_errors_made_outside_the_views_follow_the_path_format():
    json_answer = errors_for_path("/open311/v2/requests.json", 429, ["Slow down."])
    xml_answer = errors_for_path("/open311/v2/requests.xml", 503, ["Back soon."])

    assert (json_answer.status_code, parse_json(json_answer)) == (
        429,
        [{"code": 429, "description": "Slow down."}],
    )
    root = parse_xml(xml_answer)
    assert (root.tag, root[0].findtext("code"), root[0].findtext("description")) == (
        "errors",
        "503",
        "Back soon.",
    )
