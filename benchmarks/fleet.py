"""A fleet of instances on one Acme account: adaptive batching vs the fixed window.

On one local stack (`sandbox.stack.Stack`), `--instances` instances (default 20) deployed
through the lifecycle API on one Acme account, each into its own Progix tenant, so every
change fans out to all of them (2 webhook routes each). For each batching mode (the relay
restarted with `RELAY_BATCH_MODE=adaptive`, then `fixed`, the baseline), `--rate` changes/s
(default 2) for `--duration` seconds (default 120) with a probe change every
`--probe-every` seconds, then until everything has drained (at most `--drain-timeout`).
Reports freshness per instance and over all (probe change in Acme → visible in that
instance's Progix tenant), runs requested vs finished per second, peak queued runs (all, and
the most for one route) and the time to drain after the load stopped. Last line: one JSON
object, the baseline's figures beside ours.

    .venv/bin/python benchmarks/fleet.py [--instances 20] [--duration 120]
"""

from __future__ import annotations

import argparse
from typing import Any

from flow_measure import percentiles
from flow_phase import Phase, ratio, run_phase
from flow_support import (
    add_airflow_arguments,
    deployed_stack,
    instance_id,
    print_output,
    tenant,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="changes/s in Acme")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of load")
    parser.add_argument("--probe-every", type=float, default=5.0)
    parser.add_argument("--drain-timeout", type=float, default=900.0)
    add_airflow_arguments(parser)
    args = parser.parse_args()

    tenants = [tenant(i) for i in range(args.instances)]
    with deployed_stack(args.instances, args.parallelism, args.parse_interval) as (
        stack,
        records,
        deploy_seconds,
    ):
        results = {}
        for mode in ("adaptive", "fixed"):  # ours first: the baseline leaves a backlog
            phase = Phase(mode, args.rate, args.duration, args.probe_every, args.drain_timeout)
            result, probes = run_phase(stack, records, tenants, phase)
            result["per_instance"] = {
                instance_id(i): percentiles(probes.freshness(only=name))
                for i, name in enumerate(tenants)
            }
            results[mode] = result

    ours, base = results["adaptive"], results["fixed"]
    output = {
        "summary": summarise(ours, base, args.drain_timeout),
        "goals": {
            "p90_le_20s": (ours["freshness_s"]["p90"] or 999) <= 20,
            "peak_queued_le_2_per_route": ours["peak_queued_runs_per_route"] <= 2,
            "drained_le_30s": (ours["drained_after_s"] or 999) <= 30,
        },
        "adaptive": ours,
        "fixed": base,
        "instances": args.instances,
        "routes": 2 * args.instances,
        "offered_changes_per_s": args.rate,
        "duration_s": args.duration,
    }
    print_output(output, stack, deploy_seconds)


def summarise(ours: dict[str, Any], base: dict[str, Any], drain_timeout: float) -> dict[str, Any]:
    """Our figures beside the fixed-window baseline's, and how many times better."""
    summary: dict[str, Any] = {}
    for key, path in (
        ("p50_s", ("freshness_s", "p50")),
        ("p90_s", ("freshness_s", "p90")),
        ("max_s", ("freshness_s", "max")),
        ("runs_requested_per_s", ("runs_requested_per_s",)),
        ("runs_finished_per_s", ("runs_finished_per_s",)),
        ("events_per_run", ("events_per_run",)),
        ("peak_queued", ("peak_queued_runs",)),
        ("peak_queued_per_route", ("peak_queued_runs_per_route",)),
        ("drained_after_s", ("drained_after_s",)),  # baseline None: not within the timeout
    ):
        summary[key] = _at(ours, path)
        summary[f"baseline_{key}"] = _at(base, path)
    summary["p90_times_better"] = ratio(base["freshness_s"]["p90"], ours["freshness_s"]["p90"])
    summary["peak_queued_times_better"] = ratio(base["peak_queued_runs"], ours["peak_queued_runs"])
    summary["drain_times_better"] = ratio(
        base["drained_after_s"] or drain_timeout, ours["drained_after_s"]
    )
    return summary


def _at(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        result = result[key]
    return result


if __name__ == "__main__":
    main()
