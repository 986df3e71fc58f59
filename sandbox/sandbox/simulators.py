"""Start the simulators as real processes: the command lines, the launch, the demo seed.

`sandbox up`, the test fixtures and (later) `sandbox demo` all go through these functions,
so every one of them runs the simulators exactly as a user would.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandbox.processes import ManagedProcess


def new_api_key(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18)}"


def acme_command(
    *,
    port: int,
    accounts: Iterable[tuple[str, str]],
    host: str = "127.0.0.1",
    db: Path | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """argv that runs the Acme ERP simulator with these accounts (id, key)."""
    argv = [sys.executable, "-m", "sandbox", "acme", "--host", host, "--port", str(port)]
    for account_id, api_key in accounts:
        argv += ["--account", f"{account_id}:{api_key}"]
    if db is not None:
        argv += ["--db", str(db)]
    return argv + list(extra_args)


def progix_command(
    *,
    port: int,
    tenants: Iterable[tuple[str, str]],
    host: str = "127.0.0.1",
    db: Path | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """argv that runs the Progix simulator with these tenants (id, key)."""
    argv = [sys.executable, "-m", "sandbox", "progix", "--host", host, "--port", str(port)]
    for tenant_id, api_key in tenants:
        argv += ["--tenant", f"{tenant_id}:{api_key}"]
    if db is not None:
        argv += ["--db", str(db)]
    return argv + list(extra_args)


def simulator_process(name: str, argv: list[str], *, url: str, log_path: Path) -> ManagedProcess:
    """A ManagedProcess that counts as ready once the simulator's `/healthz` answers."""
    return ManagedProcess(name, argv, log_path=log_path, ready_url=f"{url}/healthz")


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
