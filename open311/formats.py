"""The two formats of GeoReport v2, from one shape (dicts and lists of plain values).

XML is the required format: UTF-8 with its declaration, no namespace, each list in its
plural element with one singular element per item (``<services><service>``,
``<attributes><attribute>``, …); an empty value is an empty element, booleans are
``true``/``false``. JSON drops the XML root: a list answer is a bare array, an object
answer (discovery, a service definition) a bare object; an empty value is ``null``.
Both are written with a serializer that escapes, never by string concatenation.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any
from xml.etree import ElementTree

from django.http import HttpResponse
from django.utils import timezone

JSON, XML = "json", "xml"
CONTENT_TYPES = {
    JSON: "application/json; charset=utf-8",
    XML: "text/xml; charset=utf-8",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

# The element of one item of each list the standard defines.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}

# Characters XML 1.0 cannot carry at all, even escaped (control characters other than
# tab and newlines, lone surrogates, U+FFFE/U+FFFF): dropped from text.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def w3c(value: datetime.datetime | None) -> str | None:
    """``2026-11-22T10:00:00+08:00``: W3C-DTF in the site's time zone, with its offset."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ElementTree.SubElement(element, key), item)
    elif isinstance(value, list):
        tag = ITEM_TAGS[element.tag]
        for item in value:
            _fill(ElementTree.SubElement(element, tag), item)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, data)
    return XML_DECLARATION + ElementTree.tostring(element, encoding="unicode").encode("utf-8")


def to_json(data: Any) -> bytes:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8", errors="replace")  # a lone surrogate cannot be UTF-8


def render(fmt: str, root: str, data: Any, *, status: int = 200) -> HttpResponse:
    """``data`` in ``fmt``; ``root`` is the XML root element (a list's plural name)."""
    body = to_xml(root, data) if fmt == XML else to_json(data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, descriptions: list[str]) -> HttpResponse:
    """The standard error list: ``<errors><error><code/><description/></error></errors>``,
    in JSON ``[{"code": 400, "description": "…"}]``."""
    rows = [{"code": status, "description": text} for text in descriptions]
    return render(fmt, "errors", rows, status=status)


def format_of_path(path: str) -> str:
    """The format a path under ``/open311/v2/`` asks for: JSON for ``….json``, else XML
    (the standard's required format)."""
    return JSON if path.endswith(".json") else XML


def errors_for_path(path: str, status: int, descriptions: list[str]) -> HttpResponse:
    """The standard error list in the format of ``path``: for answers made outside these
    views (a 429 of the throttle, a 503 while the database is away)."""
    return errors(format_of_path(path), status, descriptions)
