"""End-to-end throughput of the integration, batched vs one DAG run per event.

On one local stack (embedded PostgreSQL, Airflow standalone, relay, simulators; the same
`sandbox.stack.Stack` as `make demo`):

1. deploy: time from `acme-erp deploy` of a fresh instance until its two webhooks exist in
   Acme (`deploy_seconds`), and until the command returns (`deploy_command_seconds`).
2. batched: apply `--events` changes in Acme as fast as the simulator takes them (creates,
   then random updates, `--load-batch-size` per request through Acme's batch endpoints so that
   the load source is not the limit; every change is still its own event and webhook); `seconds` = time from the first change until Progix holds the newest
   version of every record *and* every DAG run of the instance finished; `dag_runs` = runs
   created.
3. naive: restart the relay with `RELAY_BATCH_MODE=fixed`, `RELAY_BATCH_MAX_EVENTS=1` (one
   run per event, unpaced, how per-event platforms work), deploy a second instance on a second account, apply a smaller
   sample (`--naive-events`) and measure the same way.

`speedup` = (events / seconds) / (naive_events / naive_seconds). The last line of output is
one JSON object. Run: `.venv/bin/python benchmarks/end_to_end.py [--events 10000]`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from acme_erp_integration.definition import ACME_ERP
from sandbox.load import LoadGenerator, LoadPlan
from sandbox.stack import Stack, StackOptions, StackPorts

REPO = Path(__file__).resolve().parents[1]
BATCHED, NAIVE = ("bench-batched", "bench-naive")
WEBHOOK_FLOWS = [flow.slug for flow in ACME_ERP.flows if flow.events]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def deploy(stack: Stack, instance: str, account: str, tenant: str, workdir: Path) -> dict:
    """`acme-erp deploy`; returns seconds until Acme lists both webhooks and until it returned."""
    request = {
        "customer": instance,
        "config": {"progix_tenant": tenant},
        "connections": {
            "acme_connection": {"host": stack.acme_url, "password_env": "BENCH_ACME_KEY"},
            "progix_connection": {"host": stack.progix_url, "password_env": "BENCH_PROGIX_KEY"},
        },
    }
    path = workdir / f"{instance}.yaml"
    path.write_text(yaml.safe_dump(request))
    env = {
        **stack.client_environment(),
        "BENCH_ACME_KEY": stack.acme_keys[account],
        "BENCH_PROGIX_KEY": stack.progix_keys[tenant],
    }
    expected = set(ACME_ERP.webhook_urls(stack.relay_url, instance).values())
    headers = {"authorization": f"Bearer {stack.acme_keys[account]}"}
    started = time.monotonic()
    command = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "acme-erp"),
            "--json",
            "deploy",
            instance,
            "-c",
            str(path),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    webhooks_at = None
    with httpx.Client(base_url=stack.acme_url, headers=headers, timeout=10) as acme:
        while webhooks_at is None and time.monotonic() - started < 600:
            urls = {hook["url"] for hook in acme.get("/v1/webhooks").json()["data"]}
            if expected <= urls:
                webhooks_at = time.monotonic()
            elif command.poll() is not None and command.returncode != 0:
                break
            else:
                time.sleep(0.1)
    out, err = command.communicate(timeout=600)
    returned_at = time.monotonic()
    if command.returncode != 0 or webhooks_at is None:
        raise SystemExit(f"deploy of {instance} failed ({command.returncode}):\n{out}\n{err}")
    return {
        "deploy_seconds": round(webhooks_at - started, 2),
        "deploy_command_seconds": round(returned_at - started, 2),
    }


def versions(client: httpx.Client, path: str, key: str) -> dict[str, int]:
    records: dict[str, int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=params)
        page.raise_for_status()
        body = page.json()
        records.update({item[key]: item["version"] for item in body["data"]})
        cursor = body["next_cursor"]
        if cursor is None:
            return records


def converged(stack: Stack, account: str, tenant: str) -> bool:
    acme = httpx.Client(
        base_url=stack.acme_url,
        headers={"authorization": f"Bearer {stack.acme_keys[account]}"},
        timeout=30,
    )
    progix = httpx.Client(
        base_url=stack.progix_url,
        headers={"authorization": f"Bearer {stack.progix_keys[tenant]}"},
        timeout=30,
    )
    with acme, progix:
        return versions(acme, "/v1/customers", "id") == versions(
            progix, "/v1/customers", "external_id"
        ) and versions(acme, "/v1/inventory", "sku") == versions(
            progix, "/v1/inventory", "external_id"
        )


def run_counts(stack: Stack, instance: str) -> tuple[int, int]:
    """(runs of the instance's webhook flows, how many of them are not finished)."""
    rest = stack.rest("viewer")
    total = unfinished = 0
    for flow in WEBHOOK_FLOWS:
        dag_id = ACME_ERP.dag_id(instance, flow)
        total += rest.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 1})["total_entries"]
        for state in ("queued", "running"):
            unfinished += rest.get(
                f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 1, "state": state}
            )["total_entries"]
    return total, unfinished


def apply_changes(stack: Stack, account: str, changes: int, batch_size: int) -> dict[str, Any]:
    """`changes` creates+updates in Acme, unpaced (a fifth creates, the rest updates)."""
    creates = max(2, changes // 5)
    plan = LoadPlan(
        customers=creates // 2,
        items=creates - creates // 2,
        updates=changes - creates,
        rate=0.0,
        concurrency=8,
        seed=42,
        batch_size=batch_size,
    )
    return LoadGenerator(stack.acme_url, stack.acme_keys[account], plan).run()


def measure(
    stack: Stack,
    instance: str,
    account: str,
    tenant: str,
    changes: int,
    *,
    load_batch_size: int,
    timeout: float,
) -> dict:
    runs_before, _ = run_counts(stack, instance)
    started = time.monotonic()
    summary: dict[str, Any] = {}
    loader = threading.Thread(
        target=lambda: summary.update(apply_changes(stack, account, changes, load_batch_size)),
        daemon=True,
    )
    loader.start()
    converged_at = None
    while time.monotonic() - started < timeout:
        time.sleep(1.0)
        if loader.is_alive():
            continue
        if converged_at is None and converged(stack, account, tenant):
            converged_at = time.monotonic()
            log(f"{instance}: Progix converged after {converged_at - started:.1f}s")
        if converged_at is not None:
            runs, unfinished = run_counts(stack, instance)
            if unfinished == 0 and relay_idle(stack):
                done_at = time.monotonic()
                break
    else:
        raise SystemExit(f"{instance}: not done after {timeout:.0f}s")
    if summary.get("failed"):
        raise SystemExit(f"{instance}: the load generator failed {summary['failed']} changes")
    applied = summary["customers_created"] + summary["items_created"] + summary["updates_applied"]
    return {
        "events": applied,
        "seconds": round(done_at - started, 2),
        "converged_seconds": round(converged_at - started, 2),
        "load_seconds": summary["elapsed_seconds"],
        "dag_runs": runs - runs_before,
    }


def relay_idle(stack: Stack) -> bool:
    response = httpx.get(
        f"{stack.relay_url}/admin/stats",
        headers={"authorization": f"Bearer {stack.relay_admin_token}"},
        timeout=10,
    )
    return response.json()["queue_depth"] == 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000, help="changes, batched run")
    parser.add_argument("--naive-events", type=int, default=120, help="changes, one run each")
    parser.add_argument("--batch-max-events", type=int, default=500, help="relay batch size")
    parser.add_argument(
        "--batch-max-wait-ms",
        type=int,
        default=5000,
        help="fixed batching only (RELAY_BATCH_MODE=fixed): longest the relay holds a batch "
        "open; the default adaptive batching follows Airflow's pace instead",
    )
    parser.add_argument(
        "--delivery-concurrency",
        type=int,
        default=16,
        help="webhooks the Acme simulator POSTs at once (real senders deliver concurrently)",
    )
    parser.add_argument(
        "--load-batch-size",
        type=int,
        default=50,
        help="changes per request to Acme (its batch endpoints; each is still its own event): "
        "keeps the load source from being what the run measures",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="per phase, seconds")
    return parser.parse_args()


def bench_stack(state: Path, args: argparse.Namespace) -> Stack:
    """One stack with an Acme account and a Progix tenant for each of the two instances."""
    return Stack(
        StackOptions(
            state_dir=state / "stack",
            ports=StackPorts.free(),
            acme_accounts=(BATCHED, NAIVE),
            progix_tenants=(BATCHED, NAIVE),
            acme_args=("--delivery-concurrency", str(args.delivery_concurrency)),
            relay_env={
                "RELAY_BATCH_MAX_EVENTS": str(args.batch_max_events),
                "RELAY_BATCH_MAX_WAIT_MS": str(args.batch_max_wait_ms),
            },
        )
    )


def result_of(
    stack: Stack, args: argparse.Namespace, deployed: dict, batched: dict, naive: dict
) -> dict[str, Any]:
    """The one JSON result: both phases, their rates and the settings they ran with."""
    batched_rate = batched["events"] / batched["seconds"]
    naive_rate = naive["events"] / naive["seconds"]
    return {
        **batched,
        "naive_events": naive["events"],
        "naive_seconds": naive["seconds"],
        "naive_converged_seconds": naive["converged_seconds"],
        "naive_dag_runs": naive["dag_runs"],
        "events_per_second": round(batched_rate, 1),
        "naive_events_per_second": round(naive_rate, 2),
        "speedup": round(batched_rate / naive_rate, 1),
        **deployed,
        "relay_batch_max_events": args.batch_max_events,
        "relay_batch_max_wait_ms": args.batch_max_wait_ms,
        "airflow_parallelism": stack.options.airflow_parallelism,
        "acme_delivery_concurrency": args.delivery_concurrency,
        "load_batch_size": args.load_batch_size,
        "machine_load_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    args = parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-", dir=REPO / ".state"))
    stack = bench_stack(state, args)

    def phase(instance: str, events: int) -> dict:
        return measure(
            stack,
            instance,
            instance,
            instance,
            events,
            load_batch_size=args.load_batch_size,
            timeout=args.timeout,
        )

    log(f"starting the stack in {state}")
    with stack:
        log("stack ready; deploying the batched instance")
        deployed = deploy(stack, BATCHED, BATCHED, BATCHED, state)
        log(f"deploy: {deployed}")
        batched = phase(BATCHED, args.events)
        log(f"batched: {batched}")

        # One run per event, sent at once, unpaced: how per-event platforms work.
        stack.restart_relay(
            {
                "RELAY_BATCH_MODE": "fixed",
                "RELAY_BATCH_MAX_EVENTS": "1",
                "RELAY_BATCH_MAX_WAIT_MS": "0",
            }
        )
        deploy(stack, NAIVE, NAIVE, NAIVE, state)
        naive = phase(NAIVE, args.naive_events)
        log(f"naive: {naive}")
    print(json.dumps(result_of(stack, args, deployed, batched, naive)))


if __name__ == "__main__":
    main()
