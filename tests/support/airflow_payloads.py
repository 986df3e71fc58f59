"""Complete REST API v2 answers for stub Airflows: the official client validates every field
its schema requires, so a stub answer carries them all (with plain defaults), as a real
Airflow 3.3 does. Tests name only the fields their promise is about."""

from __future__ import annotations

import uuid
from typing import Any

WHEN = "2026-01-31T12:00:00+00:00"


def dag(dag_id: str, **fields: Any) -> dict[str, Any]:
    """A `DAGResponse`; `tags` may be given as plain names."""
    tags = [tag if isinstance(tag, dict) else {"name": tag} for tag in fields.pop("tags", [])]
    return {
        "dag_id": dag_id,
        "dag_display_name": dag_id,
        "file_token": "",
        "fileloc": "",
        "has_import_errors": False,
        "has_task_concurrency_limits": False,
        "is_backfillable": False,
        "is_paused": False,
        "is_stale": False,
        "max_active_tasks": 16,
        "max_consecutive_failed_dag_runs": 0,
        "owners": ["airflow"],
        "timetable_partitioned": False,
        "timetable_periodic": False,
        "tags": [{"dag_id": dag_id, "dag_display_name": dag_id, **tag} for tag in tags],
        **fields,
    }


def dag_run(dag_id: str, run_id: str, **fields: Any) -> dict[str, Any]:
    """A `DAGRunResponse`."""
    return {
        "dag_id": dag_id,
        "dag_display_name": dag_id,
        "dag_run_id": run_id,
        "dag_versions": [],
        "run_after": WHEN,
        "run_type": "manual",
        "state": "queued",
        **fields,
    }


def task_instance(dag_id: str, run_id: str, task_id: str, **fields: Any) -> dict[str, Any]:
    """A `TaskInstanceResponse`."""
    return {
        "id": str(uuid.uuid4()),
        "dag_id": dag_id,
        "dag_display_name": dag_id,
        "dag_run_id": run_id,
        "task_id": task_id,
        "task_display_name": task_id,
        "executor_config": "{}",
        "map_index": -1,
        "max_tries": 0,
        "pool": "default_pool",
        "pool_slots": 1,
        "run_after": WHEN,
        "try_number": 1,
        **fields,
    }


def xcom(dag_id: str, run_id: str, task_id: str, value: Any) -> dict[str, Any]:
    """A native (deserialized) `XComResponse` of the return value."""
    return {
        "dag_id": dag_id,
        "dag_display_name": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "task_display_name": task_id,
        "key": "return_value",
        "map_index": -1,
        "run_after": WHEN,
        "timestamp": WHEN,
        "value": value,
    }
