"""Webhook relay ingest benchmark: the relay against its ceiling and a naive relay.

Offers signed ~1 KB Standard Webhooks deliveries over loopback for a fixed time and reports
accepted events/s and acknowledgement latency for:

- the relay (`webhook-relay serve`, SQLite store, in-process dispatcher with its default
  adaptive batching), saturated by `--connections` keep-alive connections, and at a fixed
  offered rate (`--rate`, 500/s); and, to show what dispatching costs ingest, saturated with
  `--no-dispatcher` (`ratio_dispatcher_on_to_off`, goal >= 0.9);
- the same relay with retention pruning running all the time (payloads dropped one second
  after dispatch, keys two seconds later, pruned every 50 ms), in the same rounds, to show
  what pruning costs ingest;
- (a) the ceiling: a bare uvicorn endpoint that only answers 200;
- the relay's ingest handler with its writer replaced by an in-memory set, which splits
  the gap to the ceiling into request handling (signature, JSON, metrics, answer) and the
  durable write; three times: with a fixed in-memory route table (what verifying against
  one derived key cost before the route registry), with the real registry on a SQLite store
  and its in-process cache (what the relay runs), and with that cache turned off (every
  request reads the route and decrypts its secrets), which shows what the cache saves;
- (b) a naive relay: FastAPI, verifies the signature, then triggers the DAG run synchronously
  per request against the stub Airflow API.

The stub Airflow (`webhook_relay.testing.stub_airflow`) answers like Airflow 3.3's REST API
with 30-60 ms per trigger and 4 triggers at a time, close to the ~70 triggers/s a
standalone Airflow sustained on this machine (AIRFLOW-NOTES.md). The relay dispatches to the
same stub, which gives DAG runs per 1,000 events. The load generator (`ingest_load`) is a small asyncio
HTTP/1.1 client (wrk may not be installed); ceiling and relay share it, so their ratio is
fair; the baselines are in `ingest_targets`, the rounds in `ingest_rounds`. The saturated measurements run in alternating rounds and each ratio to the ceiling
is a median of per-round ratios, because this machine's speed drifts within a minute.
Last line: one JSON object.

    python benchmarks/relay_ingest.py [--duration 5] [--rounds 3] [--connections 32] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from ingest_load import Result, closed_loop, open_loop
from ingest_rounds import (
    Processes,
    Target,
    measure_rounds,
    median_round,
    per_round_ratio,
    start_baselines,
    start_relay,
    wait_drained,
)
from ingest_targets import ADMIN_TOKEN, FIXED_SECRET, KINDS, SECRETS_KEY, serve_baseline

from sandbox.processes import free_port

STUB_LATENCY_MS = "30-60"
STUB_CAPACITY = 4
BASELINES = {  # measured name: `--serve` kind
    "ceiling": "bare",
    "handler_without_store": "unstored",
    "handler_registry_cached": "unstored-registry",
    "handler_registry_uncached": "unstored-uncached",
}


def relay_env(workdir: Path, airflow_url: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "RELAY_STATE_DIR": str(workdir),
        "RELAY_SECRETS_KEYS": SECRETS_KEY,
        "RELAY_AIRFLOW_URL": airflow_url,
        "RELAY_AIRFLOW_USERNAME": "admin",
        "RELAY_AIRFLOW_PASSWORD": "admin",
        "RELAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "RELAY_SQLITE_SYNCHRONOUS": args.sqlite_synchronous,
    }


def start_targets(processes: Processes, env: dict[str, str]) -> dict[str, Target]:
    """Baselines and relays, in the order each round measures them."""
    script = str(Path(__file__).resolve())
    kinds = {kind: free_port() for kind in BASELINES.values()}
    baselines = start_baselines(processes, script, env, kinds)
    workdir = processes.workdir
    ingest_only = {**env, "RELAY_STATE_DIR": str(workdir / "ingest-only")}
    pruning = {
        **env,
        "RELAY_STATE_DIR": str(workdir / "pruning"),
        "RELAY_PRUNE_INTERVAL_SECONDS": "0.05",
        "RELAY_RETENTION_PAYLOAD_DAYS": str(1 / 86400),
        "RELAY_RETENTION_DEDUP_DAYS": str(2 / 86400),
    }
    relays = {  # started in this order, as before the split
        "relay_ingest_only": ("relay-ingest-only", ingest_only, ("--no-dispatcher",)),
        "relay_saturated": ("relay", env, ()),
        "relay_with_pruning": ("relay-pruning", pruning, ()),
    }
    targets = {name: baselines[kind] for name, kind in BASELINES.items()}
    for name, (process, relay_env_, flags) in relays.items():
        targets[name] = start_relay(processes, process, free_port(), relay_env_, *flags)
    return targets


def measure(
    processes: Processes, targets: dict[str, Target], env: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, list[Result]], dict[str, Any]]:
    """The saturated rounds, then the relay at a fixed rate and what it dispatched, then the
    naive relay (last: it leaves triggers behind in the stub)."""
    relay, pruning = targets["relay_saturated"], targets["relay_with_pruning"]
    rounds = measure_rounds(
        targets,
        args,
        after={  # let the dispatcher drain, so the next round starts idle
            "relay_saturated": lambda: wait_drained(relay.port, 120),
            "relay_with_pruning": lambda: wait_drained(pruning.port, 120),
        },
    )
    out: dict[str, Any] = {"pruning_store": wait_drained(pruning.port, 120)["events"]}
    out.update({name: median_round(results) for name, results in rounds.items()})
    paced = open_loop(relay.port, relay.secret, args.rate, args.duration, "paced")
    out["relay_at_rate"] = asyncio.run(paced).summary()
    stats = wait_drained(relay.port, 120)
    summary = httpx.get(f"{env['RELAY_AIRFLOW_URL']}/_stub/summary", timeout=30).json()
    out["relay_dispatch"] = {"queue_depth_after": stats["queue_depth"], **summary}

    port = free_port()
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", "naive", "--port", str(port)]
    argv += ["--airflow-url", env["RELAY_AIRFLOW_URL"]]
    processes.start("naive", argv, port, {**env, "BENCH_ROUTE_SECRET": FIXED_SECRET})
    naive = closed_loop(port, FIXED_SECRET, args.connections, args.duration, "naive")
    out["naive"] = asyncio.run(naive).summary()
    return rounds, out


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = round(os.getloadavg()[0], 2)
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    stub_port = free_port()
    env = relay_env(workdir, f"http://127.0.0.1:{stub_port}", args)
    stub_argv = [sys.executable, "-m", "webhook_relay.testing.stub_airflow"]
    stub_argv += ["--port", str(stub_port), "--latency-ms", STUB_LATENCY_MS]
    stub_argv += ["--capacity", str(STUB_CAPACITY)]
    processes = Processes(workdir)
    try:
        processes.start("stub-airflow", stub_argv, stub_port, env)
        targets = start_targets(processes, env)
        rounds, out = measure(processes, targets, env, args)
    finally:
        processes.stop()
    return {
        **headline(rounds, out, args),
        **stages(rounds, out),
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: shown so runs can be compared.
        "load_avg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "stub_airflow": {"latency_ms": STUB_LATENCY_MS, "capacity": STUB_CAPACITY},
        "logs": str(workdir),
    }


def headline(
    rounds: dict[str, list[Result]], out: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The relay as served: throughput, latency, and what dispatching and pruning cost it."""
    return {
        "accepted_per_s": out["relay_saturated"]["accepted_per_s"],
        "p50_ms": out["relay_at_rate"]["p50_ms"],
        "p99_ms": out["relay_at_rate"]["p99_ms"],
        "offered_per_s": args.rate,
        "saturated_p50_ms": out["relay_saturated"]["p50_ms"],
        "saturated_p99_ms": out["relay_saturated"]["p99_ms"],
        "accepted_without_dispatcher_per_s": out["relay_ingest_only"]["accepted_per_s"],
        "accepted_with_pruning_per_s": out["relay_with_pruning"]["accepted_per_s"],
        "with_pruning_p99_ms": out["relay_with_pruning"]["p99_ms"],
        # Median over rounds of (relay with pruning / relay without), measured side by side.
        "ratio_pruning_to_relay": per_round_ratio(
            rounds["relay_with_pruning"], rounds["relay_saturated"]
        ),
        "pruning_store_events_after": out["pruning_store"],
        # What dispatching costs ingest: the relay as served over the same relay with its
        # dispatcher off, median of per-round ratios (goal: at least 0.9).
        "ratio_dispatcher_on_to_off": per_round_ratio(
            rounds["relay_saturated"], rounds["relay_ingest_only"]
        ),
        "batch_mode": "adaptive",
    }


def stages(rounds: dict[str, list[Result]], out: dict[str, Any]) -> dict[str, Any]:
    """Where the gap to the ceiling goes, the registry's cost, the naive relay, the rounds."""
    dispatched = out["relay_dispatch"]
    by_stage = ("handler_without_store", "handler_registry_cached", "relay_ingest_only")
    return {
        **{f"{name}_per_s": out[name]["accepted_per_s"] for name in BASELINES},
        # The registry's cost on the hot path: cached lookups against a fixed route table,
        # per round, side by side (1.0 = no drop).
        "registry_cached_vs_fixed": per_round_ratio(
            rounds["handler_registry_cached"], rounds["handler_without_store"]
        ),
        "registry_uncached_vs_fixed": per_round_ratio(
            rounds["handler_registry_uncached"], rounds["handler_without_store"]
        ),
        "naive_per_s": out["naive"]["accepted_per_s"],
        "naive_p99_ms": out["naive"]["p99_ms"],
        "runs_per_1000_events": round(1000 * dispatched["runs"] / max(1, dispatched["events"]), 2),
        "events_dispatched": dispatched["events"],
        "errors": {k: v["errors"] for k, v in out.items() if isinstance(v, dict) and "errors" in v},
        # Each ratio is the median over rounds of (target / ceiling), measured seconds
        # apart, so drift in the machine's speed cancels out.
        "ratio_to_ceiling": per_round_ratio(rounds["relay_saturated"], rounds["ceiling"]),
        "ratio_to_ceiling_by_stage": {
            name: per_round_ratio(rounds[name], rounds["ceiling"])
            for name in (*by_stage, "relay_saturated", "relay_with_pruning")
        },
        "rounds_per_s": {name: out[name]["rounds_per_s"] for name in rounds},
        "speedup_vs_naive": round(
            out["relay_saturated"]["accepted_per_s"] / max(1.0, out["naive"]["accepted_per_s"]), 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating saturation rounds (median reported)"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500.0, help="offered events/s for latency")
    parser.add_argument("--sqlite-synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--airflow-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        # The route secret comes through the environment, never the command line.
        serve_baseline(args.serve, args.port, args.airflow_url, os.environ["BENCH_ROUTE_SECRET"])
        return
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = run(args)
    print(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
