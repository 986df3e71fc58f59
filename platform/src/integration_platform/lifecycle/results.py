"""What the lifecycle's use cases return: plain frozen dataclasses, printed by the CLI
(tables or `--json`) and rendered by the UI."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from integration_platform.integrations.drift import RepairReport
from integration_platform.integrations.instances import Instance

Progress = Callable[[str], None]
"""Receives one short human line per step, never a secret."""
DeployOutcome = Literal["deployed", "unchanged", "failed"]


def quiet(_message: str) -> None:
    """The `Progress` of a caller that shows none."""
    return None


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str | None
    duration: float | None
    log_url: str
    try_number: int = 0


@dataclass(frozen=True)
class RunOutcome:
    """A finished (or timed out) run, its tasks, and the first failed task if any."""

    dag_id: str
    run_id: str
    state: str
    url: str
    tasks: tuple[TaskOutcome, ...] = ()
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed_task(self) -> TaskOutcome | None:
        return next((t for t in self.tasks if t.state in ("failed", "upstream_failed")), None)

    def failure_reason(self, what: str, error: str | None = None) -> tuple[str, str]:
        """`(reason, log URL)` for an unsuccessful run; `error` is the failed task's exception."""
        if self.timed_out:
            return f"{what} run {self.run_id} still {self.state} after the timeout", self.url
        task = self.failed_task
        if task is None:
            return f"{what} run {self.run_id} ended {self.state}", self.url
        reason = f"{what} run {self.run_id} failed in task {task.task_id}"
        return (f"{reason}: {error}" if error else reason), task.log_url


@dataclass(frozen=True)
class DeployResult:
    instance: Instance
    outcome: DeployOutcome
    webhook_urls: Mapping[str, str] = field(default_factory=dict)
    run: RunOutcome | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass(frozen=True)
class RemoveResult:
    instance_id: str
    removed: bool
    run: RunOutcome | None = None
    reason: str | None = None
    log_url: str | None = None
    deleted_connections: tuple[str, ...] = ()
    discarded_events: int = 0  # held in the relay, discarded when its routes were retired
    cleared_runs: int = 0  # queued runs marked failed before they started
    failed_runs: int = 0  # running runs marked failed after the drain timeout


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    state: str
    run_type: str
    start_date: datetime | None
    duration: float | None
    url: str


@dataclass(frozen=True)
class DriftCheck:
    """One finished run of a repair flow: when, how it ended, and what it repaired."""

    run_id: str
    state: str  # success, failed, or skipped (the instance was not active)
    checked_at: datetime | None
    url: str
    report: RepairReport | None = None  # None unless the repair ran to its end

    @property
    def summary(self) -> str:
        if self.report is not None:
            return self.report.summary
        return "failed" if self.state == "failed" else "skipped (the instance was not active)"


@dataclass(frozen=True)
class DriftStatus:
    """A repair flow's newest finished check, and its newest check that repaired something."""

    last_check: DriftCheck | None = None
    last_repair: DriftCheck | None = None


@dataclass(frozen=True)
class FlowReport:
    slug: str
    name: str
    trigger: str
    dag_id: str
    exists: bool
    paused: bool | None
    webhook_url: str | None
    recent_runs: tuple[RunSummary, ...] = ()
    held_events: int | None = None  # events the relay holds for this flow (None: unknown)
    drift: DriftStatus | None = None  # repair flows only


@dataclass(frozen=True)
class InstanceReport:
    instance: Instance
    flows: tuple[FlowReport, ...]

    @property
    def paused(self) -> bool:
        states = [flow.paused for flow in self.flows if flow.exists]
        return bool(states) and all(states)


@dataclass(frozen=True)
class FlowTestResult:
    instance_id: str
    flow: str
    conf: Mapping[str, Any]
    run: RunOutcome
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """`{task id: {count: n}}`: what each task that returned counts (its XCom) did, e.g. a
    sync's fetched, created, updated, stale, missing and quarantined."""


@dataclass(frozen=True)
class ReplayItem:
    """One run a replay matched: what it re-runs (its tasks) or re-sends (its events)."""

    flow: str
    dag_id: str
    run_id: str
    state: str
    tasks: tuple[str, ...]
    dry_run: bool
    mode: str = "tasks"
    events: tuple[Mapping[str, Any], ...] = ()
