"""Standard Webhooks signatures (https://www.standardwebhooks.com), modelled on svix's
`webhooks.py`: raw bytes in, constant-time comparison, several signatures per header.

Route secrets are derived, never stored (DESIGN.md):
`whsec_` + base64(HMAC-SHA256(signing key, "<integration>/<instance>/<flow>")).
Known-answer vector (pinned in tests/relay/test_signatures.py, shared with acme_provider):
signing key "relay-test-key-1", route "acme-erp/shop-1/sync-customer-data" ->
"whsec_Nl3OCtNVhix9MSTy62nA0Hf7wwiGiN+zy8tuww7WaWA=".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
MAX_SIGNATURES = 10


class SignatureError(Exception):
    """Verification failed; `reason` is a metric label, never shown to the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def derive_route_key(signing_key: str, route_path: str) -> bytes:
    """The raw HMAC key of a route (what `whsec_` encodes)."""
    return hmac.new(
        signing_key.encode("utf-8"), route_path.encode("utf-8"), hashlib.sha256
    ).digest()


def derive_route_secret(signing_key: str, route_path: str) -> str:
    """The `whsec_…` secret a sender uses for `route_path` (`integration/instance/flow`)."""
    return SECRET_PREFIX + base64.b64encode(derive_route_key(signing_key, route_path)).decode()


def secret_to_key(secret: str) -> bytes:
    """Decode a `whsec_…` secret into raw key bytes."""
    body = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(body + "=" * (-len(body) % 4))


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature over `{id}.{timestamp}.{body}`."""
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _parse_timestamp(raw: str, tolerance: int, now: float) -> int:
    if not raw.isdigit() or len(raw) > 12:
        raise SignatureError("malformed_timestamp")
    timestamp = int(raw)
    if timestamp < now - tolerance:
        raise SignatureError("timestamp_too_old")
    if timestamp > now + tolerance:
        raise SignatureError("timestamp_too_new")
    return timestamp


def _candidate_signatures(header: str) -> Iterable[bytes]:
    for entry in header.split(" ")[:MAX_SIGNATURES]:
        version, sep, value = entry.partition(",")
        if version != "v1" or not sep:
            continue
        try:
            yield base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue


def verify(
    keys: Sequence[bytes],
    msg_id: str,
    timestamp: str,
    signature_header: str,
    body: bytes,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> None:
    """Raise `SignatureError` unless one `v1` signature matches one of `keys`."""
    ts = _parse_timestamp(timestamp, tolerance, time.time() if now is None else now)
    signed = f"{msg_id}.{ts}.".encode() + body
    expected = [hmac.digest(key, signed, "sha256") for key in keys]  # C one-shot: fastest
    found_any = False
    for candidate in _candidate_signatures(signature_header):
        found_any = True
        # Compare against every key, always, so timing does not reveal which key matched.
        if any([hmac.compare_digest(candidate, e) for e in expected]):
            return
    raise SignatureError("no_matching_signature" if found_any else "malformed_signature")
