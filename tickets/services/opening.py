"""Opening a ticket (群众点单, 随手拍): validate, locate the grid, apply the policy, route."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grids.locate import locate
from grids.models import Grid
from residents.models import Household
from residents.personal_data import validate_phone
from tickets import permissions
from tickets.deadlines import apply_policy
from tickets.models import Category, Channel, EventKind, Ticket
from tickets.services.steps import (
    active_category,
    actor_or_system,
    next_number,
    record_event,
    route_plan,
    route_ticket,
    territorial_grid,
)


def _check_coordinates(lat: float | None, lng: float | None) -> None:
    if (lat is None) != (lng is None):
        raise ValidationError({"lat": _("Give both latitude and longitude, or neither.")})
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError({"lat": _("These coordinates are not on the map.")})


def _ticket_grid(grid: Grid | None, lat: float | None, lng: float | None) -> tuple[Grid, bool]:
    """The grid given, else the one located from the coordinates (随手拍)."""
    if grid is not None:
        return territorial_grid(grid), False
    if lat is None:
        raise ValidationError({"grid": _("Give the grid or the coordinates of the place.")})
    located = locate(lat, lng)
    if located is None:
        raise ValidationError({"grid": _("No grid covers this place; choose the grid.")})
    return located, True


def _check_reporter(*, category: Category, channel: str, reporter, phone: str) -> None:
    """A ticket needs someone to answer to: a reporter with an account, or a phone number.
    Without an account the category must allow anonymous reports, except for 12345 orders,
    whose caller the hotline identified."""
    if reporter is not None:
        return
    if not category.allows_anonymous and channel != Channel.HOTLINE:
        raise ValidationError(
            {"reporter": _("This category does not accept reports without an account.")}
        )
    if not phone:
        raise ValidationError(
            {"reporter_phone": _("Leave a phone number so the grid can call you back.")}
        )


@transaction.atomic
def ticket_open(
    *,
    actor,
    category: Category,
    title: str,
    channel: str = Channel.API,
    description: str = "",
    grid: Grid | None = None,
    lat: float | None = None,
    lng: float | None = None,
    address: str = "",
    household: Household | None = None,
    reporter=None,
    reporter_name: str = "",
    reporter_phone: str = "",
) -> Ticket:
    """Open a ticket: locate its grid when none is given, apply the category's deadline
    policy and, when the category dispatches automatically, its route.

    ``actor`` is who enters it (``None``: an anonymous resident on the web page);
    ``reporter`` is who answers for it and rates it (``None``: a phone number instead).
    """
    now = timezone.now()
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say in a few words what the problem is.")})
    if channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    category = active_category(category)
    _check_coordinates(lat, lng)
    if household is not None and grid is None and lat is None:
        grid = household.grid  # a problem of a household is a problem of its grid
    grid, located = _ticket_grid(grid, lat, lng)
    _check_household(household, grid)
    phone = _reporter_phone(reporter_phone) if (reporter_phone or "").strip() else ""
    _check_reporter(category=category, channel=channel, reporter=reporter, phone=phone)
    if not permissions.can_open(actor, grid, channel):
        raise PermissionDenied(_("You may not report through this channel on this grid."))
    ticket = Ticket(
        number=next_number(now),
        channel=channel,
        grid=grid,
        category=category,
        title=title,
        description=(description or "").strip(),
        lat=lat,
        lng=lng,
        address=(address or "").strip(),
        household=household,
        reporter=reporter,
        reporter_name=(reporter_name or "").strip(),
        reporter_phone=phone,
        created_by=actor_or_system(actor),
        created_at=now,
    )
    apply_policy(ticket, now)
    ticket.save()
    plan = route_plan(ticket)
    record_event(
        ticket,
        actor=actor,
        kind=EventKind.OPENED,
        from_status="",
        now=now,
        data={
            "channel": channel,
            "located": located,
            "auto_dispatch": plan.describe() if plan else None,
        },
    )
    if plan is not None:
        route_ticket(ticket, plan, now=now)
    return ticket


def _reporter_phone(raw: str) -> str:
    """A caller's number the grid can call back, keyed to the field that carried it."""
    try:
        return validate_phone(raw)
    except ValidationError as exc:
        raise ValidationError({"reporter_phone": exc.messages}) from exc


def _check_household(household: Household | None, grid: Grid) -> None:
    """A ticket about a household belongs to that household's grid or one above it."""
    if household is None:
        return
    home = household.grid
    inside = home.tree_id == grid.tree_id and grid.lft <= home.lft and home.rght <= grid.rght
    if not inside:
        raise ValidationError({"household": _("This household is not on the ticket's grid.")})
