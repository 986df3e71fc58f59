"""Per-route webhook secrets, derived instead of stored.

A route's secret is `whsec_` + base64(HMAC-SHA256(signing key, route)), with route
`<integration>/<instance>/<flow slug>`. The platform hands it to the webhook sender at deploy;
the relay derives the same value from the same key to verify deliveries, so the secret
itself is never written anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)


def route_secret(signing_key: str, route: str) -> str:
    """The Standard Webhooks secret a sender should sign `route`'s deliveries with."""
    if not signing_key:
        raise ValueError("signing_key must not be empty")
    if not route:
        raise ValueError("route must not be empty")
    digest = hmac.new(signing_key.encode(), route.encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(digest).decode("ascii")
