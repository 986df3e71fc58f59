"""deploy/airflow/maintenance.py against a real Airflow metadata database: a fresh
PostgreSQL database, `airflow db migrate`, backdated runs written through Airflow's own
models, one pass of the job; old runs, task instances, XCom, audit log rows and log files
are gone, recent ones kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"

# Written through Airflow's models in a subprocess (Airflow's settings load at import).
SEED = """
import sys, uuid
from datetime import UTC, datetime, timedelta
from sqlalchemy import insert
from airflow.models.dagrun import DagRun
from airflow.models.log import Log
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from airflow.utils.state import DagRunState
from airflow.utils.types import DagRunType

now = datetime.now(UTC)
with create_session() as session:
    for name, age_days in (("old", 40), ("recent", 2)):
        when = now - timedelta(days=age_days)
        for n in range(3):
            run_id = f"relay__{name}_{n}"
            run = DagRun(
                dag_id="acme_erp__shop_1__sync_customer_data", run_id=run_id,
                run_type=DagRunType.MANUAL, logical_date=None, run_after=when,
                start_date=when, state=DagRunState.SUCCESS, conf={"events": []},
            )
            run.end_date = when
            session.add(run)
            session.flush()
            session.execute(insert(TaskInstance.__table__).values(
                id=uuid.uuid4(), task_id="sync", dag_id=run.dag_id, run_id=run_id,
                map_index=-1, try_number=1, max_tries=0, pool="default_pool", pool_slots=1,
                start_date=when, end_date=when, state="success",
            ))
            session.execute(insert(XComModel.__table__).values(
                dag_run_id=run.id, task_id="sync", map_index=-1, key="return_value",
                dag_id=run.dag_id, run_id=run_id, timestamp=when, value=None,
            ))
        entry = Log(event=f"{name}-event")
        entry.dttm = when
        session.add(entry)
"""


@pytest.fixture
def airflow_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    name = f"airflow_maint_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
    }
    try:
        yield env
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    conn = psycopg2.connect(ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement)
    conn.close()


def _rows(env: dict[str, str], query: str) -> list[tuple]:
    conn = psycopg2.connect(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", ""))
    with conn, conn.cursor() as cur:
        cur.execute(query)
        rows = cur.fetchall()
    conn.close()
    return rows


def _run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300
    )


def _log_file(folder: Path, name: str, age_days: float) -> Path:
    path = folder / "dag_id=acme_erp__shop_1__sync_customer_data" / name / "attempt=1.log"
    path.parent.mkdir(parents=True)
    path.write_text("task log\n")
    stamp = time.time() - age_days * 86400
    os.utime(path, (stamp, stamp))
    return path


@pytest.mark.slow
@pytest.mark.postgres
def test_maintenance_cleans_only_what_is_older_than_its_age(airflow_env) -> None:
    migrated = _run(airflow_env, "-m", "airflow", "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    seeded = _run(airflow_env, "-c", SEED)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    logs = Path(airflow_env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    old_file, new_file = _log_file(logs, "run_id=old", 40), _log_file(logs, "run_id=new", 2)

    job = REPO_ROOT / "deploy" / "airflow" / "maintenance.py"
    done = _run(airflow_env, str(job), "--once", "--older-than-days", "30")
    assert done.returncode == 0, done.stderr[-3000:]

    runs = sorted(r[0] for r in _rows(airflow_env, "SELECT run_id FROM dag_run"))
    assert runs == [f"relay__recent_{n}" for n in range(3)]
    assert sorted(r[0] for r in _rows(airflow_env, "SELECT run_id FROM task_instance")) == runs
    assert sorted(r[0] for r in _rows(airflow_env, "SELECT run_id FROM xcom")) == runs
    events = {r[0] for r in _rows(airflow_env, "SELECT event FROM log")}
    assert "recent-event" in events
    assert "old-event" not in events
    assert not old_file.exists()
    assert not old_file.parent.exists()  # emptied directories go too
    assert new_file.exists()


def test_maintenance_refuses_a_non_positive_age() -> None:
    job = REPO_ROOT / "deploy" / "airflow" / "maintenance.py"
    refused = _run(dict(os.environ), str(job), "--once", "--older-than-days", "0")
    assert refused.returncode == 2
    assert "must be positive" in refused.stderr
