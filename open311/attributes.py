"""The questions a service asks (GeoReport "attributes"): what makes a definition valid,
and the answers of a posted request checked against the definitions.

One module for both sides, so that what the admin lets an administrator define is exactly
what a request can answer."""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _

from open311.models import LIST_DATATYPES, Datatype, ServiceAttribute
from open311.params import w3c_datetime

MAX_STRING = 1000
MAX_TEXT = 4000
MAX_NUMBER = 40


def attribute_errors(attribute: ServiceAttribute) -> dict[str, str]:
    """Why the attribute cannot be saved as it is (empty when it can)."""
    errors: dict[str, str] = {}
    try:
        validate_slug(attribute.code or "")
    except ValidationError:
        errors["code"] = _("Use letters, digits, hyphens and underscores.")
    if attribute.datatype not in Datatype.values:
        errors["datatype"] = _("Unknown datatype.")
    if not (attribute.description or "").strip():
        errors["description"] = _("Write the question the citizen answers.")
    values = attribute.values if attribute.values is not None else []
    if not isinstance(values, list):
        errors["values"] = _('Give a list: [{"key": "1", "name": "Yes"}, …]')
        return errors
    for value in values:
        if (
            not isinstance(value, dict)
            or set(value) != {"key", "name"}
            or not str(value["key"]).strip()
            or not str(value["name"]).strip()
        ):
            errors["values"] = _('Each value is {"key": "…", "name": "…"}, both filled in.')
            return errors
    keys = [str(value["key"]) for value in values]
    if len(set(keys)) != len(keys):
        errors["values"] = _("Each key may appear once.")
    elif attribute.datatype in LIST_DATATYPES and not values:
        errors["values"] = _("A list datatype needs its values.")
    elif attribute.datatype not in LIST_DATATYPES and values:
        errors["values"] = _("Only list datatypes have values.")
    return errors


def _single(field: str, answers: list[str]) -> str:
    if len(answers) > 1:
        raise ValidationError({field: _("Give one answer.")})
    return answers[0]


def _number(field: str, text: str) -> int | float:
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation as exc:
        raise ValidationError({field: _("Give a number.")}) from exc
    if len(text) > MAX_NUMBER or not number.is_finite() or not math.isfinite(float(number)):
        raise ValidationError({field: _("Give a number.")})
    return int(number) if number == number.to_integral_value() else float(number)


def _answer(attribute: ServiceAttribute, field: str, answers: list[str]) -> Any:
    datatype = attribute.datatype
    if datatype == Datatype.MULTI_VALUE_LIST:
        keys = attribute.keys
        chosen = list(dict.fromkeys(answers))
        if any(answer not in keys for answer in chosen):
            raise ValidationError({field: _("Choose among the values of the list.")})
        return chosen
    answer = _single(field, answers)
    if datatype == Datatype.SINGLE_VALUE_LIST:
        if answer not in attribute.keys:
            raise ValidationError({field: _("Choose among the values of the list.")})
        return answer
    if datatype == Datatype.NUMBER:
        return _number(field, answer)
    if datatype == Datatype.DATETIME:
        return w3c_datetime(answer, field=field).isoformat()
    limit = MAX_TEXT if datatype == Datatype.TEXT else MAX_STRING
    if len(answer) > limit:
        raise ValidationError({field: _("At most %(count)s characters.") % {"count": limit}})
    return answer


def checked_answers(
    definitions: Iterable[ServiceAttribute], submitted: Mapping[str, list[str]]
) -> dict[str, Any]:
    """The answers to keep, by attribute code: required questions answered, values from
    the list, numbers and dates well formed. Answers to informative attributes
    (``variable`` off) are ignored; answers to questions the service does not ask are an
    error, since the client then works from another service definition."""
    errors: dict[str, list[str]] = {}
    by_code = {attribute.code: attribute for attribute in definitions}
    for code in submitted:
        if code not in by_code:
            errors.setdefault(f"attribute[{code}]", []).append(
                _("This service has no attribute %(code)s.") % {"code": code}
            )
    kept: dict[str, Any] = {}
    for code, attribute in by_code.items():
        if not attribute.variable:
            continue
        field = f"attribute[{code}]"
        answers = [answer.strip() for answer in submitted.get(code, []) if answer.strip()]
        if not answers:
            if attribute.required:
                errors.setdefault(field, []).append(_("This question must be answered."))
            continue
        try:
            kept[code] = _answer(attribute, field, answers)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return kept
