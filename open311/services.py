"""The one write of GeoReport v2: a civic app posts a service request, which becomes an
ordinary ticket of channel ``open311`` through ``tickets.services.ticket_open`` (policy,
route, timeline, notifications as for any report), plus the ``Open311Request`` row that
keeps what the ticket has no field for.

Errors are ``ValidationError`` keyed by the GeoReport parameter the client sent
(``service_code``, ``lat``, ``phone``, ``attribute[CODE]``…), so the client's developer
can tell which field to fix; ``ticket_open``'s own field names are translated back.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from grids.models import Grid, GridKind
from open311.attributes import checked_answers
from open311.models import Open311Request, ServiceAttribute, new_token
from open311.params import Submission
from tickets.models import Category, Channel
from tickets.services import ticket_open

TITLE_LENGTH = 60

# ticket_open's field → the GeoReport parameter that carried it
FIELD_NAMES = {
    "title": "description",
    "description": "description",
    "lat": "lat",
    "lng": "long",
    "grid": "lat",
    "address": "address_string",
    "reporter_phone": "phone",
    "reporter": "phone",
    "reporter_name": "first_name",
    "category": "service_code",
}


def client_for_key(api_key: str):
    """The integrator whose API token is ``api_key`` (the same token as for
    ``/api/v1/``); missing, unknown or belonging to a deactivated account → 403."""
    key = (api_key or "").strip()
    token = Token.objects.select_related("user").filter(key=key).first() if key else None
    if token is None or not token.user.is_active:
        raise PermissionDenied(_("A valid api_key is required to post a request."))
    return token.user


def _service(code: str) -> Category:
    if not code:
        raise ValidationError({"service_code": _("service_code is required.")})
    category = Category.objects.filter(code=code, is_active=True).first()
    if category is None:
        raise ValidationError({"service_code": _("There is no service %(code)s.") % {"code": code}})
    return category


def _grid_by_code(code: str, *, field: str) -> Grid:
    grid = Grid.objects.filter(code=code, is_active=True).exclude(kind=GridKind.INDUSTRY).first()
    if grid is None:
        raise ValidationError({field: _("No active grid has the code %(code)s.") % {"code": code}})
    return grid


def _location_grid(submission: Submission) -> Grid | None:
    """The grid a request goes to when its coordinates do not say it: the grid whose
    code is the ``address_id`` (grid codes are our address system), or, for a request
    located only by a free ``address_string``, the grid configured to receive those
    (``OPEN311_ADDRESS_GRID``, a grid code), whose staff place it. ``None``: locate the
    coordinates."""
    if submission.address_id:
        return _grid_by_code(submission.address_id, field="address_id")
    if submission.lat is not None or submission.lng is not None:
        return None
    if not submission.address_string:
        raise ValidationError(
            {"lat": _("Give the location: lat and long, address_string or address_id.")}
        )
    fallback = getattr(settings, "OPEN311_ADDRESS_GRID", "")
    if not fallback:
        raise ValidationError(
            {
                "address_string": _(
                    "An address alone cannot be placed on a grid here; "
                    "send lat and long, or address_id (a grid code)."
                )
            }
        )
    return _grid_by_code(fallback, field="address_string")


def _check_contact(submission: Submission) -> None:
    errors: dict[str, str] = {}
    if submission.email:
        try:
            EmailValidator()(submission.email)
        except ValidationError:
            errors["email"] = _("Enter a valid email address.")
    if submission.media_url:
        try:
            URLValidator(schemes=["http", "https"])(submission.media_url)
        except ValidationError:
            errors["media_url"] = _("Give an http or https address.")
    if errors:
        raise ValidationError(errors)


def reporter_name(first_name: str, last_name: str) -> str:
    """A Chinese name is written family name first without a space (张三); others
    given name first (Jane Doe)."""
    if _is_cjk(first_name + last_name):
        return f"{last_name}{first_name}"
    return f"{first_name} {last_name}".strip()


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u2e80" <= char <= "\u9fff" or char == "·" for char in text)


def _title(category: Category, description: str) -> str:
    """Tickets have a title, requests do not: the description's first line, shortened,
    or else the service's name."""
    first_line = description.strip().splitlines()[0].strip() if description.strip() else ""
    return Truncator(first_line).chars(TITLE_LENGTH) if first_line else category.name


def _in_our_terms(exc: ValidationError) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    renamed: dict[str, list[str]] = {}
    for name, messages in exc.message_dict.items():
        target = FIELD_NAMES.get(name, name)
        renamed.setdefault(target, []).extend(messages)
    return ValidationError(renamed)


@transaction.atomic
def request_submit(*, client, submission: Submission) -> Open311Request:
    """Post a service request for ``client`` (the integrator whose api_key came with it).

    The integrator enters the ticket (``actor``). The citizen answers for it: with a
    ``phone``, the ticket has no reporter account and the grid calls that number back;
    without one, the integrator's account is the reporter (it rates the ticket for its
    user). The citizen's name is the ticket's reporter name; email, device, account,
    media link and answers are kept on the ``Open311Request``.
    """
    category = _service(submission.service_code)
    answers = checked_answers(
        ServiceAttribute.objects.filter(category=category).order_by("order", "pk"),
        submission.attributes,
    )
    _check_contact(submission)
    grid = _location_grid(submission)
    token = new_token()
    phone = submission.phone
    try:
        ticket = ticket_open(
            actor=client,
            category=category,
            title=_title(category, submission.description),
            channel=Channel.OPEN311,
            description=submission.description,
            grid=grid,
            lat=submission.lat,
            lng=submission.lng,
            address=submission.address_string,
            reporter=None if phone else client,
            reporter_name=reporter_name(submission.first_name, submission.last_name),
            reporter_phone=phone,
            external_number=token,
        )
    except ValidationError as exc:
        raise _in_our_terms(exc) from exc
    return Open311Request.objects.create(
        ticket=ticket,
        token=token,
        email=submission.email,
        device_id=submission.device_id,
        account_id=submission.account_id,
        first_name=submission.first_name,
        last_name=submission.last_name,
        media_url=submission.media_url,
        address_id=submission.address_id,
        attributes=answers,
    )
