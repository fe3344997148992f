"""Secrets and signatures.

Every attempt is signed afresh: ``X-Governance-Signature: sha256=<hex>`` is the
HMAC-SHA256, keyed by the subscription's secret (its UTF-8 bytes, prefix included), of
``f"{timestamp}.".encode() + body``, where ``timestamp`` is ``X-Governance-Timestamp``
(Unix seconds) and ``body`` the exact bytes of the request body. Binding the timestamp
lets receivers refuse old requests replayed by someone who recorded one; the event id
(``X-Governance-Event-Id``, the body's ``id``) stays the same across retries and replays,
so receivers deduplicate by it. The verification recipe is in ``webhooks/README.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from governance import pii

SECRET_PREFIX = "whsec_"
SIGNATURE_SCHEME = "sha256"
USER_AGENT = "GridGovernance-Webhooks/1"


def new_secret() -> str:
    """A fresh secret: 32 random bytes, URL-safe, recognisable by its prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def seal(secret: str) -> tuple[str, str]:
    """What is stored: the encrypted secret and its last four characters."""
    return pii.encrypt(secret), secret[-4:]


def unseal(encrypted: str) -> str:
    return pii.decrypt(encrypted)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_SCHEME}={digest.hexdigest()}"


def headers(
    *, secret: str, timestamp: int, body: bytes, event_id: str, event_type: str, delivery_id: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Governance-Event-Id": event_id,
        "X-Governance-Event-Type": event_type,
        "X-Governance-Delivery-Id": str(delivery_id),
        "X-Governance-Timestamp": str(timestamp),
        "X-Governance-Signature": signature(secret, timestamp, body),
    }
