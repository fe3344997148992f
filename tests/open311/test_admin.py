"""The admin: administrators keep each service's description and questions; what civic
apps sent is read by the staff of the ticket's grid only."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from open311.models import Open311Request, ServiceAttribute, ServiceInfo
from tests.open311.conftest import post_request

SERVICES = "/admin/open311/service/"
REQUESTS = "/admin/open311/open311request/"


@pytest.fixture
def client() -> Client:
    """The admin's forms carry their CSRF token in a browser; the test client skips it."""
    return Client()


def inline_forms(
    *, info: dict | None = None, attributes: list[dict] = (), existing_info=None
) -> dict:
    """The two inline formsets of a service's page, as the browser posts them."""
    data = {
        "open311_info-TOTAL_FORMS": "1",
        "open311_info-INITIAL_FORMS": "1" if existing_info else "0",
        "open311_info-MIN_NUM_FORMS": "0",
        "open311_info-MAX_NUM_FORMS": "1",
        "open311_info-0-id": str(existing_info.pk) if existing_info else "",
        "open311_attributes-TOTAL_FORMS": str(len(attributes)),
        "open311_attributes-INITIAL_FORMS": "0",
        "open311_attributes-MIN_NUM_FORMS": "0",
        "open311_attributes-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for key, value in (info or {}).items():
        data[f"open311_info-0-{key}"] = value
    for index, attribute in enumerate(attributes):
        for key, value in attribute.items():
            data[f"open311_attributes-{index}-{key}"] = value
    return data


def test_an_administrator_writes_the_description_and_the_questions(client, admin_user, pothole):
    client.force_login(admin_user)
    page = f"{SERVICES}{pothole.pk}/change/"
    assert client.get(SERVICES).status_code == 200
    assert client.get(page).status_code == 200

    response = client.post(
        page,
        inline_forms(
            info={"description": "路面坑洼、破损", "keywords": "道路, 坑"},
            attributes=[
                {
                    "order": "1",
                    "code": "size",
                    "description": "坑有多大？",
                    "datatype": "singlevaluelist",
                    "variable": "on",
                    "required": "on",
                    "values": json.dumps([{"key": "s", "name": "小"}, {"key": "l", "name": "大"}]),
                }
            ],
        ),
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    assert ServiceInfo.objects.get(category=pothole).keywords == "道路, 坑"
    attribute = ServiceAttribute.objects.get(category=pothole)
    assert (attribute.code, attribute.required, attribute.keys) == ("size", True, ["s", "l"])
    pothole.refresh_from_db()
    assert pothole.name == "道路坑洼"  # the category itself is untouched here
    definition = Client().get("/open311/v2/services/pothole.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["size"]


def test_a_list_question_needs_its_values(client, admin_user, pothole):
    client.force_login(admin_user)

    response = client.post(
        f"{SERVICES}{pothole.pk}/change/",
        inline_forms(
            attributes=[
                {
                    "order": "1",
                    "code": "size",
                    "description": "坑有多大？",
                    "datatype": "multivaluelist",
                    "values": "[]",
                },
                {
                    "order": "2",
                    "code": "bad code!",
                    "description": "?",
                    "datatype": "string",
                    "values": "[]",
                },
            ]
        ),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][1].formset.errors
    assert "values" in errors[0]
    assert "code" in errors[1]
    assert not ServiceAttribute.objects.exists()


def test_staff_read_the_catalogue_but_do_not_change_it(client, staff, pothole):
    client.force_login(staff)

    assert client.get(SERVICES).status_code == 200
    assert client.get(f"{SERVICES}{pothole.pk}/change/").status_code == 200
    response = client.post(
        f"{SERVICES}{pothole.pk}/change/",
        inline_forms(info={"description": "x", "keywords": ""}),
    )
    assert response.status_code == 403
    assert not ServiceInfo.objects.exists()
    assert client.get(f"{SERVICES}add/").status_code == 403


def test_what_a_client_sent_is_read_by_the_grids_staff_only(
    client, world, streetlight, api_key, staff, worker, outsider
):
    post_request(Client(), api_key, email="zhang@example.cn")
    kept = Open311Request.objects.get()
    page = f"{REQUESTS}{kept.pk}/change/"

    client.force_login(staff)  # community staff of A: the ticket is on A1a
    assert list(client.get(REQUESTS).context["cl"].result_list) == [kept]
    detail = client.get(page)
    assert detail.status_code == 200
    assert "zhang@example.cn" in detail.content.decode()
    assert client.post(page, {}).status_code == 403  # a record, not editable

    client.force_login(worker)  # sees A1 read-only: not the citizen's contact details
    assert client.get(REQUESTS).status_code == 403
    assert client.get(page).status_code in (302, 403)

    client.force_login(outsider)
    assert client.get(REQUESTS).status_code == 403
