"""Possible duplicates (一网通管: one problem, many reports): open tickets of the same
category reported near a ticket and close to it in time, offered to the dispatcher.

Only offered, never merged automatically: two lamp posts 150 m apart can both be dark.
The dispatcher decides and marks one with ``services.ticket_mark_duplicate``; its
reporter then follows the original.

Nearness is the great-circle (haversine) distance between the reported coordinates; the
database narrows the candidates with a bounding box on ``lat``/``lng`` first. A ticket
without coordinates is compared with the open tickets of its own grid (no distance).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.db.models import QuerySet

from tickets import selectors, states
from tickets.models import Ticket

DEFAULT_RADIUS_M = 200
DEFAULT_WINDOW = datetime.timedelta(hours=72)
MAX_RADIUS_M = 5000
MAX_WINDOW = datetime.timedelta(days=30)
LIMIT = 20  # a dispatcher reads a handful; more means the radius is too wide
CANDIDATE_CAP = 500  # rows measured at most, so a crowded square cannot slow the page
EARTH_RADIUS_M = 6_371_008.8  # mean radius
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True)
class PossibleDuplicate:
    ticket: Ticket
    distance_m: float | None  # None: neither has coordinates, matched by grid
    hours_apart: float  # positive: the candidate was reported earlier


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lng2 - lng1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _bounding_box(lat: float, lng: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) of a box containing the circle. Near the poles
    the longitude span is the whole circle; across the antimeridian it is clamped, which
    only loses candidates there (no county of ours lies on it)."""
    d_lat = radius_m / METRES_PER_DEGREE_LAT
    cos_lat = math.cos(math.radians(lat))
    d_lng = 180.0 if cos_lat < 1e-6 else min(180.0, d_lat / cos_lat)
    return lat - d_lat, lat + d_lat, max(-180.0, lng - d_lng), min(180.0, lng + d_lng)


def candidates(
    ticket: Ticket,
    *,
    user,
    radius_m: float = DEFAULT_RADIUS_M,
    window: datetime.timedelta = DEFAULT_WINDOW,
) -> QuerySet[Ticket]:
    """The rows worth measuring: open, same category, reported within ``window`` before
    or after ``ticket``, visible to ``user``, inside the bounding box (or on the same grid
    when ``ticket`` has no coordinates)."""
    rows = (
        selectors.ticket_visible(user=user)
        .filter(
            status__in=states.OPEN,
            category_id=ticket.category_id,
            created_at__gte=ticket.created_at - window,
            created_at__lte=ticket.created_at + window,
        )
        .exclude(pk=ticket.pk)
        .select_related("grid", "category")
    )
    if ticket.lat is None or ticket.lng is None:
        return rows.filter(grid_id=ticket.grid_id, lat__isnull=True)
    min_lat, max_lat, min_lng, max_lng = _bounding_box(ticket.lat, ticket.lng, radius_m)
    return rows.filter(lat__gte=min_lat, lat__lte=max_lat, lng__gte=min_lng, lng__lte=max_lng)


def possible_duplicates(
    ticket: Ticket,
    *,
    user,
    radius_m: float = DEFAULT_RADIUS_M,
    window: datetime.timedelta = DEFAULT_WINDOW,
) -> list[PossibleDuplicate]:
    """Open tickets that may report the same problem as ``ticket``, nearest first (then
    closest in time), at most ``LIMIT``. Only tickets ``user`` may see are offered."""
    found: list[PossibleDuplicate] = []
    rows = candidates(ticket, user=user, radius_m=radius_m, window=window).order_by("-created_at")
    for other in rows[:CANDIDATE_CAP]:
        hours = (ticket.created_at - other.created_at).total_seconds() / 3600
        if ticket.lat is None or ticket.lng is None:
            found.append(PossibleDuplicate(other, None, hours))
            continue
        distance = haversine_m(ticket.lat, ticket.lng, other.lat, other.lng)
        if distance <= radius_m:
            found.append(PossibleDuplicate(other, distance, hours))
    found.sort(key=lambda d: (d.distance_m or 0.0, abs(d.hours_apart), d.ticket.pk))
    return found[:LIMIT]
