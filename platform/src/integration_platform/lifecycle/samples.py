"""Payloads for `test-flow`: sample thin events, or a user's payload file checked against the flow.

A webhook flow's run conf is `{"events": [{"id", "type", "object_id", "occurred_at"}]}`: thin
events, from which the flow re-reads current records from the source, so a sample only needs
plausible ids (the flow's `sample_object_ids`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import Flow, TriggerKind
from integration_platform.lifecycle.errors import InvalidRequest

EVENT_FIELDS = ("id", "type", "object_id", "occurred_at")


def _object_id(flow: Flow) -> str:
    """One of the flow's own sample ids (the integration knows its id format), else generic."""
    if flow.sample_object_ids:
        return secrets.choice(flow.sample_object_ids)
    return f"obj_{secrets.token_hex(8)}"


def sample_payload(flow: Flow, count: int = 1) -> dict[str, Any]:
    """A run conf for `flow`: thin events for webhook flows, empty for the others."""
    if flow.trigger is not TriggerKind.WEBHOOK:
        return {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    events = []
    for index in range(count):
        event_type = flow.events[index % len(flow.events)]
        events.append(
            {
                "id": f"evt_test_{secrets.token_hex(6)}",
                "type": event_type,
                "object_id": _object_id(flow),
                "occurred_at": now,
            }
        )
    return {"events": events}


def check_payload(flow: Flow, payload: Any, *, source: str) -> dict[str, Any]:
    """Validate a given payload for `flow`; webhook flows need well-formed thin events."""
    if not isinstance(payload, Mapping):
        raise InvalidRequest(source, [FieldError("(file)", "must be a JSON/YAML object")])
    if flow.trigger is not TriggerKind.WEBHOOK:
        return dict(payload)
    events = payload.get("events")
    if not isinstance(events, list) or not events:
        raise InvalidRequest(source, [FieldError("events", "required: a non-empty list of events")])
    errors: list[FieldError] = []
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            errors.append(FieldError(f"events.{index}", "must be an object"))
            continue
        errors.extend(
            FieldError(f"events.{index}.{name}", "required")
            for name in EVENT_FIELDS
            if not event.get(name)
        )
        if event.get("type") and event["type"] not in flow.events:
            errors.append(
                FieldError(
                    f"events.{index}.type",
                    f"{event['type']!r} does not trigger {flow.slug}; expected one of "
                    f"{', '.join(flow.events)}",
                )
            )
    if errors:
        raise InvalidRequest(source, errors)
    return dict(payload)


def load_payload_file(flow: Flow, path: Path) -> dict[str, Any]:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidRequest(source, [FieldError("(file)", error.strerror or str(error))]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InvalidRequest(
            source, [FieldError("(file)", f"not valid JSON/YAML: {error}")]
        ) from None
    return check_payload(flow, data, source=source)
