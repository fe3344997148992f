"""Personal data at rest: encryption of identity numbers and keyed lookup hashes.

A database dump alone must not reveal an ID-card number. Each number is stored twice,
neither time in clear: Fernet-encrypted (AES-128-CBC + HMAC, random IV) for the few
reads that need it whole, and as a keyed HMAC-SHA256 for uniqueness and lookup (an
import matches residents by ID number without decrypting anything).

Keys come from ``settings.PII_KEYS`` (newest first). The newest encrypts, all decrypt,
so keys rotate by prepending a new one (and re-encrypting at leisure). The lookup hash
is keyed by the *oldest* key, so prepending a key does not change any hash. In
development, with no keys set, a key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _keys() -> tuple[bytes, ...]:
    configured = tuple(k.encode() for k in getattr(settings, "PII_KEYS", []) if k)
    if configured:
        return configured
    derived = hashlib.sha256(b"pii-dev-key:" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(derived),)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PII_KEYS must be Fernet keys (32 url-safe base64 bytes)."
        ) from exc


def encrypt(value: str) -> str:
    return _fernet(_keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("A stored value cannot be decrypted with PII_KEYS.") from exc


def lookup_hash(value: str) -> str:
    """A keyed hash for equality lookups; the same value always gives the same hash."""
    key = hashlib.sha256(b"pii-lookup:" + _keys()[-1]).digest()
    return hmac.new(key, value.upper().encode(), hashlib.sha256).hexdigest()
