"""The body of a webhook: what integrators learn of a ticket event, and nothing personal.

The ticket part carries its number, status, channel, grid, category, external number,
title and deadlines; never the reporter (name, phone, account), the assignee, the
description (residents write names and phone numbers into it), the address or the
coordinates. The event part carries its kind, statuses and note; for a rating the note is
the reporter's own comment and is left out. Details per kind name departments by code and
name, never people.

The body is serialised once, canonically (sorted keys, no spaces, UTF-8), and signed as
those exact bytes: see ``webhooks.signing``.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.utils import timezone

from grids.models import Grid
from tickets.models import EventKind, Ticket, TicketEvent


def w3c(value: datetime.datetime | None) -> str | None:
    """ISO 8601 / W3C date-time with the offset, as the REST API writes them."""
    return timezone.localtime(value).isoformat() if value is not None else None


def _grid_ref(grid: Grid | None) -> dict[str, str] | None:
    return {"code": grid.code, "name": grid.name} if grid is not None else None


def ticket_part(ticket: Ticket) -> dict[str, Any]:
    category = ticket.category
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "status": ticket.status,
        "channel": ticket.channel,
        "grid": {"id": ticket.grid_id, **_grid_ref(ticket.grid)},
        "category": {"code": category.code, "name": category.name},
        "external_number": ticket.external_number,
        "title": ticket.title,
        "created_at": w3c(ticket.created_at),
        "respond_by": w3c(ticket.respond_by),
        "resolve_by": w3c(ticket.resolve_by),
        "responded_at": w3c(ticket.responded_at),
        "resolved_at": w3c(ticket.resolved_at),
        "closed_at": w3c(ticket.closed_at),
        "rating": ticket.rating,
    }


def _departments(ids) -> list[dict[str, str]]:
    wanted = [pk for pk in ids or () if isinstance(pk, int)]
    found = Grid.objects.filter(pk__in=wanted).only("code", "name").in_bulk()
    return [_grid_ref(found[pk]) for pk in wanted if pk in found]


def event_details(event: TicketEvent) -> dict[str, Any]:
    """The kind-specific facts an integrator can act on (no person is named)."""
    data = event.data or {}
    if event.kind == EventKind.WHISTLED:
        return {"departments": _departments(data.get("departments"))}
    if event.kind == EventKind.REPORTED_IN:
        departments = _departments([data.get("department")])
        return {"department": departments[0] if departments else None, "late": data.get("late")}
    if event.kind == EventKind.RATED:
        return {"rating": data.get("rating")}
    if event.kind == EventKind.ESCALATED:
        details = {key: data.get(key) for key in ("deadline", "level", "level_number", "missed")}
        if data.get("department"):
            departments = _departments([data.get("department")])
            details["department"] = departments[0] if departments else None
        return details
    if event.kind == EventKind.DISPATCHED:
        return {"automatic": bool(data.get("auto"))}
    return {}


def event_part(event: TicketEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        # a rating's note is the reporter's own words: theirs, not the integrator's
        "note": "" if event.kind == EventKind.RATED else event.note,
        "by_system": event.actor_id is None,
        "details": event_details(event),
    }


def build_payload(*, event_id: str, event_type: str, event: TicketEvent) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": event_type,
        "created_at": w3c(event.created_at),
        "ticket": ticket_part(event.ticket),
        "event": event_part(event),
    }


def serialize(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: the same payload always gives the same bytes."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )
