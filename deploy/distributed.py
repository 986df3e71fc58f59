"""Run the compose file's services as local processes: the distributed shape without Docker.

    python -m deploy.distributed [--state-dir .state/distributed] [--workers 2] [--dispatchers 2]

Every service's environment, command and health check comes from `docker-compose.yaml`,
interpolated with `.env.example` (fresh secrets for the empty ones); `LoopbackMap` then
changes only addresses and paths: compose service names become 127.0.0.1 and free ports,
container paths become directories under the state directory. PostgreSQL and Redis are the
machine's own (127.0.0.1:5432 with trust auth, 127.0.0.1:6379): the run creates uniquely
named databases (the relay's through the same init script the postgres image runs) and
claims an empty Redis database number, and drops them all on `stop()`.

How one service becomes a local process (argv, environment, health URL) is `deploy.replicas`.
What the containers would differ in, and is therefore set here (`_local_airflow_env`):
AIRFLOW_HOME and the DAGs folder, the API/health/log-server ports (one host, many
components), a Celery hostname and pid file per worker (containers have their own).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from deploy.compose import ComposeFile, Service
from deploy.envfile import new_secret, read_env_file, secrets_to_generate
from deploy.local_services import LocalPostgres, LocalRedis
from deploy.loopback import LOOPBACK, Endpoint, LoopbackMap
from deploy.replicas import (
    BIN,
    REPO_ROOT,
    Replica,
    clean_environment,
    command_line,
    is_airflow_image,
    local_paths,
    read_log,
    ready_url,
    service_argv,
    wait_exit_ok,
)
from sandbox.processes import ManagedProcess, ProcessFailed, free_port

COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"

AIRFLOW_COMPONENTS = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
DEMO_SERVICES = ("sandbox-acme", "sandbox-progix")


@dataclass
class DistributedOptions:
    state_dir: Path
    workers: int = 2
    dispatchers: int = 2
    worker_concurrency: int = 1
    demo: bool = True  # the simulators of the `demo` profile
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_host: str = LOOPBACK
    redis_port: int = 6379
    ready_timeout: float = 180.0


class DistributedStack:
    """Start with `start()`, stop everything (and drop the databases) with `stop()`."""

    def __init__(self, options: DistributedOptions) -> None:
        self.options = options
        self.state_dir = Path(options.state_dir).resolve()
        self.log_dir = self.state_dir / "logs"
        self.run_id = f"dist_{secrets.token_hex(4)}"
        self.compose = ComposeFile.load(COMPOSE_FILE)
        self.postgres = LocalPostgres(options.postgres_url)
        self.redis = LocalRedis(options.redis_host, options.redis_port)
        self.variables: dict[str, str] = {}
        self.loopback = LoopbackMap()
        self.replicas: list[Replica] = []
        self._started = False

    # -- configuration ---------------------------------------------------------------
    def _variables(self) -> dict[str, str]:
        """`.env.example`, fresh secrets where it leaves them empty, and the local server's names."""
        example = read_env_file(ENV_EXAMPLE)
        values = dict(example)
        for name in secrets_to_generate(example, COMPOSE_FILE.read_text()):
            values[name] = new_secret(name)
        values.update(
            POSTGRES_USER=self.postgres.superuser,  # the local server's; trust auth
            POSTGRES_DB=f"airflow_{self.run_id}",
            RELAY_DB_USER=f"relay_{self.run_id}",
            RELAY_DB_NAME=f"relay_{self.run_id}",
            AIRFLOW_WORKER_CONCURRENCY=str(self.options.worker_concurrency),
        )
        return values

    def _build_loopback(self, redis_db: int) -> LoopbackMap:
        loopback = LoopbackMap()
        loopback.add("postgres", 5432, Endpoint(self.postgres.host, self.postgres.port))
        # The local Redis has no password: drop the compose URL's credentials.
        loopback.add(
            "redis", 6379, Endpoint(self.redis.host, self.redis.port, f"/{redis_db}", userinfo=":")
        )
        for name in self.compose.service_names:
            if name in ("postgres", "redis"):
                continue
            service = self.compose.service(name, self.variables)
            ports = set(service.container_ports)
            if service.healthcheck:
                # An empty map leaves URLs as written: this collects the ports health checks use.
                for url in LoopbackMap().health_urls(service.healthcheck["test"], service=name):
                    ports.add(httpx.URL(url).port or 80)
            for port in ports:
                loopback.add(name, port, Endpoint(LOOPBACK, free_port()))
        loopback.paths.update(local_paths(self.state_dir))
        return loopback

    def service(self, name: str) -> Service:
        """A compose service, interpolated with this run's variables."""
        return self.compose.service(name, self.variables)

    def service_environment(self, name: str) -> dict[str, str]:
        """The compose environment of `name`, with local addresses and paths."""
        return self.loopback.rewrite_environment(self.service(name).environment, service=name)

    def url(self, service: str, port: int) -> str:
        return f"http://{LOOPBACK}:{self.loopback.port(service, port)}"

    @property
    def airflow_url(self) -> str:
        return self.url("airflow-apiserver", 8080)

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow-home"

    def _local_airflow_env(self) -> dict[str, str]:
        """What differs from a container: home, DAGs folder, ports that must not collide."""
        return {
            "AIRFLOW_HOME": str(self.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": self.loopback.rewrite_path("/opt/airflow/dags"),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.loopback.port("airflow-apiserver", 8080)),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": LOOPBACK,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(
                self.loopback.port("airflow-scheduler", 8974)
            ),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }

    def command_line(self, name: str, arguments: list[str]) -> list[str]:
        """The local argv of `docker compose run SERVICE ARGUMENTS` (the image's entrypoint + args)."""
        return command_line(self.service(name), arguments)

    def _replica(self, name: str, index: int = 1, *, ready_timeout: float | None = None) -> Replica:
        service = self.service(name)
        replica_name = f"{name}-{index}"
        env = self.loopback.rewrite_environment(service.environment, service=name)
        if is_airflow_image(service):
            env.update(self._local_airflow_env())
        process = ManagedProcess(
            replica_name,
            service_argv(service, self.loopback, replica=replica_name, state_dir=self.state_dir),
            log_path=self.log_dir / f"{replica_name}.log",
            cwd=self.state_dir,
            ready_url=ready_url(service, self.loopback),
            ready_timeout=ready_timeout or self.options.ready_timeout,
            stop_timeout=30.0,
        )
        process.env = clean_environment(env)
        replica = Replica(name, index, process, env)
        self.replicas.append(replica)
        return replica

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> DistributedStack:
        if self._started:
            raise RuntimeError("this DistributedStack was already started")
        self._started = True
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_all(self) -> None:
        self.variables = self._variables()
        redis_db = self.redis.claim_database(self.run_id)
        self.loopback = self._build_loopback(redis_db)
        for path in ("instances", "sandbox-data", "airflow-home"):
            (self.state_dir / path).mkdir(exist_ok=True)

        # postgres: Airflow's database as the image creates POSTGRES_DB, the relay's through
        # the init script the image runs from /docker-entrypoint-initdb.d/.
        self.postgres.create_database(self.variables["POSTGRES_DB"])
        self.postgres.run_init_script(
            REPO_ROOT / "deploy" / "postgres" / "init-relay-db.sh",
            self.service("postgres").environment,
            log_path=self.log_dir / "postgres-init.log",
        )

        # One-shot services first (in parallel), the simulators meanwhile.
        init = self._replica("airflow-init").process.start(wait=False)
        migrate = self._replica("relay-migrate").process.start(wait=False)
        if self.options.demo:
            for name in DEMO_SERVICES:
                self._replica(name).process.start(wait=False)
        wait_exit_ok(migrate, timeout=120)
        wait_exit_ok(init, timeout=300)

        for name in AIRFLOW_COMPONENTS:
            self._replica(name).process.start(wait=False)
        for index in range(1, self.options.workers + 1):
            self._replica("airflow-worker", index).process.start(wait=False)
        self._replica("relay-ingest").process.start(wait=False)
        for index in range(1, self.options.dispatchers + 1):
            self._replica("relay-dispatcher", index).process.start(wait=False)
        for replica in self.replicas:
            if replica.service not in ("airflow-init", "relay-migrate"):
                replica.process.wait_ready()
        self._wait_airflow_healthy()
        self._wait_workers_ready()

    def _wait_airflow_healthy(self) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        status: dict[str, str] = {}
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"{self.airflow_url}/api/v2/monitor/health", timeout=5).json()
                status = {
                    c: (body.get(c) or {}).get("status", "missing") for c in HEALTHY_COMPONENTS
                }
            except (httpx.HTTPError, ValueError):
                status = {}
            if status and set(status.values()) == {"healthy"}:
                return
            self._raise_if_any_died()
            time.sleep(1.0)
        raise ProcessFailed(f"Airflow components not healthy: {status}\n{self.log_tails()}")

    def _wait_workers_ready(self) -> None:
        """Celery logs `celery@NAME ready.` once a worker consumes from the broker."""
        workers = self.worker_replicas()
        deadline = time.monotonic() + self.options.ready_timeout
        while time.monotonic() < deadline:
            if all(" ready." in read_log(w.process.log_path) for w in workers):
                return
            self._raise_if_any_died()
            time.sleep(0.5)
        raise ProcessFailed(f"Celery workers not ready\n{self.log_tails()}")

    def _raise_if_any_died(self) -> None:
        for replica in self.replicas:
            if replica.service in ("airflow-init", "relay-migrate"):
                continue
            if not replica.process.is_running():
                raise ProcessFailed(f"{replica.name} exited\n{replica.process.log_tail()}")

    def replicas_of(self, service: str) -> list[Replica]:
        return [r for r in self.replicas if r.service == service]

    def worker_replicas(self) -> list[Replica]:
        return self.replicas_of("airflow-worker")

    @property
    def bin(self) -> Path:
        """Where the console scripts the images run (airflow, webhook-relay, ...) are installed."""
        return BIN

    def stop(self) -> None:
        """Stop every process, then drop the databases and the Redis database."""
        # Every process gets SIGTERM at once: Airflow components each take seconds to exit.
        with ThreadPoolExecutor(max_workers=max(1, len(self.replicas))) as pool:
            list(pool.map(lambda replica: replica.process.stop(), self.replicas))
        if self.variables:
            with contextlib.suppress(Exception):
                self.postgres.drop_database(self.variables["POSTGRES_DB"])
            with contextlib.suppress(Exception):
                self.postgres.drop_database(self.variables["RELAY_DB_NAME"])
                self.postgres.drop_role(self.variables["RELAY_DB_USER"])
        self.redis.release()

    def __enter__(self) -> DistributedStack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def log_tails(self, lines: int = 30) -> str:
        return "".join(
            f"----- {r.name} ({r.process.log_path}) -----\n{r.process.log_tail(lines)}\n"
            for r in self.replicas
        )


@contextlib.contextmanager
def running(options: DistributedOptions) -> Iterator[DistributedStack]:
    stack = DistributedStack(options)
    with stack:
        yield stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.distributed", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=REPO_ROOT / ".state" / "distributed")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dispatchers", type=int, default=2)
    args = parser.parse_args(argv)
    options = DistributedOptions(args.state_dir, workers=args.workers, dispatchers=args.dispatchers)
    with running(options) as stack:
        credentials = stack.state_dir / "credentials.json"
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    k: stack.variables[k]
                    for k in ("AIRFLOW_ADMIN_USERNAME", "AIRFLOW_ADMIN_PASSWORD")
                },
                handle,
            )
        print(f"Airflow  {stack.airflow_url}  (login in {credentials})")
        print(f"relay    {stack.url('relay-ingest', 8000)}")
        print(f"logs     {stack.log_dir}\nCtrl-C stops everything and drops the databases.")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
