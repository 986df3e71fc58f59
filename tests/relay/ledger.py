"""The client-side ledger of the fault tests: what senders were told, checked against what
Airflow (the stub) received. The promise: every id answered 200 is in exactly one DAG run's
conf, or quarantined with a reason, and nothing reaches Airflow twice."""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.relay.harness import Relay, thin_event_body, wait_for

MALFORMED_EVERY = 25  # one event in 25 has no object_id: it must be quarantined, not lost


@dataclass
class Ledger:
    route: str
    acked: set[str] = field(default_factory=set)
    unacked: set[str] = field(default_factory=set)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def body_for(webhook_id: str) -> bytes:
        if int(webhook_id.rsplit("_", 1)[1]) % MALFORMED_EVERY == 0:
            return thin_event_body(webhook_id, object_id=None)
        return thin_event_body(webhook_id)

    def send(self, relay: Relay, webhook_id: str) -> int:
        """One delivery; a connection error counts as status 0 (not acknowledged)."""
        try:
            status = relay.deliver(self.route, webhook_id, body=self.body_for(webhook_id))
            code = status.status_code
        except httpx.HTTPError:
            code = 0
        with self._lock:
            self.statuses[code] += 1
            if code == 200:
                self.acked.add(webhook_id)
                self.unacked.discard(webhook_id)
            elif webhook_id not in self.acked:
                self.unacked.add(webhook_id)
        assert code in (0, 200, 503), code  # never a 4xx for a genuine event, never a 500
        return code

    def send_many(self, relay: Relay, ids: Iterable[str], workers: int = 8) -> None:
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda i: self.send(relay, i), ids))

    def resend_unacked(self, relay: Relay) -> None:
        """What a sender does with deliveries that were not acknowledged: send them again."""
        wait_for(
            lambda: self.send_many(relay, sorted(self.unacked)) or not self.unacked,
            what="every unacknowledged delivery accepted on a retry",
        )

    def expected_quarantined(self) -> set[str]:
        return {i for i in self.acked if int(i.rsplit("_", 1)[1]) % MALFORMED_EVERY == 0}


class LoadThread(threading.Thread):
    """Senders delivering fresh ids until stopped (ids numbered from `start`)."""

    def __init__(self, ledger: Ledger, relay: Callable[[], Relay], workers: int = 6) -> None:
        super().__init__(daemon=True)
        self.ledger, self.relay, self.workers = ledger, relay, workers
        self.stopping = threading.Event()
        self.next_id = 0
        self._ids = threading.Lock()

    def _take(self) -> str:
        with self._ids:
            self.next_id += 1
            return f"msg_load_{self.next_id}"

    def _worker(self) -> None:
        while not self.stopping.is_set():
            if self.ledger.send(self.relay(), self._take()) != 200:
                time.sleep(0.05)

    def run(self) -> None:
        workers = [threading.Thread(target=self._worker) for _ in range(self.workers)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)


def all_events(relay: Relay, route: str, **filters: Any) -> list[dict[str, Any]]:
    """Every event of `route` (the admin API pages by 1000, newest first)."""
    found: list[dict[str, Any]] = []
    while True:
        page_filters = {**filters, **({"before_id": found[-1]["id"]} if found else {})}
        page = relay.events(route, **page_filters)
        found += page
        if len(page) < 1000:
            return found


def runs_by_id(*states: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Runs of one or several stub incarnations, one per (dag_id, run id) as Airflow keeps."""
    return {(r["dag_id"], r["dag_run_id"]): r for s in states for r in s["runs"]}


def assert_ledger(
    ledger: Ledger, relay: Relay, dag_id: str, runs: dict[tuple[str, str], dict[str, Any]]
) -> None:
    in_runs = collections.Counter(
        e["id"] for (d, _), r in runs.items() if d == dag_id for e in r["conf"]["events"]
    )
    twice = {i for i, n in in_runs.items() if n > 1}
    assert not twice, f"in more than one run: {sorted(twice)[:10]}"
    quarantined = {
        e["webhook_id"]: e["quarantine_reason"]
        for e in all_events(relay, ledger.route, status="quarantined")
    }
    assert all(quarantined.values())
    assert ledger.expected_quarantined() <= set(quarantined)
    lost = ledger.acked - set(in_runs) - set(quarantined)
    assert not lost, f"acknowledged but neither run nor quarantined: {sorted(lost)[:10]}"


def wait_until_settled(relay: Relay, ledger: Ledger, timeout: float = 120.0) -> None:
    """Every acknowledged genuine event dispatched (the dispatcher caught up)."""
    genuine = len(ledger.acked - ledger.expected_quarantined())
    wait_for(
        lambda: len(all_events(relay, ledger.route, status="dispatched")) >= genuine,
        timeout=timeout,
        what=f"{genuine} dispatched events",
    )
