"""The relay and the two simulators as ManagedProcesses, configured for one stack."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.processes import ManagedProcess
from sandbox.simulators import acme_command, progix_command, simulator_process


def relay_process(
    *,
    port: int,
    database_url: str,
    secrets_key: str,
    registrar_token: str,
    airflow_url: str,
    airflow_password: str,
    admin_token: str,
    state_dir: Path,
    log_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """`webhook-relay serve` on 127.0.0.1:port, triggering Airflow as the `relay` user."""
    public_url = f"http://127.0.0.1:{port}"
    env = {
        "RELAY_STATE_DIR": str(state_dir),
        "RELAY_DATABASE_URL": database_url,
        "RELAY_SECRETS_KEYS": secrets_key,
        "RELAY_PUBLIC_URL": public_url,
        "RELAY_AIRFLOW_URL": airflow_url,
        "RELAY_AIRFLOW_USERNAME": "relay",
        "RELAY_AIRFLOW_PASSWORD": airflow_password,
        "RELAY_ADMIN_TOKEN": admin_token,
        "RELAY_REGISTRAR_TOKEN": registrar_token,
        **(extra_env or {}),
    }
    argv = [
        str(Path(sys.executable).parent / "webhook-relay"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    return ManagedProcess(
        "relay", argv, log_path=log_path, env=env, ready_url=f"{public_url}/healthz"
    )


def airflow_maintenance_process(
    *,
    airflow_env: Mapping[str, str],
    script: Path,
    log_path: Path,
    retention_days: float,
    interval_s: float,
    first_after_s: float,
) -> ManagedProcess:
    """The Airflow metadata maintenance job (`deploy/airflow/maintenance.py`) in its loop:
    `airflow db clean` and old task logs, every `interval_s` seconds."""
    argv = [sys.executable, str(script), "--older-than-days", str(retention_days)]
    argv += ["--interval", str(interval_s), "--first-after", str(first_after_s)]
    return ManagedProcess("airflow-maintenance", argv, log_path=log_path, env=airflow_env)


def acme_process(
    *,
    port: int,
    accounts: Mapping[str, str],
    db: Path,
    log_path: Path,
    extra_args: Sequence[str] = (),
) -> ManagedProcess:
    """The Acme ERP simulator with these accounts (`{account id: API key}`)."""
    argv = acme_command(port=port, accounts=accounts.items(), db=db, extra_args=extra_args)
    return simulator_process("acme", argv, url=f"http://127.0.0.1:{port}", log_path=log_path)


def progix_process(
    *,
    port: int,
    tenants: Mapping[str, str],
    db: Path,
    log_path: Path,
    extra_args: Sequence[str] = (),
) -> ManagedProcess:
    """The Progix simulator with these tenants (`{tenant id: API key}`)."""
    argv = progix_command(port=port, tenants=tenants.items(), db=db, extra_args=extra_args)
    return simulator_process("progix", argv, url=f"http://127.0.0.1:{port}", log_path=log_path)
