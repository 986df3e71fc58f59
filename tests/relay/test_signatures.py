"""Signature scheme, pinned with known-answer vectors, and route secret generation."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from webhook_relay.signatures import (
    SECRET_PREFIX,
    SignatureError,
    new_secret,
    secret_to_key,
    sign,
    verify,
)

# A fixed route secret (any `whsec_` value works: the registry generates them at random).
VECTOR_SECRET = "whsec_Nl3OCtNVhix9MSTy62nA0Hf7wwiGiN+zy8tuww7WaWA="

# The Standard Webhooks / svix published test vector.
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_800_000_000
KEY = secret_to_key(VECTOR_SECRET)
BODY = b'{"id":"msg_1","type":"customer.updated","object_id":"c1"}'


def test_new_secrets_are_32_random_bytes_in_whsec_form() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith(SECRET_PREFIX)
        assert len(secret_to_key(secret)) == 32
        Webhook(secret)  # the reference library accepts the format


def test_signature_known_answer() -> None:
    assert sign(secret_to_key(SW_SECRET), SW_ID, SW_TIMESTAMP, SW_BODY) == SW_SIGNATURE
    verify(
        [secret_to_key(SW_SECRET)],
        SW_ID,
        str(SW_TIMESTAMP),
        SW_SIGNATURE,
        SW_BODY,
        now=SW_TIMESTAMP,
    )


def test_standardwebhooks_library_agrees_both_ways() -> None:
    """A sender using the reference library with a route secret is accepted, and the
    reference library accepts what we sign."""
    reference = Webhook(VECTOR_SECRET)
    now = datetime.now(UTC)
    signature = reference.sign("msg_ref", now, BODY.decode())
    verify([KEY], "msg_ref", str(int(now.timestamp())), signature, BODY)

    ours = sign(KEY, "msg_ours", int(now.timestamp()), BODY)
    headers = {
        "webhook-id": "msg_ours",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": ours,
    }
    assert reference.verify(BODY, headers) == json.loads(BODY)


def _verify(signature: str, *, body: bytes = BODY, timestamp: str = str(NOW), keys=(KEY,)) -> None:
    verify(list(keys), "msg_1", timestamp, signature, body, now=NOW)


def test_valid_signature_passes() -> None:
    _verify(sign(KEY, "msg_1", NOW, BODY))


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered_body", "no_matching_signature"),
        ("wrong_secret", "no_matching_signature"),
        ("other_message_id", "no_matching_signature"),
        ("too_old", "timestamp_too_old"),
        ("too_new", "timestamp_too_new"),
        ("timestamp_not_a_number", "malformed_timestamp"),
        ("no_version_prefix", "malformed_signature"),
        ("unknown_version_only", "malformed_signature"),
        ("not_base64", "malformed_signature"),
        ("empty", "malformed_signature"),
    ],
)
def test_bad_signatures_are_rejected_with_a_reason(case: str, reason: str) -> None:
    good = sign(KEY, "msg_1", NOW, BODY)
    cases = {
        "tampered_body": dict(signature=good, body=BODY.replace(b"c1", b"c2")),
        "wrong_secret": dict(signature=sign(b"x" * 32, "msg_1", NOW, BODY)),
        "other_message_id": dict(signature=sign(KEY, "msg_2", NOW, BODY)),
        "too_old": dict(signature=sign(KEY, "msg_1", NOW - 301, BODY), timestamp=str(NOW - 301)),
        "too_new": dict(signature=sign(KEY, "msg_1", NOW + 301, BODY), timestamp=str(NOW + 301)),
        "timestamp_not_a_number": dict(signature=good, timestamp="2026-11-28T00:00:00Z"),
        "no_version_prefix": dict(signature=good.removeprefix("v1,")),
        "unknown_version_only": dict(signature=good.replace("v1,", "v2,")),
        "not_base64": dict(signature="v1,@@@not-base64@@@"),
        "empty": dict(signature=""),
    }
    with pytest.raises(SignatureError) as caught:
        _verify(**cases[case])
    assert caught.value.reason == reason


def test_timestamp_at_the_edge_of_the_window_passes() -> None:
    _verify(sign(KEY, "msg_1", NOW - 300, BODY), timestamp=str(NOW - 300))
    _verify(sign(KEY, "msg_1", NOW + 300, BODY), timestamp=str(NOW + 300))


def test_one_valid_signature_among_several_passes() -> None:
    wrong = "v1," + base64.b64encode(b"\0" * 32).decode()
    header = f"v2,abc {wrong} garbage {sign(KEY, 'msg_1', NOW, BODY)}"
    _verify(header)


def test_every_active_route_key_verifies_for_rotation() -> None:
    old_key = secret_to_key(new_secret())
    keys = (KEY, old_key)
    _verify(sign(old_key, "msg_1", NOW, BODY), keys=keys)
    _verify(sign(KEY, "msg_1", NOW, BODY), keys=keys)
    with pytest.raises(SignatureError):
        _verify(sign(old_key, "msg_1", NOW, BODY), keys=(KEY,))
