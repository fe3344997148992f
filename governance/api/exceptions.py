"""Turn domain errors raised by services into the API's error shapes.

Services raise Django's ``ValidationError`` (field → messages) and ``PermissionDenied``;
views stay thin by letting them propagate. DRF already maps ``PermissionDenied`` and
``Http404``; this adds ``ValidationError`` → 400 with field errors and ``Conflict`` → 409.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from governance.errors import Conflict


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _as_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
        return exceptions.ValidationError(detail)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _as_drf(exc)
    elif isinstance(exc, Conflict):
        exc = ConflictError(exc.message, code=exc.code)
    return drf_exception_handler(exc, context)
