"""The thin event: what a webhook flow's DAG run receives, one entry per change.

A run's conf is `{"events": [{"id", "type", "object_id", "occurred_at"}, ...]}`: which objects
changed, not their contents; the flow re-reads the current state. The relay builds these
from what senders post; the flows read them. `event_problem` is the one check both apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EVENTS_CONF_KEY = "events"
THIN_EVENT_FIELDS = ("id", "type", "object_id", "occurred_at")
REQUIRED_FIELDS = ("type", "object_id")
MAX_FIELD_LENGTH = 256


def event_problem(event: Any) -> str | None:
    """Why `event` is not a usable thin event, or None if it is."""
    if not isinstance(event, Mapping):
        return f"must be an object, got {type(event).__name__}"
    for field in REQUIRED_FIELDS:
        value = event.get(field)
        if not isinstance(value, str) or not value:
            return f"{field} must be a non-empty string, got {value!r}"
        if len(value) > MAX_FIELD_LENGTH:
            return f"{field} must be at most {MAX_FIELD_LENGTH} characters"
    return None
