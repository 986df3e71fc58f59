"""Thin webhook events (`integration_contracts.events`) as a webhook flow's DAG run reads them.

A flow de-duplicates the object ids and re-reads current state; events it cannot use are
quarantined with their reason, never allowed to fail the rest of the batch. The task records
them as its XCom `SET_ASIDE_XCOM_KEY` (index in the run's conf, id, type, object id, reason;
never anything else of the event), which the instance page lists and a replay re-sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Param

from integration_contracts.events import EVENTS_CONF_KEY, event_problem
from integration_platform.integrations.model import Flow

EVENTS_PARAM = EVENTS_CONF_KEY
SET_ASIDE_XCOM_KEY = "quarantined_events"
MAX_RECORDED_CHARS = 300  # of a reason or field: a record stays small, whatever was sent


def _text(value: Any) -> str | None:
    return value[:MAX_RECORDED_CHARS] if isinstance(value, str) else None


@dataclass(frozen=True)
class QuarantinedEvent:
    """An event set aside by a run: which one (index in the conf, id) and why."""

    index: int
    id: str | None
    reason: str
    type: str | None = None
    object_id: str | None = None

    @classmethod
    def of(cls, index: int, event: Any, reason: str) -> QuarantinedEvent:
        fields = event if isinstance(event, Mapping) else {}
        return cls(
            index,
            _text(fields.get("id")),
            reason[:MAX_RECORDED_CHARS],
            _text(fields.get("type")),
            _text(fields.get("object_id")),
        )

    def record(self) -> dict[str, Any]:
        """What the run keeps of it (XCom `SET_ASIDE_XCOM_KEY`): JSON, thin fields only."""
        return {
            "index": self.index,
            "id": self.id,
            "type": self.type,
            "object_id": self.object_id,
            "reason": self.reason,
        }


def record_set_aside(quarantined: Sequence[QuarantinedEvent]) -> None:
    """In a running task: keep the events it set aside as its XCom `SET_ASIDE_XCOM_KEY`, so
    they stay visible (instance page) and replayable after the task log is gone."""
    if not quarantined:
        return
    from airflow.sdk import get_current_context  # run time only

    ti = get_current_context()["ti"]
    ti.xcom_push(SET_ASIDE_XCOM_KEY, [event.record() for event in quarantined])


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
            quarantined.append(QuarantinedEvent.of(index, event, problem))
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
