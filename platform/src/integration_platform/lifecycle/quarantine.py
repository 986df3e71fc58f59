"""An instance's quarantined events, from the two places that set events aside:

- the relay, at ingest: a signed event whose thin fields fail the event contract is stored
  but never batched (read per webhook route with the registrar token; re-checked with
  `webhook-relay quarantine replay` once the cause is fixed);
- the flows, at run time: an event a run could not use (malformed, or a type the flow does
  not handle) is recorded as the run's XCom `quarantined_events` (re-sent with
  `replay --mode quarantined`).

Both show only ids, thin fields and the reason, never a payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from integration_platform.integrations.events import SET_ASIDE_XCOM_KEY
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle.base import ServiceBase

DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class QuarantinedEntry:
    """One event set aside: where (`relay` or a flow's run), which one, and why."""

    source: Literal["relay", "flow"]
    flow: str
    reason: str
    event_id: str | None
    event_type: str | None
    object_id: str | None
    run_id: str | None = None  # flow: the run that set it aside
    relay_id: int | None = None  # relay: the id `webhook-relay quarantine replay` takes
    received_at: datetime | None = None  # relay: when it arrived
    dag_id: str | None = None  # flow: the run's DAG


@dataclass(frozen=True)
class QuarantineReport:
    instance_id: str
    relay: tuple[QuarantinedEntry, ...]
    flows: tuple[QuarantinedEntry, ...]
    relay_known: bool  # False: no relay configured, or it could not answer


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# Where each source keeps an event's id and type: the relay's rows and the flows' XCom records.
_ID_AND_TYPE_KEYS = {"relay": ("webhook_id", "event_type"), "flow": ("id", "type")}


def _entry(
    source: Literal["relay", "flow"], flow: str, record: Mapping[str, Any], **where: Any
) -> QuarantinedEntry:
    id_key, type_key = _ID_AND_TYPE_KEYS[source]
    return QuarantinedEntry(
        source=source,
        flow=flow,
        reason=str(record.get("reason") or ""),
        event_id=_text(record.get(id_key)),
        event_type=_text(record.get(type_key)),
        object_id=_text(record.get("object_id")),
        **where,
    )


def _relay_entry(flow: str, row: Mapping[str, Any]) -> QuarantinedEntry:
    received = row.get("received_at")
    return _entry(
        "relay",
        flow,
        row,
        relay_id=row.get("id") if isinstance(row.get("id"), int) else None,
        received_at=datetime.fromtimestamp(received, UTC)
        if isinstance(received, int | float)
        else None,
    )


def _flow_entries(flow: str, dag_id: str, run_id: str, value: Any) -> list[QuarantinedEntry]:
    records = value if isinstance(value, list) else []
    return [
        _entry("flow", flow, record, run_id=run_id, dag_id=dag_id)
        for record in records
        if isinstance(record, Mapping)
    ]


class Quarantine(ServiceBase):
    def quarantined(self, instance_id: str, *, limit: int = DEFAULT_LIMIT) -> QuarantineReport:
        """The newest `limit` quarantined events of each webhook flow, in the relay and in
        the flows' runs."""
        self.get_instance(instance_id)
        relay, known = self.relay_quarantined(instance_id, limit=limit)
        flows = self.flow_quarantined(instance_id, limit=limit)
        return QuarantineReport(instance_id, relay, flows, known)

    def relay_quarantined(
        self, instance_id: str, *, limit: int = DEFAULT_LIMIT
    ) -> tuple[tuple[QuarantinedEntry, ...], bool]:
        """The relay's quarantined events of the instance's routes, and whether the relay
        answered (False: not configured or down)."""
        by_flow = self.relay.quarantined(instance_id, limit)
        entries = [_relay_entry(flow, r) for flow, rows in (by_flow or {}).items() for r in rows]
        return tuple(entries), by_flow is not None

    def flow_quarantined(
        self, instance_id: str, *, limit: int = DEFAULT_LIMIT
    ) -> tuple[QuarantinedEntry, ...]:
        """Events the newest runs of each webhook flow set aside (one XCom listing per flow,
        then one read per run that set some aside)."""
        entries: list[QuarantinedEntry] = []
        for flow in self.integration.flows_triggered_by(TriggerKind.WEBHOOK):
            dag_id = self.integration.dag_id(instance_id, flow.slug)
            if self.airflow.get_dag(dag_id) is None:
                continue
            found = self.airflow.xcom_values(dag_id, SET_ASIDE_XCOM_KEY, limit)
            of_flow = [
                entry
                for run_id, _, value in found
                for entry in _flow_entries(flow.slug, dag_id, run_id, value)
            ]
            entries += of_flow[:limit]
        return tuple(entries)
