"""The OpenAPI 3 description of the GeoReport v2 endpoints, served at
``/open311/v2/openapi.json`` (the views are plain Django views, so drf-spectacular does
not see them). Kept by hand beside the views; ``tests/open311/test_openapi.py`` checks
that it names every route and that real answers match its JSON schemas."""

from __future__ import annotations

from typing import Any

from open311.params import MAX_ADDRESS, MAX_DESCRIPTION, STATUS_PATTERN, W3C_PATTERN

BASE = "/open311/v2"
JSON_TYPE = "application/json"
XML_TYPE = "text/xml"


# No database stores a NUL character: the server refuses it (400) in every parameter.
NO_NUL = "^[^\\u0000]*$"


def _nullable(kind: str, **extra: Any) -> dict:
    return {"type": kind, "nullable": True, **extra}


def _string(**extra: Any) -> dict:
    return {"type": "string", **extra}


def _object(properties: dict, *, required: list[str] | None = None) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": required if required is not None else list(properties),
        "additionalProperties": False,
    }


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, dict] = {
    "Error": _object({"code": {"type": "integer"}, "description": _string()}),
    "Errors": _array(_ref("Error")),
    "Endpoint": _object(
        {
            "specification": _string(),
            "url": _string(),
            "changeset": _string(format="date-time"),
            "type": _string(enum=["production", "test"]),
            "formats": _array(_string()),
        }
    ),
    "Discovery": _object(
        {
            "changeset": _string(format="date-time"),
            "contact": _string(),
            "key_service": _string(),
            "endpoints": _array(_ref("Endpoint")),
        }
    ),
    "Service": _object(
        {
            "service_code": _string(),
            "service_name": _string(),
            "description": _nullable("string"),
            "metadata": {"type": "boolean"},
            "type": _string(enum=["realtime", "batch", "blackbox"]),
            "keywords": _nullable("string"),
            "group": _nullable("string"),
        }
    ),
    "Services": _array(_ref("Service")),
    "AttributeValue": _object({"key": _string(), "name": _string()}),
    "Attribute": _object(
        {
            "variable": {"type": "boolean"},
            "code": _string(),
            "datatype": _string(
                enum=["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
            ),
            "required": {"type": "boolean"},
            "datatype_description": _nullable("string"),
            "order": {"type": "integer"},
            "description": _string(),
            "values": _array(_ref("AttributeValue")),
        }
    ),
    "ServiceDefinition": _object(
        {"service_code": _string(), "attributes": _array(_ref("Attribute"))}
    ),
    "ServiceRequest": _object(
        {
            "service_request_id": _string(),
            "status": _string(enum=["open", "closed"]),
            "status_notes": _nullable("string"),
            "service_name": _string(),
            "service_code": _string(),
            "description": _nullable("string"),
            "agency_responsible": _nullable("string"),
            "service_notice": _nullable("string"),
            "requested_datetime": _string(format="date-time"),
            "updated_datetime": _string(format="date-time"),
            "expected_datetime": _nullable("string", format="date-time"),
            "address": _nullable("string"),
            "address_id": _nullable("string"),
            "zipcode": _nullable("string"),
            "lat": _nullable("number"),
            "long": _nullable("number"),
            "media_url": _nullable("string"),
        }
    ),
    "ServiceRequests": _array(_ref("ServiceRequest")),
    "PostedRequest": _object(
        {
            "service_request_id": _string(),
            "token": _string(),
            "service_notice": _nullable("string"),
            "account_id": _nullable("string"),
        }
    ),
    "PostedRequests": _array(_ref("PostedRequest")),
    "Token": _object({"service_request_id": _string(), "token": _string()}),
    "Tokens": _array(_ref("Token")),
    "RequestUpdate": _object(
        {
            "update_id": _string(),
            "service_request_id": _string(),
            "status": _string(enum=["open", "closed"]),
            "updated_datetime": _string(format="date-time"),
            "description": _string(),
            "media_url": _nullable("string"),
        }
    ),
    "RequestUpdates": _array(_ref("RequestUpdate")),
}


def _parameter(name: str, where: str = "query", *, description: str, **schema: Any) -> dict:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string", "pattern": NO_NUL},
    }


FORMAT = _parameter(
    "format",
    "path",
    description="Answer format: xml (required by the standard) or json.",
    type="string",
    enum=["xml", "json"],
)
JURISDICTION = _parameter(
    "jurisdiction_id",
    description="Optional; empty counts as absent; another jurisdiction's id is a 404.",
)
# empty counts as absent
W3C_OR_EMPTY = f"^({W3C_PATTERN[1:-1]})?$"
START_DATE = _parameter(
    "start_date",
    description="W3C date-time (or a day); at most 90 days before end_date.",
    type="string",
    pattern=W3C_OR_EMPTY,
)
END_DATE = _parameter(
    "end_date",
    description="W3C date-time (or a day); at most 90 days after start_date.",
    type="string",
    pattern=W3C_OR_EMPTY,
)
REQUEST_IDS = _parameter(
    "service_request_id",
    description="Comma-separated request numbers; overrides every other filter.",
)


def _content(schema: str) -> dict:
    return {
        XML_TYPE: {"schema": {"type": "string"}},
        JSON_TYPE: {"schema": _ref(schema)},
    }


def _answers(schema: str, *codes: int) -> dict:
    texts = {
        400: "Bad input (a bad parameter, a NUL character): each error names its parameter.",
        403: "Missing or wrong api_key.",
        404: "Unknown resource, unknown format or another jurisdiction.",
        405: "Method not allowed.",
    }
    answers = {"200": {"description": "OK", "content": _content(schema)}}
    for code in sorted({400, *codes, 404, 405}):
        answers[str(code)] = {"description": texts[code], "content": _content("Errors")}
    return answers


def _get(summary: str, schema: str, parameters: list[dict], *codes: int) -> dict:
    return {
        "summary": summary,
        "tags": ["Open311 GeoReport v2"],
        "security": [],
        "parameters": parameters,
        "responses": _answers(schema, *codes),
    }


POST_FORM = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {
        "api_key": _string(pattern=NO_NUL, description="The integrator's API token."),
        "jurisdiction_id": _string(pattern=NO_NUL),
        "service_code": _string(pattern=NO_NUL, minLength=1, maxLength=32),
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": _string(pattern=NO_NUL, maxLength=MAX_ADDRESS),
        "address_id": _string(pattern=NO_NUL, maxLength=32, description="A grid code."),
        "email": _string(format="email", pattern=NO_NUL, maxLength=254),
        "device_id": _string(pattern=NO_NUL, maxLength=100),
        "account_id": _string(pattern=NO_NUL, maxLength=100),
        "first_name": _string(pattern=NO_NUL, maxLength=30),
        "last_name": _string(pattern=NO_NUL, maxLength=30),
        "phone": _string(pattern=NO_NUL, maxLength=20),
        "description": _string(pattern=NO_NUL, maxLength=MAX_DESCRIPTION),
        "media_url": _string(pattern="^(https?://[^\\u0000]+)?$", maxLength=1000),
    },
    "additionalProperties": {
        "description": "attribute[CODE] (one value) or attribute[CODE][] (repeated).",
        "oneOf": [_string(pattern=NO_NUL), _array(_string(pattern=NO_NUL))],
    },
}


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Open311 GeoReport v2",
            "version": "2",
            "description": (
                "The GeoReport v2 standard (http://wiki.open311.org/GeoReport_v2) and its "
                "service request updates extension. XML is the required format, JSON the "
                "other; JSON drops the XML root element. Errors are a list of {code, "
                "description}. Only POST needs the api_key."
            ),
        },
        "paths": {
            f"{BASE}/discovery.{{format}}": {
                "get": _get("Service discovery", "Discovery", [FORMAT]),
            },
            f"{BASE}/services.{{format}}": {
                "get": _get("Services (our ticket categories)", "Services", [FORMAT, JURISDICTION]),
            },
            f"{BASE}/services/{{service_code}}.{{format}}": {
                "get": _get(
                    "A service's definition (its attributes)",
                    "ServiceDefinition",
                    [
                        _parameter("service_code", "path", description="The category code."),
                        FORMAT,
                        JURISDICTION,
                    ],
                ),
            },
            f"{BASE}/requests.{{format}}": {
                "get": _get(
                    "Public list of requests (non-personal fields)",
                    "ServiceRequests",
                    [
                        FORMAT,
                        JURISDICTION,
                        REQUEST_IDS,
                        _parameter("service_code", description="Comma-separated codes."),
                        START_DATE,
                        END_DATE,
                        _parameter(
                            "status",
                            description="open, closed, or open,closed.",
                            type="string",
                            pattern=STATUS_PATTERN,
                        ),
                    ],
                ),
                "post": {
                    "summary": "Post a service request (becomes a ticket)",
                    "tags": ["Open311 GeoReport v2"],
                    "security": [{"api_key": []}],
                    "parameters": [FORMAT],
                    "requestBody": {
                        "required": True,
                        "content": {"application/x-www-form-urlencoded": {"schema": POST_FORM}},
                    },
                    "responses": _answers("PostedRequests", 403),
                },
            },
            f"{BASE}/requests/{{service_request_id}}.{{format}}": {
                "get": _get(
                    "One request (a one-element list)",
                    "ServiceRequests",
                    [
                        _parameter("service_request_id", "path", description="The ticket number."),
                        FORMAT,
                        JURISDICTION,
                    ],
                ),
            },
            f"{BASE}/tokens/{{token}}.{{format}}": {
                "get": _get(
                    "The request number of a token",
                    "Tokens",
                    [
                        _parameter("token", "path", description="The token a POST answered."),
                        FORMAT,
                        JURISDICTION,
                    ],
                ),
            },
            f"{BASE}/servicerequestupdates.{{format}}": {
                "get": _get(
                    "Public timeline updates (extension)",
                    "RequestUpdates",
                    [FORMAT, JURISDICTION, START_DATE, END_DATE, REQUEST_IDS],
                ),
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"api_key": {"type": "apiKey", "in": "query", "name": "api_key"}},
        },
    }
