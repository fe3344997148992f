"""Fixtures of the Open311 tests: an integrator with its API token, services with
questions, and helpers that parse both formats.

The world's grids come from ``tests/conftest.py``: the point (100.05, 30.05) lies in
micro grid A1a, so a request posted there is located to A1a.
"""

from __future__ import annotations

import datetime
import json
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from open311.models import Datatype, ServiceAttribute, ServiceInfo
from tests.tickets.factories import make_category

LAT, LONG = "30.05", "100.05"  # inside micro grid A1a
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def client() -> Client:
    """A client that enforces CSRF like a real deployment: the endpoints are exempt."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def integrator(make_user):
    """A civic app's account: no grid role, just an API token."""
    return make_user("civic_app", is_staff=False)


@pytest.fixture
def api_key(integrator) -> str:
    return Token.objects.create(user=integrator).key


@pytest.fixture
def streetlight(db):
    """A service with a group, a description and two questions."""
    group = make_category(name="设施报修组", code="repairs")
    category = make_category(
        name="路灯不亮",
        code="streetlight",
        parent=group,
        respond=datetime.timedelta(hours=4),
        resolve=datetime.timedelta(days=3),
    )
    ServiceInfo.objects.create(
        category=category, description="路灯不亮或闪烁", keywords="路灯, 照明"
    )
    ServiceAttribute.objects.create(
        category=category,
        code="pole",
        datatype=Datatype.SINGLE_VALUE_LIST,
        required=True,
        order=1,
        description="灯杆在哪一侧？",
        values=[{"key": "east", "name": "东侧"}, {"key": "west", "name": "西侧"}],
    )
    ServiceAttribute.objects.create(
        category=category,
        code="problems",
        datatype=Datatype.MULTI_VALUE_LIST,
        required=False,
        order=2,
        description="有哪些问题？",
        values=[
            {"key": "dark", "name": "不亮"},
            {"key": "flicker", "name": "闪烁"},
            {"key": "tilted", "name": "倾斜"},
        ],
    )
    ServiceAttribute.objects.create(
        category=category,
        code="count",
        datatype=Datatype.NUMBER,
        order=3,
        description="几盏灯？",
    )
    ServiceAttribute.objects.create(
        category=category,
        code="notice",
        datatype=Datatype.STRING,
        variable=False,
        order=4,
        description="夜间请注意安全。",
    )
    return category


@pytest.fixture
def pothole(db):
    """A service without questions."""
    return make_category(name="道路坑洼", code="pothole")


def parse_xml(response) -> ElementTree.Element:
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(XML_DECLARATION)
    return ElementTree.fromstring(response.content)


def parse_json(response):
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(response.content.decode("utf-8"))


def children(element: ElementTree.Element) -> list[str]:
    return [child.tag for child in element]


def post_request(
    client, api_key=None, *, fmt="json", query="", multipart=False, headers=None, **fields
):
    """POST requests.{fmt} as a urlencoded form (as GeoReport clients send it), with a
    valid location and answers by default; a field given as ``None`` is left out."""
    data = {
        "service_code": "streetlight",
        "lat": LAT,
        "long": LONG,
        "attribute[pole]": "east",
        "description": "3号楼东侧路灯不亮",
        **fields,
    }
    if api_key is not None:
        data.setdefault("api_key", api_key)
    data = {key: value for key, value in data.items() if value is not None}
    url = f"/open311/v2/requests.{fmt}{query}"
    if multipart:
        return client.post(url, data, headers=headers)
    return client.post(url, urlencode(data, doseq=True), content_type=FORM, headers=headers)
