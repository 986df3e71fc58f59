"""The whole local system: embedded PostgreSQL, Airflow, the relay and both simulators.

`Stack` is what `sandbox demo` and the pytest `stack` fixture start, so the tests exercise the
same processes, settings and ports logic a user runs. Secrets (Airflow passwords, the relay's
registrar and admin tokens and its at-rest key, API keys) are random per run and live only in
this object and in the child processes' environments; a stack therefore always starts from an
empty state directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.processes import ManagedProcess, free_port
from sandbox.simulators import new_api_key
from sandbox.stack.airflow import AirflowSettings, AirflowStandalone, _new_fernet_key
from sandbox.stack.postgres import EmbeddedPostgres
from sandbox.stack.services import (
    acme_process,
    airflow_maintenance_process,
    progix_process,
    relay_process,
)

if TYPE_CHECKING:
    from integration_platform.lifecycle.airflow_api import AirflowClient

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class StackPorts:
    """TCP ports on 127.0.0.1. The defaults are the demo's; tests use `StackPorts.free()`."""

    airflow: int = 8080
    relay: int = 8700
    acme: int = 8701
    progix: int = 8702
    postgres: int | None = None  # None: any free port (nobody needs to type it)

    @classmethod
    def free(cls) -> StackPorts:
        return cls(airflow=free_port(), relay=free_port(), acme=free_port(), progix=free_port())


@dataclass
class StackOptions:
    state_dir: Path
    ports: StackPorts = field(default_factory=StackPorts)
    acme_accounts: Sequence[str] = ("acme-demo",)
    progix_tenants: Sequence[str] = ("progix-demo",)
    acme_args: Sequence[str] = ()  # extra `sandbox acme` flags (faults, retry timing)
    progix_args: Sequence[str] = ()
    relay_env: Mapping[str, str] = field(default_factory=dict)  # e.g. RELAY_BATCH_MAX_EVENTS
    relay_on_postgres: bool = False  # default: SQLite in the state dir, as in production docs
    airflow_parallelism: int = 4
    airflow_scheduler_idle_sleep: float = AirflowSettings.scheduler_idle_sleep
    airflow_min_file_process_interval: int = AirflowSettings.min_file_process_interval
    # "simple": `airflow standalone` (SimpleAuthManager, global roles), as `make demo` runs;
    # "fab": the same components under the FAB auth manager, whose roles can grant single DAGs.
    airflow_auth_manager: str = "simple"
    dags_folder: Path = REPO_ROOT / "dags"
    plugins_folder: Path = REPO_ROOT / "plugins"
    # Airflow metadata maintenance (`airflow db clean` of runs, task instances, XCom, logs):
    # its first pass waits until the stack has settled, then it repeats every interval.
    maintenance_retention_days: float = 30.0
    maintenance_interval_s: float = 3600.0
    maintenance_first_after_s: float = 300.0


class Stack:
    """Start everything with `start()`, stop it all (reverse order) with `stop()`."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.state_dir = Path(options.state_dir).resolve()
        self.log_dir = self.state_dir / "logs"
        self.ports = options.ports
        # The relay's at-rest key for route secrets stays with the relay; Airflow and the
        # lifecycle hold only the registrar token.
        self.relay_secrets_key = _new_fernet_key()
        self.relay_admin_token = secrets.token_urlsafe(24)
        self.relay_registrar_token = secrets.token_urlsafe(24)
        self.acme_keys: dict[str, str] = {a: new_api_key("acme") for a in options.acme_accounts}
        self.progix_keys: dict[str, str] = {
            t: new_api_key("progix") for t in options.progix_tenants
        }
        self.postgres = EmbeddedPostgres(
            self.state_dir, port=self.ports.postgres, log_dir=self.log_dir
        )
        self.airflow: AirflowStandalone | None = None
        self._processes: list[ManagedProcess] = []  # started order, stopped in reverse
        self._relay_db = ""
        self._rest_clients: dict[str, AirflowClient] = {}
        self._started = False

    # -- addresses and credentials ---------------------------------------------------
    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.airflow}"

    @property
    def relay_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.relay}"

    @property
    def acme_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.acme}"

    @property
    def progix_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.progix}"

    @property
    def instances_dir(self) -> Path:
        return self.state_dir / "instances"

    def airflow_password(self, user: str = "admin") -> str:
        assert self.airflow is not None, "start() first"
        return self.airflow.settings.passwords[user]

    def rest(self, user: str = "admin") -> AirflowClient:
        """The lifecycle's Airflow REST API v2 client, logged in as `user` (admin, relay or
        viewer); one per user, reused (and its token with it) until the stack stops."""
        # Imported here: the simulators alone (`sandbox acme|progix`) need no provider.
        from integration_platform.lifecycle.airflow_api import AirflowClient

        if user not in self._rest_clients:
            self._rest_clients[user] = AirflowClient(
                self.airflow_url, user, self.airflow_password(user)
            )
        return self._rest_clients[user]

    def process(self, name: str) -> ManagedProcess:
        """A started process by name: airflow, relay, acme, progix or airflow-maintenance."""
        for process in self._processes:
            if process.name == name:
                return process
        raise KeyError(f"no process {name!r}; started: {[p.name for p in self._processes]}")

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of every process log, for a failing test's report."""
        parts = []
        processes = [*self._processes]
        if self.postgres.process is not None:
            processes.insert(0, self.postgres.process)
        for process in processes:
            parts.append(f"----- {process.name} ({process.log_path}) -----\n")
            parts.append(process.log_tail(lines) + "\n")
        return "".join(parts)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> Stack:
        """Start everything; Airflow boots (migrates) while the small services start."""
        if self._started:
            raise RuntimeError("this Stack was already started")
        self._started = True
        if self.state_dir.exists() and any(self.state_dir.iterdir()):
            raise RuntimeError(f"{self.state_dir} is not empty: a stack starts from a clean state")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self) -> None:
        self.postgres.start()
        settings = AirflowSettings(
            home=self.state_dir / "airflow",
            dags_folder=self.options.dags_folder,
            plugins_folder=self.options.plugins_folder,
            instances_dir=self.instances_dir,
            database_url=self.postgres.create_database("airflow"),
            relay_public_url=self.relay_url,
            relay_registrar_token=self.relay_registrar_token,
            port=self.ports.airflow,
            parallelism=self.options.airflow_parallelism,
            scheduler_idle_sleep=self.options.airflow_scheduler_idle_sleep,
            min_file_process_interval=self.options.airflow_min_file_process_interval,
            auth_manager=self.options.airflow_auth_manager,
        )
        self.airflow = AirflowStandalone(settings, log_dir=self.log_dir)
        self.airflow.launch()
        self._processes.append(self.airflow.process)  # type: ignore[arg-type]
        self._relay_db = (
            self.postgres.create_database("relay")
            if self.options.relay_on_postgres
            else f"sqlite:///{self.state_dir / 'relay' / 'relay.db'}"
        )
        (self.state_dir / "relay").mkdir(exist_ok=True)
        self._run(self._relay(self.options.relay_env))
        self._run(
            acme_process(
                port=self.ports.acme,
                accounts=self.acme_keys,
                db=self.state_dir / "acme.sqlite3",
                log_path=self.log_dir / "acme.log",
                extra_args=self.options.acme_args,
            )
        )
        self._run(
            progix_process(
                port=self.ports.progix,
                tenants=self.progix_keys,
                db=self.state_dir / "progix.sqlite3",
                log_path=self.log_dir / "progix.log",
                extra_args=self.options.progix_args,
            )
        )
        self.airflow.wait_ready()
        self._run(
            airflow_maintenance_process(
                airflow_env=settings.environment(),
                script=REPO_ROOT / "deploy" / "airflow" / "maintenance.py",
                log_path=self.log_dir / "airflow-maintenance.log",
                retention_days=self.options.maintenance_retention_days,
                interval_s=self.options.maintenance_interval_s,
                first_after_s=self.options.maintenance_first_after_s,
            )
        )

    def _relay(self, extra_env: Mapping[str, str]) -> ManagedProcess:
        assert self.airflow is not None
        return relay_process(
            port=self.ports.relay,
            database_url=self._relay_db,
            secrets_key=self.relay_secrets_key,
            registrar_token=self.relay_registrar_token,
            airflow_url=self.airflow_url,
            airflow_password=self.airflow.settings.passwords["relay"],
            admin_token=self.relay_admin_token,
            state_dir=self.state_dir / "relay",
            log_path=self.log_dir / "relay.log",
            extra_env=extra_env,
        )

    def restart_relay(self, relay_env: Mapping[str, str]) -> None:
        """Restart the relay with other settings (same port, store and keys): the benchmark
        uses it to compare batch sizes on one stack. Events it had stored survive."""
        index = next(i for i, p in enumerate(self._processes) if p.name == "relay")
        self._processes[index].stop()
        self._processes[index] = self._relay({**self.options.relay_env, **relay_env})
        self._processes[index].start(wait=True)

    def _run(self, process: ManagedProcess) -> None:
        self._processes.append(process)
        process.start(wait=True)

    def stop(self) -> None:
        """Stop every process this stack started, newest first, then PostgreSQL."""
        for client in self._rest_clients.values():
            client.close()
        self._rest_clients.clear()
        for process in reversed(self._processes):
            process.stop()
        self.postgres.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- for clients such as the `acme-erp` CLI -----------------------------------------
    def client_environment(self) -> dict[str, str]:
        """Environment for the `acme-erp` CLI talking to this stack as admin.

        The variable names are the lifecycle service's (`integration_platform.lifecycle.settings`).
        """
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "INTEGRATION_AIRFLOW_URL": self.airflow_url,
            "INTEGRATION_AIRFLOW_USERNAME": "admin",
            "INTEGRATION_AIRFLOW_PASSWORD": self.airflow_password("admin"),
            "INTEGRATION_INSTANCES_DIR": str(self.instances_dir),
            "INTEGRATION_RELAY_URL": self.relay_url,
            "INTEGRATION_RELAY_REGISTRAR_TOKEN": self.relay_registrar_token,
        }

    def relay_cli_environment(self) -> dict[str, str]:
        """Environment for the `webhook-relay` CLI on this stack's relay store, as an operator
        runs it next to the relay (the store and its secrets key, never Airflow's)."""
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "RELAY_DATABASE_URL": self._relay_db,
            "RELAY_SECRETS_KEYS": self.relay_secrets_key,
            "RELAY_STATE_DIR": str(self.state_dir / "relay"),
        }


def reset_state_dir(state_dir: Path) -> None:
    """Empty a stack's state directory (it only ever holds what a previous run left)."""
    state_dir = Path(state_dir)
    if state_dir.exists():
        shutil.rmtree(state_dir)
