"""Standard Webhooks signatures, as Acme sends them (https://www.standardwebhooks.com)."""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def signing_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part of `whsec_<base64>`."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256(id.timestamp.body)>`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
