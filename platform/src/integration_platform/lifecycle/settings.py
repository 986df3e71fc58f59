"""Where the lifecycle service finds Airflow and the instances directory, and how long it waits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from integration_platform.integrations.instances import INSTANCES_DIR_ENV

AIRFLOW_URL_ENV = "INTEGRATION_AIRFLOW_URL"
AIRFLOW_USERNAME_ENV = "INTEGRATION_AIRFLOW_USERNAME"
AIRFLOW_PASSWORD_ENV = "INTEGRATION_AIRFLOW_PASSWORD"  # noqa: S105 - an env var name
DEFAULT_AIRFLOW_URL = "http://127.0.0.1:8080"
DEFAULT_INSTANCES_DIR = Path("dags/instances")


@dataclass(frozen=True)
class LifecycleSettings:
    airflow_url: str = DEFAULT_AIRFLOW_URL
    airflow_username: str = "admin"
    airflow_password: str = field(default="", repr=False)
    instances_dir: Path = DEFAULT_INSTANCES_DIR
    dag_timeout: float = 180.0  # until a new/changed instance's DAGs are parsed
    run_timeout: float = 600.0  # until an initialization/teardown/test run finishes
    once_grace: float = 60.0  # how long a first deploy waits for Airflow's own @once run
    poll_interval: float = 1.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Any
    ) -> LifecycleSettings:
        """Environment first, then explicit overrides (CLI flags) where not None."""
        env = os.environ if environ is None else environ
        settings = cls(
            airflow_url=env.get(AIRFLOW_URL_ENV) or DEFAULT_AIRFLOW_URL,
            airflow_username=env.get(AIRFLOW_USERNAME_ENV) or "admin",
            airflow_password=env.get(AIRFLOW_PASSWORD_ENV) or "",
            instances_dir=Path(env.get(INSTANCES_DIR_ENV) or DEFAULT_INSTANCES_DIR),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
