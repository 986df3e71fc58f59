"""Thin webhook events as the relay hands them to a webhook flow's DAG run.

A run's conf is `{"events": [{"id", "type", "object_id", "occurred_at"}, ...]}`: which objects
changed, not their contents. A flow de-duplicates the object ids and re-reads current state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Param

from integration_platform.integrations.model import Flow

EVENTS_PARAM = "events"


@dataclass(frozen=True)
class ChangedObjects:
    """The unique object ids of a batch of events, in first-seen order, and what was dropped."""

    object_ids: list[str]
    events: int
    ignored: int  # events of a type this flow does not handle

    def counts(self) -> dict[str, int]:
        return {"events": self.events, "objects": len(self.object_ids), "ignored": self.ignored}


def changed_objects(events: Any, accepted_types: Iterable[str]) -> ChangedObjects:
    """Validate a batch of thin events and return its unique object ids.

    Raises ValueError naming the first bad event and field, so a malformed run fails fast.
    """
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise ValueError(
            f"conf.{EVENTS_PARAM} must be a list of events, got {type(events).__name__}"
        )
    accepted = frozenset(accepted_types)
    ids: dict[str, None] = {}
    ignored = 0
    for index, event in enumerate(events):
        where = f"conf.{EVENTS_PARAM}[{index}]"
        if not isinstance(event, Mapping):
            raise ValueError(f"{where} must be an object, got {type(event).__name__}")
        for field in ("type", "object_id"):
            value = event.get(field)
            if not isinstance(value, str) or not value:
                raise ValueError(f"{where}.{field} must be a non-empty string, got {value!r}")
        if event["type"] not in accepted:
            ignored += 1
            continue
        ids.setdefault(event["object_id"], None)
    return ChangedObjects(list(ids), len(events), ignored)


def events_param(flow: Flow) -> Param:
    """The trigger form of a webhook flow: a list of thin events, pre-filled with an example."""
    example = {
        "id": "evt_example",
        "type": flow.events[-1],
        "object_id": flow.sample_object_ids[0] if flow.sample_object_ids else "obj_example",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }
    # Only "an array" is declared: Airflow re-validates a Param's schema (and the schema itself)
    # every time it serialises the DAG, and a full per-event schema made that 8x slower for
    # 1,000 instances. Each event is checked where it is used, by `changed_objects`, which
    # fails the run at once with the event's index and field.
    return Param(
        [example],
        type="array",
        title="Events",
        description=(
            f"Thin events ({', '.join(flow.events)}) as the relay sends them; the flow fetches "
            "the current state of every object id from the source. Unknown ids count as missing."
        ),
    )
