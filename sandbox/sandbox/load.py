"""Load generator: create N customers and N items in Acme, then apply M random updates.

Requests are paced to at most `rate` per second overall (0 = as fast as the workers go),
spread over `concurrency` threads. 429 answers are honoured (sleep `Retry-After`, try again),
5xx and connection errors are retried a few times with backoff; anything else is counted as
failed. The result is a summary dict (the CLI prints it as JSON on its last line).
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
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
            customer_ids = self._parallel(self._create_customer, range(self.plan.customers))
            skus = self._parallel(self._create_item, range(self.plan.items))
            targets = [("customer", c) for c in customer_ids if c] + [
                ("item", s) for s in skus if s
            ]
            updates = (
                [self.random.choice(targets) for _ in range(self.plan.updates)] if targets else []
            )
            self._parallel(self._update, updates)
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
        self, job: Callable[[Any], str | None], inputs: Iterable[Any]
    ) -> list[str | None]:
        with ThreadPoolExecutor(max_workers=self.plan.concurrency) as pool:
            return list(pool.map(job, inputs))

    def _create_customer(self, n: int) -> str | None:
        body = {
            "name": f"Load customer {self.run_id}-{n}",
            "email": f"load-{self.run_id}-{n}@example.com",
            "company": self.random.choice(["Initech", "Globex", "Umbrella", "Hooli"]),
        }
        answer = self._send("POST", "/v1/customers", body)
        if answer is None:
            return None
        self.counters.add(customers_created=1)
        return answer["id"]

    def _create_item(self, n: int) -> str | None:
        body = {
            "sku": f"LOAD-{self.run_id}-{n}",
            "name": f"Load item {n}",
            "warehouse": self.random.choice(["PAR-1", "LYS-2", "BER-3"]),
            "quantity": self.random.randint(0, 500),
        }
        answer = self._send("POST", "/v1/inventory", body)
        if answer is None:
            return None
        self.counters.add(items_created=1)
        return answer["sku"]

    def _update(self, target: tuple[str, str]) -> str | None:
        kind, key = target
        if kind == "customer":
            path, body = (
                f"/v1/customers/{key}",
                {"phone": f"+33 1 {self.random.randint(0, 99999999):08d}"},
            )
        else:
            path, body = f"/v1/inventory/{key}", {"quantity": self.random.randint(0, 500)}
        if self._send("PATCH", path, body) is None:
            return None
        self.counters.add(updates_applied=1)
        return key

    def _send(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
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
                    self.counters.add(failed=1)
                    return None
                self.counters.add(server_errors_retried=1)
                time.sleep(0.2 * 2 ** (server_failures - 1))
                continue
            if response.is_success:
                return response.json()
            self.counters.add(failed=1)
            return None
