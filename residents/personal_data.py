"""Mainland resident identity numbers (GB 11643-1999) and phone numbers.

Pure functions, so the rules can be property-tested. An 18-character number is 6 digits
of region, 8 of birth date, 3 of sequence (odd = male) and a check character computed
from the first 17 with the ISO 7064 MOD 11-2 weights.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# ASCII digits only: ``\d`` alone also matches full-width and other scripts' digits, which
# would be stored as typed and escape the uniqueness of the number (a different hash).
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$", re.ASCII)
_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$", re.ASCII)
# 010 and 020–029 are three-digit area codes, every other one has four digits (0xxx).
_AREA_CODE = re.compile(r"^0(?:[12]\d|[3-9]\d{2})", re.ASCII)
_SEPARATORS = re.compile(r"[\s()（）]")


@dataclass(frozen=True)
class IdCard:
    number: str
    birth_date: datetime.date
    gender: str  # "male" / "female"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _half_width(raw: str) -> str:
    """Full-width digits, letters and signs (what a Chinese input method types: ``１３８``,
    ``Ｘ``, ``＋８６``) as their ASCII forms."""
    return unicodedata.normalize("NFKC", raw or "")


def normalize_id_number(raw: str) -> str:
    return _half_width(raw).strip().replace(" ", "").upper()


def parse_id_number(raw: str) -> IdCard:
    """Validate and decode an ID number; raises ``ValidationError`` saying what is wrong."""
    number = normalize_id_number(raw)
    if not _ID_SHAPE.match(number):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."))
    if check_char(number[:17]) != number[17]:
        raise ValidationError(_("The ID number's check character is wrong."))
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise ValidationError(_("The ID number contains an impossible birth date.")) from exc
    if birth.year < 1880 or birth > datetime.date.today():  # noqa: DTZ011 - a calendar date
        raise ValidationError(_("The ID number contains an impossible birth date."))
    gender = "male" if int(number[16]) % 2 else "female"
    return IdCard(number=number, birth_date=birth, gender=gender)


def normalize_phone(raw: str) -> str:
    """Drop spaces, brackets and a +86/0086 prefix, so one number entered twice compares
    equal."""
    phone = _SEPARATORS.sub("", _half_width(raw))
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :].lstrip("-")
    return phone


def validate_phone(raw: str) -> str:
    """A number one can dial in mainland China: a mobile (11 digits from 13…19) or a
    landline with its area code and optional extension; residents, households and the
    reporters of tickets all go through this one rule."""
    phone = normalize_phone(raw)
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    raise ValidationError(
        _(
            "Enter a mainland mobile number (e.g. 13812345678) or a landline with its area code "
            "(e.g. 0971-8123456)."
        )
    )


def mask_id_number(number: str) -> str:
    """``6101**********1234``: region prefix and last four, nothing in between."""
    if not number:
        return ""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str) -> str:
    """``138****5678`` for mobiles; a landline keeps its area code and last two digits
    (``0971-*****56``, ``010********78``), whether or not a dash follows the area code."""
    if not phone:
        return ""
    if _MOBILE.match(phone):
        return phone[:3] + "****" + phone[-4:]
    found = _AREA_CODE.match(phone)
    area = found.group() if found else ""
    rest = phone[len(area) :]
    dash = "-" if area and rest.startswith("-") else ""
    rest = rest[len(dash) :]
    return area + dash + "*" * max(len(rest) - 2, 0) + rest[-2:]
