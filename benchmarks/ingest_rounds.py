"""The processes `relay_ingest.py` measures, and how: started and stopped together, then
saturated in alternating rounds and compared round by round (this shared machine's speed
drifts by tens of percent within a minute)."""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from ingest_load import Result, closed_loop
from ingest_targets import ADMIN_TOKEN, FIXED_SECRET, ROUTE, prepare_registry_store

from sandbox.processes import ManagedProcess


@dataclass(frozen=True)
class Target:
    """A server to offer load to, and the route secret its deliveries are signed with."""

    port: int
    secret: str


class Processes:
    """Every process the benchmark starts, stopped newest first."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[ManagedProcess] = []

    def start(self, name: str, argv: list[str], port: int, env: dict[str, str]) -> None:
        """Start and wait until it serves: a relay's `/healthz`, else its port."""
        is_relay = name.startswith("relay")
        process = ManagedProcess(
            name,
            argv,
            log_path=self.workdir / f"{name}.log",
            env=env,
            ready_url=f"http://127.0.0.1:{port}/healthz" if is_relay else None,
            ready_timeout=90,
        )
        self.started.append(process.start())
        if not is_relay:
            wait_port(port)

    def stop(self) -> None:
        for process in reversed(self.started):
            process.stop()


def wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def wait_drained(relay_port: int, timeout: float) -> dict[str, Any]:
    """The relay's stats once its dispatcher has nothing left to send (or at the timeout)."""
    deadline = time.monotonic() + timeout
    stats: dict[str, Any] = {}
    while time.monotonic() < deadline:
        stats = httpx.get(
            f"http://127.0.0.1:{relay_port}/admin/stats",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        ).json()
        if stats["queue_depth"] == 0:
            break
        time.sleep(0.5)
    return stats


def register_route(relay_port: int) -> str:
    """Register ROUTE in a running relay through its admin API; returns its secret."""
    base = f"http://127.0.0.1:{relay_port}/admin/routes/{ROUTE}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.put(base, headers=headers, timeout=30).raise_for_status()
    return httpx.get(f"{base}/secret", headers=headers, timeout=30).json()["secret"]


def start_baselines(
    processes: Processes, script: str, env: dict[str, str], ports: dict[str, int]
) -> dict[str, Target]:
    """The in-process baselines (`--serve KIND` of `script`); the registry ones share a
    store with ROUTE registered. The secret reaches them through the environment."""
    registry_url = f"sqlite:///{processes.workdir / 'registry' / 'relay.db'}"
    registry_secret = prepare_registry_store(registry_url)
    targets = {}
    for kind, port in ports.items():
        secret = FIXED_SECRET if kind in ("bare", "unstored") else registry_secret
        argv = [sys.executable, script, "--serve", kind, "--port", str(port)]
        child_env = {**env, "RELAY_DATABASE_URL": registry_url, "BENCH_ROUTE_SECRET": secret}
        processes.start(kind, argv, port, child_env)
        targets[kind] = Target(port, secret)
    return targets


def start_relay(
    processes: Processes, name: str, port: int, env: dict[str, str], *flags: str
) -> Target:
    """`webhook-relay serve` with ROUTE registered through its admin API."""
    argv = [sys.executable, "-m", "webhook_relay.cli", "serve", "--port", str(port), *flags]
    processes.start(name, argv, port, env)
    return Target(port, register_route(port))


def measure_rounds(
    targets: dict[str, Target],
    args: argparse.Namespace,
    after: dict[str, Callable[[], object]],
) -> dict[str, list[Result]]:
    """Saturate each target in turn, `args.rounds` times over, so that the ceiling and the
    relays are measured seconds apart and compared round by round rather than once each.
    `after[name]` runs after that target's turn (e.g. let a dispatcher drain)."""
    rounds: dict[str, list[Result]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, target in targets.items():
            warm_up = f"warmup-{name}-{n}"
            asyncio.run(closed_loop(target.port, target.secret, args.connections, 1.0, warm_up))
            load = closed_loop(
                target.port, target.secret, args.connections, args.duration, f"{name}-{n}"
            )
            rounds[name].append(asyncio.run(load))
            if name in after:
                after[name]()
    return rounds


def median_round(results: list[Result]) -> dict[str, Any]:
    """The round with the median throughput, every round's throughput, and the errors of
    all rounds."""
    summaries = sorted((r.summary() for r in results), key=lambda s: s["accepted_per_s"])
    return {
        **summaries[len(summaries) // 2],
        "errors": sum(r.errors for r in results),
        "rounds_per_s": [r.summary()["accepted_per_s"] for r in results],
    }


def per_round_ratio(numerator: list[Result], denominator: list[Result]) -> float:
    """The median over rounds of numerator / denominator, each pair measured side by side."""
    ratios = [
        a.summary()["accepted_per_s"] / max(1.0, b.summary()["accepted_per_s"])
        for a, b in zip(numerator, denominator, strict=True)
    ]
    return round(statistics.median(ratios), 3)
