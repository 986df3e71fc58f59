"""Where the lifecycle service finds Airflow, the relay and the instances directory, and how
long it waits.

The relay is reached at `INTEGRATION_RELAY_URL` (its admin API) with the registrar token in
`INTEGRATION_RELAY_REGISTRAR_TOKEN`: environment only, never a command-line argument. Without
them, pause, resume, rotate and remove act on Airflow alone (and say so)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.instances import INSTANCES_DIR_ENV
from integration_platform.lifecycle.errors import InvalidRequest

AIRFLOW_URL_ENV = "INTEGRATION_AIRFLOW_URL"
AIRFLOW_USERNAME_ENV = "INTEGRATION_AIRFLOW_USERNAME"
AIRFLOW_PASSWORD_ENV = "INTEGRATION_AIRFLOW_PASSWORD"  # noqa: S105 - an env var name
RELAY_URL_ENV = "INTEGRATION_RELAY_URL"
RELAY_TOKEN_ENV = "INTEGRATION_RELAY_REGISTRAR_TOKEN"  # noqa: S105 - an env var name
BULK_CONCURRENCY_ENV = "INTEGRATION_BULK_CONCURRENCY"
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
    relay_url: str = ""
    relay_registrar_token: str = field(default="", repr=False)
    drain_timeout: float = 60.0  # remove: how long running runs may finish before failing them
    bulk_concurrency: int = 4  # bulk deploy: deploys at once (each parses DAGs, runs a flow)

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
            relay_url=(env.get(RELAY_URL_ENV) or "").rstrip("/"),
            relay_registrar_token=env.get(RELAY_TOKEN_ENV) or "",
            bulk_concurrency=_whole_number(env, BULK_CONCURRENCY_ENV, 4),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    """A positive whole number from the environment; `InvalidRequest` naming the variable."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidRequest("environment", [FieldError(name, "must be a whole number >= 1")])
    return int(raw)
