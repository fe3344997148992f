from __future__ import annotations

from django.core.exceptions import ValidationError
from rest_framework.test import APIRequestFactory

from governance.api.exceptions import exception_handler
from governance.errors import Conflict


def _context():
    return {"request": APIRequestFactory().get("/"), "view": None}


def test_conflict_is_409_with_reason():
    response = exception_handler(Conflict("已被他人认领。", code="claimed"), _context())
    assert response.status_code == 409
    assert response.data == {"detail": "已被他人认领。"}


def test_validation_error_is_400_with_field_errors():
    response = exception_handler(ValidationError({"phone": ["bad"], "__all__": ["x"]}), _context())
    assert response.status_code == 400
    assert response.data == {"phone": ["bad"], "non_field_errors": ["x"]}
