"""Standard Webhooks signatures, as Acme sends them (https://www.standardwebhooks.com).

Signed with the reference `standardwebhooks` library, so the simulator signs exactly as a
conforming sender does and the relay's verification is tested against it, not against itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256(id.timestamp.body)>`."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return Webhook(secret).sign(message_id, when, body.decode("utf-8"))
