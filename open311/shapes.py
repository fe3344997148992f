"""The GeoReport v2 shapes, field by field and in the standard's order, as plain dicts
that ``formats`` writes as XML or JSON. What is public here is decided in
``selectors`` (``publishes_text``): nothing personal ever enters these dicts."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _

from open311 import selectors
from open311.formats import CONTENT_TYPES, JSON, XML, w3c
from open311.models import LIST_DATATYPES, Open311Request, ServiceAttribute
from tickets.models import Category, Ticket, TicketEvent, TicketStatus

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this implementation's discovery document last changed (the standard's
# "changeset", sortable).
CHANGESET = datetime.datetime(2026, 11, 22, tzinfo=datetime.UTC)


def _or_none(value: str | None) -> str | None:
    return value if value else None


def discovery(*, url: str) -> dict:
    endpoint_type = getattr(settings, "OPEN311_ENDPOINT_TYPE", "")
    if endpoint_type not in ("production", "test"):
        endpoint_type = "test" if settings.DEBUG else "production"
    return {
        "changeset": w3c(CHANGESET),
        "contact": getattr(settings, "OPEN311_CONTACT", "")
        or _("Ask the grid governance office of your county."),
        "key_service": getattr(settings, "OPEN311_KEY_SERVICE", "")
        or _(
            "The platform's administrators give each integrator an account; its API token "
            "is the api_key."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": w3c(CHANGESET),
                "type": endpoint_type,
                "formats": [CONTENT_TYPES[XML].split(";")[0], CONTENT_TYPES[JSON].split(";")[0]],
            }
        ],
    }


# --- services ---------------------------------------------------------------------------------


def _info(category: Category):
    try:
        return category.open311_info
    except Category.open311_info.RelatedObjectDoesNotExist:
        return None


def service_row(category: Category) -> dict:
    info = _info(category)
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": _or_none(info.description if info else ""),
        "metadata": bool(getattr(category, "has_attributes", False)),
        "type": "realtime",
        "keywords": _or_none(info.keywords if info else ""),
        "group": category.parent.name if category.parent_id else None,
    }


def attribute_row(attribute: ServiceAttribute) -> dict:
    values = attribute.values if attribute.datatype in LIST_DATATYPES else []
    return {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": _or_none(attribute.datatype_description),
        "order": attribute.order,
        "description": attribute.description,
        "values": [{"key": str(value["key"]), "name": str(value["name"])} for value in values],
    }


def service_definition(category: Category, attributes) -> dict:
    return {
        "service_code": category.code,
        "attributes": [attribute_row(attribute) for attribute in attributes],
    }


def service_notice(category: Category) -> str:
    """The category's policy, as a promise to the citizen."""
    now = timezone.now()
    return _("We respond within %(respond)s and resolve within %(resolve)s.") % {
        "respond": timeuntil(now + category.respond_within, now, depth=2),
        "resolve": timeuntil(now + category.resolve_within, now, depth=2),
    }


# --- requests ---------------------------------------------------------------------------------


def _status(status: str) -> str:
    return "open" if selectors.is_open(status) else "closed"


def _status_notes(ticket: Ticket) -> str | None:
    """The latest public note; a duplicate names its original (the standard's own example
    of a status note is "Duplicate request.")."""
    if ticket.status == TicketStatus.DUPLICATE and ticket.duplicate_of_id:
        return _("Duplicate of %(number)s.") % {"number": ticket.duplicate_of.number}
    return _or_none(getattr(ticket, "public_note", ""))


def request_row(ticket: Ticket) -> dict:
    public = selectors.publishes_text(ticket)
    extra = selectors.open311_of(ticket) if public else None
    return {
        "service_request_id": ticket.number,
        "status": _status(ticket.status),
        "status_notes": _status_notes(ticket) if public else None,
        "service_name": ticket.category.name,
        "service_code": ticket.category.code,
        "description": _or_none(ticket.description) if public else None,
        "agency_responsible": selectors.agency_responsible(ticket),
        "service_notice": service_notice(ticket.category),
        "requested_datetime": w3c(ticket.created_at),
        "updated_datetime": w3c(ticket.updated_at),
        "expected_datetime": w3c(ticket.resolve_by),
        "address": _or_none(ticket.address) if public else None,
        "address_id": ticket.grid.code if public else None,
        "zipcode": None,
        "lat": ticket.lat if public else None,
        "long": ticket.lng if public else None,
        "media_url": _or_none(extra.media_url) if extra else None,
    }


def posted_row(request: Open311Request) -> dict:
    """The answer to a POST: the number at once (realtime), and the token too, for a
    client that prefers to ask ``tokens/{token}``."""
    return {
        "service_request_id": request.ticket.number,
        "token": request.token,
        "service_notice": service_notice(request.ticket.category),
        "account_id": _or_none(request.account_id),
    }


def token_row(request: Open311Request) -> dict:
    return {"service_request_id": request.ticket.number, "token": request.token}


def update_row(event: TicketEvent) -> dict:
    """One public timeline event. Its description is the public note where the ticket's
    text is public, else what happened (the event's name)."""
    note = event.note if event.kind in selectors.PUBLIC_NOTES else ""
    if not selectors.publishes_text(event.ticket):
        note = ""
    return {
        "update_id": str(event.pk),
        "service_request_id": event.ticket.number,
        "status": _status(event.to_status),
        "updated_datetime": w3c(event.created_at),
        "description": note or str(event.get_kind_display()),
        "media_url": None,
    }
