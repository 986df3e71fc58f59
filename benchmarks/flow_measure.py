"""What the flow-control benchmarks measure: probe freshness per tenant, Airflow's queue, the
relay's counters; each sampler runs in a background thread while the load goes on."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from flow_support import WEBHOOK_DAG_SUFFIXES, log

from integration_platform.lifecycle.airflow_api import AirflowClient
from sandbox.stack import Stack


@dataclass
class Probes:
    """The probe customer's changes (time, version) and when each tenant first showed each."""

    tenants: list[str]
    changes: list[tuple[float, int]] = field(default_factory=list)
    seen: dict[str, dict[int, float]] = field(default_factory=dict)

    closed_at: float | None = None  # when measuring stopped: a probe unseen by then counts so

    def freshness(self, only: str | None = None) -> list[float]:
        """Seconds from each probe change to its showing in each tenant; a probe never seen
        counts as the time until measuring stopped (a lower bound), so a backlog that never
        delivers makes the figures worse, not smaller."""
        out = []
        for name in [only] if only else self.tenants:
            seen = self.seen.get(name, {})
            for k, (t0, _) in enumerate(self.changes):
                if k in seen:
                    out.append(seen[k] - t0)
                elif self.closed_at is not None:
                    out.append(self.closed_at - t0)
        return out

    def unseen(self) -> int:
        """Probe changes some tenant never showed."""
        return sum(
            1
            for name in self.tenants
            for k in range(len(self.changes))
            if k not in self.seen.get(name, {})
        )

    def all_seen(self) -> bool:
        return all(len(self.seen.get(name, {})) == len(self.changes) for name in self.tenants)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p90": None, "max": None, "n": 0}
    ordered = sorted(values)

    def pick(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)

    return {
        "p50": round(statistics.median(ordered), 2),
        "p90": pick(0.9),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


class Background:
    """A loop in a thread, every `interval` s until stopped."""

    def __init__(self, step: Callable[[], None], interval: float) -> None:
        self.step, self.interval = step, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # a benchmark keeps measuring through hiccups
                log(f"background step failed: {type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)

    def start(self) -> Background:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


class ProbeWatcher:
    """Reads the probe customer from every tenant's Progix and notes when each probe
    version first shows."""

    def __init__(self, stack: Stack, probes: Probes, probe_id: str) -> None:
        self.probes, self.probe_id = probes, probe_id
        self.clients = {
            name: httpx.Client(
                base_url=stack.progix_url,
                headers={"authorization": f"Bearer {stack.progix_keys[name]}"},
                timeout=10,
            )
            for name in probes.tenants
        }

    def step(self) -> None:
        for name, client in self.clients.items():
            response = client.get(f"/v1/customers/{self.probe_id}")
            if response.status_code != 200:
                continue
            version, now = response.json()["version"], time.time()
            seen = self.probes.seen.setdefault(name, {})
            for k, (_t0, v) in enumerate(list(self.probes.changes)):
                if v <= version and k not in seen:
                    seen[k] = now

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


class AirflowSampler:
    """Samples queued and running runs of the webhook flows once a second (bulk list)."""

    def __init__(self, stack: Stack) -> None:
        self.client = AirflowClient(stack.airflow_url, "admin", stack.airflow_password("admin"))
        self.peak_queued = 0
        self.peak_queued_per_dag = 0
        self.last_unfinished = 0

    def counts(self, states: list[str], pages: int = 5) -> tuple[int, dict[str, int]]:
        per_dag: dict[str, int] = {}
        total = 0
        for page in range(pages):
            body = {"states": states, "page_limit": 100, "page_offset": page * 100}
            answer = self.client.request("POST", "/api/v2/dags/~/dagRuns/list", json=body).json()
            total = answer["total_entries"]
            for run in answer["dag_runs"]:
                if run["dag_id"].endswith(WEBHOOK_DAG_SUFFIXES):
                    per_dag[run["dag_id"]] = per_dag.get(run["dag_id"], 0) + 1
            if (page + 1) * 100 >= total:
                break
        return total, per_dag

    def step(self) -> None:
        queued, per_dag = self.counts(["queued"])
        running, _ = self.counts(["running"], pages=1)
        self.peak_queued = max(self.peak_queued, queued)
        self.peak_queued_per_dag = max([self.peak_queued_per_dag, *per_dag.values()])
        self.last_unfinished = queued + running

    def total_runs(self, states: list[str] | None = None) -> int:
        body: dict[str, Any] = {"page_limit": 1}
        if states:
            body["states"] = states
        return self.client.request("POST", "/api/v2/dags/~/dagRuns/list", json=body).json()[
            "total_entries"
        ]

    def close(self) -> None:
        self.client.close()


def relay_stats(stack: Stack) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.relay_url}/admin/stats",
        headers={"authorization": f"Bearer {stack.relay_admin_token}"},
        timeout=30,
    )
    return response.json()
