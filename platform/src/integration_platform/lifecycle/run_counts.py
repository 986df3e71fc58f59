"""The counts a run's tasks returned (their XCom `return_value`), for test-flow's report.

Flows keep only counts in XCom (a sync returns fetched, created, updated, stale, missing,
quarantined, ...): a task's return value counts here if it is a mapping of names to whole
numbers. Anything else a task returns is none of the report's business and is not read out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.results import RunOutcome

HEADLINE = ("fetched", "created", "updated", "stale", "missing", "quarantined")
"""Shown first, in this order; other counts follow in the order the task returned them."""


def as_counts(value: Any) -> dict[str, int] | None:
    if not isinstance(value, Mapping) or not value:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
        return None
    ordered = {name: value[name] for name in HEADLINE if name in value}
    ordered.update({str(k): v for k, v in value.items() if k not in ordered})
    return ordered


def run_counts(airflow: AirflowClient, run: RunOutcome) -> dict[str, dict[str, int]]:
    """`{task id: counts}` for every successful task of `run` that returned counts."""
    counts: dict[str, dict[str, int]] = {}
    for task in run.tasks:
        if task.state != "success":
            continue
        found = as_counts(airflow.xcom_return_value(run.dag_id, run.run_id, task.task_id))
        if found is not None:
            counts[task.task_id] = found
    return counts
