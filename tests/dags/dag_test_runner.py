"""A long-lived `dag.test()` runner: one Airflow import serves every flow run of a session.

Started by `tests.dags.support.DagTestRunner` with AIRFLOW_HOME (a migrated database) and
AIRFLOW__CORE__DAGS_FOLDER in its environment. Reads one JSON request per line on stdin,
`{"dag_id", "conf", "env": {name: value or null}}`, applies `env` (instances directory,
`AIRFLOW_CONN_*` connections), re-parses the DAG folder, runs the DAG with `dag.test()` and
answers one JSON line: `{"state", "tasks": {task_id: state}, "xcom": {task_id: return
value}, "new_runs": [[dag_id, run_id], ...]}` (every DAG run the request created), or
`{"error": traceback}`. Airflow's own output goes to stderr so it never mixes with answers.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any

from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select


def run(dag_id: str, conf: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    bag = DagBag()
    if dag_id not in bag.dags:
        raise LookupError(f"no DAG {dag_id!r}; import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    for task in dag.tasks:
        task.retries = 0  # fail the test now instead of waiting out the retry backoff
    with create_session() as session:
        before = set(session.execute(select(DagRun.dag_id, DagRun.run_id)).all())
    dag_run = dag.test(run_conf=conf)
    print(f"{dag_id}: dag.test() done in {time.monotonic() - started:.1f} s", file=sys.stderr)
    with create_session() as session:
        xcoms = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == dag_run.run_id,
                XComModel.key == "return_value",
            )
        ).all()
        runs = set(session.execute(select(DagRun.dag_id, DagRun.run_id)).all()) - before
        return {
            "state": str(dag_run.state),
            "tasks": {
                ti.task_id: str(ti.state) for ti in dag_run.get_task_instances(session=session)
            },
            "xcom": {row.task_id: XComModel.deserialize_value(row) for row in xcoms},
            "new_runs": sorted(list(row) for row in runs),
        }


def apply_env(changes: dict[str, str | None]) -> None:
    for name, value in changes.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def serve() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints land in the log
    for line in sys.stdin:
        request = json.loads(line)
        try:
            apply_env(request.get("env", {}))
            answer = run(request["dag_id"], request.get("conf") or {})
        except Exception:
            answer = {"error": traceback.format_exc()}
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    serve()
