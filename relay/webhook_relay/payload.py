"""What the relay accepts as a webhook body, and the thin event it reads from one.

Only canonical UTF-8 JSON objects are stored: `json.loads(bytes)` would silently accept
UTF-16 and UTF-32 bodies, decoded strings may hold NUL (PostgreSQL refuses it in text) or
lone surrogates (no UTF-8 encoding exists, so the store fails the whole write group), and
deep nesting makes the decoder raise RecursionError. Each of these is refused here, with a
reason, before anything reaches the writer.

The checks that cost a walk over the decoded object run only when a cheap scan of the raw
bytes says they might matter (a `\\u0000` or `\\uD800`-`\\uDFFF` escape, more brackets than
the depth limit), so an ordinary event pays for one strict decode and one `json.loads`.

Thin fields follow `integration_contracts.events`: an event whose fields fail
`event_problem` is still stored (it was signed and received) but quarantined with the reason,
never batched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from integration_contracts.events import event_problem

DEFAULT_MAX_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")
_RISKY_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT_LIMITS = {"event_type": 200, "object_id": 255, "occurred_at": 64}


class PayloadError(ValueError):
    """The body is not a canonical UTF-8 JSON object; `str(exc)` is the reason (400)."""


@dataclass(frozen=True, slots=True)
class ThinFields:
    """The columns an event is stored with, and why it is quarantined (None: it is not)."""

    event_type: str | None
    object_id: str | None
    occurred_at: str | None
    problem: str | None


def parse_body(raw: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> dict[str, Any]:
    """The decoded JSON object, or `PayloadError` naming what is wrong."""
    if b"\x00" in raw:
        raise PayloadError("body must be UTF-8 JSON without NUL bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("body must be UTF-8 encoded") from None
    if text.startswith("\ufeff"):
        raise PayloadError("body must be UTF-8 without a byte order mark")
    if raw.count(b"[") + raw.count(b"{") > max_depth and _depth(raw) > max_depth:
        raise PayloadError(f"body is nested deeper than {max_depth} levels")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError("body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise PayloadError("body must be a JSON object")
    if _RISKY_ESCAPE.search(raw):
        _check_strings(payload)
    return payload


def thin_fields(payload: dict[str, Any]) -> ThinFields:
    """type / object_id / occurred_at, falling back to the Standard Webhooks payload shape
    (`type`, `timestamp`, `data.id`) so the relay stays generic; `problem` is the contract's
    verdict on them."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    candidate = {
        "type": payload.get("type"),
        "object_id": payload.get("object_id", data.get("id")),
        "occurred_at": payload.get("occurred_at", payload.get("timestamp")),
    }
    return ThinFields(
        event_type=_short(candidate["type"], _TEXT_LIMITS["event_type"]),
        object_id=_short(candidate["object_id"], _TEXT_LIMITS["object_id"]),
        occurred_at=_short(candidate["occurred_at"], _TEXT_LIMITS["occurred_at"]),
        problem=event_problem(candidate),
    )


def recheck(stored_payload: str) -> ThinFields:
    """Thin fields of a stored event read again (a quarantine replay after a fix)."""
    try:
        return thin_fields(parse_body(stored_payload.encode("utf-8")))
    except (PayloadError, UnicodeEncodeError) as exc:
        return ThinFields(None, None, None, f"stored payload unreadable: {exc}")


def _short(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text[:limit]


def _depth(raw: bytes) -> int:
    """Deepest bracket nesting outside string literals (iterative: no recursion limit)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b'""', raw)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _check_strings(payload: Any) -> None:
    """Refuse NUL characters and lone surrogates in any key or string value."""
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                raise PayloadError("JSON strings must not contain NUL (\\u0000)")
            if _SURROGATE.search(item):
                raise PayloadError("JSON strings must not contain lone surrogates")
