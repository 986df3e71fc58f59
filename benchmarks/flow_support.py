"""The set-up the flow-control benchmarks (`freshness.py`, `fleet.py`) share, on the real stack.

One `sandbox.stack.Stack` (embedded PostgreSQL, Airflow standalone with LocalExecutor, the
relay, the simulators); instances are deployed through the lifecycle Python API
(`InstanceService.deploy`) on one Acme account, each syncing into its own Progix tenant, so
one change in Acme fans out to every instance. A phase (`flow_phase`) restarts the relay in
one batching mode, offers changes at a fixed rate (`ChangeLoad`), updates a probe customer
every few seconds and measures (`flow_measure`), per instance, the time from the probe's
change in Acme until Progix shows it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from acme_erp_integration.definition import ACME_ERP
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings
from sandbox.stack import Stack, StackOptions, StackPorts

if TYPE_CHECKING:
    from flow_measure import Probes

REPO = Path(__file__).resolve().parents[1]
ACCOUNT = "bench-acme"
POOL = 60  # customers and items changed by the load (the probe customer is extra; <= 99)
WEBHOOK_DAG_SUFFIXES = tuple(f"__{f.slug.replace('-', '_')}" for f in ACME_ERP.flows if f.events)
DEFAULT_PARALLELISM = StackOptions.airflow_parallelism  # the demo's: 4 task slots
# Airflow's default, as production runs (docker-compose.yaml): the local stack re-parses every
# shard file each 10 s so that a first instance shows up quickly, which with 20 instances
# took a quarter of a core here (measured).
DEFAULT_PARSE_INTERVAL = 30


def add_airflow_arguments(parser: argparse.ArgumentParser) -> None:
    """The Airflow settings a flow benchmark runs with: `--parallelism`, `--parse-interval`."""
    parser.add_argument(
        "--parallelism",
        type=int,
        default=DEFAULT_PARALLELISM,
        help="Airflow's [core] parallelism: LocalExecutor task slots",
    )
    parser.add_argument(
        "--parse-interval",
        type=int,
        default=DEFAULT_PARSE_INTERVAL,
        help="Airflow's [dag_processor] min_file_process_interval, seconds",
    )


Records = tuple[list[str], list[str], str]
"""The load's customers and items, and the probe customer (see `seed_records`)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tenant(i: int) -> str:
    return f"bench-tenant-{i:02d}"


def instance_id(i: int) -> str:
    return f"bench-{i:02d}"


def start_stack(
    instances: int, relay_env: dict[str, str], parallelism: int, parse_interval: int
) -> Stack:
    """The stack, not started yet: `with stack:` starts and stops it."""
    (REPO / ".state").mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="bench-flow-", dir=REPO / ".state"))
    stack = Stack(
        StackOptions(
            state_dir=state / "stack",
            ports=StackPorts.free(),
            acme_accounts=(ACCOUNT,),
            progix_tenants=tuple(tenant(i) for i in range(instances)),
            acme_args=("--delivery-concurrency", "32"),
            relay_env=relay_env,
            airflow_parallelism=parallelism,
            airflow_min_file_process_interval=parse_interval,
        )
    )
    log(f"starting the stack in {state}")
    return stack


def acme(stack: Stack) -> httpx.Client:
    headers = {"authorization": f"Bearer {stack.acme_keys[ACCOUNT]}"}
    return httpx.Client(base_url=stack.acme_url, headers=headers, timeout=30)


def seed_records(stack: Stack) -> Records:
    """Customers and items for the load, and the probe customer (before any deploy, so
    their creation sends no events)."""
    with acme(stack) as client:
        customers = client.post(
            "/v1/customers/batch",
            json={"create": [{"name": f"Customer {i}"} for i in range(POOL + 1)]},
        ).raise_for_status()
        items = client.post(
            "/v1/inventory/batch",
            json={"create": [{"sku": f"SKU-{i:05d}", "name": f"Item {i}"} for i in range(POOL)]},
        ).raise_for_status()
    ids = [c["id"] for c in customers.json()["created"]]
    return ids[:-1], [i["sku"] for i in items.json()["created"]], ids[-1]


def deploy_instances(stack: Stack, count: int) -> float:
    """Deploy `count` instances one after another; returns the seconds it took."""
    settings = LifecycleSettings(
        airflow_url=stack.airflow_url,
        airflow_username="admin",
        airflow_password=stack.airflow_password("admin"),
        instances_dir=stack.instances_dir,
        run_timeout=300,
    )
    service = InstanceService(settings, integration="acme-erp")
    started = time.monotonic()
    try:
        for i in range(count):
            request = DeployRequest.from_mapping(
                {
                    "customer": f"Bench shop {i}",
                    "config": {"progix_tenant": tenant(i)},
                    "connections": {
                        "acme_connection": {
                            "host": stack.acme_url,
                            "password": stack.acme_keys[ACCOUNT],
                        },
                        "progix_connection": {
                            "host": stack.progix_url,
                            "password": stack.progix_keys[tenant(i)],
                        },
                    },
                },
                source=f"benchmark instance {i}",
            )
            for attempt in range(3):
                result = service.deploy(instance_id(i), request)
                if result.ok:
                    break
                log(f"deploy of {instance_id(i)} failed ({result.message}); retry {attempt + 1}")
            else:
                raise SystemExit(f"deploy of {instance_id(i)} failed: {result.message}")
            log(f"deployed {instance_id(i)} ({time.monotonic() - started:.0f}s)")
    finally:
        service.close()
    return time.monotonic() - started


@contextmanager
def deployed_stack(
    instances: int,
    parallelism: int = DEFAULT_PARALLELISM,
    parse_interval: int = DEFAULT_PARSE_INTERVAL,
) -> Iterator[tuple[Stack, Records, float]]:
    """What every flow benchmark starts from: the stack running, the records seeded, then
    `instances` deployed; yields the stack, the records and the seconds deploying took."""
    stack = start_stack(instances, {}, parallelism, parse_interval)
    # A benchmark stopped with SIGTERM (a timeout, `kill`) stops its stack as Ctrl-C does,
    # instead of leaving Airflow, the relay and the simulators running.
    signal.signal(signal.SIGTERM, _interrupt)
    with stack:
        records = seed_records(stack)
        yield stack, records, deploy_instances(stack, instances)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def print_output(output: dict[str, Any], stack: Stack, deploy_seconds: float) -> None:
    """The result with the machine's figures (other work on it skews every number), indented
    and then as the last line."""
    output.update(
        deploy_seconds=round(deploy_seconds, 1),
        cpus=os.cpu_count(),
        load_avg_1m=round(os.getloadavg()[0], 2),
        airflow_parallelism=stack.options.airflow_parallelism,
        airflow_min_file_process_interval=stack.options.airflow_min_file_process_interval,
    )
    print(json.dumps(output, indent=2))
    print(json.dumps(output))


class ChangeLoad:
    """Changes customers and items in Acme at `rate` per second (open loop), and the probe
    customer every `probe_every` seconds."""

    def __init__(self, stack: Stack, records: tuple[list[str], list[str], str], probes: Probes):
        self.stack = stack
        self.customers, self.items, self.probe_id = records
        self.probes = probes
        self.applied = self.failed = 0
        self._local = threading.local()
        self._counter = itertools.count()

    def _client(self) -> httpx.Client:
        if not hasattr(self._local, "client"):
            self._local.client = acme(self.stack)
        return self._local.client

    def _change(self, n: int) -> None:
        client = self._client()
        if n % 2:
            path = f"/v1/customers/{random.choice(self.customers)}"
            body: dict[str, Any] = {"name": f"Customer change {n}"}
        else:
            path = f"/v1/inventory/{random.choice(self.items)}"
            body = {"quantity": n % 1000}
        response = client.patch(path, json=body)
        if response.status_code == 200:
            self.applied += 1
        else:
            self.failed += 1

    def probe(self) -> None:
        t0 = time.time()
        response = self._client().patch(
            f"/v1/customers/{self.probe_id}", json={"name": f"Probe {next(self._counter)}"}
        )
        response.raise_for_status()
        self.probes.changes.append((t0, response.json()["version"]))

    def run(self, rate: float, duration: float, probe_every: float) -> None:
        start = time.monotonic()
        next_probe = start + 1.0
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for n in range(int(rate * duration)):
                due = start + n / rate
                while time.monotonic() >= next_probe:
                    pool.submit(self.probe)
                    next_probe += probe_every
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self._change, n)
            while next_probe < start + duration:  # probes left in the window (low rates)
                time.sleep(max(0.0, next_probe - time.monotonic()))
                pool.submit(self.probe)
                next_probe += probe_every
