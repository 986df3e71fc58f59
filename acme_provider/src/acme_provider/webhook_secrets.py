"""Fingerprints of webhook signing secrets: tell secrets apart without revealing them.

`secret_fingerprint` is a short one-way digest that may be stored (e.g. in a webhook
subscription's metadata) to detect that the secret a subscription signs with has changed.
"""

from __future__ import annotations

import hashlib

FINGERPRINT_HEX_CHARS = 16


def secret_fingerprint(secret: str) -> str:
    """A short SHA-256 hex prefix of `secret`: tells secrets apart without revealing them."""
    return hashlib.sha256(secret.encode()).hexdigest()[:FINGERPRINT_HEX_CHARS]
