"""Recent executions of many DAGs at once, for the instance list and the instance page.

Two batch calls of REST API v2 (`dagRuns/list`, `taskInstances/list`) instead of one call per
flow and run, made with the lifecycle client (the caller's own token).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from integration_platform.integrations.model import Integration, TriggerKind
from integration_platform.lifecycle.airflow_api import API, AirflowClient, DagRun, TaskInstance
from integration_platform.plugins.views import RunRow

FAILED = ("failed", "upstream_failed")
BATCH = 100  # Airflow's default [api] maximum_page_limit


def recent_runs(client: AirflowClient, dag_ids: Sequence[str], limit: int) -> list[DagRun]:
    """The newest `limit` runs across `dag_ids`, newest first."""
    if not dag_ids:
        return []
    body = {"dag_ids": list(dag_ids), "order_by": "-run_after", "page_limit": limit}
    response = client.request("POST", f"{API}/dags/~/dagRuns/list", json=body)
    return [DagRun.from_api(item) for item in response.json().get("dag_runs", [])]


def latest_run_per_dag(client: AirflowClient, dag_ids: Sequence[str]) -> dict[str, DagRun]:
    """The newest run of each DAG that has one.

    One call covers every DAG whose latest run is among the newest `BATCH` runs overall;
    Airflow caps a page at 100 runs, so a DAG missing from a full page gets its own call.
    """
    batch = recent_runs(client, dag_ids, limit=BATCH)
    latest: dict[str, DagRun] = {}
    for run in batch:
        latest.setdefault(run.dag_id, run)
    if len(batch) >= BATCH:
        for dag_id in dag_ids:
            if dag_id not in latest and (runs := recent_runs(client, [dag_id], limit=1)):
                latest[dag_id] = runs[0]
    return latest


def log_tasks(client: AirflowClient, runs: Sequence[DagRun]) -> dict[tuple[str, str], str]:
    """Per run, the task whose log explains it: the first failed one, else the last to run."""
    if not runs:
        return {}
    body: dict[str, Any] = {
        "dag_ids": sorted({r.dag_id for r in runs}),
        "dag_run_ids": sorted({r.run_id for r in runs}),
        "page_limit": 1000,
    }
    response = client.request("POST", f"{API}/dags/~/dagRuns/~/taskInstances/list", json=body)
    by_run: dict[tuple[str, str], list[TaskInstance]] = {}
    for item in response.json().get("task_instances", []):
        key = (item["dag_id"], item["dag_run_id"])
        by_run.setdefault(key, []).append(TaskInstance.from_api(item))
    chosen = {}
    for key, tasks in by_run.items():
        failed = [t for t in tasks if t.state in FAILED and t.start_date]
        ran = sorted((t for t in tasks if t.start_date), key=lambda t: t.start_date)
        chosen[key] = (failed or ran[-1:] or tasks)[0].task_id
    return chosen


def trigger_label(integration: Integration, flow_slug: str, run: DagRun) -> str:
    """Why the run happened, in the words of the integration (not Airflow's run types)."""
    if run.run_id.startswith("test__"):
        return "test"
    trigger = integration.flow(flow_slug).trigger
    if trigger is TriggerKind.DEPLOY:
        return "deploy"
    if trigger is TriggerKind.REMOVE:
        return "remove"
    if trigger is TriggerKind.WEBHOOK and run.run_type == "manual":
        events = run.conf.get("events") if isinstance(run.conf, Mapping) else None
        count = len(events) if isinstance(events, list) else 0
        return f"webhook batch ({count} event{'s' if count != 1 else ''})" if count else "webhook"
    return run.run_type or "manual"


def run_rows(
    integration: Integration,
    flow_of_dag: Mapping[str, str],
    runs: Sequence[DagRun],
    log_task_ids: Mapping[tuple[str, str], str],
) -> list[RunRow]:
    rows = []
    for run in runs:
        slug = flow_of_dag[run.dag_id]
        rows.append(
            RunRow(
                flow_slug=slug,
                flow_name=integration.flow(slug).name,
                dag_id=run.dag_id,
                run_id=run.run_id,
                state=run.state,
                trigger=trigger_label(integration, slug, run),
                started=run.start_date or run.queued_at,
                duration=run.duration,
                log_task_id=log_task_ids.get((run.dag_id, run.run_id)),
            )
        )
    return rows
