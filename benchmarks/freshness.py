"""Freshness of one instance's data in Progix: adaptive batching vs the fixed window.

On one local stack (`sandbox.stack.Stack`: embedded PostgreSQL, Airflow standalone with the
LocalExecutor, the relay on SQLite, the simulators), one instance deployed through the
lifecycle API. For each offered rate (`--rates`, default 2, 10, 50 changes/s in Acme, half
customers, half inventory items) and each batching mode (the relay restarted with
`RELAY_BATCH_MODE=adaptive`, then `fixed` — the fixed-window baseline, a batch once the
oldest event is 1 s old), `--duration` seconds of load with a probe change every
`--probe-every` seconds, then until everything has drained. Per phase: p50/p90/max
freshness (probe change in Acme → visible in Progix), runs requested and finished per
second, events per run, peak queued runs, what was still queued when the load stopped and
the time to drain. Last line: one JSON object, the baseline's figures beside ours.

    .venv/bin/python benchmarks/freshness.py [--duration 60] [--rates 2,10,50]
"""

from __future__ import annotations

import argparse
from typing import Any

from flow_phase import Phase, fail_leftover_runs, ratio, run_phase
from flow_support import (
    add_airflow_arguments,
    deployed_stack,
    log,
    print_output,
    tenant,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per phase")
    parser.add_argument("--rates", default="2,10,50", help="changes/s, comma-separated")
    parser.add_argument("--probe-every", type=float, default=3.0, help="seconds between probes")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    add_airflow_arguments(parser)
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]

    one_instance = deployed_stack(1, args.parallelism, args.parse_interval)
    with one_instance as (stack, records, deploy_seconds):
        results: dict[str, dict[str, dict]] = {"adaptive": {}, "fixed": {}}
        for mode in ("adaptive", "fixed"):  # ours first: the baseline may leave a backlog
            for rate in rates:
                phase = Phase(mode, rate, args.duration, args.probe_every, args.drain_timeout)
                result, _ = run_phase(stack, records, [tenant(0)], phase)
                results[mode][f"{rate:g}"] = result
                if result["drained_after_s"] is None:
                    log(f"failed {fail_leftover_runs(stack)} runs left queued")

    summary = {
        key: summarise(ours, results["fixed"][key]) for key, ours in results["adaptive"].items()
    }
    low, high = f"{min(rates):g}", f"{max(rates):g}"
    goals = {
        "low_load_p50_le_1s": (summary[low]["p50_s"] or 99) <= 1.0,
        "high_load_no_growing_backlog": results["adaptive"][high]["queued_runs_at_load_end"] <= 2
        and (results["adaptive"][high]["drained_after_s"] or 99) <= 10,
    }
    output = {
        "summary": summary,
        "goals": goals,
        "adaptive": results["adaptive"],
        "fixed": results["fixed"],
        "duration_s": args.duration,
    }
    print_output(output, stack, deploy_seconds)


def summarise(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """One rate's figures beside the fixed-window baseline's."""
    return {
        "p50_s": ours["freshness_s"]["p50"],
        "baseline_p50_s": base["freshness_s"]["p50"],
        "p90_s": ours["freshness_s"]["p90"],
        "baseline_p90_s": base["freshness_s"]["p90"],
        "max_s": ours["freshness_s"]["max"],
        "baseline_max_s": base["freshness_s"]["max"],
        "p50_times_better": ratio(base["freshness_s"]["p50"], ours["freshness_s"]["p50"]),
        "runs_per_s": ours["runs_requested_per_s"],
        "baseline_runs_per_s": base["runs_requested_per_s"],
        "events_per_run": ours["events_per_run"],
        "baseline_events_per_run": base["events_per_run"],
        "peak_queued": ours["peak_queued_runs"],
        "baseline_peak_queued": base["peak_queued_runs"],
        "drained_after_s": ours["drained_after_s"],
        "baseline_drained_after_s": base["drained_after_s"],
    }


if __name__ == "__main__":
    main()
