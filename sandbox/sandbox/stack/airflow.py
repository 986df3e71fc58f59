"""Airflow standalone on loopback, configured for one machine with 2 cores.

`airflow standalone` runs the scheduler, DAG processor, API server and triggerer under one
parent; it is the documented way to run Airflow locally. Everything it needs is set through
`AIRFLOW__*` environment variables (no airflow.cfg edits), so the same settings are visible
in one place and nothing leaks into the user's own AIRFLOW_HOME.

Standalone always uses SimpleAuthManager (global roles). With `auth_manager="fab"` the same
four components run under the FAB auth manager instead (`sandbox.stack.airflow_fab`), so
roles may grant access to single DAGs, as in the compose file.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sandbox.processes import ManagedProcess, ProcessFailed, free_port

# Roles as SimpleAuthManager names them. The relay triggers runs, so it needs "user";
# the lifecycle service writes connections, which needs "op" or above (admin here).
# Under FAB the same users get FAB's roles of the same names (`airflow_fab.FAB_ROLES`).
USERS = {"admin": "admin", "relay": "user", "viewer": "viewer"}
AUTH_MANAGERS = {
    "simple": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    "fab": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
}
# Standalone migrates a fresh database before anything answers: ~50 s on an idle 2-core box,
# several minutes when the machine is shared with other heavy jobs; under FAB, creating its
# roles and permissions adds ~20 s idle, over a minute on a loaded machine (measured).
AIRFLOW_READY_TIMEOUT = 720.0
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")


@dataclass
class AirflowSettings:
    """What differs between two Airflows on one host, plus the per-run secrets."""

    home: Path
    dags_folder: Path
    plugins_folder: Path
    instances_dir: Path
    database_url: str
    relay_public_url: str
    relay_registrar_token: str
    relay_admin_url: str = ""  # where the lifecycle (UI actions) reaches the relay's admin API
    port: int = 8080
    parallelism: int = 4
    # Airflow's default is 1 s: an idle scheduler wakes up to 1 s after a run is triggered,
    # most of a one-change run's latency here (measured 0.73 s of 0.98 s). 0.25 s costs a
    # few percent of a core while idle.
    scheduler_idle_sleep: float = 0.25
    # A task's supervisor notices its task's exit only at its next wake-up, up to
    # `[workers] min_heartbeat_interval` (5 s) after the task closed its sockets; about 3 in
    # 10 runs held their executor slot that long after finishing (measured). Whole seconds.
    worker_min_heartbeat_interval: int = 1
    # Every shard file is re-parsed this often, whether or not an instance changed (a deploy
    # asks for its own file at once). 10 s shows a first instance in an empty shard quickly;
    # with 20 instances it took a quarter of a core here. Airflow's default is 30.
    min_file_process_interval: int = 10
    auth_manager: str = "simple"  # a key of AUTH_MANAGERS
    worker_log_server_port: int = field(default_factory=free_port)
    trigger_log_server_port: int = field(default_factory=free_port)
    passwords: dict[str, str] = field(
        default_factory=lambda: {user: secrets.token_urlsafe(12) for user in USERS}
    )
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    api_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fernet_key: str = field(default_factory=lambda: _new_fernet_key())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        if self.auth_manager not in AUTH_MANAGERS:
            raise ValueError(f"auth_manager must be one of {sorted(AUTH_MANAGERS)}")

    @property
    def passwords_file(self) -> Path:
        """`{user: password}`, 0600: SimpleAuthManager's own file, or what FAB users get."""
        return self.home / "simple_auth_manager_passwords.json"

    def _auth_environment(self) -> dict[str, str]:
        env = {"AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGERS[self.auth_manager]}
        if self.auth_manager == "fab":
            return {**env, "SANDBOX_AIRFLOW_PASSWORDS_FILE": str(self.passwords_file)}
        return {
            **env,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(
                f"{user}:{role}" for user, role in USERS.items()
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
        }

    def environment(self) -> dict[str, str]:
        """The `AIRFLOW__*` variables (and friends) every Airflow component gets."""
        bin_dir = str(Path(sys.executable).parent)
        return {
            # standalone starts its components as `airflow ...`: our venv must come first.
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "AIRFLOW_HOME": str(self.home),
            "PYTHONUNBUFFERED": "1",  # standalone prints to a log file: keep it live
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # LocalExecutor forks `parallelism` workers up front (32 by default: ~37 processes).
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": str(self.scheduler_idle_sleep),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.plugins_folder),
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            **self._auth_environment(),
            # Workers reach the API server here; the default assumes port 8080.
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": self.api_secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            # A task's supervisor gives up on the API server after 5 s by default; on a busy
            # 2-core box one slow answer then kills the task before it starts (measured).
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": str(self.worker_min_heartbeat_interval),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_server_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.trigger_log_server_port),
            # New instance files must show up in seconds, not the 300 s/30 s production
            # defaults: the lifecycle service asks for a re-parse of known files, but only a
            # rescan of the folder discovers a new file. 5 s keeps a 2-core box responsive.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(
                self.min_file_process_interval
            ),
            "INTEGRATION_INSTANCES_DIR": str(self.instances_dir),
            # The UI's pause/resume/rotate/remove actions act on the relay routes too.
            "INTEGRATION_RELAY_URL": self.relay_admin_url or self.relay_public_url,
            "INTEGRATION_RELAY_REGISTRAR_TOKEN": self.relay_registrar_token,
            # The Initialization flow reads the relay's public URL and its registrar token here:
            # it registers the instance's routes and fetches their secrets from the relay. No
            # relay master key exists on the Airflow side.
            "AIRFLOW_CONN_WEBHOOK_RELAY": json.dumps(
                {
                    "conn_type": "generic",
                    "host": self.relay_public_url,
                    "password": self.relay_registrar_token,
                }
            ),
        }


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class AirflowStandalone:
    """`airflow standalone` in a ManagedProcess; ready when the API and all components are."""

    def __init__(self, settings: AirflowSettings, *, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = Path(log_dir)
        self.process: ManagedProcess | None = None

    def _write_passwords(self) -> None:
        """Pre-write the password file so the passwords are ours, not printed."""
        path = self.settings.passwords_file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.settings.passwords, handle)

    def start(self, timeout: float = AIRFLOW_READY_TIMEOUT) -> None:
        self.launch(timeout)
        self.wait_ready(timeout)

    def launch(self, timeout: float = AIRFLOW_READY_TIMEOUT) -> None:
        """Start standalone without waiting (it migrates the DB first: the slow part)."""
        self.settings.home.mkdir(parents=True, exist_ok=True)
        self.settings.instances_dir.mkdir(parents=True, exist_ok=True)
        self._write_passwords()
        command = (
            [sys.executable, "-m", "sandbox.stack.airflow_fab"]
            if self.settings.auth_manager == "fab"
            else [str(Path(sys.executable).parent / "airflow"), "standalone"]
        )
        self.process = ManagedProcess(
            "airflow",
            command,
            log_path=self.log_dir / "airflow.log",
            env=self.settings.environment(),
            cwd=self.settings.home,
            ready_url=f"{self.settings.url}/api/v2/monitor/health",
            ready_timeout=timeout,
            stop_timeout=30.0,
        ).start(wait=False)

    def wait_ready(self, timeout: float = AIRFLOW_READY_TIMEOUT) -> None:
        """Block until the API answers and every component heartbeats."""
        assert self.process is not None, "launch() first"
        started = time.monotonic()
        self.process.wait_ready(timeout)
        self._wait_components_healthy(max(timeout - (time.monotonic() - started), 30.0))

    def health(self) -> dict[str, str]:
        """`{component: status}` from `/api/v2/monitor/health`."""
        response = httpx.get(f"{self.settings.url}/api/v2/monitor/health", timeout=5.0)
        response.raise_for_status()
        body = response.json()
        return {
            name: (body.get(name) or {}).get("status", "missing") for name in HEALTHY_COMPONENTS
        }

    def _wait_components_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        status: dict[str, str] = {}
        while time.monotonic() < deadline:
            assert self.process is not None
            self.process.wait_ready(timeout=5.0)  # raises if standalone died
            try:
                status = self.health()
            except httpx.HTTPError:
                status = {}
            if status and all(value == "healthy" for value in status.values()):
                return
            time.sleep(0.5)
        raise ProcessFailed(
            f"Airflow components not healthy after {timeout:.0f}s ({status}); last log lines:\n"
            + (self.process.log_tail() if self.process else "")
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
