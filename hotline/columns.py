"""The hotline's columns and how one row's values are read.

The hotline exports its orders with Chinese headers; integrators may use the English
names. Both are accepted, in any order, with extra columns ignored (so our own export,
which adds the result columns, imports back as "unchanged"). Values are read strictly:
a time or coordinate that cannot be read refuses the row with the reason, because a
wrong deadline or place is worse than asking the hotline for the row again.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

# canonical name → headers accepted (the first is what the export writes)
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("工单编号", "number", "order_number"),
    "called_at": ("来电时间", "called_at", "call_time"),
    "caller": ("来电人", "caller"),
    "phone": ("联系电话", "phone"),
    "address": ("地址", "address"),
    "content": ("诉求内容", "content"),
    "category": ("诉求分类", "category"),
    "deadline": ("办理时限", "deadline"),
    "lng": ("经度", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
}
# what the hotline needs back to close its side (export only)
RESULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "status": ("办理状态", "status"),
    "result": ("办理结果", "result"),
    "rating": ("满意度", "rating"),
    "finished_at": ("办结时间", "finished_at"),
    "return_reason": ("退单原因", "return_reason"),
}
REQUIRED = ("number", "content")
EXPORT_HEADERS = [names[0] for names in (*COLUMNS.values(), *RESULT_COLUMNS.values())]
# the order's own fields that a re-import compares (the key excluded) → their column
COMPARED: dict[str, str] = {
    "called_at": "called_at",
    "caller": "caller",
    "phone": "phone",
    "address": "address",
    "content": "content",
    "category_text": "category",
    "deadline": "deadline",
    "lat": "lat",
    "lng": "lng",
}
MAX_NUMBER = 64
TITLE_LENGTH = 30
_SENTENCE_END = re.compile(r"[。！？!?；;\n\r]")
_DATE_ONLY = re.compile(r"^\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?$")
_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")


def header_key(header: Any, columns: dict[str, tuple[str, ...]] = COLUMNS) -> str | None:
    """The canonical name of a header cell (case, spaces and a required-field star are
    ignored), or ``None`` for a column we do not read."""
    text = re.sub(r"[\s*＊]", "", str(header or "")).lstrip("\ufeff").lower()
    for key, aliases in columns.items():
        if text in (alias.lower() for alias in aliases):
            return key
    return None


def text(value: Any) -> str:
    """A cell as text: numbers without a trailing ``.0`` (a phone typed as a number)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).strip()


def parse_moment(value: Any, *, end_of_day: bool = False) -> datetime.datetime | None:
    """A time as the hotline writes it (a spreadsheet date, ``2026-11-20 09:30[:00]``,
    ``2026/11/20 09:30``, ``2026年11月20日 09:30``, ISO 8601 with or without an offset),
    in local time when no offset is given. A bare date means its start, or with
    ``end_of_day`` its last second (a deadline "by the 25th" runs through the 25th)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = _day(value, end_of_day)
    else:
        moment = _parse_text(text(value), end_of_day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.replace(microsecond=0)


def _day(day: datetime.date, end_of_day: bool) -> datetime.datetime:
    clock = datetime.time(23, 59, 59) if end_of_day else datetime.time(0, 0)
    return datetime.datetime.combine(day, clock)


def _parse_text(raw: str, end_of_day: bool) -> datetime.datetime:
    """Naive unless the text has an offset; ``parse_moment`` makes it local."""
    if _DATE_ONLY.match(raw):
        for fmt in _DATE_FORMATS:
            try:
                return _day(datetime.datetime.strptime(raw, fmt).date(), end_of_day)  # noqa: DTZ007
            except ValueError:
                continue
    for fmt in _FORMATS:
        try:
            return datetime.datetime.strptime(raw, fmt)  # noqa: DTZ007
        except ValueError:
            continue
    try:
        return datetime.datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError(_("%(value)s is not a date and time.") % {"value": raw}) from exc


def parse_coordinate(value: Any, *, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(text(value))
    except ValueError as exc:
        raise ValidationError(_("%(value)s is not a number.") % {"value": value}) from exc
    if not low <= number <= high:
        raise ValidationError(_("%(value)s is off the map.") % {"value": value})
    return number


def title_from(content: str) -> str:
    """A ticket's title from the caller's words: the first sentence, at most 30 characters."""
    content = content.strip()
    first = _SENTENCE_END.split(content, maxsplit=1)[0].strip() or content
    return first if len(first) <= TITLE_LENGTH else first[:TITLE_LENGTH] + "…"


@dataclass(frozen=True)
class OrderValues:
    """One order's fields as received, read and trimmed to their columns' sizes."""

    number: str
    called_at: datetime.datetime | None
    caller: str
    phone: str
    address: str
    content: str
    category_text: str
    deadline: datetime.datetime | None
    lat: float | None
    lng: float | None

    def compared(self) -> dict[str, Any]:
        values = asdict(self)
        return {name: values[name] for name in COMPARED}

    @property
    def fingerprint(self) -> str:
        """How an order without a number is recognised: its call time, phone and words."""
        called = self.called_at.isoformat() if self.called_at else ""
        source = "\x1f".join((called, self.phone, self.content))
        return hashlib.sha256(source.encode()).hexdigest()

    @property
    def key(self) -> str:
        return self.number or f"#{self.fingerprint}"


def read_values(row: dict[str, Any]) -> OrderValues:
    """One row (canonical names → cells) as order values; a value that cannot be read
    raises ``ValidationError`` keyed by its column's canonical name."""
    errors: dict[str, list[str]] = {}

    def attempt(key: str, parse):
        try:
            return parse()
        except ValidationError as exc:
            errors[key] = exc.messages
            return None

    number = text(row.get("number"))
    if len(number) > MAX_NUMBER:
        errors["number"] = [_("An order number has at most %(n)d characters.") % {"n": MAX_NUMBER}]
    content = text(row.get("content"))
    if not content:
        errors["content"] = [_("The content (诉求内容) is empty.")]
    called_at = attempt("called_at", lambda: parse_moment(row.get("called_at")))
    deadline = attempt("deadline", lambda: parse_moment(row.get("deadline"), end_of_day=True))
    lat = attempt("lat", lambda: parse_coordinate(row.get("lat"), low=-90, high=90))
    lng = attempt("lng", lambda: parse_coordinate(row.get("lng"), low=-180, high=180))
    if (lat is None) != (lng is None) and "lat" not in errors and "lng" not in errors:
        errors["lat"] = [_("Give both longitude and latitude, or neither.")]
    if errors:
        raise ValidationError(errors)
    return OrderValues(
        number=number,
        called_at=called_at,
        caller=text(row.get("caller"))[:64],
        phone=text(row.get("phone"))[:40],
        address=text(row.get("address"))[:300],
        content=content,
        category_text=text(row.get("category"))[:100],
        deadline=deadline,
        lat=lat,
        lng=lng,
    )


def column_label(key: str) -> str:
    """The Chinese header of a canonical column (what a row report names)."""
    return (COLUMNS.get(key) or RESULT_COLUMNS.get(key) or (key,))[0]


def describe_errors(exc: ValidationError) -> str:
    """``来电时间: … ; 经度: …`` for a row report."""
    if not hasattr(exc, "error_dict"):
        return "; ".join(exc.messages)
    return "; ".join(
        f"{column_label(key)}: {' '.join(messages)}" for key, messages in exc.message_dict.items()
    )
