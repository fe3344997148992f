"""Idempotency keys for every unsafe request: the API's creates and actions, Open311's
POST, and the phone pages' forms (the offline queue replays what it could not confirm).

A request carries its key in the ``Idempotency-Key`` header, or, from an HTML form, in
the hidden field ``idempotency_key``. The first request with a key runs normally, in one
transaction with the row that remembers its answer; a replay with the same key and the
same request gets that answer again (header ``Idempotent-Replayed: true``) and changes
nothing; the same key with another request is a 409.

Why one transaction: a replay that arrives while the first is still running waits on the
key's unique index (PostgreSQL) or the write lock (SQLite) and then reads the committed
answer, so concurrent replays still make one object. Only successful answers (below 400)
are kept: a request that failed changed nothing, so sending it again (corrected, even) is
a new attempt. Keys belong to the credential that sent them (token, ``api_key``, signed-in
user, or anonymous) and are forgotten after ``IDEMPOTENCY_KEY_TTL``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from governance.idempotency.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
FORM_FIELD = "idempotency_key"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
IGNORED_FORM_FIELDS = frozenset({FORM_FIELD, "csrfmiddlewaretoken"})
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"


def _digest(*parts: bytes | str) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part.encode() if isinstance(part, str) else part)
        sha.update(b"\0")
    return sha.hexdigest()


def _is_form(request: HttpRequest) -> bool:
    return (request.content_type or "") in FORM_TYPES


def request_key(request: HttpRequest) -> str:
    """The key the client sent, from the header or (forms only) the hidden field."""
    key = request.META.get(HEADER, "")
    if not key and _is_form(request):
        key = request.POST.get(FORM_FIELD, "")
    return key.strip()


def key_error(key: str) -> str | None:
    if len(key) > MAX_KEY_LENGTH:
        return _("An idempotency key has at most %(max)d characters.") % {"max": MAX_KEY_LENGTH}
    if not key.isascii() or not key.isprintable():
        return _("An idempotency key is made of printable ASCII characters.")
    return None


def request_owner(request: HttpRequest) -> str:
    """Whose key it is: the credential, never the key alone."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        return "auth:" + _digest(authorization)[:58]
    api_key = request.GET.get("api_key") or (_is_form(request) and request.POST.get("api_key"))
    if api_key:
        return "key:" + _digest(api_key)[:59]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


def _form_digest(request: HttpRequest) -> str:
    """Fields and file contents, not the raw body: a browser that sends the same form
    again picks another multipart boundary."""
    parts: list[str] = []
    for name in sorted(request.POST):
        if name not in IGNORED_FORM_FIELDS:
            parts.append(f"{name}={request.POST.getlist(name)!r}")
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            sha = hashlib.sha256()
            for chunk in upload.chunks():
                sha.update(chunk)
            upload.seek(0)
            parts.append(f"{name}:{upload.size}:{sha.hexdigest()}")
    return _digest(*parts)


def _body_digest(request: HttpRequest) -> str:
    body = request.body
    if (request.content_type or "").endswith("json"):
        # not JSON after all: the bytes themselves
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    return _digest(body)


def request_fingerprint(request: HttpRequest) -> str:
    content = _form_digest(request) if _is_form(request) else _body_digest(request)
    return _digest(request.method, request.get_full_path(), content)


def _replay(record: IdempotencyRecord, fingerprint: str) -> HttpResponse:
    if record.fingerprint != fingerprint:
        return JsonResponse(
            {"detail": _("This idempotency key was already used for a different request.")},
            status=409,
        )
    response = HttpResponse(
        bytes(record.body), status=record.status_code, content_type=record.content_type or None
    )
    if record.location:
        response["Location"] = record.location
    response[REPLAYED_HEADER] = "true"
    return response


def _keep(record: IdempotencyRecord, response: HttpResponse) -> None:
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")[:100]
    record.location = response.get("Location", "")[:500]
    record.body = response.content
    record.save(update_fields=["status_code", "content_type", "location", "body"])


def _is_kept(response: HttpResponse) -> bool:
    return response.status_code < 400 and not response.streaming


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in UNSAFE_METHODS:
            return self.get_response(request)
        key = request_key(request)
        if not key:
            return self.get_response(request)
        if (error := key_error(key)) is not None:
            return JsonResponse({"Idempotency-Key": [error]}, status=400)
        return self._once(request, key)

    def _once(self, request: HttpRequest, key: str) -> HttpResponse:
        owner, fingerprint = request_owner(request), request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        fingerprint=fingerprint,
                        method=request.method,
                        path=request.path[:500],
                    )
            except IntegrityError:
                # Committed by an earlier request (we waited for it if it was running).
                return _replay(IdempotencyRecord.objects.get(owner=owner, key=key), fingerprint)
            response = self.get_response(request)
            if _is_kept(response):
                _keep(record, response)
            else:
                record.delete()  # nothing to replay: a retry is a new attempt
            return response
