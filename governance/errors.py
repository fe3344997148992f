"""Domain errors shared by the apps' services, beside Django's ``ValidationError`` (bad
input → 400) and ``PermissionDenied`` (no right → 403)."""

from __future__ import annotations


class Conflict(Exception):
    """The request is valid but the object's current state does not allow it (→ 409),
    e.g. claiming a ticket someone else claimed a moment ago."""

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
