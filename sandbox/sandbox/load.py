"""Load generator: create N customers and N items in Acme, then apply M random updates.

Requests are paced to at most `rate` per second overall (0 = as fast as the workers go),
spread over `concurrency` threads. With `batch_size` above 1, changes go `batch_size` at a
time through Acme's batch endpoints (each still its own change and event), so that the load
source is not what limits a throughput measurement. 429 answers are honoured (sleep `Retry-After`, try again),
5xx and connection errors are retried a few times with backoff; anything else is counted as
failed. The result is a summary dict (the CLI prints it as JSON on its last line).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from typing import Any

import httpx

SERVER_RETRIES = 5


@dataclass(frozen=True)
class LoadPlan:
    customers: int
    items: int
    updates: int
    rate: float = 0.0
    concurrency: int = 4
    seed: int | None = None
    batch_size: int = 1


@dataclass
class LoadCounters:
    customers_created: int = 0
    items_created: int = 0
    updates_applied: int = 0
    requests: int = 0
    throttled_429: int = 0
    server_errors_retried: int = 0
    failed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_lock"}


class Pacer:
    """Hands out request start times at most `rate` per second (shared by all threads)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            slot = max(self._next, time.monotonic())
            self._next = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


class LoadGenerator:
    def __init__(self, acme_url: str, api_key: str, plan: LoadPlan) -> None:
        self.plan = plan
        self.counters = LoadCounters()
        self.pacer = Pacer(plan.rate)
        self.random = random.Random(plan.seed)
        self.run_id = secrets.token_hex(3)
        self._client = httpx.Client(
            base_url=acme_url,
            headers={"authorization": f"Bearer {api_key}"},
            timeout=30,
            limits=httpx.Limits(max_connections=plan.concurrency),
        )

    def run(self, progress: Callable[[dict[str, int]], None] | None = None) -> dict[str, Any]:
        started = time.monotonic()
        stop_progress = threading.Event()
        reporter = None
        if progress is not None:
            reporter = threading.Thread(
                target=self._report, args=(progress, stop_progress), daemon=True
            )
            reporter.start()
        try:
            customer_ids = self._parallel(self._create_customers, self._chunks(self.plan.customers))
            skus = self._parallel(self._create_items, self._chunks(self.plan.items))
            targets = [("customer", c) for c in customer_ids if c] + [
                ("item", s) for s in skus if s
            ]
            updates = (
                [self.random.choice(targets) for _ in range(self.plan.updates)] if targets else []
            )
            self._parallel(self._update, self._update_chunks(updates))
        finally:
            stop_progress.set()
            if reporter is not None:
                reporter.join()
            self._client.close()
        elapsed = time.monotonic() - started
        summary: dict[str, Any] = self.counters.snapshot()
        summary["elapsed_seconds"] = round(elapsed, 3)
        summary["requests_per_second"] = round(summary["requests"] / elapsed, 2) if elapsed else 0
        return summary

    def _report(self, progress: Callable[[dict[str, int]], None], stop: threading.Event) -> None:
        while not stop.wait(1.0):
            progress(self.counters.snapshot())

    def _parallel(
        self, job: Callable[[Any], list[str | None]], chunks: Iterable[Any]
    ) -> list[str | None]:
        """Run `job` over every chunk on the worker threads; the keys it returned, in order."""
        with ThreadPoolExecutor(max_workers=self.plan.concurrency) as pool:
            return [key for keys in pool.map(job, chunks) for key in keys]

    def _chunks(self, count: int) -> list[list[int]]:
        size = self.plan.batch_size
        return [list(range(start, min(start + size, count))) for start in range(0, count, size)]

    def _update_chunks(self, updates: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
        """Group the updates by kind into `batch_size` chunks, keeping their random order."""
        pending: dict[str, list[str]] = {"customer": [], "item": []}
        chunks = []
        for kind, key in updates:
            pending[kind].append(key)
            if len(pending[kind]) == self.plan.batch_size:
                chunks.append((kind, pending[kind]))
                pending[kind] = []
        return chunks + [(kind, keys) for kind, keys in pending.items() if keys]

    def _create_customers(self, numbers: list[int]) -> list[str | None]:
        bodies = [
            {
                "name": f"Load customer {self.run_id}-{n}",
                "email": f"load-{self.run_id}-{n}@example.com",
                "company": self.random.choice(["Initech", "Globex", "Umbrella", "Hooli"]),
            }
            for n in numbers
        ]
        return self._create("/v1/customers", bodies, counter="customers_created", key="id")

    def _create_items(self, numbers: list[int]) -> list[str | None]:
        bodies = [
            {
                "sku": f"LOAD-{self.run_id}-{n}",
                "name": f"Load item {n}",
                "warehouse": self.random.choice(["PAR-1", "LYS-2", "BER-3"]),
                "quantity": self.random.randint(0, 500),
            }
            for n in numbers
        ]
        return self._create("/v1/inventory", bodies, counter="items_created", key="sku")

    def _create(
        self, path: str, bodies: list[dict[str, Any]], *, counter: str, key: str
    ) -> list[str | None]:
        """Create `bodies` in one request; the new records' keys, or None each on failure."""
        created = self._write(path, creates=bodies)
        if created is None:
            return [None] * len(bodies)
        self.counters.add(**{counter: len(created)})
        return [record[key] for record in created]

    def _update(self, chunk: tuple[str, list[str]]) -> list[str | None]:
        kind, keys = chunk
        if kind == "customer":
            path, key_field = "/v1/customers", "id"
            changes = [{"phone": f"+33 1 {self.random.randint(0, 99999999):08d}"} for _ in keys]
        else:
            path, key_field = "/v1/inventory", "sku"
            changes = [{"quantity": self.random.randint(0, 500)} for _ in keys]
        updates = [{key_field: key, "changes": c} for key, c in zip(keys, changes, strict=True)]
        if self._write(path, updates=updates) is None:
            return [None] * len(keys)
        self.counters.add(updates_applied=len(keys))
        return list(keys)

    def _write(
        self, path: str, *, creates: Sequence[dict] = (), updates: Sequence[dict] = ()
    ) -> list[dict[str, Any]] | None:
        """One create or update through the single-record API, several through the batch one."""
        changes = len(creates) + len(updates)
        if changes > 1:
            body = {"create": list(creates), "update": list(updates)}
            answer = self._send("POST", f"{path}/batch", body, changes)
            return None if answer is None else [*answer["created"], *answer["updated"]]
        if creates:
            answer = self._send("POST", path, creates[0])
        else:
            key_field = "id" if "id" in updates[0] else "sku"
            answer = self._send("PATCH", f"{path}/{updates[0][key_field]}", updates[0]["changes"])
        return None if answer is None else [answer]

    def _send(
        self, method: str, path: str, body: dict[str, Any], changes: int = 1
    ) -> dict[str, Any] | None:
        """One request, retried as the module says; a failure counts `changes` failed."""
        server_failures = 0
        while True:
            self.pacer.wait()
            self.counters.add(requests=1)
            try:
                response = self._client.request(method, path, json=body)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 429:
                self.counters.add(throttled_429=1)
                time.sleep(float(response.headers.get("retry-after", "1")))
                continue
            if response is None or response.status_code >= 500:
                server_failures += 1
                if server_failures > SERVER_RETRIES:
                    self.counters.add(failed=changes)
                    return None
                self.counters.add(server_errors_retried=1)
                time.sleep(0.2 * 2 ** (server_failures - 1))
                continue
            if response.is_success:
                return response.json()
            self.counters.add(failed=changes)
            return None
