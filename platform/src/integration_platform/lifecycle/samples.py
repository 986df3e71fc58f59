"""Payloads for `test-flow`: samples, or a user's payload file checked against the flow.

A webhook flow's run conf is `{"events": [{"id", "type", "object_id", "occurred_at"}]}`: thin
events, from which the flow re-reads current records from the source. A flow whose
integration supplies a `sample_source` is tested on real objects: the conf asks the flow to
take the source's most recently changed ones (`integrations.sampling`, in the worker, where
the connections are). Otherwise the sample uses the flow's `sample_object_ids`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integration_contracts.events import EVENTS_CONF_KEY, THIN_EVENT_FIELDS
from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import Flow, TriggerKind
from integration_platform.integrations.sampling import (
    DEFAULT_SAMPLE_SIZE,
    SAMPLE_CONF_KEY,
    sample_conf,
    sample_size,
    thin_events,
)
from integration_platform.lifecycle.documents import read_document
from integration_platform.lifecycle.errors import InvalidRequest

EVENT_FIELDS = THIN_EVENT_FIELDS


def _object_id(flow: Flow) -> str:
    """One of the flow's own sample ids (the integration knows its id format), else generic."""
    if flow.sample_object_ids:
        return secrets.choice(flow.sample_object_ids)
    return f"obj_{secrets.token_hex(8)}"


def sample_payload(flow: Flow, count: int = DEFAULT_SAMPLE_SIZE) -> dict[str, Any]:
    """A run conf for `flow`: the source's `count` latest changes (or thin events with sample
    ids) for webhook flows, empty for the others."""
    if flow.trigger is not TriggerKind.WEBHOOK:
        return {}
    if flow.sample_source is not None:
        return sample_conf(count)
    return {EVENTS_CONF_KEY: thin_events(flow, [_object_id(flow)])}


def check_payload(flow: Flow, payload: Any, *, source: str) -> dict[str, Any]:
    """Validate a given payload for `flow`; webhook flows need well-formed thin events."""
    if not isinstance(payload, Mapping):
        raise InvalidRequest(source, [FieldError("(file)", "must be a JSON/YAML object")])
    if flow.trigger is not TriggerKind.WEBHOOK:
        return dict(payload)
    if SAMPLE_CONF_KEY in payload:
        return _check_sample_request(flow, payload, source)
    events = payload.get(EVENTS_CONF_KEY)
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


def _check_sample_request(flow: Flow, payload: Mapping[str, Any], source: str) -> dict[str, Any]:
    """`{"sample_recent": N}`: test on the source's N latest changes, if the flow can."""
    try:
        count = sample_size(payload)
    except ValueError as error:
        raise InvalidRequest(source, [FieldError(SAMPLE_CONF_KEY, str(error))]) from None
    if flow.sample_source is None:
        reason = f"{flow.slug} cannot ask its source for recent objects; give events"
        raise InvalidRequest(source, [FieldError(SAMPLE_CONF_KEY, reason)])
    if payload.get(EVENTS_CONF_KEY):
        reason = f"give either events or {SAMPLE_CONF_KEY}"
        raise InvalidRequest(source, [FieldError(EVENTS_CONF_KEY, reason)])
    return sample_conf(count or DEFAULT_SAMPLE_SIZE)


def load_payload_file(flow: Flow, path: Path) -> dict[str, Any]:
    data = read_document(path)
    return check_payload(flow, data, source=str(path))
