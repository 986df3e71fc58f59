"""Start the simulators as real processes: the command lines, the launch, the demo seed.

`sandbox up`, the test fixtures and (later) `sandbox demo` all go through these functions,
so every one of them runs the simulators exactly as a user would.
"""

from __future__ import annotations

import secrets
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandbox.common.auth import ACME_ACCOUNTS_ENV, PROGIX_TENANTS_ENV
from sandbox.processes import ManagedProcess


def new_api_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18)}"


class SimulatorCommand(list[str]):
    """A simulator's argv, plus the environment that carries its API keys: keys are never
    arguments, which any local user can read in `ps`. `simulator_process` passes both."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        super().__init__(argv)
        self.env = dict(env)


def _simulator_command(
    simulator: str,
    keys_env: str,
    *,
    port: int,
    principals: Iterable[tuple[str, str]],
    host: str,
    db: Path | None,
    extra_args: Sequence[str],
) -> SimulatorCommand:
    argv = [sys.executable, "-m", "sandbox", simulator, "--host", host, "--port", str(port)]
    if db is not None:
        argv += ["--db", str(db)]
    keys = ",".join(f"{principal_id}:{api_key}" for principal_id, api_key in principals)
    return SimulatorCommand(argv + list(extra_args), {keys_env: keys})


def acme_command(
    *,
    port: int,
    accounts: Iterable[tuple[str, str]],
    host: str = "127.0.0.1",
    db: Path | None = None,
    extra_args: Sequence[str] = (),
) -> SimulatorCommand:
    """argv that runs the Acme ERP simulator with these accounts (id, key)."""
    return _simulator_command(
        "acme",
        ACME_ACCOUNTS_ENV,
        port=port,
        principals=accounts,
        host=host,
        db=db,
        extra_args=extra_args,
    )


def progix_command(
    *,
    port: int,
    tenants: Iterable[tuple[str, str]],
    host: str = "127.0.0.1",
    db: Path | None = None,
    extra_args: Sequence[str] = (),
) -> SimulatorCommand:
    """argv that runs the Progix simulator with these tenants (id, key)."""
    return _simulator_command(
        "progix",
        PROGIX_TENANTS_ENV,
        port=port,
        principals=tenants,
        host=host,
        db=db,
        extra_args=extra_args,
    )


def simulator_process(name: str, argv: list[str], *, url: str, log_path: Path) -> ManagedProcess:
    """A ManagedProcess that counts as ready once the simulator's `/healthz` answers."""
    env = argv.env if isinstance(argv, SimulatorCommand) else None
    return ManagedProcess(name, argv, log_path=log_path, ready_url=f"{url}/healthz", env=env)


@dataclass(frozen=True)
class DemoRecords:
    customers: int
    items: int
    seeded: bool


DEMO_CUSTOMERS = [
    {"name": "Ada Lovelace", "email": "ada@analytical.example", "company": "Analytical Engines"},
    {"name": "Grace Hopper", "email": "grace@cobol.example", "company": "Compiler Works"},
    {"name": "Alan Turing", "email": "alan@bletchley.example", "company": "Bletchley Labs"},
    {"name": "Katherine Johnson", "email": "kj@orbits.example", "company": "Orbital Math"},
]
DEMO_ITEMS = [
    {"sku": "WIDGET-001", "name": "Blue widget", "warehouse": "PAR-1", "quantity": 120},
    {"sku": "WIDGET-002", "name": "Red widget", "warehouse": "PAR-1", "quantity": 40},
    {"sku": "GADGET-100", "name": "Gadget", "warehouse": "LYS-2", "quantity": 7},
]


def seed_demo_data(acme_url: str, api_key: str) -> DemoRecords:
    """Create a few customers and inventory items through the API, unless some exist already."""
    headers = {"authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=acme_url, headers=headers, timeout=10) as client:
        existing = client.get("/v1/customers", params={"limit": 1})
        existing.raise_for_status()
        if existing.json()["data"]:
            return DemoRecords(0, 0, seeded=False)
        for customer in DEMO_CUSTOMERS:
            client.post("/v1/customers", json=customer).raise_for_status()
        for item in DEMO_ITEMS:
            client.post("/v1/inventory", json=item).raise_for_status()
    return DemoRecords(len(DEMO_CUSTOMERS), len(DEMO_ITEMS), seeded=True)


@dataclass(frozen=True)
class RunningSimulator:
    """One started simulator and the credentials of its demo account/tenant."""

    name: str
    url: str
    principal_id: str
    api_key: str
    process: ManagedProcess

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"


class PortInUse(RuntimeError):
    """A port asked for on the command line is taken."""


def ensure_port_free(host: str, port: int, option: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"{host}:{port} is already in use; choose another {option}") from exc


def start_demo_simulators(
    state_dir: Path,
    *,
    acme_port: int = 8701,
    progix_port: int = 8702,
    host: str = "127.0.0.1",
    account_id: str = "demo",
    tenant_id: str = "demo",
) -> tuple[RunningSimulator, RunningSimulator]:
    """Start Acme and Progix with their data under `state_dir` and fresh API keys; seed Acme.

    Data persists across runs (the SQLite files stay in `state_dir`); the keys are new every
    time and are only handed back, never written to disk.
    """
    ensure_port_free(host, acme_port, "--acme-port")
    ensure_port_free(host, progix_port, "--progix-port")
    acme_key, progix_key = new_api_key("sk_acme"), new_api_key("sk_progix")
    acme_url, progix_url = f"http://{host}:{acme_port}", f"http://{host}:{progix_port}"
    acme = simulator_process(
        "acme",
        acme_command(
            port=acme_port,
            host=host,
            accounts=[(account_id, acme_key)],
            db=state_dir / "acme.sqlite3",
        ),
        url=acme_url,
        log_path=state_dir / "logs" / "acme.log",
    )
    progix = simulator_process(
        "progix",
        progix_command(
            port=progix_port,
            host=host,
            tenants=[(tenant_id, progix_key)],
            db=state_dir / "progix.sqlite3",
        ),
        url=progix_url,
        log_path=state_dir / "logs" / "progix.log",
    )
    started: list[ManagedProcess] = []
    try:
        for process in (acme, progix):
            process.start(wait=False)
            started.append(process)
        for process in started:
            process.wait_ready()
        seed_demo_data(acme_url, acme_key)
    except BaseException:
        for process in started:
            process.stop()
        raise
    return (
        RunningSimulator("Acme ERP", acme_url, account_id, acme_key, acme),
        RunningSimulator("Progix", progix_url, tenant_id, progix_key, progix),
    )
