"""Thin webhook events (`integration_contracts.events`) as a webhook flow's DAG run reads them.

A flow de-duplicates the object ids and re-reads current state; events it cannot use are
quarantined with their reason, never allowed to fail the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Param

from integration_contracts.events import EVENTS_CONF_KEY, event_problem
from integration_platform.integrations.model import Flow

EVENTS_PARAM = EVENTS_CONF_KEY


@dataclass(frozen=True)
class QuarantinedEvent:
    """An event set aside by a run: which one (index, id) and why."""

    index: int
    id: str | None
    reason: str


@dataclass(frozen=True)
class ChangedObjects:
    """The unique object ids of a batch of events, in first-seen order, and what was set aside."""

    object_ids: list[str]
    events: int
    quarantined: list[QuarantinedEvent]

    def counts(self) -> dict[str, int]:
        return {
            "events": self.events,
            "objects": len(self.object_ids),
            "quarantined": len(self.quarantined),
        }


def changed_objects(events: Any, accepted_types: Iterable[str]) -> ChangedObjects:
    """The unique object ids of a batch of thin events, setting bad events aside.

    One malformed event (not an object, no `object_id`, a type this flow does not handle)
    must never cost the valid events of its batch: it is quarantined with its reason and the
    rest are synced. Only a conf that is not a list at all is refused as a whole.
    """
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        raise ValueError(
            f"conf.{EVENTS_CONF_KEY} must be a list of events, got {type(events).__name__}"
        )
    accepted = frozenset(accepted_types)
    ids: dict[str, None] = {}
    quarantined: list[QuarantinedEvent] = []
    for index, event in enumerate(events):
        problem = event_problem(event)
        if problem is None and event["type"] not in accepted:
            problem = f"type {event['type']!r} is not handled by this flow"
        if problem is not None:
            event_id = event.get("id") if isinstance(event, Mapping) else None
            quarantined.append(
                QuarantinedEvent(index, event_id if isinstance(event_id, str) else None, problem)
            )
            continue
        ids.setdefault(event["object_id"], None)
    return ChangedObjects(list(ids), len(events), quarantined)


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
    # quarantines a bad event with its index and reason and syncs the rest.
    return Param(
        [example],
        type="array",
        title="Events",
        description=(
            f"Thin events ({', '.join(flow.events)}) as the relay sends them; the flow fetches "
            "the current state of every object id from the source. Unknown ids count as missing."
        ),
    )
