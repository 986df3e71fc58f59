"""What the pages show, as plain data: built from the lifecycle service's answers.

Templates only read these; they never call the service or Airflow themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from integration_platform.lifecycle.quarantine import QuarantinedEntry


@dataclass(frozen=True)
class RunRow:
    """One execution of one flow."""

    flow_slug: str
    flow_name: str
    dag_id: str
    run_id: str
    state: str
    trigger: str  # webhook batch, deploy, test, manual, ...
    started: datetime | None
    duration: float | None
    log_task_id: str | None = None  # the task whose log explains the outcome


@dataclass(frozen=True)
class FlowCell:
    slug: str
    name: str
    trigger: str
    dag_id: str
    paused: bool | None = None
    last_run: RunRow | None = None


@dataclass(frozen=True)
class InstanceRow:
    id: str
    customer: str
    state: str
    generation: int
    paused: bool
    flows: tuple[FlowCell, ...]


@dataclass(frozen=True)
class SettingRow:
    """One config value or connection field as shown: secrets are masked before they get here."""

    label: str
    value: str
    secret: bool = False
    mono: bool = False


@dataclass(frozen=True)
class ConnectionBlock:
    label: str
    conn_id: str
    fields: tuple[SettingRow, ...]


@dataclass(frozen=True)
class WebhookRow:
    flow_slug: str
    flow_name: str
    events: tuple[str, ...]
    url: str
    held_events: int | None = (
        None  # held in the relay (paused, or waiting for a run); None: unknown
    )


@dataclass(frozen=True)
class DriftLine:
    label: str  # last check, last repair
    text: str  # "2026-12-01 12:00:00 UTC, repaired: 1 missing, 1 changed"
    run_url: str
    state: str


@dataclass(frozen=True)
class DriftRow:
    """One repair flow: how often it checks, and what its last checks found."""

    flow_slug: str
    flow_name: str
    schedule: str
    lines: tuple[DriftLine, ...]


@dataclass(frozen=True)
class InstanceDetail:
    row: InstanceRow
    integration_name: str
    status_reason: str | None
    status_log_url: str | None
    settings: tuple[SettingRow, ...]
    connections: tuple[ConnectionBlock, ...]
    webhooks: tuple[WebhookRow, ...]
    runs: tuple[RunRow, ...]
    testable_flows: tuple[FlowCell, ...] = field(default_factory=tuple)
    drift: tuple[DriftRow, ...] = field(default_factory=tuple)
    quarantined: tuple[QuarantinedEntry, ...] = ()  # relay's first, then the flows' runs'
    quarantine_problems: tuple[str, ...] = ()  # a source that could not be read, and why
