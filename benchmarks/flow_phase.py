"""One measured phase of a flow-control benchmark: the relay in one batching mode, a fixed
rate of changes for a while, then the time until everything has drained."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from flow_measure import (
    AirflowSampler,
    Background,
    Probes,
    ProbeWatcher,
    percentiles,
    relay_stats,
)
from flow_support import ChangeLoad, log

from sandbox.stack import Stack


@dataclass(frozen=True)
class Phase:
    mode: str  # adaptive | fixed
    rate: float  # changes per second in Acme
    duration: float
    probe_every: float
    drain_timeout: float


def acme_pending(stack: Stack) -> int:
    """Webhook deliveries Acme has not finished (its unauthenticated sandbox counters)."""
    response = httpx.get(f"{stack.acme_url}/_sandbox/stats", timeout=30)
    return response.raise_for_status().json()["pending_deliveries"]


def wait_drained(
    stack: Stack, sampler: AirflowSampler, probes: Probes, timeout: float
) -> float | None:
    """Seconds from now until Acme has delivered everything, the relay holds nothing,
    Airflow runs nothing and every probe is visible everywhere; None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        idle = (
            probes.all_seen()
            and acme_pending(stack) == 0
            and relay_stats(stack)["queue_depth"] == 0
            and sampler.total_runs(["queued", "running"]) == 0
        )
        if idle:
            return round(time.monotonic() - started, 1)
        time.sleep(0.5)
    return None


def run_phase(
    stack: Stack,
    records: tuple[list[str], list[str], str],
    tenants: list[str],
    phase: Phase,
) -> tuple[dict[str, Any], Probes]:
    stack.restart_relay({"RELAY_BATCH_MODE": phase.mode})
    log(f"{phase.mode}: {phase.rate:g} changes/s for {phase.duration:g}s")
    probes = Probes(tenants)
    watcher, sampler = ProbeWatcher(stack, probes, records[2]), AirflowSampler(stack)
    runs_before = sampler.total_runs()
    finished_before = sampler.total_runs(["success", "failed"])
    stats_before = relay_stats(stack)
    # Every tenant read each 0.1 s for one instance, 0.4 s for twenty: the watcher must not
    # load Progix (and the CPU Airflow needs) more than the flows do.
    watch_every = max(0.1, 0.02 * len(tenants))
    loops = [
        Background(watcher.step, watch_every).start(),
        Background(sampler.step, 1.0).start(),
    ]
    load = ChangeLoad(stack, records, probes)
    started = time.monotonic()
    try:
        load.run(phase.rate, phase.duration, phase.probe_every)
        elapsed = time.monotonic() - started
        runs_at_end = sampler.total_runs() - runs_before
        finished_at_end = sampler.total_runs(["success", "failed"]) - finished_before
        queued_at_end = sampler.total_runs(["queued"])
        relay_queue_at_end = relay_stats(stack)["queue_depth"]
        drained = wait_drained(stack, sampler, probes, phase.drain_timeout)
        probes.closed_at = time.time()
    finally:
        for loop in loops:
            loop.stop()
        watcher.close()
    stats_after = relay_stats(stack)
    events = stats_after["events"]["dispatched"] - stats_before["events"]["dispatched"]
    batches = stats_after["batches"]["dispatched"] - stats_before["batches"]["dispatched"]
    result = {
        "mode": phase.mode,
        "offered_changes_per_s": phase.rate,
        "changes_applied": load.applied,
        "change_failures": load.failed,
        "freshness_s": percentiles(probes.freshness()),
        "probes": len(probes.changes),
        "probe_showings_missed": probes.unseen(),  # counted at the drain timeout above
        "runs_requested_per_s": round(runs_at_end / elapsed, 2),
        "runs_finished_per_s": round(finished_at_end / elapsed, 2),
        "events_per_run": round(events / batches, 1) if batches else None,
        "peak_queued_runs": sampler.peak_queued,
        "peak_queued_runs_per_route": sampler.peak_queued_per_dag,
        "queued_runs_at_load_end": queued_at_end,
        "relay_queue_at_load_end": relay_queue_at_end,
        "drained_after_s": drained,
    }
    sampler.close()
    log(f"{phase.mode} @ {phase.rate:g}/s: {result}")
    return result, probes


def fail_leftover_runs(stack: Stack) -> int:
    """Mark the runs a phase left queued as failed, so the next phase starts on an idle
    Airflow (used only after a baseline phase that did not drain in time)."""
    sampler = AirflowSampler(stack)
    failed = 0
    try:
        while True:
            page = sampler.client.request(
                "POST",
                "/api/v2/dags/~/dagRuns/list",
                json={"states": ["queued"], "page_limit": 100},
            ).json()["dag_runs"]
            if not page:
                return failed
            for run in page:
                path = f"/api/v2/dags/{run['dag_id']}/dagRuns/{run['dag_run_id']}"
                try:
                    sampler.client.request("PATCH", path, json={"state": "failed"})
                    failed += 1
                except Exception as exc:  # e.g. it started meanwhile: leave it
                    log(f"could not fail {path}: {exc}")
    finally:
        sampler.close()


def ratio(baseline: float | None, ours: float | None) -> float | None:
    """How many times better (smaller) ours is than the baseline."""
    if baseline is None or ours is None:
        return None
    return round(baseline / max(ours, 0.01), 1)
