"""Helpers for tests that need instance files, the DAG folder, or a real `dag.test()` run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO_ROOT / "dags"
RUNNER = Path(__file__).with_name("dag_test_runner.py")
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")
PYCACHE = REPO_ROOT / ".state" / "pycache"


def instance_data(instance_id: str, customer: str | None = None, **config: Any) -> dict[str, Any]:
    """A valid Acme ERP instance file's content; `config` overrides the defaults."""
    return {
        "id": instance_id,
        "integration": "acme-erp",
        "customer": customer or f"Customer {instance_id}",
        "generation": 1,
        "state": "active",
        "config": {"progix_tenant": instance_id, **config},
        "connections": {
            "acme_connection": f"acme_erp__{instance_id}",
            "progix_connection": f"progix__{instance_id}",
        },
    }


def write_instance(directory: Path, data: Mapping[str, Any], name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name or data['id']}.yaml"
    path.write_text(yaml.safe_dump(dict(data), sort_keys=False), encoding="utf-8")
    return path


def conn_env(
    conn_id: str, conn_type: str, host: str, password: str, **extra: str
) -> dict[str, str]:
    """An Airflow connection as its `AIRFLOW_CONN_<ID>` environment variable (JSON form)."""
    value: dict = {"conn_type": conn_type, "host": host, "password": password}
    if extra:
        value["extra"] = extra
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(value)}


def airflow_env(home: Path) -> dict[str, str]:
    """The environment of an Airflow process using `home`'s SQLite database and our DAGs."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "_AIRFLOW_PARSING_CONTEXT"))
        and key != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        # Airflow is ~2,000 modules: compiling them in every process costs more than the runs.
        PYTHONPYCACHEPREFIX=str(PYCACHE),
    )
    return env


def migrate(home: Path) -> None:
    """A fresh Airflow metadata database in `home` (SQLite)."""
    result = subprocess.run(
        [str(AIRFLOW_BIN), "db", "migrate"],
        env=airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]


class DagTestRunner:
    """The `dag_test_runner.py` process: send it a DAG id, conf and env; get the outcome."""

    def __init__(self, home: Path, log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(RUNNER)],
            env=airflow_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._env: set[str] = set()

    def run(
        self,
        dag_id: str,
        conf: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Run `dag_id`; `env` replaces the env given to the previous run."""
        env = dict(env or {})
        changes: dict[str, str | None] = {name: None for name in self._env - set(env)}
        changes.update(env)
        self._env = set(env)
        assert self.process.stdin
        assert self.process.stdout
        self.process.stdin.write(
            json.dumps({"dag_id": dag_id, "conf": conf or {}, "env": changes}) + "\n"
        )
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the dag.test runner died; see {self.log_path}"
        answer = json.loads(line)
        assert "error" not in answer, answer["error"]
        return answer

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
