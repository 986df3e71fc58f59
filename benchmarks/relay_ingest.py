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
same stub, which gives DAG runs per 1,000 events. The load generator is a small asyncio
HTTP/1.1 client (wrk may not be installed); ceiling and relay share it, so their ratio is
fair. The saturated measurements run in alternating rounds and each ratio to the ceiling
is a median of per-round ratios, because this machine's speed drifts within a minute.
Last line: one JSON object.

    python benchmarks/relay_ingest.py [--duration 5] [--rounds 3] [--connections 32] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request

from sandbox.processes import ManagedProcess, free_port
from webhook_relay.routes import Route
from webhook_relay.signatures import SignatureError, new_secret, secret_to_key, sign, verify

ROUTE = "acme-erp/bench-shop/sync-customer-data"
ADMIN_TOKEN = "bench-admin-token"
SECRETS_KEY = "eKgnxD6kUqJ0wJxjDGWqB0jv6sVqv-o6ZTeFJ5CP5xM="  # benchmark stores only
# The route secret each target verifies with (relays: read from their registry at start).
FIXED_SECRET = new_secret()
TARGET_SECRETS: dict[int, str] = {}
STUB_LATENCY_MS = "30-60"
STUB_CAPACITY = 4
BODY_SIZE = 1024


# --- servers started as subprocesses of this script ---------------------------------------


def bare_app():
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
        )
        await send({"type": "http.response.body", "body": b""})

    return app


def naive_app(airflow_url: str, secret: str):
    """The obvious relay: verify, then trigger one DAG run per request, then answer."""
    app = FastAPI()
    client = httpx.AsyncClient(base_url=airflow_url, limits=httpx.Limits(max_connections=64))
    token: dict[str, str] = {}

    @app.post("/hooks/{integration}/{instance}/{flow}")
    async def hook(integration: str, instance: str, flow: str, request: Request):
        route = Route(integration, instance, flow)
        raw = await request.body()
        headers = request.headers
        try:
            verify(
                [secret_to_key(secret)],
                headers["webhook-id"],
                headers["webhook-timestamp"],
                headers["webhook-signature"],
                raw,
            )
        except (KeyError, SignatureError):
            raise HTTPException(401, "invalid signature") from None
        event = json.loads(raw)
        if "t" not in token:
            r = await client.post("/auth/token", json={"username": "admin", "password": "admin"})
            token["t"] = r.json()["access_token"]
        response = await client.post(
            f"/api/v2/dags/{route.dag_id}/dagRuns",
            json={
                "dag_run_id": f"naive__{headers['webhook-id']}",
                "logical_date": None,
                "conf": {"events": [{k: event.get(k) for k in ("id", "type", "object_id")}]},
            },
            headers={"Authorization": f"Bearer {token['t']}"},
        )
        if response.status_code not in (200, 409):
            raise HTTPException(502, "airflow failed")
        return {"status": "accepted"}

    return app


class MemoryWriter:
    """Remembers keys instead of storing rows: what ingest costs without durability."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write(self, row: dict[str, Any]) -> bool:
        key = (row["route"], row["webhook_id"])
        is_new = key not in self.seen
        self.seen.add(key)
        return is_new


class FixedRoutes:
    """A route table in memory: one dict lookup, like the old derived-key cache."""

    def __init__(self, secret: str) -> None:
        from webhook_relay.store.routes_repo import RouteEntry

        self.entries = {ROUTE: RouteEntry(active=True, keys=((secret_to_key(secret), None),))}

    def cached(self, route: str):
        return self.entries.get(route)

    async def load(self, route: str):
        return self.entries.get(route)


def unstored_app(kind: str, secret: str):
    """The relay's own ingest handler (route, registry, headers, signature, JSON, metrics,
    answer) with `MemoryWriter`: the gap between this and the ceiling is request handling,
    the gap between this and the relay is the durable write. `kind` picks the route lookup:
    fixed in memory, the registry (cached), or the registry with its cache off."""
    from webhook_relay.ingest import IngestHandler
    from webhook_relay.registry import MISS, RouteRegistry
    from webhook_relay.secretbox import SecretBox
    from webhook_relay.settings import RelaySettings
    from webhook_relay.store.engine import create_store_engine
    from webhook_relay.store.repository import Store
    from webhook_relay.store.routes_repo import RouteRepository

    settings = RelaySettings()
    if kind == "unstored":
        return IngestHandler(settings, MemoryWriter(), FixedRoutes(secret))  # type: ignore[arg-type]
    store = Store(create_store_engine(settings.resolved_database_url))
    registry = RouteRegistry(RouteRepository(store, SecretBox.from_settings(settings)))
    if kind == "unstored-uncached":
        registry.cached = lambda route: MISS  # type: ignore[method-assign]
    return IngestHandler(settings, MemoryWriter(), registry)


def prepare_registry_store(database_url: str) -> str:
    """A migrated SQLite store with ROUTE registered; returns the route's secret."""
    from webhook_relay.secretbox import SecretBox
    from webhook_relay.store.engine import create_store_engine
    from webhook_relay.store.migrate import upgrade_to_head
    from webhook_relay.store.repository import Store
    from webhook_relay.store.routes_repo import RouteRepository

    engine = create_store_engine(database_url)
    upgrade_to_head(engine)
    repo = RouteRepository(Store(engine), SecretBox([SECRETS_KEY]))
    repo.register([Route.parse(ROUTE)], time.time())
    secret = repo.current_secret(ROUTE)["secret"]
    engine.dispose()
    return secret


def register_route(relay_port: int) -> str:
    """Register ROUTE in a running relay through its admin API; returns its secret."""
    base = f"http://127.0.0.1:{relay_port}/admin/routes/{ROUTE}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    httpx.put(base, headers=headers, timeout=30).raise_for_status()
    return httpx.get(f"{base}/secret", headers=headers, timeout=30).json()["secret"]


def serve_baseline(kind: str, port: int, airflow_url: str, secret: str) -> None:
    import uvicorn

    if kind == "bare":
        app = bare_app()
    elif kind.startswith("unstored"):
        app = unstored_app(kind, secret)
    else:
        app = naive_app(airflow_url, secret)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )


# --- load generator ----------------------------------------------------------------------


class Deliveries:
    """Signed ~1 KB requests with unique webhook ids (a fresh signature each time)."""

    def __init__(self, host: str, port: int, tag: str) -> None:
        self.key = secret_to_key(TARGET_SECRETS.get(port, FIXED_SECRET))
        self.head = f"POST /hooks/{ROUTE} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        self.counter = itertools.count()
        self.tag = tag
        template = {
            "id": "",
            "type": "customer.updated",
            "object_id": "cust-000000",
            "occurred_at": "2026-11-28T00:00:00Z",
            "account_id": "acct-bench",
            "padding": "",
        }
        base = len(json.dumps(template, separators=(",", ":")))
        self.padding = "x" * (BODY_SIZE - base - 24)

    def next(self) -> bytes:
        n = next(self.counter)
        msg_id = f"msg_{self.tag}_{n:09d}"
        body = json.dumps(
            {
                "id": msg_id,
                "type": "customer.updated",
                "object_id": f"cust-{n % 100000:06d}",
                "occurred_at": "2026-11-28T00:00:00Z",
                "account_id": "acct-bench",
                "padding": self.padding,
            },
            separators=(",", ":"),
        ).encode()
        ts = int(time.time())
        signature = sign(self.key, msg_id, ts, body)
        headers = (
            f"{self.head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"webhook-id: {msg_id}\r\nwebhook-timestamp: {ts}\r\n"
            f"webhook-signature: {signature}\r\n\r\n"
        )
        return headers.encode() + body


async def _exchange(reader, writer, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ok = 0
        self.errors = 0
        self.elapsed = 0.0

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies) or [0.0]

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(len(lat) * p))] * 1000, 2)

        return {
            "accepted_per_s": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "errors": self.errors,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "mean_ms": round(statistics.fmean(lat) * 1000, 2),
        }


async def closed_loop(port: int, connections: int, duration: float, tag: str) -> Result:
    """Each connection sends the next request as soon as the previous one is answered."""
    deliveries = Deliveries("127.0.0.1", port, tag)
    result = Result()
    stop_at = time.perf_counter() + duration

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < stop_at:
                request = deliveries.next()
                started = time.perf_counter()
                status = await _exchange(reader, writer, request)
                result.latencies.append(time.perf_counter() - started)
                if status == 200:
                    result.ok += 1
                else:
                    result.errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result


async def open_loop(port: int, rate: float, duration: float, tag: str, pool: int = 64) -> Result:
    """Requests start on a fixed schedule; latency counts from the scheduled time, so a slow
    answer is not hidden by the generator waiting for it (no coordinated omission)."""
    deliveries = Deliveries("127.0.0.1", port, tag)
    result = Result()
    idle: asyncio.Queue = asyncio.Queue()
    for _ in range(pool):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))

    async def one(scheduled: float) -> None:
        reader, writer = await idle.get()
        try:
            status = await _exchange(reader, writer, deliveries.next())
        finally:
            idle.put_nowait((reader, writer))
        result.latencies.append(time.perf_counter() - scheduled)
        if status == 200:
            result.ok += 1
        else:
            result.errors += 1

    start = time.perf_counter()
    tasks = []
    for i in range(int(rate * duration)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    return result


# --- orchestration -----------------------------------------------------------------------


def start(name: str, argv: list[str], port: int, workdir: Path, env: dict[str, str]):
    return ManagedProcess(
        name,
        argv,
        log_path=workdir / f"{name}.log",
        env=env,
        ready_url=f"http://127.0.0.1:{port}/healthz" if name.startswith("relay") else None,
        ready_timeout=90,
    ).start()


def wait_port(port: int, timeout: float = 60.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def wait_drained(relay_port: int, timeout: float) -> dict[str, Any]:
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


def measure_rounds(
    targets: dict[str, int], args: argparse.Namespace, after: dict[str, Callable[[], object]]
) -> dict[str, list[Result]]:
    """Saturate each target in turn, `args.rounds` times over. This machine's speed drifts
    by tens of percent within a minute (shared VM), so the ceiling and the relay are
    measured in alternation and compared round by round rather than once each."""
    rounds: dict[str, list[Result]] = {name: [] for name in targets}
    for n in range(args.rounds):
        for name, port in targets.items():
            asyncio.run(closed_loop(port, args.connections, 1.0, f"warmup-{name}-{n}"))
            result = asyncio.run(closed_loop(port, args.connections, args.duration, f"{name}-{n}"))
            rounds[name].append(result)
            if name in after:
                after[name]()  # e.g. let the dispatcher drain, so the next round starts idle
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
    ratios = [
        a.summary()["accepted_per_s"] / max(1.0, b.summary()["accepted_per_s"])
        for a, b in zip(numerator, denominator, strict=True)
    ]
    return round(statistics.median(ratios), 3)


def start_baselines(
    me: str, workdir: Path, env: dict[str, str], ports: dict[str, int]
) -> list[ManagedProcess]:
    """The in-process baselines; the registry ones share a store with ROUTE registered."""
    registry_url = f"sqlite:///{workdir / 'registry' / 'relay.db'}"
    registry_secret = prepare_registry_store(registry_url)
    started = []
    for kind, port in ports.items():
        argv = [sys.executable, me, "--serve", kind, "--port", str(port)]
        secret = FIXED_SECRET if kind in ("bare", "unstored") else registry_secret
        TARGET_SECRETS[port] = secret
        child_env = {**env, "RELAY_DATABASE_URL": registry_url, "BENCH_ROUTE_SECRET": secret}
        started.append(start(kind, argv, 0, workdir, child_env))
        wait_port(port)
    return started


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_start = round(os.getloadavg()[0], 2)
    python = sys.executable
    me = str(Path(__file__).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    ports = [free_port() for _ in range(9)]
    stub_port, relay_port, ingest_only_port, bare_port, naive_port, unstored_port = ports[:6]
    registry_port, uncached_port, pruning_port = ports[6:]
    airflow_url = f"http://127.0.0.1:{stub_port}"
    env = {
        "RELAY_STATE_DIR": str(workdir),
        "RELAY_SECRETS_KEYS": SECRETS_KEY,
        "RELAY_AIRFLOW_URL": airflow_url,
        "RELAY_AIRFLOW_USERNAME": "admin",
        "RELAY_AIRFLOW_PASSWORD": "admin",
        "RELAY_ADMIN_TOKEN": ADMIN_TOKEN,
        "RELAY_SQLITE_SYNCHRONOUS": args.sqlite_synchronous,
    }
    stub_argv = [python, "-m", "webhook_relay.testing.stub_airflow", "--port", str(stub_port)]
    stub_argv += ["--latency-ms", STUB_LATENCY_MS, "--capacity", str(STUB_CAPACITY)]
    relay_argv = [python, "-m", "webhook_relay.cli", "serve", "--port"]
    out: dict[str, Any] = {}
    processes = []
    try:
        processes.append(start("stub-airflow", stub_argv, stub_port, workdir, env))
        wait_port(stub_port)
        processes += start_baselines(
            me,
            workdir,
            env,
            {
                "bare": bare_port,
                "unstored": unstored_port,
                "unstored-registry": registry_port,
                "unstored-uncached": uncached_port,
            },
        )
        ingest_only_env = {**env, "RELAY_STATE_DIR": str(workdir / "ingest-only")}
        ingest_only_argv = [*relay_argv, str(ingest_only_port), "--no-dispatcher"]
        processes.append(
            start("relay-ingest-only", ingest_only_argv, ingest_only_port, workdir, ingest_only_env)
        )
        processes.append(start("relay", [*relay_argv, str(relay_port)], relay_port, workdir, env))
        pruning_env = {
            **env,
            "RELAY_STATE_DIR": str(workdir / "pruning"),
            "RELAY_PRUNE_INTERVAL_SECONDS": "0.05",
            "RELAY_RETENTION_PAYLOAD_DAYS": str(1 / 86400),
            "RELAY_RETENTION_DEDUP_DAYS": str(2 / 86400),
        }
        pruning_argv = [*relay_argv, str(pruning_port)]
        processes.append(start("relay-pruning", pruning_argv, pruning_port, workdir, pruning_env))
        for port in (ingest_only_port, relay_port, pruning_port):
            TARGET_SECRETS[port] = register_route(port)

        rounds = measure_rounds(
            {
                "ceiling": bare_port,
                "handler_without_store": unstored_port,
                "handler_registry_cached": registry_port,
                "handler_registry_uncached": uncached_port,
                "relay_ingest_only": ingest_only_port,
                "relay_saturated": relay_port,
                "relay_with_pruning": pruning_port,
            },
            args,
            after={
                "relay_saturated": lambda: wait_drained(relay_port, 120),
                "relay_with_pruning": lambda: wait_drained(pruning_port, 120),
            },
        )
        out["pruning_store"] = wait_drained(pruning_port, 120)["events"]
        out.update({name: median_round(results) for name, results in rounds.items()})
        paced = asyncio.run(open_loop(relay_port, args.rate, args.duration, "paced"))
        out["relay_at_rate"] = paced.summary()
        stats = wait_drained(relay_port, 120)
        summary = httpx.get(f"{airflow_url}/_stub/summary", timeout=30).json()
        out["relay_dispatch"] = {"queue_depth_after": stats["queue_depth"], **summary}

        naive_argv = [python, me, "--serve", "naive", "--port", str(naive_port)]
        naive_argv += ["--airflow-url", airflow_url]
        TARGET_SECRETS[naive_port] = FIXED_SECRET
        naive_env = {**env, "BENCH_ROUTE_SECRET": FIXED_SECRET}
        processes.append(start("naive", naive_argv, naive_port, workdir, naive_env))
        wait_port(naive_port)
        naive = asyncio.run(closed_loop(naive_port, args.connections, args.duration, "naive"))
        out["naive"] = naive.summary()
    finally:
        for process in reversed(processes):
            process.stop()

    accepted = out["relay_saturated"]["accepted_per_s"]
    dispatched = out["relay_dispatch"]
    return {
        "accepted_per_s": accepted,
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
        "ceiling_per_s": out["ceiling"]["accepted_per_s"],
        "handler_without_store_per_s": out["handler_without_store"]["accepted_per_s"],
        "handler_registry_cached_per_s": out["handler_registry_cached"]["accepted_per_s"],
        "handler_registry_uncached_per_s": out["handler_registry_uncached"]["accepted_per_s"],
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
            for name in (
                "handler_without_store",
                "handler_registry_cached",
                "relay_ingest_only",
                "relay_saturated",
                "relay_with_pruning",
            )
        },
        "rounds_per_s": {name: out[name]["rounds_per_s"] for name in rounds},
        "speedup_vs_naive": round(accepted / max(1.0, out["naive"]["accepted_per_s"]), 1),
        "connections": args.connections,
        "duration_s": args.duration,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: shown so runs can be compared.
        "load_avg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
        "stub_airflow": {"latency_ms": STUB_LATENCY_MS, "capacity": STUB_CAPACITY},
        "logs": str(workdir),
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
    parser.add_argument(
        "--serve",
        choices=["bare", "unstored", "unstored-registry", "unstored-uncached", "naive"],
        help=argparse.SUPPRESS,
    )
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
