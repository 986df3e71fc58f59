"""What an instance's repair flow last found: read from its runs' `repair_report` XComs."""

from __future__ import annotations

from integration_platform.integrations.drift import REPORT_TASK_ID, repair_report_of
from integration_platform.lifecycle.airflow_api import AirflowClient, DagRun
from integration_platform.lifecycle.results import DriftCheck, DriftStatus

LOOK_BACK_RUNS = 5
"""How many finished checks to look through for the newest one that repaired something."""


def _check(airflow: AirflowClient, run: DagRun) -> DriftCheck:
    report = None
    if run.state == "success":
        report = repair_report_of(airflow.xcom_return_value(run.dag_id, run.run_id, REPORT_TASK_ID))
    state = run.state if run.state != "success" or report is not None else "skipped"
    return DriftCheck(
        run_id=run.run_id,
        state=state,
        checked_at=run.end_date or run.start_date,
        url=airflow.run_url(run.dag_id, run.run_id),
        report=report,
    )


def drift_status(airflow: AirflowClient, dag_id: str) -> DriftStatus:
    """The newest finished check, and the newest of the last few that repaired something."""
    runs = airflow.list_dag_runs(dag_id, states=["success", "failed"], limit=LOOK_BACK_RUNS)
    if not runs:
        return DriftStatus()
    last = _check(airflow, runs[0])
    if last.report is not None and last.report.repaired:
        return DriftStatus(last_check=last, last_repair=last)
    for run in runs[1:]:
        if run.state != "success":
            continue
        check = _check(airflow, run)
        if check.report is not None and check.report.repaired:
            return DriftStatus(last_check=last, last_repair=check)
    return DriftStatus(last_check=last)


def drift_lines(drift: DriftStatus | None) -> list[tuple[str, str]]:
    """`[("last check", "2026-12-01 12:00:00 UTC, repaired: 1 missing"), ...]` of a repair flow."""
    if drift is None:
        return []
    if drift.last_check is None:
        return [("last check", "none yet")]
    lines = []
    for label, check in (("last check", drift.last_check), ("last repair", drift.last_repair)):
        if check is None or (label == "last repair" and check is drift.last_check):
            continue
        when = check.checked_at.strftime("%Y-%m-%d %H:%M:%S %Z") if check.checked_at else "-"
        lines.append((label, f"{when.strip()}, {check.summary}"))
    return lines
