"""Opening a ticket (群众点单, 随手拍): validate, locate the grid, apply the policy, route;
with photos, their EXIF position when the report has no coordinates. And the rating of a
reporter who has no account, through the private link they were given when reporting."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.errors import Conflict
from grids import scoping
from grids.locate import locate
from grids.models import AssignmentRole, Grid
from residents.models import Household
from residents.personal_data import validate_phone
from tickets import permissions, states
from tickets import photos as photos_rules
from tickets.deadlines import apply_policy
from tickets.models import Category, Channel, EventKind, Ticket, TicketStatus
from tickets.services.lifecycle import apply_rating, check_rating
from tickets.services.media import create_photo_rows, files_removed_on_error, write_photo_files
from tickets.services.steps import (
    ACTION_NAMES,
    active_category,
    actor_or_system,
    lock_ticket,
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


def _field_channel(actor, grid: Grid) -> str:
    """The channel of someone reporting from the phone page, by their part on the grid:
    a unit head of the grid reports as a unit head (单元长), anyone else working on it is
    on patrol, everyone else is a resident."""
    if actor is None or not actor.is_authenticated:
        return Channel.RESIDENT_WEB
    roles = scoping.roles_for(actor, grid)
    if not roles:
        return Channel.RESIDENT_WEB
    if roles == {AssignmentRole.UNIT_HEAD}:
        return Channel.UNIT_HEAD
    return Channel.PATROL


# Channels whose sending system identified the caller (the hotline's operator, a civic
# app's signed-in user): their reports carry a phone number instead of an account.
IDENTIFIED_CHANNELS = (Channel.HOTLINE, Channel.OPEN311)


def _check_reporter(*, category: Category, channel: str, reporter, phone: str) -> None:
    """A ticket needs someone to answer to: a reporter with an account, or a phone number.
    Without an account the category must allow anonymous reports, except for 12345 orders
    and Open311 requests, whose caller the sending system identified."""
    if reporter is not None:
        return
    if not category.allows_anonymous and channel not in IDENTIFIED_CHANNELS:
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
    photos: Iterable | None = None,
    external_number: str = "",
) -> Ticket:
    """Open a ticket: locate its grid when none is given, apply the category's deadline
    policy and, when the category dispatches automatically, its route.

    ``actor`` is who enters it (``None``: an anonymous resident on the web page);
    ``reporter`` is who answers for it and rates it (``None``: a phone number instead).
    ``channel=None`` is the phone page's report: the channel follows the actor's part on
    the ticket's grid (unit head, patrol, else resident web). ``photos`` (at most five
    uploads) are checked, stripped of EXIF and stored with the report; when no
    coordinates are given, the first photo's EXIF GPS position stands in for them.
    ``external_number`` is the sending system's own number (a 12345 order number), unique
    per channel: a second ticket with the same one is a ``Conflict``.
    """
    now = timezone.now()
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Say in a few words what the problem is.")})
    if channel is not None and channel not in Channel.values:
        raise ValidationError({"channel": _("Unknown channel.")})
    category = active_category(category)
    _check_coordinates(lat, lng)
    # Decoded and cleaned before anything is written or locked (see services.media).
    prepared = photos_rules.prepare_photos(photos)
    position_from_photo = False
    if lat is None and (position := photos_rules.first_gps(prepared)) is not None:
        lat, lng = position
        position_from_photo = True
    if household is not None and grid is None and lat is None:
        grid = household.grid  # a problem of a household is a problem of its grid
    grid, located = _ticket_grid(grid, lat, lng)
    _check_household(household, grid)
    if channel is None:
        channel = _field_channel(actor, grid)
    phone = _reporter_phone(reporter_phone) if (reporter_phone or "").strip() else ""
    _check_reporter(category=category, channel=channel, reporter=reporter, phone=phone)
    if not permissions.can_open(actor, grid, channel):
        raise PermissionDenied(_("You may not report through this channel on this grid."))
    stored = write_photo_files(prepared)
    with files_removed_on_error(stored):
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
            external_number=(external_number or "").strip(),
        )
        apply_policy(ticket, now)
        _save_new(ticket)
        plan = route_plan(ticket)
        data = {
            "channel": channel,
            "located": located,
            "auto_dispatch": plan.describe() if plan else None,
        }
        if stored:
            data["photos"] = len(stored)
        if position_from_photo:
            data["position"] = "photo"  # the coordinates came from a photo's EXIF GPS
        record_event(ticket, actor=actor, kind=EventKind.OPENED, from_status="", now=now, data=data)
        if stored:
            create_photo_rows(ticket, stored, event=None, actor=actor)
        if plan is not None:
            route_ticket(ticket, plan, now=now)
    return ticket


def _save_new(ticket: Ticket) -> None:
    """Insert the ticket; the same external number on the same channel is a conflict,
    decided by the database's unique constraint (two imports of one order at once)."""
    try:
        with transaction.atomic():
            ticket.save()
    except IntegrityError as exc:
        if (
            ticket.external_number
            and Ticket.objects.filter(
                channel=ticket.channel, external_number=ticket.external_number
            ).exists()
        ):
            raise Conflict(
                _("A ticket with the external number %(number)s already exists.")
                % {"number": ticket.external_number}
            ) from exc
        raise


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


# --- the reporter without an account -----------------------------------------------------------


@transaction.atomic
def ticket_rate_by_link(*, ticket: Ticket, rating: str, comment: str = "") -> Ticket:
    """闭环评事 for a reporter who has no account (an anonymous web report, a 12345 caller):
    the holder of the private link handed out with the ticket rates it. The caller (the
    rating page) has verified the link's signature; the link stands in for the account
    that ``ticket_rate`` checks, and everything else is the same: satisfied or basically
    satisfied closes the ticket, unsatisfied reopens it with fresh deadlines."""
    check_rating(rating)
    ticket = lock_ticket(ticket)
    if not states.allows("rate", ticket.status):
        raise Conflict(
            _("This ticket's status (%(status)s) does not allow this action: %(action)s.")
            % {"status": TicketStatus(ticket.status).label, "action": ACTION_NAMES["rate"]},
            code="invalid_state",
        )
    if ticket.reporter_id is not None:
        # a reporter with an account rates signed in, as themselves
        raise PermissionDenied(
            _("You may not do this to this ticket: %(action)s.") % {"action": ACTION_NAMES["rate"]}
        )
    return apply_rating(
        ticket,
        actor=None,
        rating=rating,
        comment=comment,
        data={"on_behalf": False, "by_link": True},
    )
