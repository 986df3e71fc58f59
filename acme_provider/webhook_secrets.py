"""Per-route webhook secrets, derived instead of stored.

A route's secret is `whsec_` + base64(HMAC-SHA256(signing key, route)), with route
`<integration>/<instance>/<flow slug>`. The relay derives the same value from the same key to
verify deliveries, so the secret itself is never written anywhere. `secret_fingerprint` is a
short one-way digest that may be stored (e.g. in subscription metadata) to detect drift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
FINGERPRINT_HEX_CHARS = 16


def route_secret(signing_key: str, route: str) -> str:
    """The Standard Webhooks secret Acme should sign `route`'s deliveries with."""
    if not signing_key:
        raise ValueError("signing_key must not be empty")
    if not route:
        raise ValueError("route must not be empty")
    digest = hmac.new(signing_key.encode(), route.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")


def secret_fingerprint(secret: str) -> str:
    """A short SHA-256 hex prefix of `secret`: tells secrets apart without revealing them."""
    return hashlib.sha256(secret.encode()).hexdigest()[:FINGERPRINT_HEX_CHARS]
