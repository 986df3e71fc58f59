"""The few facts of Airflow's DAGs, runs and task instances the lifecycle reads.

Small frozen records instead of the official client's pydantic models, so callers (the
service, the CLI, the UI plugin) depend on what they use rather than on a generated schema.
Each record is built from a client model (`from_model`) or from the same JSON (`from_api`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Self

TERMINAL_RUN_STATES = frozenset({"success", "failed"})
FAILED_TASK_STATES = frozenset({"failed", "upstream_failed"})


def _dt(value: str | datetime | None) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if value else None


def _text(value: Any) -> str:
    """An enum of the client (`DagRunState.SUCCESS`) or a plain string, as its value."""
    return str(value.value if isinstance(value, Enum) else value)


def _tag_name(tag: Any) -> str:
    return tag["name"] if isinstance(tag, Mapping) else tag.name


@dataclass(frozen=True)
class Dag:
    dag_id: str
    is_paused: bool
    is_stale: bool
    file_token: str
    fileloc: str
    tags: tuple[str, ...]
    last_parsed_time: datetime | None
    has_import_errors: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            dag_id=data["dag_id"],
            is_paused=bool(data.get("is_paused")),
            is_stale=bool(data.get("is_stale")),
            file_token=data.get("file_token") or "",
            fileloc=data.get("fileloc") or "",
            tags=tuple(sorted(_tag_name(tag) for tag in data.get("tags") or [])),
            last_parsed_time=_dt(data.get("last_parsed_time")),
            has_import_errors=bool(data.get("has_import_errors")),
        )

    @classmethod
    def from_model(cls, dag: Any) -> Self:
        """From the client's `DAGResponse`."""
        return cls.from_api(vars(dag))


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    run_type: str
    queued_at: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    conf: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            dag_id=data["dag_id"],
            run_id=data["dag_run_id"],
            state=_text(data["state"]),
            run_type=_text(data.get("run_type") or ""),
            queued_at=_dt(data.get("queued_at")),
            start_date=_dt(data.get("start_date")),
            end_date=_dt(data.get("end_date")),
            duration=data.get("duration"),
            conf=data.get("conf") or {},
        )

    @classmethod
    def from_model(cls, run: Any) -> Self:
        """From the client's `DAGRunResponse`."""
        return cls.from_api(vars(run))

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_RUN_STATES


@dataclass(frozen=True)
class TaskInstance:
    task_id: str
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    map_index: int = -1
    dag_id: str = ""
    run_id: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Self:
        state = data.get("state")
        return cls(
            task_id=data["task_id"],
            state=None if state is None else _text(state),
            try_number=int(data.get("try_number") or 0),
            start_date=_dt(data.get("start_date")),
            end_date=_dt(data.get("end_date")),
            duration=data.get("duration"),
            map_index=int(data.get("map_index", -1)),
            dag_id=data.get("dag_id") or "",
            run_id=data.get("dag_run_id") or "",
        )

    @classmethod
    def from_model(cls, ti: Any) -> Self:
        """From the client's `TaskInstanceResponse`."""
        return cls.from_api(vars(ti))

    @property
    def failed(self) -> bool:
        return self.state in FAILED_TASK_STATES


def last_error(log_lines: Sequence[Any]) -> str | None:
    """`ExceptionType: message` of the last error in a structured task log (Airflow 3 JSON)."""
    for line in reversed(log_lines):
        if not isinstance(line, Mapping) or line.get("level") not in ("error", "critical"):
            continue
        details = [d for d in line.get("error_detail") or [] if isinstance(d, Mapping)]
        if details:
            detail = next((d for d in details if not d.get("is_cause")), details[0])
            return f"{detail.get('exc_type')}: {detail.get('exc_value')}"[:500]
        return str(line.get("event"))[:500]
    return None
