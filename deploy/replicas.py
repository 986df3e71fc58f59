"""How one compose service runs as a local process: its argv, environment and health URL.

The distributed run (`deploy.distributed`) starts every service through this module, so what
an image would do (its ENTRYPOINT, its container paths, a container's clean environment) is
written once, here, and checked against the Dockerfiles by tests/deploy/test_compose_static.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from deploy.compose import Service
from deploy.loopback import LoopbackMap
from sandbox.processes import ManagedProcess, ProcessFailed

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# What each image's ENTRYPOINT is, by build context (checked against the Dockerfiles by
# tests/deploy/test_compose_static.py). The official Airflow image's entrypoint runs
# `airflow ARGS`, or ARGS itself when it starts with `bash` or `python`.
ENTRYPOINTS = {".": "airflow", "./relay": "webhook-relay", "./sandbox": "sandbox"}
AIRFLOW_IMAGE_PROGRAMS = {"python": sys.executable, "bash": "bash"}

# Container paths (see the Dockerfiles and the compose volumes) and where they are locally.
CONTAINER_PATHS = {
    "/opt/airflow/deploy": "repo:deploy",
    "/opt/airflow/dags": "repo:dags",
    "/opt/airflow/instances": "state:instances",
    "/opt/airflow/logs": "state:airflow-home/logs",
    "/data": "state:sandbox-data",
}
# Environment variables of the caller that must not leak into the services: the run's
# configuration comes from the compose file only.
_FOREIGN_PREFIXES = ("AIRFLOW", "RELAY_", "ACME_ERP_", "INTEGRATION_INSTANCES_DIR", "_AIRFLOW")


@dataclass
class Replica:
    """One started process of a compose service (services may run several)."""

    service: str
    index: int
    process: ManagedProcess
    environment: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """A container's environment: the caller's without its configuration, plus `extra`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    return {**base, "PATH": str(BIN) + os.pathsep + base.get("PATH", ""), **extra}


def local_paths(state_dir: Path) -> dict[str, Path]:
    """Every container path and the local directory it stands for in this run."""
    paths = {}
    for container, where in CONTAINER_PATHS.items():
        root, relative = where.split(":", 1)
        paths[container] = (REPO_ROOT if root == "repo" else state_dir) / relative
    return paths


def command_line(service: Service, arguments: list[str]) -> list[str]:
    """The local argv of `docker compose run SERVICE ARGUMENTS` (the image's entrypoint + args)."""
    entrypoint = service.spec.get("entrypoint")
    if entrypoint:  # the compose file replaces the image's entrypoint
        program, *rest = [entrypoint] if isinstance(entrypoint, str) else entrypoint
        return [str(BIN / program), *rest, *arguments]
    context = str((service.spec.get("build") or {}).get("context", ""))
    image_entrypoint = ENTRYPOINTS[context]
    if image_entrypoint != "airflow":
        return [str(BIN / image_entrypoint), *arguments]
    if arguments and arguments[0] in AIRFLOW_IMAGE_PROGRAMS:
        return [AIRFLOW_IMAGE_PROGRAMS[arguments[0]], *arguments[1:]]
    return [str(BIN / "airflow"), *arguments]


def service_argv(
    service: Service, loopback: LoopbackMap, *, replica: str, state_dir: Path
) -> list[str]:
    """The service's compose command, locally; each Celery worker gets its own name and pid."""
    command = loopback.rewrite_arguments(service.command, service=service.name)
    argv = command_line(service, command)
    if argv[0] == str(BIN / "airflow") and command[:2] == ["celery", "worker"]:
        # In compose each worker is a container with its own hostname and pid file.
        argv += ["--celery-hostname", f"{replica}@%h", "--pid", str(state_dir / f"{replica}.pid")]
    return argv


def ready_url(service: Service, loopback: LoopbackMap) -> str | None:
    """The first URL the service's health check probes, at its local address."""
    if not service.healthcheck:
        return None
    urls = loopback.health_urls(service.healthcheck["test"], service=service.name)
    return urls[0] if urls else None


def is_airflow_image(service: Service) -> bool:
    return (service.spec.get("build") or {}).get("context") == "."


def read_log(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_exit_ok(process: ManagedProcess, *, timeout: float) -> None:
    """Wait for a one-shot process; raise with its log tail unless it exited 0."""
    assert process.popen is not None
    try:
        code = process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        process.stop()
        raise ProcessFailed(
            f"{process.name} still running after {timeout:.0f}s\n{process.log_tail()}"
        ) from None
    if code != 0:
        raise ProcessFailed(f"{process.name} exited with {code}\n{process.log_tail()}")
