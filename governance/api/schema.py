"""The OpenAPI schema documents the error answers, not only the success.

drf-spectacular describes each operation's success answer. Every operation of this API can
also answer with the same few errors in DRF's shapes (``governance.api.exceptions``); an
integrator's generated client needs them in the document to parse them, and the API's
fuzzing (``tests/fuzz``) checks every status code it meets against the document. They are
added to every operation here, once, rather than by ``@extend_schema`` on each view.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "description": (
        "Field name (or non_field_errors) → messages, or a detail; a bad query parameter "
        "of a list's filters may answer a bare list of messages."
    ),
    "oneOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ],
}

ERRORS = {
    "400": (_("Invalid input: the messages by field"), FIELD_ERRORS),
    "401": (_("Not authenticated"), DETAIL),
    "403": (_("Not allowed for this account's role"), DETAIL),
    "404": (_("Not found, or outside the caller's grids"), DETAIL),
    "405": (_("Method not allowed"), DETAIL),
    "409": (_("The record's state does not allow this now"), DETAIL),
    "413": (_("Request body too large"), DETAIL),
    "415": (_("Unsupported media type"), DETAIL),
    "429": (_("Too many requests; see Retry-After"), DETAIL),
    "503": (_("Briefly unavailable; see Retry-After"), DETAIL),
}


class GovernanceAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, (description, schema) in ERRORS.items():
            responses.setdefault(
                code,
                {"description": description, "content": {"application/json": {"schema": schema}}},
            )
        return responses
