"""Fixed per-route secrets for tests that stand in for the relay's registry.

The relay generates every route's secret at random; tests of the Acme side only need
distinct, repeatable `whsec_` values, so they make them from a seed here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def route_secret(seed: str, route: str) -> str:
    digest = hmac.new(seed.encode(), route.encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode("ascii")
