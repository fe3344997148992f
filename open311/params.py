"""Reading GeoReport parameters: W3C dates, comma-separated lists, the date window of the
lists, and the form of a posted request. Everything here raises ``ValidationError`` keyed
by the parameter's own name, which the views turn into the standard ``<errors>`` list."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

# The standard's window: at most 90 days, at most 1000 rows.
MAX_WINDOW = datetime.timedelta(days=90)
MAX_ROWS = 1000
MAX_DESCRIPTION = 4000
MAX_ADDRESS = 200
MAX_NAME = 30
MAX_ID = 100
MAX_URL = 1000

# W3C-DTF (a profile of ISO 8601): a day, or a day and a time with its zone. The same
# pattern is published in the OpenAPI description (``open311.openapi``). A "+08:00" sent
# without URL-encoding arrives as " 08:00" and is understood.
W3C_PATTERN = (
    r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?"
    r"(Z|[-+ ](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
STATUS_PATTERN = r"^((open|closed)(,(open|closed))*)?$"
_W3C = re.compile(W3C_PATTERN)
_STATUS = re.compile(STATUS_PATTERN)
_LONG_FRACTION = re.compile(r"\.([0-9]{6})[0-9]+")
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")


def w3c_datetime(raw: str, *, field: str) -> datetime.datetime:
    """An aware datetime from W3C-DTF text (``2026-11-22T10:00:00+08:00``, ``…Z``, or a
    day ``2026-11-22``); a time without a zone is read in the site's time zone."""
    error = ValidationError({field: _("Give a W3C date and time, e.g. 2026-11-22T10:00:00+08:00.")})
    text = raw or ""
    if _W3C.fullmatch(text) is None:
        raise error
    # microseconds at most (RFC 3339 allows any number of decimals)
    text = _LONG_FRACTION.sub(r".\1", text).replace(" ", "+").replace("Z", "+00:00")
    try:
        value = datetime.datetime.fromisoformat(text)  # refuses 30 February
    except ValueError as exc:
        raise error from exc
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def comma_list(raw: str | None) -> list[str]:
    """``a, b,,c`` → ``["a", "b", "c"]`` (order kept, repeats dropped)."""
    items = [item.strip() for item in (raw or "").split(",")]
    return list(dict.fromkeys(item for item in items if item))


@dataclass(frozen=True)
class Window:
    start: datetime.datetime
    end: datetime.datetime


def date_window(query: Mapping[str, str], *, now: datetime.datetime | None = None) -> Window:
    """``start_date``/``end_date``: at most 90 days apart; a missing end is 90 days after
    the start, a missing start 90 days before the end; neither is the last 90 days."""
    now = now or timezone.now()
    start_raw, end_raw = query.get("start_date", ""), query.get("end_date", "")
    start = w3c_datetime(start_raw, field="start_date") if start_raw else None
    end = w3c_datetime(end_raw, field="end_date") if end_raw else None
    if start is None and end is None:
        end = now
    if start is None:
        start = end - MAX_WINDOW
    if end is None:
        end = start + MAX_WINDOW
    if end < start:
        raise ValidationError({"end_date": _("end_date must not be before start_date.")})
    if end - start > MAX_WINDOW:
        raise ValidationError(
            {"end_date": _("start_date and end_date may be at most 90 days apart.")}
        )
    return Window(start=start, end=end)


STATUSES = ("open", "closed")


def statuses(raw: str | None) -> list[str]:
    """``status=open``, ``closed`` or ``open,closed``; empty means both."""
    if _STATUS.fullmatch(raw or "") is None:
        raise ValidationError({"status": _("status is open, closed or both.")})
    return [status for status in STATUSES if status in (raw or "").split(",")]


def ids(raw: str | None, *, field: str) -> list[str]:
    values = comma_list(raw)
    if len(values) > MAX_ROWS:
        raise ValidationError(
            {field: _("Ask for at most %(count)s requests at once.") % {"count": MAX_ROWS}}
        )
    return values


# --- the posted request -----------------------------------------------------------------------


@dataclass
class Submission:
    """A posted request, read but not yet checked against the service."""

    service_code: str = ""
    lat: float | None = None
    lng: float | None = None
    address_string: str = ""
    address_id: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    email: str = ""
    device_id: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    description: str = ""
    media_url: str = ""


def _coordinate(raw: str, *, field: str, limit: float) -> float | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise ValidationError({field: _("Give a number in decimal degrees.")}) from exc
    if not math.isfinite(value) or abs(value) > limit:
        raise ValidationError({field: _("These coordinates are not on the map.")})
    return value


def _text(form: QueryDict, name: str, limit: int) -> str:
    value = form.get(name) or ""
    if len(value) > limit:
        raise ValidationError({name: _("At most %(count)s characters.") % {"count": limit}})
    return value.strip()


def _attributes(form: QueryDict) -> dict[str, list[str]]:
    """``attribute[CODE]`` and, for lists, ``attribute[CODE][]`` (both may repeat)."""
    answers: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE_KEY.match(key)
        if key.startswith("attribute[") and (match is None or not match.group(1).strip()):
            raise ValidationError({key: _("Send answers as attribute[code].")})
        if match is None:
            continue
        answers.setdefault(match.group(1).strip(), []).extend(form.getlist(key))
    return answers


def submission(form: QueryDict) -> Submission:
    """The posted form read into a ``Submission``: types and lengths; the service checks
    the rest (the service exists, the location, the answers)."""
    errors: dict[str, list[str]] = {}

    def read(reader, *args, **kwargs):
        try:
            return reader(*args, **kwargs)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
            return None

    result = Submission(
        service_code=read(_text, form, "service_code", 32) or "",
        lat=read(_coordinate, form.get("lat"), field="lat", limit=90),
        lng=read(_coordinate, form.get("long"), field="long", limit=180),
        address_string=read(_text, form, "address_string", MAX_ADDRESS) or "",
        address_id=read(_text, form, "address_id", 32) or "",
        attributes=read(_attributes, form) or {},
        email=read(_text, form, "email", 254) or "",
        device_id=read(_text, form, "device_id", MAX_ID) or "",
        account_id=read(_text, form, "account_id", MAX_ID) or "",
        first_name=read(_text, form, "first_name", MAX_NAME) or "",
        last_name=read(_text, form, "last_name", MAX_NAME) or "",
        phone=read(_text, form, "phone", 20) or "",
        description=read(_text, form, "description", MAX_DESCRIPTION) or "",
        media_url=read(_text, form, "media_url", MAX_URL) or "",
    )
    if errors:
        raise ValidationError(errors)
    return result
